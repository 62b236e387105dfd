// The work transport's promises, checked on BullMQ with a real redis-server and on the in-memory
// transport alike, so that the study loop's fast tests on the latter mean something for the former.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BullTransport } from '../../src/queue/bullmq-transport.js';
import { buildJobId, testJobId } from '../../src/queue/ids.js';
import { MemoryTransport } from '../../src/queue/memory-transport.js';
import { startEmbeddedRedis, type RedisTarget } from '../../src/queue/redis.js';
import type { JobStarted, WorkTransport } from '../../src/queue/transport.js';
import type { BuildResult, BuildWork, ResultMessage, RunResult, TestWork } from '../../src/wire.js';
import type { JobSpec } from '../../src/types.js';
import { tempDir } from '../helpers.js';

const job = (name: string): JobSpec => ({
  name, phase: 'test', run: 'true', cores: 1, isolation: 'none', timeoutSec: 10, retries: 0, iterations: 2, warmup: 0,
  devices: [], capabilities: [], privileged: false, inputs: [], outputs: [], resources: {}, env: {},
});

const build = (exp: string, buildId: string, retry?: number): BuildWork => ({
  kind: 'build', experimentId: exp, buildId, job: { ...job('build'), phase: 'build', iterations: 1 }, env: {}, experimentDir: '/tmp', ...(retry ? { retry } : {}),
});

const test = (exp: string, configId: string): TestWork => ({
  kind: 'test', experimentId: exp, configId, buildId: 'b', hasBuild: false, job: job('t'), env: {}, metrics: [], experimentDir: '/tmp',
});

const run = (exp: string, iteration: number, extra: Partial<RunResult> = {}): RunResult => ({
  kind: 'run', experimentId: exp, configId: 'c', test: 't', iteration, status: 'ok', metrics: { v: iteration }, durationMs: 1, attempts: 1,
  placement: { host: 'h', cpus: [0], isolation: 'none' }, startedAt: 0, ...extra,
});

const buildResult = (exp: string, extra: Partial<BuildResult> = {}): BuildResult => ({
  kind: 'build', experimentId: exp, buildId: 'b', status: 'ok', durationMs: 1, host: 'h', worker: 'w', startedAt: 0, ...extra,
});

interface Harness {
  transport: WorkTransport;
  /** Send a result as a worker would. */
  send(msg: ResultMessage): Promise<void>;
  /** The experiment's work still waiting in a pool's queues. */
  waiting(exp: string, pool: string): Promise<string[]>;
  close(): Promise<void>;
}

async function bull(): Promise<Harness> {
  const { dir, cleanup } = tempDir();
  const redis: RedisTarget = await startEmbeddedRedis(dir);
  const transport = new BullTransport({ redis, prefix: 'contract' });
  return {
    transport,
    send: (msg) => transport.queues.addResult(msg),
    waiting: async (exp, pool) => {
      const out: string[] = [];
      for (const name of [`build.${pool}`, `test.${pool}`]) {
        for (const j of await transport.queues.queue(name).getJobs(['waiting', 'prioritized'])) if ((j?.data as { experimentId?: string }).experimentId === exp) out.push(j!.id as string);
      }
      return out.sort();
    },
    close: async () => {
      await transport.close();
      await redis.stop();
      cleanup();
    },
  };
}

async function memory(): Promise<Harness> {
  const transport = new MemoryTransport();
  return {
    transport,
    send: async (msg) => transport.addResult(msg),
    waiting: async (exp) =>
      transport
        .waiting()
        .filter((w) => w.experimentId === exp)
        .map((w) => (w.kind === 'build' ? buildJobId(w.experimentId, w.buildId, w.retry) : testJobId(w.experimentId, w.configId, w.job.name, w.retry)))
        .sort(),
    close: () => transport.close(),
  };
}

