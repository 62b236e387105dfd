// Cache ways and resctrl groups as a resource the scheduler places jobs against: a job that asks for
// `l3Ways` starts only when every L3 domain its CPUs are on still has that many contiguous free ways
// (by the same choice Resctrl.allocate makes, so the real allocation then succeeds), and a job that
// asks for ways or bandwidth only while a resctrl group is left. Pure: nothing touches the host.

import { chooseWays, fullMask, type CacheGeometry } from '../isolation/resctrl-alloc.js';
import type { ResctrlInfo } from '../isolation/resctrl-info.js';

export interface PartitionRequest {
  l3Ways?: number;
  mbPercent?: number;
}

export class WayPool {
  /** Job id -> domain -> mask held. */
  private readonly held = new Map<string, Map<number, number>>();

  constructor(
    readonly geometry: CacheGeometry | undefined,
    /** L3 domain id -> its CPUs. */
    readonly domains: Map<number, number[]>,
    /** Groups that may exist besides the default one. */
    readonly groupLimit: number,
    readonly hasBandwidth: boolean,
  ) {}

  static fromInfo(info: ResctrlInfo): WayPool {
    const geo = info.l3 ? { cbmLen: info.l3.cbmLen, minBits: info.l3.minCbmBits, shareable: info.l3.shareableBits, sparse: info.l3.sparse } : undefined;
    return new WayPool(geo, info.cpusOfDomain, info.groupLimit, info.mb !== undefined);
  }

  static wants(p: PartitionRequest | undefined): boolean {
    return p !== undefined && (p.l3Ways !== undefined || p.mbPercent !== undefined);
  }

  /** Why this request can never be had here, or undefined when it can (on an empty host). */
  explainUnfit(p: PartitionRequest): string | undefined {
    if (p.l3Ways !== undefined) {
      if (!this.geometry) return 'this host offers no L3 cache allocation';
      const min = Math.max(1, this.geometry.minBits);
      const max = this.geometry.cbmLen - min;
      if (p.l3Ways < min || p.l3Ways > max) return `l3_ways ${p.l3Ways} is out of range [${min},${max}] (the default group keeps at least ${min})`;
    }
    if (p.mbPercent !== undefined && !this.hasBandwidth) return 'this host offers no memory bandwidth allocation';
    if (this.groupLimit < 1) return 'this host has no resctrl group to spare';
    return undefined;
  }

  domainsOf(cpus: number[]): number[] {
    return [...this.domains].filter(([, dc]) => dc.some((c) => cpus.includes(c))).map(([d]) => d);
  }

  /** The mask `ways` free ways on domain d would get now (Resctrl.allocate's choice), if any. */
  private maskOn(d: number, ways: number): number | undefined {
    const geo = this.geometry as CacheGeometry;
    let taken = 0;
    for (const m of this.held.values()) taken |= m.get(d) ?? 0;
    return chooseWays(geo, fullMask(geo.cbmLen) & ~taken, ways);
  }

  /** The masks the job would get on CPUs `cpus`, or undefined when it cannot start there now. */
  private masksFor(cpus: number[], p: PartitionRequest): Map<number, number> | undefined {
    if (this.held.size >= this.groupLimit) return undefined;
    const out = new Map<number, number>();
    if (p.l3Ways === undefined || !this.geometry) return out;
    for (const d of this.domainsOf(cpus)) {
      const mask = this.maskOn(d, p.l3Ways);
      if (mask === undefined) return undefined;
      out.set(d, mask);
    }
    return out;
  }

  /** CPUs of the domains where the request cannot get its ways now; undefined when no group is left at all. */
  cpusWithoutRoom(p: PartitionRequest): number[] | undefined {
    if (this.held.size >= this.groupLimit) return undefined;
    if (p.l3Ways === undefined || !this.geometry) return [];
    const out: number[] = [];
    for (const [d, cpus] of this.domains) if (this.maskOn(d, p.l3Ways) === undefined) out.push(...cpus);
    return out;
  }

  canHold(cpus: number[], p: PartitionRequest): boolean {
    return this.masksFor(cpus, p) !== undefined;
  }

  hold(id: string, cpus: number[], p: PartitionRequest): boolean {
    const masks = this.masksFor(cpus, p);
    if (!masks) return false;
    this.held.set(id, masks);
    return true;
  }

  /** Domain -> mask held by a running job. */
  masksOf(id: string): Record<number, number> | undefined {
    const m = this.held.get(id);
    return m && m.size > 0 ? Object.fromEntries(m) : undefined;
  }

  free(id: string): void {
    this.held.delete(id);
  }

  holding(): string[] {
    return [...this.held.keys()];
  }
}
