// Cache ways (CAT) and memory bandwidth (MBA) per running job through the resctrl filesystem:
// one group `wf-<jobId>` per job, the default group shrunk to the ways no job holds, and everything
// put back afterwards, also by a later process after a crash (reapStale).
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { readIfExists, removeIfExists, writeFileAtomic } from './atomic-file.js';
import { chooseWays, fullMask, rootMaskFrom, roundBandwidth, type CacheGeometry } from './resctrl-alloc.js';
import { NodeResctrlFs, type ResctrlFs } from './resctrl-fs.js';
import { findResctrlMount, readInfo, type ResctrlInfo } from './resctrl-info.js';
import { markerFor, mountResctrl, unmountIfOurs, type MountCommands } from './resctrl-mount.js';
import { formatCbm, formatSchemata, parseCbm, parseSchemata, type Schemata } from './resctrl-schemata.js';

export interface ResctrlOptions {
  /** The tree to use; default the kernel's mount (found in <procRoot>/mounts, or `root`). */
  fs?: ResctrlFs;
  root?: string;
  procRoot?: string;
  sysfsRoot?: string;
  /** Where the default group's schemata is saved before it is first shrunk. */
  stateFile?: string;
  /**
   * Mount resctrl when the kernel offers it and nobody has (root only; unmounted again by
   * unmountIfOurs). Default true; false never mounts. Commands are replaceable for tests.
   */
  mountIfAbsent?: boolean | MountCommands;
}

export interface ResctrlRequest {
  /** Cache ways on each of `domains`. */
  l3Ways?: number;
  /** Bandwidth cap in percent on each of `domains` (rounded up to what the kernel accepts). */
  mbPercent?: number;
  /** Bandwidth cap in MiB/s, only on an `mba_MBps` mount. */
  mbMBps?: number;
  /** L3 cache ids the job's CPUs are on. */
  domains: number[];
  /** The masks to take (the scheduler's choice, see WayPool); default: chosen here. Must be free. */
  l3Masks?: Record<number, number>;
}

export interface ResctrlGrant {
  jobId: string;
  /** Group directory name under the mount. */
  group: string;
  /** Domain -> way mask (hex) the job owns there; only the requested domains. */
  l3Masks: Record<number, string>;
  /** Domain -> bandwidth value as written (percent, MiB/s, or AMD 1/8 GB/s units). */
  mb: Record<number, number>;
}

/** A refused resctrl operation, with the kernel's reason from info/last_cmd_status. */
export class ResctrlError extends Error {
  constructor(
    message: string,
    readonly code?: string,
    readonly status?: string,
  ) {
    super(message);
    this.name = 'ResctrlError';
  }
}

const GROUP_PREFIX = 'wf-';
const JOB_ID = /^[A-Za-z0-9_.-]+$/;

interface JobState {
  group: string;
  /** Ways held on the job's own domains. */
  ways: Map<number, number>;
  mb: Map<number, number>;
}

const DEFAULT_STATE_FILE = '/run/wayfinder/resctrl-default.schemata';

