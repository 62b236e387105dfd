// A host takes a job from the queue only while the jobs it took are placed: each queue worker holds
// at most one job it cannot place yet (it waits on this host's reservation); the rest stay queued.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Dispatcher } from '../../src/scheduler/dispatch.js';
import { Intake } from '../../src/scheduler/intake.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { readTopology, type Topology } from '../../src/scheduler/topology.js';
import type { Isolation } from '../../src/types.js';
import { FIXTURES, UNPACK_TIMEOUT_MS } from './snapshots.js';
import { loadExperiment } from '../../src/spec/index.js';
import { Study } from '../../src/study/study.js';
import { Workspace } from '../../src/study/workspace.js';
import { tempDir, writeFile } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

let dir: string;
let topo: Topology;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wf-intake-'));
  execFileSync('tar', ['xjf', join(FIXTURES, '8em64t-2s2ca2c.tar.bz2'), '-C', dir]);
  topo = await readTopology({ sysfsRoot: join(dir, readdirSync(dir)[0] as string, 'sys') });
}, UNPACK_TIMEOUT_MS);
afterAll(() => rmSync(dir, { recursive: true, force: true }), UNPACK_TIMEOUT_MS);

describe('Intake', () => {
  it('lets a worker take one more job only while every job it took is placed', async () => {
    const d = new Dispatcher(new Scheduler(topo));
    const intake = new Intake(d, topo.cpus.length);
    const worker = { concurrency: 8 };
    intake.add('test', worker);
    expect(worker.concurrency).toBe(1);
    const done: Record<string, () => void> = {};
    const take = (id: string, cores: number, isolation: Isolation): Promise<void> =>
      intake.hold('test', async () => {
        await d.acquire({ id, cores, isolation });
        await new Promise<void>((r) => (done[id] = r));
        d.release(id);
      });
    const a = take('a', 2, 'none');
    await new Promise((r) => setImmediate(r));
    expect(worker.concurrency).toBe(2);
    const b = take('b', 4, 'none');
    await new Promise((r) => setImmediate(r));
    expect(worker.concurrency).toBe(3);
    // c needs the whole host: it waits, and nothing more is taken while it does.
    const c = take('c', 1, 'full');
    await new Promise((r) => setImmediate(r));
    expect(d.scheduler.queued().map((q) => q.id)).toEqual(['c']);
    expect(worker.concurrency).toBe(3);
    done.a?.();
    await a;
    expect(worker.concurrency).toBe(2);
    done.b?.();
    await b;
    // c runs now: one more may be taken.
    expect(d.scheduler.running().map((g) => g.id)).toEqual(['c']);
    expect(worker.concurrency).toBe(2);
    done.c?.();
    await c;
    expect(worker.concurrency).toBe(1);
  });

  it('through the run path, a host holds one running job and at most one waiting job per queue', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = writeFile(
      dir,
      'exp.yaml',
      `
name: intake
params:
  - { name: B, type: integer, only: [1, 2, 3, 4], default: 1 }
build:
  run: 'sleep 0.3'
  cores: 1
  isolation: full
test:
  run: 'sleep 0.3; echo "v=$B"'
  cores: 1
  isolation: full
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { parallel: 4 }
`,
    );
    const ws = await Workspace.open({ workdir: join(dir, '.wayfinder') });
    let most = 0;
    let queuedSeen = 0;
    let polling = true;
    const poll = (async () => {
      while (polling) {
        // The host's queues: builds and tests of its pool, and the tests of what it built.
        const queues = ws.worker!.queueNames().map((n) => ws.transport.queues.queue(n));
        const active = await Promise.all(queues.map((q) => q.getActiveCount()));
        const waiting = await Promise.all(queues.map((q) => q.getWaitingCount()));
        most = Math.max(most, active.reduce((x, y) => x + y, 0));
        queuedSeen = Math.max(queuedSeen, waiting.reduce((x, y) => x + y, 0));
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    try {
      const study = new Study(loadExperiment(file), ws.store, ws.transport);
      await study.run();
      expect(ws.store.configurations(study.id).filter((c) => c.status === 'done')).toHaveLength(4);
    } finally {
      polling = false;
      await poll;
      await ws.close();
    }
    // Jobs were left in the queue while the host was busy; it held the running job and at most one
    // waiting build and one waiting test (without the intake: up to two of each on this 2-CPU host).
    expect(queuedSeen).toBeGreaterThan(0);
    expect(most).toBeGreaterThanOrEqual(2);
    expect(most).toBeLessThanOrEqual(3);
  });
});
