// CPU and memory-node confinement of a job through a cpuset cgroup (v1 or v2), one group per job
// under `<prefix>/`, named deterministically so a restarted process can reap what a killed one left.
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatCpuList } from '../util/cpulist.js';

export type CgroupVersion = 'v1' | 'v2' | 'none';

export interface Cgroup {
  path: string;
  /** The file a pid is written to, to move that process in (cgroup.procs). */
  procsFile: string;
  addProcess(pid: number): Promise<void>;
  /** v2: cgroup.kill; v1: SIGKILL every pid in cgroup.procs/tasks until none is left. */
  kill(): Promise<void>;
  /** Wait until no process is left, then rmdir; nothing happens when already removed. */
  remove(): Promise<void>;
  pids(): Promise<number[]>;
  /** Give the (empty) group other CPUs and memory nodes. */
  configure(cpus: number[], mems: number[]): Promise<void>;
}

export interface CpusetOptions {
  /** Where the cgroup filesystems are mounted. */
  root?: string;
  /** Parent of every group this process creates. */
  prefix?: string;
  /** How long kill() and remove() wait for processes to go. */
  timeoutMs?: number;
}

const NAME = /^[A-Za-z0-9_.-]+$/;

function checkName(what: string, name: string): void {
  if (!NAME.test(name) || name === '.' || name === '..') {
    throw new Error(`cpuset: ${what} "${name}" must be letters, digits, '_', '.' or '-'`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

/**
 * A group removed while we read it: ENOENT before the open, ENODEV (kernfs) between the open and
 * the read. Both mean it holds no processes; the second happens when a job's own cleanup and the
 * work directory's (a Ctrl-C ends both at once) remove the same group.
 */
function gone(e: unknown): boolean {
  const code = errno(e);
  return code === 'ENOENT' || code === 'ENODEV';
}

async function writeCgroupFile(file: string, value: string, hint = ''): Promise<void> {
  try {
    await fsp.writeFile(file, value);
  } catch (e) {
    throw new Error(`cpuset: writing "${value}" to ${file} failed: ${(e as Error).message}${hint}`);
  }
}

class CgroupDir implements Cgroup {
  readonly procsFile: string;

  constructor(
    readonly path: string,
    readonly version: 'v1' | 'v2',
    private readonly timeoutMs: number,
  ) {
    this.procsFile = join(path, 'cgroup.procs');
  }

  async addProcess(pid: number): Promise<void> {
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`cpuset: pid ${pid} is not a positive integer`);
    await writeCgroupFile(this.procsFile, String(pid));
  }

  async configure(cpus: number[], mems: number[]): Promise<void> {
    await writeCgroupFile(join(this.path, 'cpuset.cpus'), formatCpuList(cpus));
    await writeCgroupFile(join(this.path, 'cpuset.mems'), formatCpuList(mems));
  }

  private pidsSync(): number[] {
    const files = this.version === 'v1' ? ['cgroup.procs', 'tasks'] : ['cgroup.procs'];
    const out: number[] = [];
    for (const f of files) {
      try {
        for (const line of readFileSync(join(this.path, f), 'utf8').split('\n')) if (line.trim() !== '') out.push(Number(line));
      } catch (e) {
        if (!gone(e)) throw e;
      }
    }
    return out;
  }

  async pids(): Promise<number[]> {
    const files = this.version === 'v1' ? ['cgroup.procs', 'tasks'] : ['cgroup.procs'];
    const out = new Set<number>();
    for (const f of files) {
      let text: string;
      try {
        text = await fsp.readFile(join(this.path, f), 'utf8');
      } catch (e) {
        if (gone(e)) continue;
        throw e;
      }
      for (const line of text.split('\n')) if (line.trim() !== '') out.add(Number(line));
    }
    return [...out];
  }

  async kill(): Promise<void> {
    if (!existsSync(this.path)) return;
    // The common case, a job that left nothing behind, costs two small reads and no thread hand-off.
    if (this.pidsSync().length === 0) return;
    const killFile = join(this.path, 'cgroup.kill');
    if (this.version === 'v2' && existsSync(killFile)) {
      try {
        await writeCgroupFile(killFile, '1');
      } catch (e) {
        // Removed meanwhile by another cleanup: nothing left to kill.
        if (!existsSync(this.path)) return;
        throw e;
      }
      await this.waitEmpty('kill');
      return;
    }
    // Without cgroup.kill a fork can slip in between reading and killing: repeat until empty.
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const pids = await this.pids();
      if (pids.length === 0) return;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch (e) {
          if (errno(e) !== 'ESRCH') throw e;
        }
      }
      if (Date.now() > deadline) throw new Error(`cpuset: ${this.path} still holds pids ${pids.join(',')} after SIGKILL`);
      await sleep(20);
    }
  }

  async remove(): Promise<void> {
    await this.waitEmpty('remove');
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      try {
        await fsp.rmdir(this.path);
        return;
      } catch (e) {
        const code = errno(e);
        if (code === 'ENOENT') return;
        // Exited tasks can keep the group busy for a moment until they are reaped.
        if (code !== 'EBUSY' || Date.now() > deadline) throw new Error(`cpuset: removing ${this.path} failed: ${(e as Error).message}`);
        await sleep(20);
      }
    }
  }

  private async waitEmpty(why: string): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      if (!existsSync(this.path)) return;
      const pids = await this.pids();
      if (pids.length === 0) return;
      if (Date.now() > deadline) {
        throw new Error(`cpuset: ${why}: ${this.path} still holds pids ${pids.join(',')} after ${this.timeoutMs} ms`);
      }
      await sleep(20);
    }
  }
}

export class CpusetManager {
  readonly root: string;
  readonly prefix: string;
  private readonly timeoutMs: number;

