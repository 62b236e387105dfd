// Accounting groups: v1 for real on this machine (cpuacct and memory hierarchies under
// /sys/fs/cgroup), v2 only for the files it writes and reads, against a temp dir laid out like a
// unified hierarchy (this kernel mounts v1).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Accounting, accountingVersion, keyedNumbers, memoryLimitProblem } from '../../src/isolation/accounting.js';
import { tempDir } from '../helpers.js';

const PREFIX = `wftest-acct-${process.pid}`;
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));
afterAll(async () => {
  await new Accounting({ root: '/sys/fs/cgroup', prefix: PREFIX }).reapStale();
});

/** Run `script` in a shell that enters `files` first (as the job launcher's shell does). */
function runIn(files: string[], script: string): Promise<number | null> {
  const enter = files.map((f) => `echo $$ > ${f}`).join('; ');
  const child = spawn('/bin/sh', ['-c', `${enter}; ${script}`], { stdio: 'ignore' });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

describe('accounting on this host (cgroup v1)', () => {
  it('meters each run of a job on its own: counters zeroed before, read after; the limit on its memory group', async () => {
    const acct = new Accounting({ root: '/sys/fs/cgroup', prefix: PREFIX });
    expect(acct.version).toBe('v1');
    const meter = await acct.forLauncher(64 * 2 ** 20);
    expect(meter).toBeDefined();
    const m = meter!;
    expect(readFileSync(join('/sys/fs/cgroup/memory', PREFIX, 'acct-1', 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(64 * 2 ** 20));
    await m.begin();
    expect(await runIn(m.procsFiles, 'dd if=/dev/zero of=/dev/null bs=40M count=1 2>/dev/null; i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done')).toBe(0);
    const first = await m.end();
    expect(first.usage.source).toBe('cgroup-v1');
    expect(first.usage.cpuMs).toBeGreaterThan(30);
    expect(first.usage.peakMemoryBytes).toBeGreaterThanOrEqual(40 * 2 ** 20);
    expect(first.oomKilled).toBe(false);
    // The next run starts from zero: a tiny one counts little.
    await m.begin();
    expect(await runIn(m.procsFiles, 'true')).toBe(0);
    const second = await m.end();
    expect(second.usage.cpuMs).toBeLessThan(first.usage.cpuMs);
    expect(second.usage.peakMemoryBytes).toBeLessThan(20 * 2 ** 20);
    // Past the limit: the OOM killer, and the meter says so.
    await m.begin();
    expect(await runIn(m.procsFiles, 'dd if=/dev/zero of=/dev/null bs=100M count=1')).not.toBe(0);
    expect((await m.end()).oomKilled).toBe(true);
    // Handed back and taken again, the group's limit is lifted for a job without one.
    await acct.giveBack(m);
    const again = await acct.forLauncher(undefined);
    expect(again).toBe(m);
    expect(Number(readFileSync(join('/sys/fs/cgroup/memory', PREFIX, 'acct-1', 'memory.limit_in_bytes'), 'utf8'))).toBeGreaterThan(2 ** 40);
    await acct.giveBack(again);
    await acct.sweep();
    expect(existsSync(join('/sys/fs/cgroup/memory', PREFIX))).toBe(false);
    expect(existsSync(join('/sys/fs/cgroup/cpuacct', PREFIX))).toBe(false);
  });

  it("a restarted process reaps what a killed one left in every hierarchy, killing what still runs there", async () => {
    const dead = new Accounting({ root: '/sys/fs/cgroup', prefix: PREFIX });
    const m = (await dead.forLauncher(undefined))!;
    const engine = (await dead.forEngine())!;
    expect(engine.engineParent).toMatch(new RegExp(`^/${PREFIX}/engine-`));
    // A straggler in the job's groups, and a container-like child group below the engine parent.
    const straggler = spawn('/bin/sh', ['-c', `${m.procsFiles.map((f) => `echo $$ > ${f}`).join('; ')}; exec sleep 300`], { stdio: 'ignore' });
    const gone = new Promise((r) => straggler.on('exit', r));
    const child = join('/sys/fs/cgroup/memory', engine.engineParent!, 'container');
    mkdirSync(child);
    await new Promise((r) => setTimeout(r, 200));
    await new Accounting({ root: '/sys/fs/cgroup', prefix: PREFIX }).reapStale();
    await gone;
    for (const c of ['cpuacct', 'memory']) expect(existsSync(join('/sys/fs/cgroup', c, PREFIX))).toBe(false);
  });

  it('says where a memory limit cannot be enforced', () => {
    expect(memoryLimitProblem('/sys/fs/cgroup')).toBeUndefined();
    expect(memoryLimitProblem(false)).toMatch(/cgroups are turned off/);
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    expect(memoryLimitProblem(dir)).toMatch(/no memory cgroup controller under/);
  });
});

describe('accounting on cgroup v2 (the files it writes and reads)', () => {
  it('limits with memory.max, counts CPU as the difference of usage_usec, OOM from memory.events', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    writeFileSync(join(dir, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    writeFileSync(join(dir, 'cgroup.subtree_control'), '');
    expect(accountingVersion(dir)).toBe('v2');
    const job = join(dir, PREFIX, 'job-1');
    mkdirSync(job, { recursive: true });
    writeFileSync(join(job, 'cpu.stat'), 'usage_usec 5000000\nuser_usec 4000000\nsystem_usec 1000000\n');
    writeFileSync(join(job, 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
    writeFileSync(join(job, 'memory.peak'), '999999999\n');
    const acct = new Accounting({ root: dir, prefix: PREFIX });
    const m = (await acct.forLauncher(32 * 2 ** 20, job))!;
    expect(readFileSync(join(job, 'memory.max'), 'utf8')).toBe(String(32 * 2 ** 20));
    expect(readFileSync(join(job, 'memory.swap.max'), 'utf8')).toBe('0');
    expect(m.procsFiles).toEqual([]);
    await m.begin();
    // The kernel resets the peak for the descriptor that wrote to it; a plain file takes the write.
    expect(readFileSync(join(job, 'memory.peak'), 'utf8').startsWith('0\n')).toBe(true);
    writeFileSync(join(job, 'cpu.stat'), 'usage_usec 5250000\n');
    writeFileSync(join(job, 'memory.events'), 'oom_kill 2\n');
    writeFileSync(join(job, 'memory.peak'), '52428800\n');
    const r = await m.end();
    expect(r).toEqual({ usage: { cpuMs: 250, peakMemoryBytes: 52428800, source: 'cgroup-v2' }, oomKilled: true });
    expect(keyedNumbers('a 1\nb x\n c 22 \n')).toEqual({ a: 1, c: 22 });
  });
});
