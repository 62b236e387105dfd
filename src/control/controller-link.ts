// The controller's end of a control region: it beats its heartbeat, watches the dataplane's, and
// publishes decisions (every knob at once, under a new epoch) only while the dataplane is alive:
// a controller tuning a dataplane that stopped would be deciding on stale signals.

import { UsageError } from '../errors.js';
import { PeerWatch } from './peer.js';
import { ControlRegion, type Access } from './region.js';
import { OFF } from './layout.js';

export interface Signals {
  generation: bigint;
  timeNs: bigint;
  values: Record<string, number>;
}

export class ControllerLink {
  private beats = 0n;
  private epoch = 0n;
  private readonly dataplane: PeerWatch;

  constructor(readonly region: ControlRegion) {
    this.dataplane = new PeerWatch(region.layout.dataplaneTimeoutNs);
    // Continue the counts a previous controller left, so a restart looks like a beat and never
    // reuses an epoch the dataplane refused.
    // The count words alone: readable even when a killed controller left a block mid-write.
    this.beats = region.countOf(OFF.hbController);
    this.epoch = region.countOf(region.layout.knobsAt);
  }

  static open(path: string, access?: Access): ControllerLink {
    return new ControllerLink(ControlRegion.open(path, access));
  }

  close(): void {
    this.region.close();
  }

  /** Our heartbeat: call at least once per the region's controller timeout. */
  beat(): void {
    this.beats += 1n;
    this.region.writeBlock(OFF.hbController, this.beats, 0n, []);
  }

  dataplaneAlive(nowNs = process.hrtime.bigint()): boolean {
    return this.dataplane.observe(this.region.heartbeatOf('dataplane')?.count ?? null, nowNs);
  }

  /** The knob epoch the dataplane says it runs with (0: its defaults), from its heartbeat. */
  appliedEpoch(): bigint | null {
    return this.region.heartbeatOf('dataplane')?.extra ?? null;
  }

  /** The latest signals, by name; null when the dataplane stayed mid-write. */
  signals(): Signals | null {
    const b = this.region.signals();
    if (!b) return null;
    // A plain loop: building the record with Object.fromEntries cost eight times the read itself.
    const values: Record<string, number> = {};
    const names = this.region.layout.signals;
    for (let i = 0; i < names.length; i++) values[names[i]!] = b.values[i]!;
    return { generation: b.count, timeNs: b.timeNs, values };
  }

  /**
   * Publish a decision: a value for every knob, by name. Returns its epoch, or null without writing
   * anything when the dataplane's heartbeat has stopped.
   */
  tune(values: Record<string, number>, nowNs = process.hrtime.bigint()): bigint | null {
    const { knobs } = this.region.layout;
    const unknown = Object.keys(values).filter((k) => !knobs.includes(k));
    if (unknown.length) throw new UsageError(`${this.region.path}: no knob ${unknown.join(', ')} (knobs: ${knobs.join(', ')})`);
    const missing = knobs.filter((k) => !(k in values) || !Number.isFinite(values[k]));
    if (missing.length) throw new UsageError(`${this.region.path}: a decision needs a finite value for every knob; missing ${missing.join(', ')}`);
    if (!this.dataplaneAlive(nowNs)) return null;
    this.epoch += 1n;
    this.region.writeBlock(this.region.layout.knobsAt, this.epoch, 0n, knobs.map((k) => values[k]!));
    return this.epoch;
  }
}