  constructor(opts: CpusetOptions = {}) {
    this.root = opts.root ?? '/sys/fs/cgroup';
    this.prefix = opts.prefix ?? 'wayfinder';
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    checkName('prefix', this.prefix);
  }

  /** v2 when the unified hierarchy at the root offers cpuset, v1 when a cpuset hierarchy is mounted, else none. */
  detect(): CgroupVersion {
    const controllers = join(this.root, 'cgroup.controllers');
    if (existsSync(controllers) && readFileSync(controllers, 'utf8').split(/\s+/).includes('cpuset')) return 'v2';
    if (existsSync(join(this.root, 'cpuset', 'cpuset.cpus'))) return 'v1';
    return 'none';
  }

  /** The directory holding this manager's groups. */
  parentDir(version = this.detect()): string {
    return version === 'v1' ? join(this.root, 'cpuset', this.prefix) : join(this.root, this.prefix);
  }

  /** A handle on an existing (or stale) group by name. */
  open(name: string): Cgroup {
    checkName('cgroup name', name);
    const version = this.requireVersion();
    return new CgroupDir(join(this.parentDir(version), name), version, this.timeoutMs);
  }

  async create(name: string, cpus: number[], mems: number[]): Promise<Cgroup> {
    checkName('cgroup name', name);
    if (cpus.length === 0) throw new Error(`cpuset: cgroup "${name}" needs at least one CPU`);
    if (mems.length === 0) throw new Error(`cpuset: cgroup "${name}" needs at least one memory node`);
    const version = this.requireVersion();
    const parent = this.parentDir(version);
    if (version === 'v1') await this.prepareV1(parent);
    else await this.prepareV2(parent);
    const dir = join(parent, name);
    try {
      await fsp.mkdir(dir);
    } catch (e) {
      if (errno(e) === 'EEXIST') throw new Error(`cpuset: ${dir} already exists (left by an earlier run? reapStale removes it)`);
      throw new Error(`cpuset: creating ${dir} failed: ${(e as Error).message}`);
    }
    const cg = new CgroupDir(dir, version, this.timeoutMs);
    try {
      const parentCpus = await readTrimmed(join(parent, version === 'v1' ? 'cpuset.cpus' : 'cpuset.cpus.effective'));
      const parentMems = await readTrimmed(join(parent, version === 'v1' ? 'cpuset.mems' : 'cpuset.mems.effective'));
      await writeCgroupFile(join(dir, 'cpuset.cpus'), formatCpuList(cpus), parentCpus ? ` (the parent allows CPUs ${parentCpus})` : '');
      await writeCgroupFile(join(dir, 'cpuset.mems'), formatCpuList(mems), parentMems ? ` (the parent allows nodes ${parentMems})` : '');
    } catch (e) {
      await fsp.rmdir(dir).catch(() => undefined);
      throw e;
    }
    return cg;
  }

  /** Kill and remove every group under the prefix (those whose name starts with prefixMatch); their names. */
  async reapStale(prefixMatch = ''): Promise<string[]> {
    const version = this.detect();
    if (version === 'none') return [];
    const parent = this.parentDir(version);
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fsp.readdir(parent, { withFileTypes: true });
    } catch (e) {
      if (errno(e) === 'ENOENT') return [];
      throw e;
    }
    const reaped: string[] = [];
    for (const e of entries.filter((d) => d.isDirectory() && d.name.startsWith(prefixMatch)).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const cg = new CgroupDir(join(parent, e.name), version, this.timeoutMs);
      await cg.kill();
      await cg.remove();
      reaped.push(e.name);
    }
    return reaped;
  }

  private requireVersion(): 'v1' | 'v2' {
    const v = this.detect();
    if (v === 'none') throw new Error(`cpuset: no cpuset cgroup hierarchy under ${this.root} (neither v2 with cpuset nor v1 cpuset/)`);
    return v;
  }

  /** v1 refuses tasks in a cpuset whose cpus or mems are empty, and a child starts empty: fill the parent from its parent. */
  private async prepareV1(parent: string): Promise<void> {
    await fsp.mkdir(parent, { recursive: true });
    const top = join(this.root, 'cpuset');
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      if ((await readTrimmed(join(parent, f))) === '') await writeCgroupFile(join(parent, f), await readTrimmed(join(top, f)));
    }
  }

  /** v2 gives a child the cpuset files only when every ancestor enables +cpuset for its children. */
  private async prepareV2(parent: string): Promise<void> {
    await enableCpuset(this.root);
    await fsp.mkdir(parent, { recursive: true });
    await enableCpuset(parent);
  }
}

async function enableCpuset(dir: string): Promise<void> {
  const control = join(dir, 'cgroup.subtree_control');
  let current = '';
  try {
    current = await fsp.readFile(control, 'utf8');
  } catch (e) {
    if (errno(e) !== 'ENOENT') throw new Error(`cpuset: reading ${control} failed: ${(e as Error).message}`);
  }
  if (current.split(/\s+/).includes('cpuset')) return;
  await writeCgroupFile(control, '+cpuset');
}

async function readTrimmed(file: string): Promise<string> {
  try {
    return (await fsp.readFile(file, 'utf8')).trim();
  } catch (e) {
    if (errno(e) === 'ENOENT') return '';
    throw e;
  }
}

/**
 * An argv that puts its own shell into the cgroup and then execs `argv`, so the job's first process
 * and all its descendants run confined from their first instruction. If the move fails the job never
 * starts (the shell exits non-zero).
 */
export function confinedCommand(cg: Cgroup, argv: string[]): string[] {
  if (argv.length === 0) throw new Error('cpuset: confinedCommand needs a command to run');
  return ['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', cg.procsFile, ...argv];
}
