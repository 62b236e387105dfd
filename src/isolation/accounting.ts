// CPU time and peak memory of each run, and the job's memory limit, through cgroups: on v1 a
// cpuacct group and a memory group per job (beside its cpuset group; the hierarchies are apart),
// on v2 the job's own group (its cpuset group: a process is in one v2 group only). Groups are
// named under the work directory's prefix like the cpuset groups, so a restarted wayfinder reaps
// what a killed one left (reapStale). A job's groups serve all its runs: each run resets the
// counters first (begin) and reads them when it has ended (end).

import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunUsage } from '../wire.js';

export type AccountingVersion = 'v1' | 'v2' | 'none';

/** What one run used, and whether the kernel's OOM killer struck inside the job's memory limit. */
export interface Metered {
  usage: RunUsage;
  oomKilled: boolean;
}

export interface RunMeter {
  /** The cgroup.procs files the job's first process enters (v1; on v2 the cpuset group's does). */
  readonly procsFiles: string[];
  /** A path below the hierarchy roots, for the container engine's CgroupParent (engine-confined jobs). */
  readonly engineParent?: string;
  /** Before each run: zero the counters (the groups are empty between runs). */
  begin(): Promise<void>;
  end(): Promise<Metered>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readText(file: string): Promise<string | undefined> {
  try {
    return (await fsp.readFile(file, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

async function write(file: string, value: string): Promise<void> {
  try {
    await fsp.writeFile(file, value);
  } catch (e) {
    throw new Error(`accounting: writing "${value}" to ${file} failed: ${(e as Error).message}`);
  }
}

/** `key value` lines (cpu.stat, memory.events, memory.oom_control) as numbers. */
export function keyedNumbers(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

/** Which accounting this host offers under `root`: v1 needs cpuacct and memory, v2 the memory controller. */
export function accountingVersion(root: string): AccountingVersion {
  const controllers = join(root, 'cgroup.controllers');
  if (existsSync(controllers)) return readFileSync(controllers, 'utf8').split(/\s+/).includes('memory') ? 'v2' : 'none';
  if (existsSync(join(root, 'cpuacct', 'cpuacct.usage')) && existsSync(join(root, 'memory', 'memory.limit_in_bytes'))) return 'v1';
  return 'none';
}

/**
 * Why a memory limit cannot be enforced for host jobs under `root`, or undefined when it can.
 * Without the memory controller there is nothing to put the limit on.
 */
export function memoryLimitProblem(root: string | false): string | undefined {
  if (root === false) return 'cgroups are turned off here (WAYFINDER_CGROUP_ROOT=none): a host job\'s memory limit cannot be enforced';
  const version = accountingVersion(root);
  if (version === 'none') {
    return `no memory cgroup controller under ${root} (neither v1 memory/ nor v2 with memory delegated): a host job's memory limit cannot be enforced`;
  }
  // On v2 a job has one group, its cpuset group: the limit is set there.
  if (version === 'v2' && !readFileSync(join(root, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('cpuset')) {
    return `no cpuset controller under ${root}: a host job gets no group of its own to hold its memory limit`;
  }
  return undefined;
}

/** One v1 group per controller; the limit goes on the memory group. */
class V1Meter implements RunMeter {
  readonly procsFiles: string[];
  private oomBefore = 0;

  constructor(
    private readonly cpuacct: string,
    private readonly memory: string,
    readonly engineParent?: string,
  ) {
    this.procsFiles = [join(cpuacct, 'cgroup.procs'), join(memory, 'cgroup.procs')];
  }

  async limit(bytes: number | undefined): Promise<void> {
    // A reused group may carry the previous job's limit: -1 lifts it. No swap beyond the limit.
    const memsw = join(this.memory, 'memory.memsw.limit_in_bytes');
    const hasSwapFile = existsSync(memsw);
    if (bytes === undefined) {
      if (hasSwapFile) await write(memsw, '-1');
      await write(join(this.memory, 'memory.limit_in_bytes'), '-1');
      return;
    }
    // memsw must stay at or above the plain limit: lift it first, then set both.
    if (hasSwapFile) await write(memsw, '-1');
    await write(join(this.memory, 'memory.limit_in_bytes'), String(bytes));
    if (hasSwapFile) await write(memsw, String(bytes));
  }

  async begin(): Promise<void> {
    await write(join(this.cpuacct, 'cpuacct.usage'), '0');
    // Page cache the last run left charged here would count as this run's: drop it (the group is empty now).
    await fsp.writeFile(join(this.memory, 'memory.force_empty'), '0').catch(() => undefined);
    await write(join(this.memory, 'memory.max_usage_in_bytes'), '0');
    this.oomBefore = keyedNumbers(await readText(join(this.memory, 'memory.oom_control'))).oom_kill ?? 0;
  }

  async end(): Promise<Metered> {
    const ns = Number(await readText(join(this.cpuacct, 'cpuacct.usage')));
    const peak = Number(await readText(join(this.memory, 'memory.max_usage_in_bytes')));
    const oom = keyedNumbers(await readText(join(this.memory, 'memory.oom_control'))).oom_kill ?? 0;
    return {
      usage: { cpuMs: Math.round(ns / 1e4) / 100, ...(Number.isFinite(peak) ? { peakMemoryBytes: peak } : {}), source: 'cgroup-v1' },
      oomKilled: oom > this.oomBefore,
    };
  }
}

/**
 * A v2 group: CPU time as the difference of cpu.stat's usage_usec, the peak from memory.peak
 * reset through an open descriptor where the kernel allows it (6.12 and later), else the highest
 * memory.current seen while the run lasts.
 */
class V2Meter implements RunMeter {
  readonly procsFiles: string[] = [];
  private cpuBefore = 0;
  private oomBefore = 0;
  private peakFd: import('node:fs/promises').FileHandle | undefined;
  private polled = 0;
  private poller: NodeJS.Timeout | undefined;

  constructor(
    private readonly dir: string,
    readonly engineParent?: string,
  ) {}

  async limit(bytes: number | undefined): Promise<void> {
    await write(join(this.dir, 'memory.max'), bytes === undefined ? 'max' : String(bytes));
    await fsp.writeFile(join(this.dir, 'memory.swap.max'), bytes === undefined ? 'max' : '0').catch(() => undefined);
  }

  async begin(): Promise<void> {
    this.cpuBefore = keyedNumbers(await readText(join(this.dir, 'cpu.stat'))).usage_usec ?? 0;
    this.oomBefore = keyedNumbers(await readText(join(this.dir, 'memory.events'))).oom_kill ?? 0;
    await this.peakFd?.close().catch(() => undefined);
    this.peakFd = undefined;
    try {
      const fd = await fsp.open(join(this.dir, 'memory.peak'), 'r+');
      await fd.write('0\n');
      this.peakFd = fd;
    } catch {
      this.polled = 0;
      clearInterval(this.poller);
      this.poller = setInterval(() => {
        void readText(join(this.dir, 'memory.current')).then((t) => {
          const v = Number(t);
          if (v > this.polled) this.polled = v;
        });
      }, 20);
      this.poller.unref();
    }
  }

  async end(): Promise<Metered> {
    const cpu = keyedNumbers(await readText(join(this.dir, 'cpu.stat'))).usage_usec ?? 0;
    const oom = keyedNumbers(await readText(join(this.dir, 'memory.events'))).oom_kill ?? 0;
    let peak: number | undefined;
    if (this.peakFd) {
      const buf = Buffer.alloc(64);
      const { bytesRead } = await this.peakFd.read(buf, 0, 64, 0);
      peak = Number(buf.toString('utf8', 0, bytesRead).trim());
      await this.peakFd.close().catch(() => undefined);
      this.peakFd = undefined;
    } else {
      clearInterval(this.poller);
      peak = this.polled > 0 ? this.polled : undefined;
    }
    return {
      usage: { cpuMs: Math.round((cpu - this.cpuBefore) / 10) / 100, ...(peak !== undefined && Number.isFinite(peak) ? { peakMemoryBytes: peak } : {}), source: 'cgroup-v2' },
      oomKilled: oom > this.oomBefore,
    };
  }
}

export interface AccountingOptions {
  /** Where the cgroup filesystems are mounted. */
  root: string;
  /** The work directory's prefix (cgroupPrefix): the parent of every group made here. */
  prefix: string;
}

/** Makes, hands out and reaps the accounting groups of one work directory. */
export class Accounting {
  readonly version: AccountingVersion;
  private count = 0;
  /** v1 groups of ended jobs, kept for the next (making and removing groups costs milliseconds). */
  private readonly spare: V1Meter[] = [];

  constructor(private readonly opts: AccountingOptions) {
    this.version = accountingVersion(opts.root);
  }

  private v1Dir(controller: string, name = ''): string {
    return join(this.opts.root, controller, this.opts.prefix, name);
  }

  /**
   * A meter for a job confined by our launcher, with its memory limit set. On v2 it meters the
   * job's own group `v2Dir` (made by the cpuset manager, with the memory controller enabled).
   */
  async forLauncher(memoryBytes: number | undefined, v2Dir?: string): Promise<RunMeter | undefined> {
    if (this.version === 'v1') {
      const m = this.spare.pop() ?? (await this.makeV1(`acct-${++this.count}`));
      await m.limit(memoryBytes);
      return m;
    }
    if (this.version === 'v2' && v2Dir) {
      const m = new V2Meter(v2Dir);
      await m.limit(memoryBytes);
      return m;
    }
    return undefined;
  }

  /**
   * A v1 meter goes back to the pool once its job has ended, emptied first: without a cpuset group
   * nothing else has killed what escaped the job's process group (one read when nothing did).
   */
  async giveBack(m: RunMeter | undefined): Promise<void> {
    if (!(m instanceof V1Meter) || m.engineParent !== undefined) return;
    const file = m.procsFiles[1] as string;
    for (let tries = 0; tries < 500; tries++) {
      const pids = ((await readText(file)) ?? '').split('\n').filter(Boolean);
      if (pids.length === 0) {
        this.spare.push(m);
        return;
      }
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone already
        }
      }
      await sleep(20);
    }
    // Still busy after 10 s: left for reapStale rather than handed to another job.
  }

  /**
   * A parent group for a container engine's container (CgroupParent): the engine makes the
   * container's groups below it, and what they used stays counted in it after they are gone.
   */
  async forEngine(): Promise<RunMeter | undefined> {
    const name = `engine-${process.pid}-${++this.count}`;
    const parent = `/${this.opts.prefix}/${name}`;
    if (this.version === 'v1') return this.makeV1(name, parent);
    if (this.version === 'v2') {
      const dir = join(this.opts.root, this.opts.prefix, name);
      await enableControllers(this.opts.root, ['memory', 'cpu']);
      await fsp.mkdir(join(this.opts.root, this.opts.prefix), { recursive: true });
      await enableControllers(join(this.opts.root, this.opts.prefix), ['memory', 'cpu']);
      await fsp.mkdir(dir, { recursive: true });
      return new V2Meter(dir, parent);
    }
    return undefined;
  }

  /** Remove an engine parent (in every hierarchy: the engine made one in each). */
  async removeEngine(m: RunMeter | undefined): Promise<void> {
    if (!m?.engineParent) return;
    await this.removeEverywhere(m.engineParent.split('/').pop() as string);
  }

  private async makeV1(name: string, engineParent?: string): Promise<V1Meter> {
    const cpuacct = this.v1Dir('cpuacct', name);
    const memory = this.v1Dir('memory', name);
    await fsp.mkdir(cpuacct, { recursive: true });
    await fsp.mkdir(memory, { recursive: true });
    return new V1Meter(cpuacct, memory, engineParent);
  }

  /** The hierarchies mounted under the root (v1), or the root itself (v2). */
  private async hierarchies(): Promise<string[]> {
    if (this.version === 'v2') return [this.opts.root];
    const out: string[] = [];
    for (const d of await fsp.readdir(this.opts.root, { withFileTypes: true }).catch(() => [])) {
      // In cpuset/ only our acct-/engine- names are touched: job-N groups are the cpuset manager's.
      if (d.isDirectory() && existsSync(join(this.opts.root, d.name, 'cgroup.procs'))) out.push(join(this.opts.root, d.name));
    }
    return out;
  }

  private async removeEverywhere(name: string): Promise<void> {
    for (const h of await this.hierarchies()) await removeTree(join(h, this.opts.prefix, name));
  }

  /** The spare groups go once jobs have stopped coming (JobIsolation's idle sweep). */
  async sweep(): Promise<void> {
    for (const m of this.spare.splice(0)) for (const f of m.procsFiles) await removeTree(join(f, '..'));
    if (this.version === 'v1') for (const c of ['cpuacct', 'memory']) await fsp.rmdir(this.v1Dir(c)).catch(() => undefined);
  }

  /** Remove every group of ours a killed predecessor (or this process) left; processes in them are killed. */
  async reapStale(): Promise<void> {
    if (this.version === 'none') return;
    this.spare.splice(0);
    for (const h of await this.hierarchies()) {
      const parent = join(h, this.opts.prefix);
      const entries = await fsp.readdir(parent, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        // On v2 the cpuset manager's job groups share the parent: those are its to reap.
        if (e.isDirectory() && (e.name.startsWith('acct-') || e.name.startsWith('engine-'))) await removeTree(join(parent, e.name));
      }
      if (this.version === 'v1') await fsp.rmdir(parent).catch(() => undefined);
    }
  }

  /** The spare groups and the parents go (a work directory deleted later leaves nothing). */
  async close(): Promise<void> {
    await this.reapStale();
  }
}

/** Depth first: kill what is inside, then rmdir (a group holding processes or children cannot go). */
async function removeTree(dir: string): Promise<void> {
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return;
  for (const e of entries) if (e.isDirectory()) await removeTree(join(dir, e.name));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const procs = (await readText(join(dir, 'cgroup.procs'))) ?? '';
    for (const pid of procs.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone already
      }
    }
    try {
      await fsp.rmdir(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || Date.now() > deadline) throw new Error(`accounting: removing ${dir} failed: ${(e as Error).message}`);
      await sleep(20);
    }
  }
}

/** v2: a child gets a controller's files only when its parent enables it for its children. */
export async function enableControllers(dir: string, names: string[]): Promise<void> {
  const available = ((await readText(join(dir, 'cgroup.controllers'))) ?? '').split(/\s+/);
  const enabled = ((await readText(join(dir, 'cgroup.subtree_control'))) ?? '').split(/\s+/);
  const add = names.filter((n) => available.includes(n) && !enabled.includes(n));
  if (add.length > 0) await write(join(dir, 'cgroup.subtree_control'), add.map((n) => `+${n}`).join(' '));
}
