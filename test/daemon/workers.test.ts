import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requireTool, tempDir, waitFor, writeFile } from '../helpers.js';
import { api, query, startQueueDaemon, startWorker, submitBody, waitState, type Proc } from './helpers.js';

const procs: Proc[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill('SIGKILL');
  cleanups.splice(0).forEach((f) => f());
});

describe('workers on several hosts', () => {
  it("an experiment's jobs go only to its pool, and each configuration is tested where it was built", async () => {
    requireTool('redis-server');
    const { dir, cleanup } = tempDir('wf-workers-');
    cleanups.push(cleanup);
    const { daemon: d, workdir, redis } = await startQueueDaemon(dir);
    procs.push(d);
    // Two hosts of pool "fast", one of pool "slow", each with its own work directory (its own artifacts).
    for (const [name, pool] of [['fast-1', 'fast'], ['fast-2', 'fast'], ['slow-1', 'slow']] as const) {
      procs.push(await startWorker(['--redis', redis, '--workdir', join(dir, name), '--pool', pool, '--name', name]));
    }
    // The test reads what the build wrote into the build directory: on a host without it, it fails.
    const file = writeFile(
      dir,
      'pools.yaml',
      `
name: pools
pool: fast
params:
  - { name: X, type: integer, min: 1, max: 4, default: 1, when: build }
  - { name: Y, type: integer, only: [1, 2, 3], default: 1, when: test }
build:
  run: 'sleep 0.2; echo "$X" > "$WAYFINDER_OUTPUT_DIR/built"'
test:
  run: 'echo "v=$(( $(cat "$WAYFINDER_BUILD_DIR/built") * Y ))"'
  iterations: 2
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { parallel: 4 }
`,
    );
    const sub = await api<{ id: string }>(d.url, '/experiments', submitBody(readFileSync(file, 'utf8'), file));
    await waitState(d.url, sub.body.id, ['done'], 120_000);
    const configs = query<{ status: string; n: number }>(workdir, 'SELECT status, COUNT(*) AS n FROM configurations GROUP BY status');
    expect(configs).toEqual([{ status: 'done', n: 12 }]);
    const runs = query<{ run_host: string; build_host: string }>(
      workdir,
      `SELECT r.host AS run_host, b.host AS build_host FROM runs r
       JOIN configurations c ON c.experiment_id = r.experiment_id AND c.config_id = r.config_id
       JOIN builds b ON b.experiment_id = c.experiment_id AND b.build_id = c.build_id`,
    );
    expect(runs).toHaveLength(24);
    for (const r of runs) {
      expect(['fast-1', 'fast-2']).toContain(r.run_host);
      expect(r.run_host).toBe(r.build_host);
    }
    const st = await api<{ summary: { best: { objective: number } } }>(d.url, `/experiments/${sub.body.id}`);
    expect(st.body.summary.best.objective).toBe(12);

    // Submitted to pool "slow" instead: only slow-1 measures it.
    const slow = await api<{ id: string }>(d.url, '/experiments', submitBody(readFileSync(file, 'utf8').replace('name: pools', 'name: pools-slow'), file, { pool: 'slow', budget: 3 }));
    await waitState(d.url, slow.body.id, ['done'], 120_000);
    const hosts = query<{ host: string }>(workdir, 'SELECT DISTINCT host FROM runs WHERE experiment_id = ?', slow.body.id);
    expect(hosts).toEqual([{ host: 'slow-1' }]);
  }, 240000);

  it("a lost worker's configurations are built again on a live host of the pool, which measures only what the lost one had not", async () => {
    requireTool('redis-server');
    const { dir, cleanup } = tempDir('wf-lost-');
    cleanups.push(cleanup);
    const { daemon: d, workdir, redis } = await startQueueDaemon(dir);
    procs.push(d);
    const lost = await startWorker(['--redis', redis, '--workdir', join(dir, 'lost-1'), '--pool', 'p', '--name', 'lost-1', '--lost-after', '1']);
    procs.push(lost);
    // A test's first iteration runs at once, later ones wait for a file: the host that will be lost
    // measures some first iterations and nothing else. Every finished run leaves a line in ran.log.
    const file = writeFile(
      dir,
      'lost.yaml',
      `
name: lost
pool: p
params:
  - { name: X, type: integer, only: [5], default: 5, when: build }
  - { name: Y, type: integer, only: [1, 2, 3], default: 1, when: test }
build:
  run: 'echo "$X" > "$WAYFINDER_OUTPUT_DIR/built"'
test:
  run: |
    while [ "$WAYFINDER_ITERATION" != 0 ] && [ ! -e "$WAYFINDER_EXPERIMENT_DIR/go" ]; do sleep 0.05; done
    echo "$WAYFINDER_CONFIG_ID $WAYFINDER_ITERATION" >> "$WAYFINDER_EXPERIMENT_DIR/ran.log"
    echo "v=$(( $(cat "$WAYFINDER_BUILD_DIR/built") * Y ))"
  iterations: 2
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { parallel: 3 }
`,
    );
    const sub = await api<{ id: string }>(d.url, '/experiments', submitBody(readFileSync(file, 'utf8'), file));
    const builtBy = (host: string): Promise<void> =>
      waitFor(() => query<{ host: string }>(workdir, "SELECT host FROM builds WHERE status = 'ok'").some((b) => b.host === host), 30_000, `a build by ${host}`);
    await builtBy('lost-1');
    await waitFor(() => query(workdir, "SELECT 1 FROM runs WHERE host = 'lost-1'").length > 0, 30_000, 'a run measured by lost-1');
    await lost.kill('SIGKILL');
    procs.push(await startWorker(['--redis', redis, '--workdir', join(dir, 'live-1'), '--pool', 'p', '--name', 'live-1']));
    await builtBy('live-1');
    writeFile(dir, 'go', '');
    await waitState(d.url, sub.body.id, ['done'], 60_000);

    expect(query(workdir, 'SELECT host FROM builds')).toEqual([{ host: 'live-1' }]);
    const runs = query<{ config_id: string; iteration: number; host: string }>(workdir, 'SELECT config_id, iteration, host FROM runs');
    expect(runs).toHaveLength(6);
    expect(new Set(runs.map((r) => `${r.config_id}/${r.iteration}`)).size).toBe(6);
    // What lost-1 measured stays, and was not measured again: six runs in all.
    const byLost = runs.filter((r) => r.host === 'lost-1');
    expect(byLost.length).toBeGreaterThan(0);
    for (const r of byLost) expect(r.iteration).toBe(0);
    expect(runs.filter((r) => r.host !== 'lost-1').every((r) => r.host === 'live-1')).toBe(true);
    // Every run stored was run, and nothing ran that was not stored. Running is at least once: a
    // worker killed after a command ended and before its result reached Redis leaves a line in
    // ran.log and no result, and the live host runs that iteration again (no system can tell a
    // run whose report was lost from one that never happened). Storing is exactly once, above; so
    // a line may appear twice only for such a run: one of lost-1's first iterations, stored as
    // live-1's.
    const ran = readFileSync(join(dir, 'ran.log'), 'utf8').trim().split('\n');
    expect([...new Set(ran)].sort()).toEqual(runs.map((r) => `${r.config_id} ${r.iteration}`).sort());
    for (const line of new Set(ran)) {
      const times = ran.filter((l) => l === line).length;
      if (times === 1) continue;
      expect(times).toBe(2);
      const [configId, iteration] = line.split(' ');
      expect(iteration).toBe('0');
      expect(runs.find((r) => r.config_id === configId && r.iteration === 0)?.host).toBe('live-1');
    }
    const st = await api<{ summary: { best: { objective: number } } }>(d.url, `/experiments/${sub.body.id}`);
    expect(st.body.summary.best.objective).toBe(15);
    const logs = await api(d.url, `/experiments/${sub.body.id}/logs`);
    expect(logs.text).toMatch(/build [0-9a-f]{8} lost with worker lost-1\.[0-9a-f]{8}: building again for 3 configuration\(s\)/);
  }, 120000);
  it('a coordinator without the Kconfig tree: the remote worker\'s build resolves it, and a configuration that resolves like a measured one is not measured', async () => {
    requireTool('redis-server');
    requireTool('kconfig-conf', 'kconfig-frontends');
    const { dir, cleanup } = tempDir('wf-workers-kconfig-');
    cleanups.push(cleanup);
    const { daemon: d, workdir, redis } = await startQueueDaemon(dir);
    procs.push(d);
    procs.push(await startWorker(['--redis', redis, '--workdir', join(dir, 'w1'), '--name', 'w1']));
    mkdirSync(join(dir, 'tree'));
    writeFile(dir, 'tree/Kconfig', 'mainmenu "tiny"\nconfig NET\n\tbool "networking"\n\tdefault y\nconfig TCP\n\tbool "tcp"\n\tdepends on NET\n\tdefault y\n');
    // Only a build has WAYFINDER_BUILD_ID: the resolver fails on the coordinating daemon, as one
    // whose tree is on the workers' hosts only would, and works in the worker's build.
    const file = writeFile(
      dir,
      'k.yaml',
      `
name: remote-kconfig
params:
  - { name: CONFIG_NET, type: boolean, only: [true, false] }
  - { name: CONFIG_TCP, type: boolean, only: [true, false] }
build:
  kconfig:
    resolve: 'test -n "$WAYFINDER_BUILD_ID" && kconfig-conf --olddefconfig ${dir}/tree/Kconfig'
  run: echo "$WAYFINDER_BUILD_ID" >> ${dir}/builds.log
test:
  run: |
    echo x >> ${dir}/runs.log
    unset CONFIG_NET CONFIG_TCP
    . "$WAYFINDER_BUILD_DIR/.config"
    s=1; [ "\${CONFIG_NET:-n}" = y ] && s=$((s + 5)); [ "\${CONFIG_TCP:-n}" = y ] && s=$((s + 10))
    echo "score=$s"
  iterations: 1
metrics:
  - { name: score, parser: regex, pattern: 'score=(\\d+)' }
objective: { metric: score, direction: maximize }
exploration: { strategy: grid, parallel: 1 }
`,
    );
    const sub = await api<{ id: string }>(d.url, '/experiments', submitBody(readFileSync(file, 'utf8'), file));
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    await waitState(d.url, sub.body.id, ['done'], 120_000);
    // NET off drops TCP: the last two requests are one effective configuration, known only once built.
    const rows = query<{ status: string; duplicate_of: string | null; effective_id: string | null; objective: number | null }>(
      workdir,
      'SELECT status, duplicate_of, effective_id, objective FROM configurations WHERE experiment_id = ? ORDER BY seq',
      sub.body.id,
    );
    expect(rows.map((r) => r.status)).toEqual(['done', 'done', 'done', 'duplicate']);
    expect(rows.map((r) => r.objective)).toEqual([16, 6, 1, null]);
    for (const r of rows) expect(r.effective_id).toMatch(/^[0-9a-f]{32}$/);
    expect(rows[3]?.effective_id).toBe(rows[2]?.effective_id);
    expect(readFileSync(join(dir, 'builds.log'), 'utf8').trim().split('\n')).toHaveLength(4);
    expect(readFileSync(join(dir, 'runs.log'), 'utf8').trim().split('\n')).toHaveLength(3);
  }, 180_000);
});
