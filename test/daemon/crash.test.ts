import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requireTool, tempDir, waitFor, writeFile } from '../helpers.js';
import { api, query, startDaemon, startQueueDaemon, startWorker, submitBody, waitState, type Proc } from './helpers.js';

const procs: Proc[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill('SIGKILL');
  cleanups.splice(0).forEach((f) => f());
});

function lines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
}

/** 16 x 2 configurations, one iteration each: 32 short jobs that log when they finish measuring. */
function experiment(dir: string, name: string, sleep: string): { file: string; log: string; starts: string } {
  const log = join(dir, `${name}.measured`);
  const starts = join(dir, `${name}.started`);
  const file = writeFile(
    dir,
    `${name}.yaml`,
    `
name: ${name}
params:
  - { name: A, type: integer, min: 1, max: 16, default: 1, when: test }
  - { name: B, type: integer, only: [1, 2], default: 1, when: test }
test:
  run: 'echo "$WAYFINDER_CONFIG_ID $WAYFINDER_ITERATION" >> ${starts}; sleep ${sleep}; echo "$WAYFINDER_CONFIG_ID $WAYFINDER_ITERATION" >> ${log}; echo "v=$(( A * B ))"'
  iterations: 1
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { parallel: 2 }
`,
  );
  return { file, log, starts };
}

function checkExactlyOnce(workdir: string, id: string, log: string, kills: number): void {
  const runs = query<{ config_id: string; iteration: number; n: number }>(
    workdir,
    'SELECT config_id, iteration, COUNT(*) AS n FROM runs WHERE experiment_id = ? GROUP BY config_id, iteration',
    id,
  );
  const done = query<{ n: number }>(workdir, "SELECT COUNT(*) AS n FROM configurations WHERE experiment_id = ? AND status = 'done'", id);
  expect(done[0]!.n).toBe(32);
  expect(runs).toHaveLength(32);
  expect(runs.every((r) => r.n === 1)).toBe(true);
  // Executions: each run finished at least once; a second finished execution happens only for a run
  // that finished measuring but whose result was not yet sent at a kill: at most 2 (parallel) per kill.
  const counts = new Map<string, number>();
  for (const l of lines(log)) counts.set(l, (counts.get(l) ?? 0) + 1);
  expect(counts.size).toBe(32);
  const repeats = [...counts.values()].reduce((s, n) => s + (n - 1), 0);
  expect(repeats).toBeLessThanOrEqual(2 * kills);
}

/** Wait a random 0.3-2 s, but at least until one more run has finished (so each kill interrupts work). */
async function randomMoment(log: string): Promise<number> {
  const before = lines(log).length;
  const ms = 300 + Math.floor(Math.random() * 1700);
  await new Promise((r) => setTimeout(r, ms));
  await waitFor(() => lines(log).length > before, 60_000, 'a run to finish');
  return ms;
}

