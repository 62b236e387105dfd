// Enforcement of a job's grant on this host: a cpuset cgroup that holds that job alone (the grant's
// CPUs and the memory nodes of its NUMA node; emptied groups are reused by later jobs), sched
// affinity, and where resctrl exists and the job asks for it, a resctrl group with its cache ways
// and memory bandwidth. The job's launcher shell enters its groups before it runs the job, so every
// process of the job starts confined. Names derive from the work directory (and for resctrl, the
// job id), so a wayfinder restarted after a kill removes exactly what its predecessor left
// (reapStale).

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { JobResources } from '../types.js';
import { formatCpuList, parseCpuList } from '../util/cpulist.js';
import { Accounting, enableControllers, type RunMeter } from './accounting.js';
import { CpusetManager, type Cgroup, type CgroupVersion } from './cpuset.js';
import { Resctrl, type ResctrlOptions } from './resctrl.js';
import { resctrlDefaultStatePath } from '../workdir.js';

export interface JobIsolationOptions {
  workdir: string;
  /** Where the cgroup filesystems are mounted (default /sys/fs/cgroup); false: no cpuset groups. */
  cgroupRoot?: string | false;
  /** The resctrl mount to use (default: the kernel's, if mounted); false: never use resctrl. */
  resctrl?: ResctrlOptions | false;
}

/** What a job's placement gains from enforcement, stored with its results. */
export interface Enforced {
  /** cgroup v1 | v2 | none: how the CPU set is enforced besides affinity. */
  cgroup: CgroupVersion;
  /** Domain -> way mask, when the job has a resctrl group with cache ways. */
  l3Masks?: Record<number, string>;
  /** Bandwidth written per domain (percent, or the mount's unit). */
  mb?: Record<number, number>;
  /** The bandwidth cap in percent the job got (the values in `mb` are in the mount's unit). */
  mbPercent?: number;
  /** No cache or bandwidth partition: the host has no resctrl, or the job asked for none. */
  cpuIsolationOnly: boolean;
  notes: string[];
}

export interface Confinement {
  enforced: Enforced;
  /** The job's command line, run so that it enters its groups and CPUs before it starts. */
  wrap(argv: string[]): string[];
  /** Remove the job's groups (its processes are gone by now; stragglers are killed). */
  release(): Promise<void>;
  /** Counts each run's CPU time and peak memory; absent where this host has no cgroup for it. */
  meter?: RunMeter;
}

export interface ConfineRequest {
  jobId: string;
  cpus: number[];
  numaNodes: number[];
  resources?: JobResources;
  /** The way masks the scheduler chose, by L3 domain. */
  l3Masks?: Record<number, number>;
  /**
   * The runner's engine confines the job (a container's own cgroups with the grant's CPUs), not
   * our launcher: the job gets only a parent group for its accounting (Runner.confinement).
   */
  byEngine?: boolean;
}

const IDLE_MS = 2000;

const groupKey = (cpus: number[], mems: number[]): string => `${formatCpuList(cpus)}/${formatCpuList(mems)}`;

/** Short and stable per work directory: cgroup names must not collide between work directories. */
export function cgroupPrefix(workdir: string): string {
  return `wayfinder-${createHash('sha1').update(workdir).digest('hex').slice(0, 8)}`;
}

/** A group name for a job id: readable, within the characters cgroups and resctrl accept, unique by hash. */
export function jobGroupName(jobId: string): string {
  const readable = jobId.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 32);
  return `${readable}-${createHash('sha1').update(jobId).digest('hex').slice(0, 10)}`;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * An argv whose shell writes its own pid into each of `files` (cgroup.procs, resctrl tasks), pins
 * itself to `cpus` when given (without a cpuset cgroup: entering one sets the affinity already),
 * then runs `argv`: the job's first instruction already runs confined. If any step fails the job
 * never starts (exit status 126 with the reason on stderr). A shell command (`/bin/sh -c CMD`) runs
 * in the launcher's own shell, which saves a process start per job.
 */
