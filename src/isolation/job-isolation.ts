// Enforcement of a job's grant on this host: its own cpuset cgroup (the grant's CPUs and the memory
// nodes of its NUMA node), sched affinity, and where resctrl exists and the job asks for it, a
// resctrl group with its cache ways and memory bandwidth. The job's launcher shell enters its
// groups before it execs the job, so every process of the job starts confined. Names derive from
// the work directory and the job id, so a wayfinder restarted after a kill removes exactly what its
// predecessor left (reapStale).

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { JobResources } from '../types.js';
import { formatCpuList, parseCpuList } from '../util/cpulist.js';
import { CpusetManager, type Cgroup, type CgroupVersion } from './cpuset.js';
import { Resctrl, type ResctrlOptions } from './resctrl.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { WayPool } from '../scheduler/ways.js';

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
}

export interface ConfineRequest {
  jobId: string;
  cpus: number[];
  numaNodes: number[];
  resources?: JobResources;
  /** The way masks the scheduler chose, by L3 domain. */
  l3Masks?: Record<number, number>;
  /** A container job: the engine confines it (its own cgroup with the grant's CPUs), not the launcher. */
  container?: boolean;
}

/** Short and stable per work directory: cgroup names must not collide between work directories. */
export function cgroupPrefix(workdir: string): string {
  return `wayfinder-${createHash('sha1').update(workdir).digest('hex').slice(0, 8)}`;
}

/** A group name for a job id: readable, within the characters cgroups and resctrl accept, unique by hash. */
export function jobGroupName(jobId: string): string {
  const readable = jobId.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 32);
  return `${readable}-${createHash('sha1').update(jobId).digest('hex').slice(0, 10)}`;
}

/**
 * An argv whose shell writes its own pid into each of `files` (cgroup.procs, resctrl tasks), pins
 * itself to `cpus`, then execs `argv`: the job's first instruction already runs confined. If any
 * step fails the job never starts (exit status 126 with the reason on stderr).
 */
export function launcherCommand(files: string[], cpus: number[] | undefined, argv: string[]): string[] {
  if (argv.length === 0) throw new Error('isolation: launcherCommand needs a command to run');
  const pin = cpus && cpus.length > 0 ? ['taskset', '-c', formatCpuList(cpus)] : [];
  const script = [
    'n=$1; shift',
    'while [ "$n" -gt 0 ]; do echo $$ > "$1" || { echo "wayfinder: cannot enter $1" >&2; exit 126; }; shift; n=$((n-1)); done',
    'exec "$@"',
  ].join('\n');
  return ['/bin/sh', '-c', script, 'wayfinder-launcher', String(files.length), ...files, ...pin, ...argv];
}

export class JobIsolation {
  readonly cpusets: CpusetManager | undefined;
  private resctrl: Resctrl | undefined;
  private version: CgroupVersion = 'none';
  private ready: Promise<void> | undefined;
  /** Creating a job's group and removing the emptied parent must not interleave. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: JobIsolationOptions) {
    this.cpusets = opts.cgroupRoot === false ? undefined : new CpusetManager({ root: opts.cgroupRoot ?? '/sys/fs/cgroup', prefix: cgroupPrefix(opts.workdir) });
  }

  /** Find what the host offers and remove what a killed predecessor left; idempotent. */
  start(): Promise<void> {
    this.ready ??= this.init();
    return this.ready;
  }

  private async init(): Promise<void> {
    this.version = this.cpusets?.detect() ?? 'none';
    if (this.cpusets && this.version !== 'none') await this.cpusets.reapStale();
    if (this.opts.resctrl !== false) {
      const o = this.opts.resctrl ?? {};
      this.resctrl = await Resctrl.detect({ stateFile: join(this.opts.workdir, 'state', 'resctrl-default.schemata'), ...o });
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
    if (req.container) {
      return {
        enforced: { cgroup: 'none', cpuIsolationOnly: true, notes: ['container: CPUs confined by the container engine'] },
        wrap: (argv) => argv,
        release: async () => undefined,
      };
    }
    const name = jobGroupName(req.jobId);
    const notes: string[] = [];
    const files: string[] = [];
    let cg: Cgroup | undefined;
    if (this.cpusets && this.version !== 'none') {
      const cpusets = this.cpusets;
      const mems = await this.memsFor(req.numaNodes);
      cg = await this.serial(() => cpusets.create(name, req.cpus, mems));
      files.push(cg.procsFile);
    } else {
      notes.push('no cpuset cgroup hierarchy: CPUs enforced by affinity only');
    }
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
      wrap: (argv) => launcherCommand(files, req.cpus, argv),
      release: async () => {
        const errors: string[] = [];
        if (cg) {
          try {
            await cg.kill();
            await cg.remove();
          } catch (e) {
            errors.push((e as Error).message);
          }
        }
        // The last job's group gone, the parent goes too: a work directory deleted later leaves nothing.
        const cpusets = this.cpusets;
        if (cg && cpusets) await this.serial(() => fsp.rmdir(cpusets.parentDir(this.version)).catch(() => undefined));
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

  /** Remove what is left (groups of jobs still running are the caller's to release first) and the parent group. */
  async close(): Promise<void> {
    if (!this.ready) return;
    await this.ready.catch(() => undefined);
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

  private async parentMems(): Promise<number[]> {
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

/** Let the scheduler place jobs that ask for cache ways or bandwidth against what resctrl has here. */
export function partitionScheduler(scheduler: Scheduler, isolation: JobIsolation): void {
  const rc = isolation.resctrlHandle;
  if (rc && !scheduler.partitions) scheduler.partitions = WayPool.fromInfo(rc.info);
}