describe('crash safety', () => {
  it('SIGKILL of the daemon at random moments, 5 times, then each (configuration, iteration) is stored exactly once', async () => {
    requireTool('redis-server');
    const { dir, cleanup } = tempDir('wf-crash-');
    cleanups.push(cleanup);
    const workdir = join(dir, 'wd');
    const { file, log } = experiment(dir, 'killd', '0.25');
    let d = await startDaemon(workdir);
    procs.push(d);
    const sub = await api<{ id: string }>(d.url, '/experiments', submitBody(readFileSync(file, 'utf8'), file));
    expect(sub.status).toBe(201);
    const moments: number[] = [];
    for (let k = 0; k < 5; k++) {
      moments.push(await randomMoment(log));
      await d.kill('SIGKILL');
      expect(lines(log).length, `kill ${k} came after the experiment ended (moments ${moments.join(',')})`).toBeLessThan(32);
      d = await startDaemon(workdir);
      procs.push(d);
    }
    await waitState(d.url, sub.body.id, ['done'], 180_000);
    checkExactlyOnce(workdir, sub.body.id, log, 5);
    // Nothing of the killed daemons' jobs is left running: the registry of process groups is empty.
    expect(readdirSync(join(workdir, 'running'))).toEqual([]);
    await d.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  }, 300000);

  it('SIGKILL of a worker at random moments, 5 times, then each (configuration, iteration) is stored exactly once, with its host', async () => {
    requireTool('redis-server');
    const { dir, cleanup } = tempDir('wf-crash-');
    cleanups.push(cleanup);
    const { file, log } = experiment(dir, 'killw', '0.25');
    const { daemon: d, workdir, redis } = await startQueueDaemon(dir);
    procs.push(d);
    const workerArgs = ['--redis', redis, '--workdir', join(dir, 'worker'), '--name', 'bench-host-1'];
    let w = await startWorker(workerArgs);
    procs.push(w);
    const sub = await api<{ id: string }>(d.url, '/experiments', submitBody(readFileSync(file, 'utf8'), file));
    for (let k = 0; k < 5; k++) {
      await randomMoment(log);
      await w.kill('SIGKILL');
      expect(lines(log).length).toBeLessThan(32);
      w = await startWorker(workerArgs);
      procs.push(w);
    }
    await waitState(d.url, sub.body.id, ['done'], 240_000);
    checkExactlyOnce(workdir, sub.body.id, log, 5);
    const hosts = query<{ host: string }>(workdir, 'SELECT DISTINCT host FROM runs WHERE experiment_id = ?', sub.body.id);
    expect(hosts).toEqual([{ host: 'bench-host-1' }]);
    await w.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  }, 300000);

  it('SIGTERM: no new jobs, running ones finish within the grace period, the rest are requeued, exit 0', async () => {
    requireTool('redis-server');
    const { dir, cleanup } = tempDir('wf-crash-');
    cleanups.push(cleanup);
    const { daemon: d, workdir, redis } = await startQueueDaemon(dir);
    procs.push(d);
    const { file, log, starts } = experiment(dir, 'term', '2');

    // Grace longer than the job: the running jobs finish and are stored, the worker exits 0.
    let w = await startWorker(['--redis', redis, '--workdir', join(dir, 'w1'), '--grace', '30']);
    procs.push(w);
    const sub = await api<{ id: string }>(d.url, '/experiments', submitBody(readFileSync(file, 'utf8'), file, { budget: 6 }));
    await waitFor(() => lines(starts).length >= 1, 60_000, 'a job to start');
    await new Promise((r) => setTimeout(r, 300));
    const startedBefore = lines(starts).length;
    const t0 = Date.now();
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    const took = Date.now() - t0;
    // Those running finished (they take 2 s) and no job started after the signal.
    expect(lines(log).length).toBe(startedBefore);
    expect(lines(starts).length).toBe(startedBefore);
    expect(took).toBeGreaterThan(1000);
    await waitFor(() => query(workdir, 'SELECT 1 FROM runs').length === startedBefore, 20_000, 'their results to be stored');
    expect(w.stderr()).toMatch(/SIGTERM: taking no new jobs/);

    // Grace shorter than the job: the job is ended at the grace, requeued, and measured once later.
    w = await startWorker(['--redis', redis, '--workdir', join(dir, 'w1'), '--grace', '1']);
    procs.push(w);
    const n = lines(starts).length;
    await waitFor(() => lines(starts).length > n, 60_000, 'a job to start');
    const t1 = Date.now();
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(Date.now() - t1).toBeLessThan(1900);
    expect(lines(log).length).toBe(startedBefore);

    // A new worker finishes the experiment; nothing measured twice.
    w = await startWorker(['--redis', redis, '--workdir', join(dir, 'w1')]);
    procs.push(w);
    await waitState(d.url, sub.body.id, ['done'], 120_000);
    const runs = query<{ n: number }>(workdir, 'SELECT COUNT(*) AS n FROM runs GROUP BY config_id, iteration');
    expect(runs.length).toBe(6);
    expect(runs.every((r) => r.n === 1)).toBe(true);
    expect(new Set(lines(log)).size).toBe(lines(log).length);
  }, 300000);
});