export function launcherCommand(files: string[], cpus: number[] | undefined, argv: string[]): string[] {
  if (argv.length === 0) throw new Error('isolation: launcherCommand needs a command to run');
  const enter = files.map((f) => `echo $$ > ${quote(f)} || { echo ${quote(`wayfinder: cannot enter ${f}`)} >&2; exit 126; }\n`).join('');
  const pin = cpus && cpus.length > 0 ? ['taskset', '-c', formatCpuList(cpus)] : [];
  if (pin.length === 0 && argv.length === 3 && argv[0] === '/bin/sh' && argv[1] === '-c') return ['/bin/sh', '-c', enter + (argv[2] as string)];
  return ['/bin/sh', '-c', `${enter}exec "$@"`, 'wayfinder-launcher', ...pin, ...argv];
}

export class JobIsolation {
  readonly cpusets: CpusetManager | undefined;
  /** Accounting and memory-limit groups (cpuacct and memory on v1, the job's own group on v2). */
  readonly accounting: Accounting | undefined;
  private v2ControllersEnabled = false;
  private resctrl: Resctrl | undefined;
  private version: CgroupVersion = 'none';
  private ready: Promise<void> | undefined;
  /** Creating a job's group and removing the emptied parent must not interleave. */
  private chain: Promise<unknown> = Promise.resolve();
  /**
   * Emptied job groups, kept for the next jobs: making and removing a cgroup per job costs
   * milliseconds (a v1 rmdir waits for the kernel's RCU grace period), a job of `true` less. A
   * group holds one job at a time; the spares go once no job has ended for IDLE_MS.
   */
  private readonly spare: { cg: Cgroup; key: string }[] = [];
  private groups = 0;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: JobIsolationOptions) {
    this.cpusets = opts.cgroupRoot === false ? undefined : new CpusetManager({ root: opts.cgroupRoot ?? '/sys/fs/cgroup', prefix: cgroupPrefix(opts.workdir) });
    this.accounting = opts.cgroupRoot === false ? undefined : new Accounting({ root: opts.cgroupRoot ?? '/sys/fs/cgroup', prefix: cgroupPrefix(opts.workdir) });
  }

  /** Find what the host offers and remove what a killed predecessor left; idempotent. */
  start(): Promise<void> {
    this.ready ??= this.init();
    return this.ready;
  }

  private async init(): Promise<void> {
    this.version = this.cpusets?.detect() ?? 'none';
    // Accounting first: on v1 an engine's leftover parent sits in cpuset/ too, and holds no cpuset job of ours.
    await this.accounting?.reapStale();
    if (this.cpusets && this.version !== 'none') await this.cpusets.reapStale();
    if (this.opts.resctrl !== false) {
      const o = this.opts.resctrl ?? {};
      this.resctrl = await Resctrl.detect({ stateFile: resctrlDefaultStatePath(this.opts.workdir), ...o });
      if (this.resctrl) await this.resctrl.reapStale();
    }
  }

  /** Whether cache ways and bandwidth can be partitioned here. */
  get hasResctrl(): boolean {
    return this.resctrl !== undefined;
  }

  get resctrlHandle(): Resctrl | undefined {
    return this.resctrl;
  }

  async confine(req: ConfineRequest): Promise<Confinement> {
    await this.start();
    const memoryBytes = req.resources?.memoryBytes;
    if (req.byEngine) {
      const meter = await this.accounting?.forEngine().catch(() => undefined);
      return {
        enforced: { cgroup: 'none', cpuIsolationOnly: true, notes: ['container: CPUs confined by the container engine'] },
        wrap: (argv) => argv,
        release: async () => this.accounting?.removeEngine(meter),
        ...(meter ? { meter } : {}),
      };
    }
    const name = jobGroupName(req.jobId);
    const notes: string[] = [];
    const files: string[] = [];
    let cg: Cgroup | undefined;
    let mems: number[] = [];
    if (this.cpusets && this.version !== 'none') {
      const cpusets = this.cpusets;
      mems = await this.memsFor(req.numaNodes);
      cg = await this.serial(() => this.takeGroup(cpusets, req.cpus, mems));
      files.push(cg.procsFile);
    } else {
      notes.push('no cpuset cgroup hierarchy: CPUs enforced by affinity only');
    }
    let meter: RunMeter | undefined;
    try {
      meter = await this.meterFor(memoryBytes, cg);
    } catch (e) {
      await cg?.remove().catch(() => undefined);
      throw e;
    }
    if (meter) files.push(...meter.procsFiles);
    const wantsPartition = req.resources?.l3Ways !== undefined || req.resources?.mbPercent !== undefined;
    const enforced: Enforced = { cgroup: this.version, cpuIsolationOnly: true, notes };
    let rcGroup: string | undefined;
    if (wantsPartition && this.resctrl) {
      try {
        const domains = [...this.resctrl.info.cpusOfDomain].filter(([, cpus]) => cpus.some((c) => req.cpus.includes(c))).map(([d]) => d);
        const g = await this.resctrl.allocate(name, {
          domains,
          ...(req.l3Masks ? { l3Masks: req.l3Masks } : {}),
          ...(req.resources?.l3Ways !== undefined ? { l3Ways: req.resources.l3Ways } : {}),
          ...(req.resources?.mbPercent !== undefined ? { mbPercent: req.resources.mbPercent } : {}),
        });
        rcGroup = g.group;
        files.push(join(this.resctrl.fs.root, g.group, 'tasks'));
        if (Object.keys(g.l3Masks).length > 0) enforced.l3Masks = g.l3Masks;
        if (Object.keys(g.mb).length > 0) {
          enforced.mb = g.mb;
          if (req.resources?.mbPercent !== undefined) enforced.mbPercent = req.resources.mbPercent;
        }
        enforced.cpuIsolationOnly = false;
      } catch (e) {
        await cg?.remove().catch(() => undefined);
        await this.accounting?.giveBack(meter);
        throw e;
      }
    } else if (wantsPartition) {
      notes.push('cpu isolation only: no resctrl on this host, cache ways and memory bandwidth are not partitioned');
    } else if (!this.resctrl) {
      notes.push('cpu isolation only: no resctrl on this host');
    }
    const resctrl = this.resctrl;
    return {
      enforced,
      // In a cpuset cgroup the kernel sets the affinity on entry; without one, taskset does.
      wrap: (argv) => launcherCommand(files, cg ? undefined : req.cpus, argv),
      ...(meter ? { meter } : {}),
      release: async () => {
        const errors: string[] = [];
        if (cg) {
          try {
            // Whatever escaped the job's process group dies here; the emptied group is kept.
            await cg.kill();
            this.spare.push({ cg, key: groupKey(req.cpus, mems) });
            this.sweepLater();
          } catch (e) {
            errors.push((e as Error).message);
            await cg.remove().catch(() => undefined);
          }
        }
        // Emptied, the accounting groups serve the next job.
        await this.accounting?.giveBack(meter);
        if (rcGroup && resctrl) {
          try {
            await resctrl.release(name);
          } catch (e) {
            errors.push((e as Error).message);
          }
        }
        if (errors.length > 0) throw new Error(`isolation: releasing job ${req.jobId}: ${errors.join('; ')}`);
      },
    };
  }

  /**
   * The job's accounting groups with its memory limit set; on v2 its cpuset group is the one
   * (with the memory controller enabled above it). A limit with nowhere to put it is an error.
   */
  private async meterFor(memoryBytes: number | undefined, cg: Cgroup | undefined): Promise<RunMeter | undefined> {
    const acct = this.accounting;
    if (acct && acct.version === 'v2' && cg && !this.v2ControllersEnabled && this.cpusets) {
      await enableControllers(this.cpusets.root, ['memory', 'cpu']);
      await enableControllers(this.cpusets.parentDir(this.version), ['memory', 'cpu']);
      this.v2ControllersEnabled = true;
    }
    let meter: RunMeter | undefined;
    try {
      meter = await acct?.forLauncher(memoryBytes, cg?.path);
    } catch (e) {
      if (memoryBytes !== undefined) throw e;
      // Without a limit to enforce, accounting is best effort: the launcher's rusage remains.
      return undefined;
    }
    if (!meter && memoryBytes !== undefined) {
      throw new Error(`isolation: the job's memory limit cannot be enforced: no memory cgroup here (${acct ? `accounting ${acct.version}` : 'cgroups turned off'})`);
    }
    return meter;
  }

  /** A spare group (one with the same CPUs and nodes first), or a new one. */
  private async takeGroup(cpusets: CpusetManager, cpus: number[], mems: number[]): Promise<Cgroup> {
    const key = groupKey(cpus, mems);
    const same = this.spare.findIndex((s) => s.key === key);
    const taken = same >= 0 ? this.spare.splice(same, 1)[0] : this.spare.shift();
    if (taken) {
      if (taken.key !== key) await taken.cg.configure(cpus, mems);
      return taken.cg;
    }
    return cpusets.create(`job-${++this.groups}`, cpus, mems);
  }

  private sweepLater(): void {
    clearTimeout(this.sweepTimer);
    this.sweepTimer = setTimeout(() => void this.serial(() => this.removeSpares()), IDLE_MS);
    this.sweepTimer.unref();
  }

  /** The spare groups go, and with the last group the parent: a work directory deleted later leaves nothing. */
  private async removeSpares(): Promise<void> {
    for (const { cg } of this.spare.splice(0)) await cg.remove().catch(() => undefined);
    await this.accounting?.sweep().catch(() => undefined);
    if (this.cpusets) await fsp.rmdir(this.cpusets.parentDir(this.version)).catch(() => undefined);
  }

  /** Remove what is left (groups of jobs still running are the caller's to release first) and the parent group. */
  async close(): Promise<void> {
    if (!this.ready) return;
    await this.ready.catch(() => undefined);
    clearTimeout(this.sweepTimer);
    await this.serial(() => this.removeSpares());
    await this.accounting?.close();
    if (this.cpusets && this.version !== 'none') {
      await this.cpusets.reapStale();
      await fsp.rmdir(this.cpusets.parentDir(this.version)).catch(() => undefined);
    }
    if (this.resctrl && this.resctrl.allocations().length === 0) {
      await this.resctrl.reapStale();
      await this.resctrl.unmountIfOurs();
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** The grant's NUMA nodes that the parent cpuset allows; all it allows when none of them is. */
  private async memsFor(nodes: number[]): Promise<number[]> {
    const allowed = await this.parentMems();
    const within = nodes.filter((n) => allowed.includes(n));
    return within.length > 0 ? within : allowed;
  }

  private parentMemsRead: Promise<number[]> | undefined;

  /** Read once: the memory nodes of a host do not change under a running wayfinder. */
  private parentMems(): Promise<number[]> {
    this.parentMemsRead ??= this.readParentMems();
    return this.parentMemsRead;
  }

  private async readParentMems(): Promise<number[]> {
    const root = this.cpusets?.root ?? '/sys/fs/cgroup';
    const file = this.version === 'v1' ? join(root, 'cpuset', 'cpuset.mems') : join(root, 'cpuset.mems.effective');
    try {
      const list = parseCpuList((await fsp.readFile(file, 'utf8')).trim());
      if (list.length > 0) return list;
    } catch {
      // v2 root has no cpuset.mems.effective on some kernels: node 0 always exists.
    }
    return [0];
  }
}

/** The placement fields of what was enforced: masks as schemata cells ("0=f00;1=f00"). */
export function enforcedPlacement(e: Enforced): { cgroup: string; cpuIsolationOnly: boolean; l3Mask?: string; mbPercent?: number; notes?: string[] } {
  return {
    cgroup: e.cgroup,
    cpuIsolationOnly: e.cpuIsolationOnly,
    ...(e.l3Masks ? { l3Mask: Object.entries(e.l3Masks).map(([d, m]) => `${d}=${m}`).join(';') } : {}),
    ...(e.mbPercent !== undefined ? { mbPercent: e.mbPercent } : {}),
    ...(e.notes.length > 0 ? { notes: e.notes } : {}),
  };
}

/** Roots for tests and unusual hosts: WAYFINDER_CGROUP_ROOT ("none" disables cpusets), WAYFINDER_RESCTRL_ROOT ("none" disables resctrl). */
export function isolationOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): Omit<JobIsolationOptions, 'workdir'> {
  const cg = env.WAYFINDER_CGROUP_ROOT;
  const rc = env.WAYFINDER_RESCTRL_ROOT;
  return {
    ...(cg ? { cgroupRoot: cg === 'none' ? false : cg } : {}),
    ...(rc ? { resctrl: rc === 'none' ? false : { root: rc } } : {}),
  };
}