async function collect(t: WorkTransport, exp: string, n: number, opts: { failFirst?: boolean } = {}): Promise<ResultMessage[]> {
  const got: ResultMessage[] = [];
  let failed = false;
  let stream: { close(): Promise<void> } | undefined;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${n} results`)), 10_000);
    void t.consumeResults(exp, async (msg) => {
      if (opts.failFirst && !failed) {
        failed = true;
        throw new Error('not stored');
      }
      got.push(msg);
      if (got.length === n) {
        clearTimeout(timer);
        resolve();
      }
    }, { concurrency: 2 }).then((s) => (stream = s));
  });
  await stream?.close();
  return got;
}

for (const [name, open] of [['BullMQ on redis-server', bull], ['memory', memory]] as const) {
  describe(`work transport: ${name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await open();
    });
    afterAll(async () => h.close());

    it('queues the same work once, and work queued again after an infrastructure failure anew', async () => {
      await h.transport.submitBuild(build('e1', 'b'), 'p1');
      await h.transport.submitBuild(build('e1', 'b'), 'p1');
      await h.transport.submitBuild(build('e1', 'b', 1), 'p1');
      await h.transport.submitTest(test('e1', 'c'), { pool: 'p1' });
      await h.transport.submitTest(test('e1', 'c'), { pool: 'p1' });
      expect(await h.waiting('e1', 'p1')).toEqual(['b.e1.b', 'b.e1.b.r1', 't.e1.c.t']);
    });

    it('withdraws an experiment\'s waiting work, and only that experiment\'s', async () => {
      await h.transport.submitBuild(build('e2', 'x'), 'p2');
      await h.transport.submitBuild(build('other', 'x'), 'p2');
      await h.transport.submitTest(test('e2', 'c'), { pool: 'p2' });
      const taken = await h.transport.withdraw('e2', { pools: ['p2'], workers: [] });
      expect(taken.map((w) => w.kind).sort()).toEqual(['build', 'test']);
      expect(await h.waiting('e2', 'p2')).toEqual([]);
      expect(await h.waiting('other', 'p2')).toEqual(['b.other.x']);
    });

    it('delivers a result sent twice once, again when the handler fails, and an infrastructure failure apart from the run it stands for', async () => {
      await h.send(run('e3', 0));
      await h.send(run('e3', 0));
      await h.send(run('e3', 1, { status: 'failed', failure: 'infra', error: 'no cgroup' }));
      await h.send(run('e3', 1, { status: 'failed', failure: 'infra', error: 'no cgroup', retry: 1 }));
      await h.send(run('e3', 1));
      const got = await collect(h.transport, 'e3', 4, { failFirst: true });
      const key = (m: ResultMessage): string => (m.kind === 'run' ? `${m.iteration}:${m.status}:${m.retry ?? 0}` : 'build');
      expect(got.map(key).sort()).toEqual(['0:ok:0', '1:failed:0', '1:failed:1', '1:ok:0']);
    });

    it('takes back a lost worker\'s build and result, so the build can be queued and reported again', async () => {
      await h.transport.submitBuild(build('e4', 'b'), 'p4');
      await h.send(buildResult('e4'));
      expect(await h.transport.reclaimLost({ experimentId: 'e4', worker: 'w', pool: 'p4', buildId: 'b', tests: [{ configId: 'c', test: 't' }] })).toBe(true);
      expect(await h.waiting('e4', 'p4')).toEqual([]);
      await h.transport.submitBuild(build('e4', 'b'), 'p4');
      expect(await h.waiting('e4', 'p4')).toEqual(['b.e4.b']);
      await h.send(buildResult('e4', { worker: 'w2' }));
      const got = await collect(h.transport, 'e4', 1);
      expect(got).toMatchObject([{ kind: 'build', worker: 'w2' }]);
    });

    it('knows a worker that never showed a sign of life is not alive', async () => {
      expect(await h.transport.isAlive('nobody')).toBe(false);
    });
  });
}

describe('work transport: BullMQ with a host worker', () => {
  it('announces started jobs to listeners, and a live worker counts as alive', async () => {
    const { dir, cleanup } = tempDir();
    const redis = await startEmbeddedRedis(dir);
    const transport = new BullTransport({ redis });
    const seen: JobStarted[] = [];
    const sub = await transport.onJobStarted((e) => seen.push(e));
    try {
      transport.queues.announce({ kind: 'started', experimentId: 'e', job: 'j', host: 'h', worker: 'w', at: 1 });
      await transport.queues.markAlive('w', 10_000);
      const deadline = Date.now() + 5000;
      while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(seen).toEqual([{ kind: 'started', experimentId: 'e', job: 'j', host: 'h', worker: 'w', at: 1 }]);
      expect(await transport.isAlive('w')).toBe(true);
    } finally {
      await sub.close();
      await transport.close();
      await redis.stop();
      cleanup();
    }
  });
});
