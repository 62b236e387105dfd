// Fault injection: one experiment of 40 configurations measured by two workers that live in network
// namespaces of their own and reach Redis (password on, jobs signed) over veth pairs, as workers on
// other hosts would. During it the daemon, a worker and the redis-server are killed, Redis is
// stopped for 10 s, a poison file, a cross-site request and a forged job arrive. At the end every
// (configuration, iteration) is stored exactly once, every experiment's state is true, the daemon is
// healthy, and nothing is left on the host. The figures go to docs/daemon.md.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { cgroupPrefix } from '../../src/isolation/job-isolation.js';
import { listNetns, netnsPrefix } from '../../src/isolation/netns.js';
import { CLI, requireTool, tempDir, waitFor, writeFile } from '../helpers.js';
import { api, query, startDaemon, submitBody, waitState, type Proc } from './helpers.js';
import { jobKeyFile, testRedis, type TestRedis } from './redis-server.js';

const CONFIGS = 40;
const ITERATIONS = 2;
const PASSWORD = 'fault-injection-password';

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

const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'ignore' });

/** Redis' namespace, and one per worker joined to it by a veth pair: 10.213.N.1 (Redis) - 10.213.N.2 (worker N). */
function makeNamespaces(base: string, workers: number): { redisNs: string; workerNs: string[]; remove: () => void } {
  const redisNs = `${base}-r`;
  const workerNs = Array.from({ length: workers }, (_, i) => `${base}-w${i + 1}`);
  const remove = (): void => {
    for (const ns of [redisNs, ...workerNs]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // not made, or gone
      }
    }
  };
  try {
    ip('netns', 'add', redisNs);
    ip('-n', redisNs, 'link', 'set', 'lo', 'up');
    workerNs.forEach((ns, i) => {
      const n = i + 1;
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      // Made inside the namespaces: no interface name in the host's namespace.
      ip('-n', redisNs, 'link', 'add', `eth${n}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      ip('-n', redisNs, 'addr', 'add', `10.213.${n}.1/30`, 'dev', `eth${n}`);
      ip('-n', ns, 'addr', 'add', `10.213.${n}.2/30`, 'dev', 'eth0');
      ip('-n', redisNs, 'link', 'set', `eth${n}`, 'up');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
    });
  } catch (e) {
    remove();
    throw e;
  }
  return { redisNs, workerNs, remove };
}

/** `wayfinder worker` inside a network namespace (ip netns exec becomes the worker: one pid). */
async function startNsWorker(ns: string, args: string[]): Promise<Proc> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, CLI, 'worker', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout.resume();
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const p: Proc = {
    child,
    stderr: () => err,
    exited,
    kill: async (sig = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      return exited;
    },
  };
  await waitFor(() => /takes jobs of pool/.test(err) || child.exitCode !== null, 30_000, `worker in ${ns}`);
  if (child.exitCode !== null) throw new Error(`worker in ${ns} exited with ${child.exitCode}: ${err}`);
  return p;
}

/** A raw request, with the Host and Origin a hostile page's request would carry (DNS rebinding). */
function crossSite(url: string, path: string): Promise<number> {
  const u = new URL(url);
  return new Promise((res, rej) => {
    const req = request(
      { host: u.hostname, port: u.port, path, method: 'POST', headers: { host: `evil.example:${u.port}`, origin: 'http://evil.example', 'content-type': 'text/plain' } },
      (r) => {
        r.resume();
        r.on('end', () => res(r.statusCode ?? 0));
      },
    );
    req.on('error', rej);
    req.end('{}');
  });
}

/** Processes whose command line or environment names `dir`: what wayfinder started under it. */
function processesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (cmd.includes(dir) || env.includes(dir)) found.push(`${pid} ${cmd.replace(/\0/g, ' ').trim()}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Every cgroup hierarchy's group of a work directory's jobs that still exists. */
function cgroupsOf(workdir: string): string[] {
  const v1 = existsSync('/sys/fs/cgroup/cgroup.controllers') ? [] : readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h));
  return [...v1, '/sys/fs/cgroup'].map((b) => join(b, cgroupPrefix(workdir))).filter((p) => existsSync(p));
}

describe('fault injection', () => {
  it('kills, an outage, a stopped Redis, poison, a cross-site request and a forged job during one experiment: every run stored once, states true, daemon healthy, nothing left', async () => {
    requireTool('redis-server');
    requireTool('ip', 'iproute2');
    const { dir, cleanup } = tempDir('wf-faults-');
    cleanups.push(cleanup);
    const nets = makeNamespaces(`wft${process.pid}`, 2);
    cleanups.unshift(nets.remove);
    const socket = join(dir, 'redis.sock');
    const redis = await testRedis({ dir: join(dir, 'redis'), password: PASSWORD, socket, bind: '0.0.0.0', netns: nets.redisNs });
    servers.push(redis);
    const key = jobKeyFile(dir);
    const workdir = join(dir, 'wd');
    const daemonArgs = ['--no-worker', '--grace', '3', '--redis', `unix://:${PASSWORD}@${socket}`, '--job-key', key];
    let d = await startDaemon(workdir, daemonArgs);
    procs.push(d);
    const workerDirs = nets.workerNs.map((_, i) => join(dir, `w${i + 1}`));
    const workerArgs = (i: number): string[] => [
      '--redis', `redis://:${PASSWORD}@10.213.${i + 1}.1:${redis.port}/0`, '--job-key', key, '--pool', 'p', '--name', `w${i + 1}`, '--workdir', workerDirs[i] as string, '--grace', '3',
    ];
    const workers: Proc[] = [];
    for (let i = 0; i < nets.workerNs.length; i++) {
      workers[i] = await startNsWorker(nets.workerNs[i] as string, workerArgs(i));
      procs.push(workers[i] as Proc);
    }

    // Every run leaves a line in ran.log: what ran, against what was stored.
    const file = writeFile(
      dir,
      'faults.yaml',
      `
name: faults
pool: p
params:
  - { name: X, type: integer, min: 1, max: ${CONFIGS}, default: 1 }
test:
  run: 'sleep 0.6; echo "$WAYFINDER_CONFIG_ID $WAYFINDER_ITERATION" >> "$WAYFINDER_EXPERIMENT_DIR/ran.log"; echo "v=$X"'
  iterations: ${ITERATIONS}
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { parallel: 4 }
`,
    );
    const sub = await api<{ id: string }>(d.url, '/experiments', submitBody(readFileSync(file, 'utf8'), file));
    expect(sub.status).toBe(201);
    const id = sub.body.id;
    const started = Date.now();
    const stored = (): number => (query<{ n: number }>(workdir, 'SELECT COUNT(*) AS n FROM runs')[0]?.n ?? 0);
    const figures: { fault: string; faultMs: number; recoverMs: number }[] = [];
    /**
     * Wait for the next run stored: the time to recover, from the end of the fault (the process
     * started again and ready, Redis continued). `faultMs` is how long the fault itself lasted.
     */
    const recovered = async (fault: string, startedAt: number, endedAt: number, before: number): Promise<void> => {
      await waitFor(() => stored() > before, 90_000, `progress after: ${fault}`);
      figures.push({ fault, faultMs: endedAt - startedAt, recoverMs: Date.now() - endedAt });
    };
    const progress = async (n: number): Promise<void> => {
      const from = stored();
      await waitFor(() => stored() >= from + n, 90_000, `${n} more runs`);
    };
    const state = async (): Promise<string> => (await api<{ state: string }>(d.url, `/experiments/${id}`)).body.state;

    await progress(4);
    // 1. The daemon, killed and started again: it resumes the experiment.
    // Only the daemon stores runs: none is stored from its kill until it is back.
    let before = stored();
    let at = Date.now();
    await d.kill('SIGKILL');
    d = await startDaemon(workdir, daemonArgs);
    procs.push(d);
    const back = Date.now();
    expect(await state()).toBe('running');
    await recovered('daemon SIGKILL, restarted', at, back, before);

    // 2. A worker, killed and started again in its namespace: its jobs go back to the queue.
    await progress(2);
    // The other worker goes on meanwhile; the killed one's jobs go back to the queue at its restart.
    before = stored();
    at = Date.now();
    await (workers[0] as Proc).kill('SIGKILL');
    workers[0] = await startNsWorker(nets.workerNs[0] as string, workerArgs(0));
    procs.push(workers[0]);
    await recovered('worker SIGKILL, restarted', at, Date.now(), before);

    // 3. The redis-server, killed, and started again 2 s later on its append-only file.
    await progress(2);
    before = stored();
    at = Date.now();
    await redis.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 2000));
    expect(await state()).toBe('running');
    expect((await api(d.url, '/health')).status).toBe(503);
    await redis.start();
    await recovered('redis-server SIGKILL, restarted after 2 s', at, Date.now(), before);

    // 4. Redis stopped for 10 s (SIGSTOP: connections open, nothing answers), then continued.
    await progress(2);
    before = stored();
    at = Date.now();
    redis.child().kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 10_000));
    expect(await state()).toBe('running');
    expect((await api(d.url, '/health')).status).toBe(503);
    redis.child().kill('SIGCONT');
    await recovered('Redis stopped 10 s (SIGSTOP), continued', at, Date.now(), before);

    // 5. A poison file (rejected before anything is stored), a cross-site request, a forged job.
    const poison = await api<{ error: string }>(d.url, '/experiments', submitBody('name: [unclosed\n', join(dir, 'poison.yaml')));
    expect(poison.status).toBe(400);
    expect(poison.body.error).toMatch(/poison\.yaml:\d+:\d+/);
    const xs = await crossSite(d.url, `/experiments/${id}/cancel`);
    expect(xs).toBeGreaterThanOrEqual(400);
    expect(xs).toBeLessThan(500);
    const q = new Queue('test.p', { connection: { ...redis.connection, maxRetriesPerRequest: null }, prefix: 'wayfinder' });
    const pwned = join(dir, 'pwned');
    await q.add('test', { kind: 'test', experimentId: id, configId: 'forged', buildId: 'b', hasBuild: false, env: {}, metrics: [], experimentDir: dir, job: { name: 'test', run: `touch ${pwned}`, iterations: 1, warmup: 0, cores: 1, isolation: 'none', timeoutSec: 10, retries: 0, phase: 'test', env: {}, devices: [], capabilities: [], privileged: false, inputs: [], outputs: [], resources: {} } }, { jobId: 'forged-1' });
    await q.close();
    await waitFor(() => workers.some((w) => /refused job forged-1/.test(w.stderr())), 60_000, 'the forged job refused');
    expect(await state()).toBe('running');

    await waitState(d.url, id, ['done', 'failed', 'cancelled'], 180_000);
    const finished = Date.now();

    // Every (configuration, iteration) stored exactly once; the states are true.
    expect(await state()).toBe('done');
    const runs = query<{ config_id: string; iteration: number; host: string }>(workdir, 'SELECT config_id, iteration, host FROM runs WHERE experiment_id = ?', id);
    const keys = runs.map((r) => `${r.config_id} ${r.iteration}`);
    expect(runs).toHaveLength(CONFIGS * ITERATIONS);
    expect(new Set(keys).size).toBe(CONFIGS * ITERATIONS);
    expect(query(workdir, 'SELECT status, COUNT(*) AS n FROM configurations GROUP BY status')).toEqual([{ status: 'done', n: CONFIGS }]);
    expect(query(workdir, "SELECT config_id FROM runs WHERE config_id = 'forged'")).toEqual([]);
    expect(existsSync(pwned)).toBe(false);
    const list = await api<{ experiments: { id: string; state: string }[] }>(d.url, '/experiments');
    expect(list.body.experiments.map((e) => [e.id, e.state])).toEqual([[id, 'done']]);
    // Ran at least once; a line twice only for a run whose worker died before its result was sent.
    const ran = readFileSync(join(dir, 'ran.log'), 'utf8').trim().split('\n');
    expect([...new Set(ran)].sort()).toEqual([...keys].sort());
    const health = await api<{ ok: boolean; redis: { ok: boolean } }>(d.url, '/health');
    expect(health.status).toBe(200);
    expect(health.body.redis.ok).toBe(true);

    // Stopped as an operator stops them; then nothing of theirs is left on the host.
    for (const p of [d, ...workers]) p.child.kill('SIGTERM');
    for (const p of [d, ...workers]) expect(await p.exited).toBe(0);
    await redis.kill('SIGTERM');
    nets.remove();
    await waitFor(() => processesUnder(dir).length === 0, 10_000, `no process left (${processesUnder(dir).join('; ')})`);
    for (const w of [workdir, ...workerDirs]) {
      expect(cgroupsOf(w)).toEqual([]);
      expect(listNetns().filter((n) => n.startsWith(`${netnsPrefix(w)}-`))).toEqual([]);
    }
    expect(listNetns().filter((n) => n.startsWith(`wft${process.pid}-`))).toEqual([]);

    const summary = {
      faults: figures.length + 3,
      runs: CONFIGS * ITERATIONS,
      lost: CONFIGS * ITERATIONS - new Set(keys).size,
      duplicated: runs.length - new Set(keys).size,
      executedTwice: ran.length - new Set(ran).size,
      recovery: figures,
      totalS: Math.round((finished - started) / 1000),
    };
    console.log(`fault-injection figures: ${JSON.stringify(summary)}`);
  }, 300_000);
});