export class Resctrl {
  private readonly jobs = new Map<string, JobState>();
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly fs: ResctrlFs,
    readonly info: ResctrlInfo,
    private readonly stateFile: string,
    private readonly procRoot: string,
    private readonly mountCommands: MountCommands,
  ) {}

  /** Unmount resctrl if this process (or a killed predecessor) mounted it; call with no groups left. */
  unmountIfOurs(): Promise<boolean> {
    return this.serial(() => unmountIfOurs(markerFor(this.stateFile), this.mountCommands));
  }

  /** The mounted resctrl, or undefined when the host has none (pinning-only isolation then). */
  static async detect(opts: ResctrlOptions = {}): Promise<Resctrl | undefined> {
    const procRoot = opts.procRoot ?? '/proc';
    let mount = await findResctrlMount(procRoot);
    if (!mount && opts.root === undefined && opts.mountIfAbsent !== false) {
      const cmds = typeof opts.mountIfAbsent === 'object' ? opts.mountIfAbsent : {};
      const target = join(opts.sysfsRoot ?? '/sys', 'fs/resctrl');
      const marker = markerFor(opts.stateFile ?? DEFAULT_STATE_FILE);
      if (await mountResctrl({ ...cmds, procRoot, target, marker })) mount = await findResctrlMount(procRoot);
    }
    if (!mount) return undefined;
    const fs = opts.fs ?? new NodeResctrlFs(opts.root ?? mount.mountPoint);
    const info = await readInfo(fs, mount.options, opts.sysfsRoot ?? '/sys');
    return new Resctrl(fs, info, opts.stateFile ?? DEFAULT_STATE_FILE, procRoot, typeof opts.mountIfAbsent === 'object' ? opts.mountIfAbsent : {});
  }

  static groupName(jobId: string): string {
    if (!JOB_ID.test(jobId)) throw new Error(`resctrl: job id "${jobId}" must be letters, digits, '_', '.' or '-'`);
    return `${GROUP_PREFIX}${jobId}`;
  }

  /** Create the job's group with its ways and bandwidth, and shrink the default group around it. */
  allocate(jobId: string, req: ResctrlRequest): Promise<ResctrlGrant> {
    return this.serial(() => this.doAllocate(jobId, req));
  }

  /** Move the job's launcher (every thread of `pid`) into its group, before it execs the job. */
  assign(jobId: string, pid: number): Promise<void> {
    return this.serial(async () => {
      const job = this.jobs.get(jobId);
      if (!job) throw new Error(`resctrl: no allocation for job "${jobId}"`);
      if (!Number.isInteger(pid) || pid <= 0) throw new Error(`resctrl: pid ${pid} is not a positive integer`);
      for (const tid of await this.threadsOf(pid)) await this.write(`${job.group}/tasks`, `${tid}\n`);
    });
  }

  /** Remove the job's group (its tasks return to the default group) and give its ways back. */
  release(jobId: string): Promise<void> {
    return this.serial(async () => {
      const group = Resctrl.groupName(jobId);
      this.jobs.delete(jobId);
      await this.removeGroup(group);
      await this.rebalance();
    });
  }

  /** Remove every `wf-*` group (left by this or a killed process) and restore the saved default group. */
  reapStale(): Promise<string[]> {
    return this.serial(async () => {
      const removed: string[] = [];
      for (const name of (await this.fs.readdir('')).sort()) {
        if (!name.startsWith(GROUP_PREFIX) || !(await this.fs.exists(`${name}/tasks`))) continue;
        await this.removeGroup(name);
        removed.push(name);
      }
      this.jobs.clear();
      await this.restoreDefault();
      return removed;
    });
  }

  /** Write schemata text to a group ('' = default group), turning refusals into ResctrlError. */
  writeSchemata(group: string, text: string): Promise<void> {
    return this.write(group === '' ? 'schemata' : `${group}/schemata`, text);
  }

  async readSchemata(group: string): Promise<Schemata> {
    return parseSchemata(await this.fs.readFile(group === '' ? 'schemata' : `${group}/schemata`));
  }

  /** Groups currently held by this process, by job id. */
  allocations(): string[] {
    return [...this.jobs.keys()];
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private geometry(): CacheGeometry {
    const l3 = this.info.l3;
    if (!l3) throw new Error(`resctrl: this host offers no L3 cache allocation (no info/L3 under ${this.fs.root})`);
    return { cbmLen: l3.cbmLen, minBits: l3.minCbmBits, shareable: l3.shareableBits, sparse: l3.sparse };
  }

  private checkRequest(jobId: string, req: ResctrlRequest): void {
    if (this.jobs.has(jobId)) throw new Error(`resctrl: job "${jobId}" already has an allocation`);
    if (req.domains.length === 0) throw new Error(`resctrl: job "${jobId}" names no L3 domain`);
    for (const d of req.domains) {
      if (!this.info.domains.includes(d)) {
        throw new Error(`resctrl: L3 domain ${d} does not exist (domains: ${this.info.domains.join(', ')})`);
      }
    }
    if (req.l3Ways !== undefined) {
      const geo = this.geometry();
      const min = Math.max(1, geo.minBits);
      const max = geo.cbmLen - Math.max(1, geo.minBits);
      if (!Number.isInteger(req.l3Ways) || req.l3Ways < min || req.l3Ways > max) {
        throw new Error(`resctrl: l3Ways ${req.l3Ways} out of range [${min},${max}] (the default group keeps at least ${min})`);
      }
    }
    const mb = this.info.mb;
    if (req.mbPercent !== undefined) {
      if (!mb) throw new Error(`resctrl: this host offers no memory bandwidth allocation (no info/MB)`);
      if (mb.unit === 'MBps') throw new Error(`resctrl: resctrl is mounted with mba_MBps: give mbMBps, not mbPercent`);
      if (!(req.mbPercent > 0 && req.mbPercent <= 100)) throw new Error(`resctrl: mbPercent ${req.mbPercent} out of range (0,100]`);
    }
    if (req.mbMBps !== undefined) {
      if (mb?.unit !== 'MBps') throw new Error(`resctrl: mbMBps needs resctrl mounted with -o mba_MBps`);
      if (!Number.isInteger(req.mbMBps) || req.mbMBps < 1) throw new Error(`resctrl: mbMBps ${req.mbMBps} must be a positive integer`);
    }
    if (this.jobs.size >= this.info.groupLimit) {
      throw new Error(`resctrl: all ${this.info.groupLimit} resctrl groups are in use (CLOSIDs: ${this.info.numClosids})`);
    }
  }

  private bandwidthFor(req: ResctrlRequest): number | undefined {
    const mb = this.info.mb;
    if (!mb) return undefined;
    if (req.mbMBps !== undefined) return req.mbMBps;
    if (req.mbPercent === undefined) return undefined;
    // AMD counts in 1/8 GB/s up to 2048 (= unlimited): a percent is taken of that.
    const raw = mb.unit === 'amd' ? Math.ceil((mb.max * req.mbPercent) / 100) : req.mbPercent;
    return roundBandwidth(raw, mb);
  }

  private async doAllocate(jobId: string, req: ResctrlRequest): Promise<ResctrlGrant> {
    const group = Resctrl.groupName(jobId);
    this.checkRequest(jobId, req);
    const ways = new Map<number, number>();
    if (req.l3Ways !== undefined) {
      const geo = this.geometry();
      for (const d of req.domains) {
        const free = fullMask(geo.cbmLen) & ~this.heldOn(d);
        const preset = req.l3Masks?.[d];
        if (preset !== undefined && (preset & ~free) !== 0) {
          throw new Error(`resctrl: ways ${formatCbm(preset)} on L3 domain ${d} for job "${jobId}" are not free (free ${formatCbm(free)})`);
        }
        const mask = preset ?? chooseWays(geo, free, req.l3Ways);
        if (mask === undefined) {
          throw new Error(
            `resctrl: no ${req.l3Ways} contiguous free ways on L3 domain ${d} for job "${jobId}" (free ${formatCbm(free)} of ${formatCbm(fullMask(geo.cbmLen))})`,
          );
        }
        ways.set(d, mask);
      }
    }
    const bw = this.bandwidthFor(req);
    const mb = new Map<number, number>();
    if (bw !== undefined) for (const d of req.domains) mb.set(d, bw);

    if (this.jobs.size === 0) await this.saveDefault();
    await this.mkdirGroup(group);
    const job: JobState = { group, ways, mb };
    this.jobs.set(jobId, job);
    try {
      // The new group starts overlapping everyone (kernel defaults), so its real masks go in first.
      await this.writeSchemata(group, formatSchemata(this.desiredFor(job)));
      await this.rebalance();
    } catch (e) {
      this.jobs.delete(jobId);
      await this.removeGroup(group).catch(() => undefined);
      await this.rebalance().catch(() => undefined);
      throw e;
    }
    const l3Masks: Record<number, string> = {};
    for (const [d, m] of ways) l3Masks[d] = formatCbm(m);
    return { jobId, group, l3Masks, mb: Object.fromEntries(mb) };
  }

  /** Ways held by jobs on domain d. */
  private heldOn(d: number): number {
    let held = 0;
    for (const j of this.jobs.values()) held |= j.ways.get(d) ?? 0;
    return held;
  }

  private defaultMaskOn(d: number): number {
    const geo = this.geometry();
    return rootMaskFrom(fullMask(geo.cbmLen) & ~this.heldOn(d), geo.sparse);
  }

  /**
   * A job's full schemata: its ways on its own domains and, elsewhere, what the default group has
   * (its tasks never run there; a mask is needed anyway, and that one overlaps no other job).
   */
  private desiredFor(job: JobState): Schemata {
    const s: Schemata = new Map();
    if (this.info.l3) {
      const line = new Map<number, string>();
      for (const d of this.info.domains) line.set(d, formatCbm(job.ways.get(d) ?? this.defaultMaskOn(d)));
      for (const name of this.info.l3Lines) s.set(name, line);
    }
    const mb = this.info.mb;
    if (mb) {
      const line = new Map<number, string>();
      for (const d of this.info.domains) line.set(d, String(job.mb.get(d) ?? mb.max));
      s.set('MB', line);
    }
    return s;
  }

  /** Shrink or grow the default group to the ways no job holds, and follow it in jobs' foreign domains. */
  private async rebalance(): Promise<void> {
    if (this.jobs.size === 0) {
      await this.restoreDefault();
      return;
    }
    if (!this.info.l3) return;
    const line = new Map<number, string>();
    for (const d of this.info.domains) line.set(d, formatCbm(this.defaultMaskOn(d)));
    const root: Schemata = new Map(this.info.l3Lines.map((n) => [n, line]));
    await this.writeIfChanged('', root);
    for (const job of this.jobs.values()) await this.writeIfChanged(job.group, this.desiredFor(job));
  }

  private async writeIfChanged(group: string, want: Schemata): Promise<void> {
    const have = await this.readSchemata(group);
    const diff: Schemata = new Map();
    for (const [name, domains] of want) {
      const cur = have.get(name);
      const changed = new Map<number, string>();
      for (const [d, v] of domains) {
        const same = cur?.has(d) && sameValue(name, cur.get(d) as string, v);
        if (!same) changed.set(d, v);
      }
      if (changed.size > 0) diff.set(name, changed);
    }
    if (diff.size > 0) await this.writeSchemata(group, formatSchemata(diff));
  }

  private async saveDefault(): Promise<void> {
    // A snapshot left by a killed process is the genuine original; never overwrite it with a shrunk one.
    if ((await readIfExists(this.stateFile)) !== undefined) return;
    await writeFileAtomic(this.stateFile, await this.fs.readFile('schemata'));
  }

  private async restoreDefault(): Promise<void> {
    const saved = await readIfExists(this.stateFile);
    if (saved === undefined) return;
    const snapshot = parseSchemata(saved);
    if (snapshot.size > 0) await this.writeIfChanged('', snapshot);
    await removeIfExists(this.stateFile);
  }

  private async mkdirGroup(group: string): Promise<void> {
    try {
      await this.fs.mkdir(group);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        throw new ResctrlError(`resctrl: group ${group} already exists under ${this.fs.root} (left by an earlier run? reapStale removes it)`, code);
      }
      throw await this.explain(e, `mkdir ${group}`);
    }
  }

  private async removeGroup(group: string): Promise<void> {
    try {
      await this.fs.rmdir(group);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw await this.explain(e, `rmdir ${group}`);
    }
  }

  private async write(path: string, text: string): Promise<void> {
    try {
      await this.fs.writeFile(path, text);
    } catch (e) {
      throw await this.explain(e, `writing ${JSON.stringify(text.trimEnd())} to ${path}`);
    }
  }

  /** The kernel's errno says little; info/last_cmd_status says why. */
  private async explain(e: unknown, what: string): Promise<Error> {
    const code = (e as NodeJS.ErrnoException).code;
    if (!code) return e as Error;
    const status = (await this.fs.readFile('info/last_cmd_status').catch(() => '')).trim();
    const reason =
      status && status !== 'ok'
        ? status.replace(/\n/g, '; ')
        : code === 'EINVAL' && what.includes('schemata')
          ? 'no reason given (an unknown domain id or a missing trailing newline does this)'
          : 'no reason given';
    return new ResctrlError(`resctrl: ${what} under ${this.fs.root} failed with ${code}: ${reason}`, code, status);
  }

  private async threadsOf(pid: number): Promise<number[]> {
    try {
      const tids = (await fsp.readdir(join(this.procRoot, String(pid), 'task'))).map(Number).filter(Number.isInteger);
      return tids.length > 0 ? tids.sort((a, b) => a - b) : [pid];
    } catch {
      return [pid];
    }
  }
}

/** Kernels print masks padded or not, and MB values padded: compare numerically. */
function sameValue(resource: string, a: string, b: string): boolean {
  if (resource.startsWith('MB') || resource === 'SMBA') return Number(a.trim()) === Number(b.trim());
  try {
    return parseCbm(a) === parseCbm(b);
  } catch {
    return a.trim() === b.trim();
  }
}
