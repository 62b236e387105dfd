// Redis faults are weather, not death: an outage of the daemon's Redis, a killed embedded
// redis-server and a stopped one cost time, never an experiment, a result or a clean stop.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requireTool, tempDir, waitFor, writeFile } from '../helpers.js';
import { api, query, startDaemon, submitBody, waitState, type Proc } from './helpers.js';
import { jobKeyFile, testRedis, type TestRedis } from './redis-server.js';

const procs: Proc[] = [];
const servers: TestRedis[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill('SIGKILL');
  for (const r of servers.splice(0)) {
    r.child().kill('SIGCONT');
    await r.kill('SIGKILL');
  }
  cleanups.splice(0).forEach((f) => f());
});

/** An experiment of `n` configurations, two iterations each, every run a short sleep. */
function experiment(dir: string, name: string, n: number, sleep = '0.1'): string {
  return writeFile(
    dir,
    `${name}.yaml`,
    `
name: ${name}
params:
  - { name: X, type: integer, min: 1, max: ${n}, default: 1 }
test:
  run: 'sleep ${sleep}; echo "v=$X"'
  iterations: 2
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { parallel: 2 }
`,
  );
}

type Health = { ok: boolean; redis: { ok: boolean; restarts?: number; error?: string } };

function exactlyOnce(workdir: string, id: string, configs: number): void {
  const runs = query<{ config_id: string; iteration: number }>(workdir, 'SELECT config_id, iteration FROM runs WHERE experiment_id = ?', id);
  expect(runs).toHaveLength(configs * 2);
  expect(new Set(runs.map((r) => `${r.config_id}/${r.iteration}`)).size).toBe(configs * 2);
  expect(query(workdir, "SELECT status, COUNT(*) AS n FROM configurations WHERE experiment_id = ? GROUP BY status", id)).toEqual([{ status: 'done', n: configs }]);
}

