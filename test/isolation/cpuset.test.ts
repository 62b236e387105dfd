// v1 for real on this machine (root, cgroup v1 cpuset at /sys/fs/cgroup/cpuset, CPUs 0-1); v2 only
// for the writes it makes, against a temp dir laid out like a unified hierarchy.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { setAffinity } from '../../src/isolation/affinity.js';
import { confinedCommand, CpusetManager } from '../../src/isolation/cpuset.js';

// A prefix of our own so nothing here can touch groups of other runs on this host.
const PREFIX = `wftest-${process.pid}`;
const V1_PARENT = join('/sys/fs/cgroup/cpuset', PREFIX);
const children: ChildProcess[] = [];

function statusField(pid: number, field: string): string {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return (line ?? '').split(':')[1]?.trim() ?? '';
}

async function waitFor(pred: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});
afterAll(async () => {
  await new CpusetManager({ prefix: PREFIX }).reapStale();
  if (existsSync(V1_PARENT)) rmdirSync(V1_PARENT);
});

describe('CpusetManager on this host (cgroup v1)', () => {
  const m = new CpusetManager({ prefix: PREFIX });

  it('detects v1', () => {
    expect(m.detect()).toBe('v1');
  });

  it('a command started through confinedCommand runs on the granted CPU only, from its first instruction', async () => {
    const cg = await m.create('run1-job', [1], [0]);
    expect(cg.path).toBe(join(V1_PARENT, 'run1-job'));
    expect(readFileSync(join(V1_PARENT, 'cpuset.cpus'), 'utf8').trim()).toBe(readFileSync('/sys/fs/cgroup/cpuset/cpuset.cpus', 'utf8').trim());
    const [cmd, ...args] = confinedCommand(cg, ['sleep', '30']) as [string, ...string[]];
    const child = spawn(cmd, args, { stdio: 'ignore' });
    children.push(child);
    const exited = new Promise((r) => child.on('exit', r));
    const pid = child.pid as number;
    await waitFor(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'), 'the exec');
    expect(statusField(pid, 'Cpus_allowed_list')).toBe('1');
    expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toMatch(new RegExp(`cpuset:/${PREFIX}/run1-job\\n`));
    expect(await cg.pids()).toEqual([pid]);

    await cg.kill();
    await exited;
    expect(child.signalCode).toBe('SIGKILL');
    await cg.remove();
    expect(existsSync(cg.path)).toBe(false);
    await cg.remove(); // already removed: no error
  });

  it('addProcess moves a running process; remove waits until it is gone', async () => {
    const cg = await m.create('run1-add', [1], [0]);
    const child = spawn('sleep', ['0.3'], { stdio: 'ignore' });
    children.push(child);
    await cg.addProcess(child.pid as number);
    expect(statusField(child.pid as number, 'Cpus_allowed_list')).toBe('1');
    const t0 = Date.now();
    await cg.remove();
    expect(Date.now() - t0).toBeGreaterThan(100);
    expect(existsSync(cg.path)).toBe(false);
  });

  it('a confined command whose group is gone never starts', async () => {
    const cg = await m.create('run1-gone', [1], [0]);
    await cg.remove();
    const [cmd, ...args] = confinedCommand(cg, ['touch', join(tmpdir(), `wf-should-not-exist-${process.pid}`)]) as [string, ...string[]];
    const child = spawn(cmd, args, { stdio: 'ignore' });
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).not.toBe(0);
    expect(existsSync(join(tmpdir(), `wf-should-not-exist-${process.pid}`))).toBe(false);
  });

  it('refuses CPUs outside the parent, a bad name, and an existing group, and names them', async () => {
    const hostCpus = readFileSync('/sys/fs/cgroup/cpuset/cpuset.cpus', 'utf8').trim();
    const beyond = cpus().length + 5;
    await expect(m.create('run1-big', [beyond], [0])).rejects.toThrow(
      new RegExp(`writing "${beyond}" to .*run1-big/cpuset.cpus failed.*parent allows CPUs ${hostCpus}\\)`),
    );
    expect(existsSync(join(V1_PARENT, 'run1-big'))).toBe(false);
    await expect(m.create('../escape', [1], [0])).rejects.toThrow(/cgroup name "..\/escape"/);
    const cg = await m.create('run1-twice', [0], [0]);
    await expect(m.create('run1-twice', [0], [0])).rejects.toThrow(/already exists .*reapStale/);
    await cg.remove();
  });

  it('reapStale removes what a SIGKILLed parent left, and only what matches', async () => {
    const script = join(import.meta.dirname, 'cpuset-child.ts');
    const parent = spawn(process.execPath, ['--import', 'tsx', script, PREFIX, 'run2-job'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(parent);
    const sleepPid = await new Promise<number>((resolve, reject) => {
      let out = '';
      parent.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(Number(out.trim()));
      });
      parent.on('exit', (c) => reject(new Error(`child exited early with ${c}`)));
    });
    const parentExit = new Promise((r) => parent.on('exit', r));
    parent.kill('SIGKILL');
    await parentExit;
    const keep = await m.create('other-job', [0], [0]);
    expect(alive(sleepPid)).toBe(true);
    expect(statusField(sleepPid, 'Cpus_allowed_list')).toBe('1');

    const again = new CpusetManager({ prefix: PREFIX });
    expect(await again.reapStale('run2-')).toEqual(['run2-job']);
    expect(existsSync(join(V1_PARENT, 'run2-job'))).toBe(false);
    await waitFor(() => !alive(sleepPid), 'the stale sleep to die');
    expect(existsSync(keep.path)).toBe(true);
    expect(await again.reapStale()).toEqual(['other-job']);
  });

  it('setAffinity pins every thread through taskset', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(child);
    await setAffinity(child.pid as number, [1]);
    expect(statusField(child.pid as number, 'Cpus_allowed_list')).toBe('1');
    await setAffinity(child.pid as number, [0, 1]);
    expect(statusField(child.pid as number, 'Cpus_allowed_list')).toBe('0-1');
    await expect(setAffinity(child.pid as number, [5])).rejects.toThrow(/taskset -a -p -c 5/);
  });
});