describe('Redis faults', () => {
  it('an outage of the daemon\'s Redis (password on, jobs signed) costs time only: the experiment keeps its state, the next one waits, nothing is lost or stored twice', async () => {
    requireTool('redis-server');
    const { dir, cleanup } = tempDir('wf-redis-out-');
    cleanups.push(cleanup);
    const redis = await testRedis({ dir: join(dir, 'redis'), password: 'out age pass/word' });
    servers.push(redis);
    const workdir = join(dir, 'wd');
    const d = await startDaemon(workdir, ['--redis', `redis://:${encodeURIComponent('out age pass/word')}@127.0.0.1:${redis.port}/0`, '--job-key', jobKeyFile(dir)]);
    procs.push(d);
    // The password never reaches a line for the person.
    expect(d.stderr()).toContain(`queue on redis://:***@127.0.0.1:${redis.port}/0`);
    const first = await api<{ id: string }>(d.url, '/experiments', submitBody(readFileSync(experiment(dir, 'first', 12), 'utf8'), join(dir, 'first.yaml')));
    const second = await api<{ id: string }>(d.url, '/experiments', submitBody(readFileSync(experiment(dir, 'second', 3), 'utf8'), join(dir, 'second.yaml')));
    expect(second.status).toBe(201);
    await waitFor(() => query(workdir, 'SELECT 1 FROM runs').length >= 4, 60_000, 'four runs stored');

    await redis.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    const h = await api<Health>(d.url, '/health');
    expect(h.status).toBe(503);
    expect(h.body.ok).toBe(false);
    expect(h.body.redis.ok).toBe(false);
    await new Promise((r) => setTimeout(r, 3000));
    // Still the first experiment's turn, and it says so; the second has not started beside it.
    expect((await api<{ state: string }>(d.url, `/experiments/${first.body.id}`)).body.state).toBe('running');
    expect((await api<{ state: string }>(d.url, `/experiments/${second.body.id}`)).body.state).toBe('queued');
    await redis.start();

    await waitState(d.url, first.body.id, ['done', 'failed'], 120_000);
    await waitState(d.url, second.body.id, ['done', 'failed'], 60_000);
    const st = (id: string) => api<{ state: string; startedAt: number; finishedAt: number }>(d.url, `/experiments/${id}`).then((r) => r.body);
    const [a, b] = [await st(first.body.id), await st(second.body.id)];
    expect([a.state, b.state]).toEqual(['done', 'done']);
    expect(b.startedAt).toBeGreaterThanOrEqual(a.finishedAt);
    exactlyOnce(workdir, first.body.id, 12);
    exactlyOnce(workdir, second.body.id, 3);
    const logs = await api(d.url, `/experiments/${first.body.id}/logs`);
    expect(logs.text).not.toMatch(/experiment failed/);
    const healthy = await api<Health>(d.url, '/health');
    expect(healthy.status).toBe(200);
    expect(healthy.body.redis.ok).toBe(true);
  }, 240_000);

  it('a killed embedded redis-server is started again on its append-only file, said in one line, and the experiment finishes', async () => {
    requireTool('redis-server');
    const { dir, cleanup } = tempDir('wf-redis-sup-');
    cleanups.push(cleanup);
    const workdir = join(dir, 'wd');
    const d = await startDaemon(workdir);
    procs.push(d);
    const sub = await api<{ id: string }>(d.url, '/experiments', submitBody(readFileSync(experiment(dir, 'sup', 10), 'utf8'), join(dir, 'sup.yaml')));
    await waitFor(() => query(workdir, 'SELECT 1 FROM runs').length >= 4, 60_000, 'four runs stored');
    const pidfile = join(workdir, 'redis', 'redis.pid');
    const pid = Number(readFileSync(pidfile, 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    await waitFor(() => /embedded redis-server started again \(pid \d+\)/.test(d.stderr()), 20_000, 'the restart line');
    expect(d.stderr()).toContain(`embedded redis-server (pid ${pid}) is gone; starting it again on its append-only file`);
    expect(Number(readFileSync(pidfile, 'utf8').trim())).not.toBe(pid);
    await waitState(d.url, sub.body.id, ['done', 'failed'], 120_000);
    expect((await api<{ state: string }>(d.url, `/experiments/${sub.body.id}`)).body.state).toBe('done');
    exactlyOnce(workdir, sub.body.id, 10);
    const h = await api<Health>(d.url, '/health');
    expect(h.status).toBe(200);
    expect(h.body.redis).toMatchObject({ ok: true, restarts: 1 });
  }, 180_000);

  it('SIGTERM ends the daemon within the grace period while its Redis is stopped, and while it is gone', async () => {
    requireTool('redis-server');
    const { dir, cleanup } = tempDir('wf-redis-term-');
    cleanups.push(cleanup);
    // Embedded, stopped (SIGSTOP: alive, not answering) while a job runs.
    const workdir = join(dir, 'wd');
    const d = await startDaemon(workdir, ['--grace', '2']);
    procs.push(d);
    await api(d.url, '/experiments', submitBody(readFileSync(experiment(dir, 'term', 4, '30'), 'utf8'), join(dir, 'term.yaml')));
    await waitFor(() => query(workdir, 'SELECT 1 FROM configurations').length > 0, 30_000, 'a configuration queued');
    await new Promise((r) => setTimeout(r, 1000));
    const pid = Number(readFileSync(join(workdir, 'redis', 'redis.pid'), 'utf8').trim());
    process.kill(pid, 'SIGSTOP');
    cleanups.unshift(() => {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone
      }
    });
    let t = Date.now();
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    expect(Date.now() - t).toBeLessThan(2000 + 3000 + 2000);

    // An operator's Redis, gone for good.
    const redis = await testRedis({ dir: join(dir, 'redis'), password: 'pw-term' });
    servers.push(redis);
    const d2 = await startDaemon(join(dir, 'wd2'), ['--grace', '2', '--redis', `redis://:pw-term@127.0.0.1:${redis.port}`]);
    procs.push(d2);
    await api(d2.url, '/experiments', submitBody(readFileSync(experiment(dir, 'term2', 4, '30'), 'utf8'), join(dir, 'term2.yaml')));
    await new Promise((r) => setTimeout(r, 1500));
    await redis.kill('SIGKILL');
    t = Date.now();
    d2.child.kill('SIGTERM');
    expect(await d2.exited).toBe(0);
    expect(Date.now() - t).toBeLessThan(2000 + 3000 + 2000);
  }, 120_000);
});