describe('CpusetManager on a v2 layout (writes only)', () => {
  function v2Tree(controllers = 'cpuset cpu io memory pids'): string {
    const root = mkdtempSync(join(tmpdir(), 'wf-cg2-'));
    writeFileSync(join(root, 'cgroup.controllers'), `${controllers}\n`);
    writeFileSync(join(root, 'cgroup.subtree_control'), 'memory\n');
    writeFileSync(join(root, 'cpuset.cpus.effective'), '0-63\n');
    writeFileSync(join(root, 'cgroup.procs'), '1\n');
    return root;
  }

  it('enables +cpuset on the ancestors, then writes cpus and mems', async () => {
    const root = v2Tree();
    const m = new CpusetManager({ root });
    expect(m.detect()).toBe('v2');
    const cg = await m.create('r-1', [2, 3, 4, 9], [0, 1]);
    expect(cg.path).toBe(join(root, 'wayfinder/r-1'));
    expect(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8')).toBe('+cpuset');
    expect(readFileSync(join(root, 'wayfinder/cgroup.subtree_control'), 'utf8')).toBe('+cpuset');
    expect(readFileSync(join(cg.path, 'cpuset.cpus'), 'utf8')).toBe('2-4,9');
    expect(readFileSync(join(cg.path, 'cpuset.mems'), 'utf8')).toBe('0-1');
    await cg.addProcess(4242);
    expect(readFileSync(join(cg.path, 'cgroup.procs'), 'utf8')).toBe('4242');
    expect(confinedCommand(cg, ['bench', '--x'])).toEqual(['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', join(cg.path, 'cgroup.procs'), 'bench', '--x']);
    rmSync(root, { recursive: true });
  });

  it('leaves subtree_control alone when cpuset is already enabled', async () => {
    const root = v2Tree();
    writeFileSync(join(root, 'cgroup.subtree_control'), 'cpuset memory\n');
    await new CpusetManager({ root }).create('r-2', [0], [0]);
    expect(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8')).toBe('cpuset memory\n');
    rmSync(root, { recursive: true });
  });

  it('kill writes cgroup.kill when the group holds processes, and leaves an empty group alone', async () => {
    const root = v2Tree();
    const cg = await new CpusetManager({ root, timeoutMs: 100 }).create('r-3', [0], [0]);
    writeFileSync(join(cg.path, 'cgroup.kill'), '');
    writeFileSync(join(cg.path, 'cgroup.procs'), '');
    await cg.kill();
    expect(readFileSync(join(cg.path, 'cgroup.kill'), 'utf8')).toBe('');
    // A file tree does not empty itself as the kernel would: the write is what is checked here.
    writeFileSync(join(cg.path, 'cgroup.procs'), '4242\n');
    await expect(cg.kill()).rejects.toThrow(/still holds pids 4242/);
    expect(readFileSync(join(cg.path, 'cgroup.kill'), 'utf8')).toBe('1');
    rmSync(root, { recursive: true });
  });

  it('kill and remove give up with the pids named when the group does not empty', async () => {
    const root = v2Tree();
    const cg = await new CpusetManager({ root, timeoutMs: 100 }).create('r-4', [0], [0]);
    writeFileSync(join(cg.path, 'cgroup.kill'), '');
    writeFileSync(join(cg.path, 'cgroup.procs'), '4242\n');
    await expect(cg.kill()).rejects.toThrow(/r-4 still holds pids 4242 after 100 ms/);
    await expect(cg.remove()).rejects.toThrow(/remove: .*r-4 still holds pids 4242/);
    rmSync(root, { recursive: true });
  });

  it('reports a failed write naming the file, and a hierarchy without cpuset', async () => {
    const root = v2Tree();
    rmSync(join(root, 'cgroup.subtree_control'));
    mkdirSync(join(root, 'cgroup.subtree_control'));
    await expect(new CpusetManager({ root }).create('r-5', [0], [0])).rejects.toThrow(/reading .*cgroup.subtree_control failed: EISDIR/);
    const bare = v2Tree('cpu io memory');
    const m = new CpusetManager({ root: bare });
    expect(m.detect()).toBe('none');
    await expect(m.create('r-6', [0], [0])).rejects.toThrow(/no cpuset cgroup hierarchy under/);
    expect(await m.reapStale()).toEqual([]);
    rmSync(root, { recursive: true });
    rmSync(bare, { recursive: true });
  });
});

describe('a group another cleanup removes at the same moment (cgroup v1, for real)', () => {
  it('pids, kill and remove see an empty group, not ENODEV, when it is removed between their open and read', async () => {
    // A Ctrl-C ends a job's own cleanup and the work directory's at once; both remove the same
    // group. A read of cgroup.procs opened before the rmdir then fails with ENODEV, which once
    // escaped and kept `wayfinder run` from closing. Many rounds, as the window is microseconds.
    const m = new CpusetManager({ prefix: PREFIX });
    let raced = 0;
    for (let i = 0; i < 400; i++) {
      const cg = await m.create(`race-${i}`, [0], [0]);
      const reader = (async () => {
        for (let k = 0; k < 20; k++) {
          expect(await cg.pids()).toEqual([]);
          await cg.kill();
        }
      })();
      await new Promise((r) => setImmediate(r));
      rmdirSync(cg.path);
      await reader;
      await cg.remove();
      if (!existsSync(cg.path)) raced++;
    }
    expect(raced).toBe(400);
  }, 120_000);
});
