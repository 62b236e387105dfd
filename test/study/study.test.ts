// The study loop on the in-memory transport and store: resume, batches, failures, budget, the
// default first, a lost worker's build done again, and infrastructure failures, in milliseconds.
// The same loop on BullMQ and SQLite is tested through `wayfinder run` (test/cli) and the daemon.

import { describe, expect, it } from 'vitest';
import { MemoryTransport, type Execute, type Outcome } from '../../src/queue/memory-transport.js';
import { parseExperiment } from '../../src/spec/index.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { InfrastructureError, Study, type StudyOptions, type WorkRetried } from '../../src/study/study.js';
import type { Experiment } from '../../src/types.js';
import type { TestWork, Work } from '../../src/wire.js';

function experiment(body: string): Experiment {
  return parseExperiment(`name: memory\n${body}`, '/tmp/wayfinder-memory-study/exp.yaml');
}

/** A: 1..6, objective v = A * 10 + iteration (iterations differ, so each is told apart). */
const SIX = `
params:
  - { name: A, type: integer, min: 1, max: 6, default: 3, when: test }
test:
  run: 'true'
  iterations: 2
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
`;

const num = (w: Work, name: string): number => Number(w.env[name]);

/** Every (configuration, test, iteration) the workers measured, in order. */
class Log {
  readonly runs: string[] = [];
  readonly builds: string[] = [];
  note(w: Work, iteration: number | undefined, worker: string): void {
    if (w.kind === 'build') this.builds.push(`${w.buildId}@${worker}`);
    else this.runs.push(`${w.configId}/${w.job.name}/${iteration}`);
  }
  repeats(): string[] {
    return this.runs.filter((r, i) => this.runs.indexOf(r) !== i);
  }
}

function setup(exec: Execute, o: { workers?: number; concurrency?: number } = {}): { store: MemoryStore; transport: MemoryTransport } {
  const transport = new MemoryTransport();
  for (let i = 1; i <= (o.workers ?? 1); i++) transport.addWorker({ id: `w${i}`, concurrency: o.concurrency ?? 4, execute: exec });
  return { store: new MemoryStore(), transport };
}

const measured = (log: Log, f: (w: TestWork, iteration: number) => Outcome = (w, i) => ({ status: 'ok', metrics: { v: num(w, 'A') * 10 + i } })): Execute =>
  (w, iteration, worker) => {
    // Noted once it returns: an attempt the worker could not make (it throws) measured nothing.
    const o: Outcome = w.kind === 'build' ? { status: 'ok' } : f(w, iteration as number);
    log.note(w, iteration, worker);
    return o;
  };

async function run(exp: Experiment, env: { store: MemoryStore; transport: MemoryTransport }, opts: StudyOptions = {}): Promise<Study> {
  const study = new Study(exp, env.store, env.transport, opts);
  await study.run();
  return study;
}

/** A transport whose connection drops once as results start to flow (BullMQ's recoverable error events). */
class FlakyTransport extends MemoryTransport {
  healthy = false;
  override async consumeResults(...args: Parameters<MemoryTransport['consumeResults']>): ReturnType<MemoryTransport['consumeResults']> {
    const stream = await super.consumeResults(...args);
    for (const m of ['connect ECONNREFUSED', 'Connection is closed.']) args[2]?.onError?.(new Error(m));
    this.healthy = true;
    return stream;
  }
  override health(): Promise<{ ok: boolean }> {
    return Promise.resolve({ ok: this.healthy });
  }
}

/** A Redis killed with its last writes not yet on disk: the first test queued is lost, then the connection drops. */
class LossyTransport extends MemoryTransport {
  private lost = false;
  private onError: ((e: Error) => void) | undefined;
  override async consumeResults(...args: Parameters<MemoryTransport['consumeResults']>): ReturnType<MemoryTransport['consumeResults']> {
    this.onError = args[2]?.onError;
    return super.consumeResults(...args);
  }
  override async submitTest(...args: Parameters<MemoryTransport['submitTest']>): Promise<void> {
    if (this.lost) return super.submitTest(...args);
    this.lost = true;
    setTimeout(() => this.onError?.(new Error('Connection is closed.')), 20);
  }
}

describe('study loop (in memory)', () => {
  it('work a restarted Redis lost is queued again once the transport answers: the study is not orphaned', async () => {
    const log = new Log();
    const transport = new LossyTransport();
    transport.addWorker({ id: 'w1', concurrency: 2, execute: measured(log) });
    const store = new MemoryStore();
    const study = new Study(experiment(`${SIX}exploration: { strategy: grid, parallel: 2 }\n`), store, transport);
    const said: string[] = [];
    study.on('transport-recovered', () => said.push('recovered'));
    await study.run();
    expect(said).toEqual(['recovered']);
    expect(store.getExperiment(study.id)?.state).toBe('done');
    expect(store.configurations(study.id).filter((r) => r.status === 'done')).toHaveLength(6);
    expect(log.runs).toHaveLength(12);
    expect(log.repeats()).toEqual([]);
  }, 10_000);

  it('a transport error is weather: said once, never a failure; the experiment finishes with its state true', async () => {
    const log = new Log();
    const transport = new FlakyTransport();
    transport.addWorker({ id: 'w1', concurrency: 2, execute: measured(log) });
    const store = new MemoryStore();
    const study = new Study(experiment(`${SIX}exploration: { strategy: grid, parallel: 2 }\n`), store, transport);
    const said: string[] = [];
    study.on('transport-error', (e) => said.push(`error: ${e.message}`));
    study.on('transport-recovered', () => said.push('recovered'));
    await study.run();
    expect(store.getExperiment(study.id)?.state).toBe('done');
    expect(store.configurations(study.id).filter((r) => r.status === 'done')).toHaveLength(6);
    expect(log.repeats()).toEqual([]);
    expect(said[0]).toBe('error: connect ECONNREFUSED');
    expect(said.filter((l) => l.startsWith('error'))).toHaveLength(1);
  });

  it('measures the default first, then what the strategy asks, within the budget', async () => {
    const log = new Log();
    const env = setup(measured(log));
    const exp = experiment(`${SIX}exploration: { strategy: random, budget: 4, parallel: 1, seed: 5 }\n`);
    const study = await run(exp, env);
    const rows = env.store.configurations(study.id);
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatchObject({ isDefault: true, seq: 0, params: { A: 3 }, status: 'done', objective: 30.5 });
    expect(rows.every((r) => r.status === 'done')).toBe(true);
    expect(new Set(rows.map((r) => r.params.A)).size).toBe(4);
    // Each configuration's two iterations, once each.
    expect(log.runs).toHaveLength(8);
    expect(log.repeats()).toEqual([]);
    expect(env.store.getExperiment(study.id)?.state).toBe('done');
  });

  it('keeps `parallel` configurations in flight and stores results arriving together in one go', async () => {
    let inFlight = 0;
    let most = 0;
    const gate: (() => void)[] = [];
    // Every job waits until three have started (or nothing else can start), then all finish at once.
    const exec: Execute = async (w, iteration) => {
      if (w.kind === 'build') return { status: 'ok' };
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise<void>((r) => {
        gate.push(r);
        if (gate.length >= 3) gate.splice(0).forEach((f) => f());
        else setTimeout(() => gate.splice(0).forEach((f) => f()), 20);
      });
      inFlight--;
      return { status: 'ok', metrics: { v: num(w, 'A') * 10 + (iteration as number) } };
    };
    const env = setup(exec, { concurrency: 8 });
    const exp = experiment(SIX.replace('iterations: 2', 'iterations: 1') + 'exploration: { parallel: 3 }\n');
    const study = await run(exp, env);
    const rows = env.store.configurations(study.id);
    expect(rows).toHaveLength(6);
    expect(rows.every((r) => r.status === 'done')).toBe(true);
    expect(most).toBe(3);
    // Six results, acknowledged after fewer flushes: some arrived together and were stored together.
    expect(env.store.runs(study.id)).toHaveLength(6);
    expect(env.store.flushes).toBeLessThan(6);
    expect(env.store.flushes).toBeGreaterThan(0);
  });

  it('a failed build, a failed run and output without the objective fail their configurations, and are told to the strategy', async () => {
    const log = new Log();
    const exec: Execute = (w, iteration, worker) => {
      log.note(w, iteration, worker);
      if (w.kind === 'build') return num(w, 'B') === 2 ? { status: 'failed', error: 'cc: error' } : { status: 'ok' };
      const a = num(w, 'A');
      if (a === 2) return { status: 'failed', failure: 'exit', error: 'exit status 1' };
      if (a === 3) return { status: 'ok', metrics: { other: 1 } as Record<string, number> };
      return { status: 'ok', metrics: { v: a * 10 + num(w, 'B') } };
    };
    const env = setup(exec);
    const exp = experiment(`
params:
  - { name: A, type: integer, min: 1, max: 3, default: 1, when: test }
  - { name: B, type: integer, only: [1, 2], default: 1 }
build:
  run: 'true'
test:
  run: 'true'
  iterations: 2
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { parallel: 2 }
`);
    const study = await run(exp, env);
    const rows = env.store.configurations(study.id);
    expect(rows).toHaveLength(6);
    const of = (a: number, b: number) => rows.find((r) => r.params.A === a && r.params.B === b);
    for (const a of [1, 2, 3]) expect(of(a, 2)).toMatchObject({ status: 'failed', failure: 'build', error: 'cc: error' });
    expect(of(1, 1)).toMatchObject({ status: 'done', objective: 11 });
    expect(of(2, 1)).toMatchObject({ status: 'failed', failure: 'exit', error: 'exit status 1' });
    expect(of(3, 1)).toMatchObject({ status: 'failed', failure: 'parse' });
    // Two builds, each once; a failed run stops its test (one run of A=2, not two).
    expect(log.builds).toHaveLength(2);
    expect(log.runs.filter((r) => r.startsWith(of(2, 1)!.configId))).toHaveLength(1);
    // Every failure was told: the strategy has seen all six and is done.
    expect(env.store.strategyState(study.id)?.seen).toHaveLength(6);
  });

  it('resumes after a stop: the strategy state comes back, and nothing is measured twice', async () => {
    const log = new Log();
    let first: Study | undefined;
    let stopped: Promise<void> | undefined;
    const exec = measured(log, (w, i) => {
      // The first study stops taking results after a few runs; the workers go on meanwhile.
      if (log.runs.length === 3) stopped = first?.detach();
      return { status: 'ok', metrics: { v: num(w, 'A') * 10 + i } };
    });
    const env = setup(exec);
    const exp = experiment(`${SIX}exploration: { strategy: random, parallel: 2, seed: 9 }\n`);
    // Every iteration measured: this counts them (resuming with early stopping on is tested below).
    first = new Study(exp, env.store, env.transport, { earlyStop: false });
    void first.run();
    await waitFor(() => stopped !== undefined);
    await stopped;
    const saved = env.store.strategyState(first.id);
    expect(saved).toBeDefined();
    const before = env.store.configurations(first.id);
    expect(before.some((r) => r.status === 'running')).toBe(true);

    // Resumed with another seed: only the saved state can make it continue the first one's search.
    const second = await run({ ...exp, exploration: { ...exp.exploration, seed: 10 } }, env, { earlyStop: false });
    const rows = env.store.configurations(second.id);
    expect(rows).toHaveLength(6);
    expect(rows.every((r) => r.status === 'done')).toBe(true);
    expect(rows.slice(0, before.length).map((r) => r.configId)).toEqual(before.map((r) => r.configId));
    // The order asked is that of one uninterrupted search with the first seed, not the second's.
    const orderOf = async (seed: number): Promise<unknown[]> => {
      const fresh = setup(measured(new Log()));
      const s = await run({ ...exp, exploration: { ...exp.exploration, seed } }, fresh, { earlyStop: false });
      return fresh.store.configurations(s.id).map((r) => r.params.A);
    };
    const uninterrupted = await orderOf(9);
    expect(uninterrupted).not.toEqual(await orderOf(10));
    expect(rows.map((r) => r.params.A)).toEqual(uninterrupted);
    expect(log.runs).toHaveLength(12);
    expect(log.repeats()).toEqual([]);
    expect(env.store.runs(second.id)).toHaveLength(12);
  });

  it('builds again on a live worker what a lost worker had built, and its tests skip nothing measured twice', async () => {
    const log = new Log();
    let env!: { store: MemoryStore; transport: MemoryTransport };
    const lost: { buildId: string; worker: string; configIds: string[] }[] = [];
    const exec: Execute = (w, iteration, worker) => {
      log.note(w, iteration, worker);
      if (w.kind === 'test' && worker === 'w1' && iteration === 1) {
        // w1 measured iteration 0 of its first test and vanishes with its build; w2 joins the pool.
        env.transport.loseWorker('w1');
        env.transport.addWorker({ id: 'w2', execute: exec });
      }
      return w.kind === 'build' ? { status: 'ok' } : { status: 'ok', metrics: { v: num(w, 'A') + num(w, 'B') * 10 } };
    };
    env = setup(exec);
    const exp = experiment(`
params:
  - { name: A, type: integer, only: [1, 2], default: 1, when: test }
  - { name: B, type: integer, only: [1, 2], default: 1 }
build:
  run: 'true'
test:
  run: 'true'
  iterations: 2
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { parallel: 1 }
`);
    const study = new Study(exp, env.store, env.transport, { lostCheckMs: 5 });
    study.on('build-lost', (l) => lost.push(l));
    await study.run();
    const rows = env.store.configurations(study.id);
    expect(rows).toHaveLength(4);
    expect(rows.every((r) => r.status === 'done')).toBe(true);
    expect(lost).toHaveLength(1);
    expect(lost[0]?.worker).toBe('w1');
    // The default's build ran on w1, then again on w2; the other build on w2 only.
    expect(log.builds.filter((b) => b.startsWith(lost[0]!.buildId))).toEqual([`${lost[0]!.buildId}@w1`, `${lost[0]!.buildId}@w2`]);
    expect(log.builds).toHaveLength(3);
    // Iteration 0 of the default, stored before w1 was lost, was not measured again; iteration 1
    // (whose result w1 never sent) was.
    expect(log.repeats()).toHaveLength(1);
    expect(log.repeats()[0]).toMatch(new RegExp(`^${rows[0]!.configId}/[^/]+/1$`));
    expect(env.store.runs(study.id)).toHaveLength(8);
  });

  it('queues work again after an infrastructure failure: never told to the strategy, no budget spent', async () => {
    const log = new Log();
    const failures = new Map<number, number>();
    const exec = measured(log, (w, i) => {
      const a = num(w, 'A');
      // A=2 fails twice on the worker's side (it cannot confine the job), then runs.
      if (a === 2 && (failures.get(a) ?? 0) < 2) {
        failures.set(a, (failures.get(a) ?? 0) + 1);
        throw new Error('cpuset: creating /sys/fs/cgroup/wayfinder-x/job failed: EACCES');
      }
      return { status: 'ok', metrics: { v: a * 10 + i } };
    });
    const env = setup(exec);
    const retried: WorkRetried[] = [];
    const exp = experiment(`${SIX}exploration: { strategy: grid, budget: 3, parallel: 1 }\n`);
    const study = new Study(exp, env.store, env.transport);
    study.on('work-retried', (r) => retried.push(r));
    const told: string[] = [];
    study.on('config-finished', (r) => told.push(`${String(r.params.A)}:${r.status}`));
    await study.run();
    const rows = env.store.configurations(study.id);
    // Three configurations within a budget of three, all measured: the failures spent none of it.
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.status === 'done')).toBe(true);
    expect(rows.map((r) => r.params.A)).toContain(2);
    expect(told.every((t) => t.endsWith(':done'))).toBe(true);
    expect(retried.map((r) => [r.work, r.retry])).toEqual([['test', 1], ['test', 2]]);
    expect(retried[0]?.error).toMatch(/EACCES/);
    // No run of an infrastructure failure is stored; every iteration was measured once.
    expect(env.store.runs(study.id).every((r) => r.status === 'ok')).toBe(true);
    expect(env.store.runs(study.id)).toHaveLength(6);
    expect(log.runs).toHaveLength(6);
    expect(log.repeats()).toEqual([]);
  });

  it('a build the workers cannot run is queued again too', async () => {
    let tries = 0;
    const log = new Log();
    const exec: Execute = (w, iteration, worker) => {
      log.note(w, iteration, worker);
      if (w.kind === 'build' && tries++ === 0) throw new Error('docker: engine went away');
      return w.kind === 'build' ? { status: 'ok' } : { status: 'ok', metrics: { v: num(w, 'B') } };
    };
    const env = setup(exec);
    const exp = experiment(`
params:
  - { name: B, type: integer, only: [1, 2], default: 1 }
build:
  run: 'true'
test:
  run: 'true'
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { parallel: 1 }
`);
    const study = await run(exp, env);
    expect(env.store.configurations(study.id).map((r) => r.status)).toEqual(['done', 'done']);
    expect(log.builds).toHaveLength(3);
  });

  it('an infrastructure failure that persists stops the experiment with its reason; a later run resumes it', async () => {
    let broken = true;
    const log = new Log();
    const exec = measured(log, (w, i) => {
      if (broken && num(w, 'A') === 4) throw new Error('cpuset: creating /sys/fs/cgroup/wayfinder-x/job failed: ENOSPC');
      return { status: 'ok', metrics: { v: num(w, 'A') * 10 + i } };
    });
    const env = setup(exec);
    const exp = experiment(`${SIX}exploration: { strategy: grid, parallel: 2 }\n`);
    const study = new Study(exp, env.store, env.transport, { infraRetries: 2 });
    const err = await study.run().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(InfrastructureError);
    expect((err as Error).message).toMatch(/stopped: the workers could not run the test "test" of configuration \w+ \(3 times, 2 of them queued again\); last on w1: cpuset: .*ENOSPC/);
    const row = env.store.getExperiment(study.id);
    expect(row).toMatchObject({ state: 'failed', error: (err as Error).message });
    // The configuration is not failed (nor told to the strategy): it is still to be measured.
    const four = env.store.configurations(study.id).find((r) => r.params.A === 4);
    expect(four?.status).toBe('running');
    expect(env.store.configurations(study.id).some((r) => r.status === 'failed')).toBe(false);
    // Its work was withdrawn: nothing of it waits to run.
    expect(env.transport.waiting().filter((w) => w.experimentId === study.id)).toEqual([]);

    broken = false;
    const again = await run(exp, env);
    expect(env.store.getExperiment(again.id)).toMatchObject({ state: 'done' });
    expect(env.store.getExperiment(again.id)?.error).toBeUndefined();
    const rows = env.store.configurations(again.id);
    expect(rows).toHaveLength(6);
    expect(rows.every((r) => r.status === 'done')).toBe(true);
    expect(log.repeats()).toEqual([]);
  });
});


/**
 * A: 1..12, five iterations, objective about A * 100 with a percent or two of deterministic scatter
 * (so the pooled variance is not zero): every configuration below the best is clearly below it.
 */
const TWELVE = `
params:
  - { name: A, type: integer, min: 1, max: 12, default: 3, when: test }
test:
  run: 'true'
  iterations: 5
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
`;
const scattered = (w: TestWork, i: number): Outcome => {
  const a = num(w, 'A');
  return { status: 'ok', metrics: { v: a * 100 + (((a * 7 + i * 3) % 5) - 2) * a } };
};

describe('study loop: early stopping', () => {
  it('stops configurations clearly below the best after their first iteration; the best is measured in full', async () => {
    const exp = experiment(`${TWELVE}exploration: { strategy: grid, parallel: 1 }\n`);
    const log = new Log();
    const env = setup(measured(log, scattered));
    const study = await run(exp, env);
    const rows = env.store.configurations(study.id);
    const stopped = rows.filter((r) => r.failure === 'stopped');
    // The default (A=3) first, in full; then A=1 and 2 are below it and stopped after one iteration;
    // each of 4..12 is the best so far when it comes, so is measured in full.
    expect(stopped.map((r) => r.params.A).sort()).toEqual([1, 2]);
    for (const r of stopped) {
      expect(r.status).toBe('failed');
      expect(r.stopped).toMatchObject({ after: 1, of: 5, below: 300 });
      expect(r.stopped!.p).toBeLessThan(r.stopped!.level);
      expect(r.error).toMatch(/^stopped early after 1 of 5 iterations, below the best with p=\S+ < 0\.0033/);
      expect(env.store.runs(study.id, r.configId)).toHaveLength(1);
      expect(r.objective).toBeUndefined();
    }
    expect(log.runs).toHaveLength(12 * 5 - 2 * 4);
    expect(log.repeats()).toEqual([]);
    const best = rows.filter((r) => r.status === 'done').sort((a, b) => (b.objective ?? 0) - (a.objective ?? 0))[0];
    expect(best?.params.A).toBe(12);
    expect(env.store.runs(study.id, best!.configId)).toHaveLength(5);
  });

  it('a whole search stops its bad configurations early and finds the same best as one measuring everything', async () => {
    const exp = experiment(`${TWELVE}exploration: { strategy: random, parallel: 1, seed: 4 }\n`);
    const on = setup(measured(new Log(), scattered));
    const off = setup(measured(new Log(), scattered));
    const a = await run(exp, on);
    const b = await run(exp, off, { earlyStop: false });
    const bestOf = (store: MemoryStore, id: string): unknown =>
      store.configurations(id).filter((r) => r.status === 'done').sort((x, y) => (y.objective ?? 0) - (x.objective ?? 0))[0]?.params.A;
    expect(bestOf(on.store, a.id)).toBe(12);
    expect(bestOf(off.store, b.id)).toBe(12);
    expect(on.store.configurations(a.id).filter((r) => r.failure === 'stopped').length).toBeGreaterThan(3);
    expect(off.store.configurations(b.id).some((r) => r.failure === 'stopped')).toBe(false);
    expect(on.store.runs(a.id).length).toBeLessThan(off.store.runs(b.id).length);
    // The same configurations in the same order: a stop tells the strategy no more than "worse".
    expect(on.store.configurations(a.id).map((r) => r.params.A)).toEqual(off.store.configurations(b.id).map((r) => r.params.A));
  });

  it('is deterministic per seed: the bayesian search asks the same configurations and stops the same ones', async () => {
    const exp = experiment(`${TWELVE}exploration: { strategy: bayesian, parallel: 1, seed: 5, budget: 9 }\n`);
    const trace = async (): Promise<string[]> => {
      const env = setup(measured(new Log(), scattered));
      const s = await run(exp, env);
      return env.store.configurations(s.id).map((r) => `${String(r.params.A)}:${r.failure ?? r.status}:${env.store.runs(s.id, r.configId).length}`);
    };
    const first = await trace();
    expect(first.some((t) => t.includes(':stopped:'))).toBe(true);
    expect(await trace()).toEqual(first);
  });

  it('a resumed search with early stopping on continues exactly as an uninterrupted one, measuring nothing twice', async () => {
    const exp = experiment(`${TWELVE}exploration: { strategy: bayesian, parallel: 1, seed: 6, budget: 10 }\n`);
    const uninterrupted = setup(measured(new Log(), scattered));
    const u = await run(exp, uninterrupted);
    const expected = uninterrupted.store.configurations(u.id).map((r) => `${String(r.params.A)}:${r.failure ?? r.status}`);
    expect(expected.some((t) => t.endsWith(':stopped'))).toBe(true);

    for (const stopAt of [6, 8, 13]) {
      const log = new Log();
      let first: Study | undefined;
      let stopped: Promise<void> | undefined;
      const env = setup(measured(log, (w, i) => {
        if (log.runs.length === stopAt) stopped = first?.detach();
        return scattered(w, i);
      }));
      first = new Study(exp, env.store, env.transport);
      void first.run();
      await waitFor(() => stopped !== undefined);
      await stopped;
      const second = await run(exp, env);
      const got = env.store.configurations(second.id).map((r) => `${String(r.params.A)}:${r.failure ?? r.status}`);
      expect(got, `detached after ${stopAt} runs`).toEqual(expected);
      expect(log.repeats()).toEqual([]);
    }
  });
});

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** TWELVE with a fidelity: D is 2 in a cheap look (3 iterations), 10 in full. */
const TWELVE_FIDELITY = TWELVE.replace('  iterations: 5\n', '  iterations: 5\n  fidelity: { env: D, cheap: 2, full: 10, iterations: 3 }\n');
/** About A * D * 10, a few percent of scatter: the cheap look ranks as the full measurement does. */
const byFidelity = (w: TestWork, i: number): Outcome => {
  const a = num(w, 'A');
  return { status: 'ok', metrics: { v: a * Number(w.env.D) * 10 + (((a * 7 + i * 3) % 5) - 2) * a } };
};

describe('study loop: cheap looks at a declared fidelity', () => {
  it('stops at the cheap look with a Bonferroni share of alpha / (1 + full looks); only full runs make an objective', async () => {
    const exp = experiment(`${TWELVE_FIDELITY}exploration: { strategy: grid, parallel: 1 }\n`);
    const log = new Log();
    const env = setup(measured(log, byFidelity));
    const study = await run(exp, env);
    const rows = env.store.configurations(study.id);
    // The default (A=3) first; A=1 and 2 are below its cheap look (4 degrees of freedom from the
    // two looks' 3 iterations each by A=1) and stopped there; 4..12 are each the best when they come.
    const atCheap = rows.filter((r) => r.stopped?.fidelity);
    expect(atCheap.map((r) => r.params.A).sort()).toEqual([1, 2]);
    for (const r of atCheap) {
      // 5 iterations: full looks after 1, 2 and 4, and the cheap look: 0.01 / 4 each.
      expect(r.stopped).toMatchObject({ after: 3, of: 5, level: 0.0025, fidelity: { env: 'D', value: '2' } });
      expect(r.stopped!.p).toBeLessThan(0.0025);
      expect(env.store.runs(study.id, r.configId).map((x) => x.extra)).toEqual(['cheap-look', 'cheap-look', 'cheap-look']);
      expect(r.summary).toBeUndefined();
    }
    for (const r of rows.filter((x) => x.status === 'done')) {
      const full = env.store.runs(study.id, r.configId).filter((x) => x.extra === undefined);
      expect(full.map((x) => x.iteration)).toEqual([0, 1, 2, 3, 4]);
      expect(r.summary?.v?.n).toBe(5);
      // About A * 100 (D = 10), never a cheap value (about A * 20).
      expect(Math.abs((r.objective as number) - Number(r.params.A) * 100)).toBeLessThanOrEqual(2 * Number(r.params.A));
    }
    expect(log.repeats()).toEqual([]);
    expect(rows.filter((r) => r.status === 'done').sort((a, b) => (b.objective ?? 0) - (a.objective ?? 0))[0]?.params.A).toBe(12);
  });

  it('a cheap run that fails decides nothing: the configuration is measured in full', async () => {
    const exp = experiment(`${TWELVE_FIDELITY}exploration: { strategy: grid, parallel: 1 }\n`);
    const env = setup(measured(new Log(), (w, i) => (num(w, 'A') === 5 && w.env.D === '2' ? { status: 'failed' as const, failure: 'exit' as const, error: 'no' } : byFidelity(w, i))));
    const study = await run(exp, env);
    const five = env.store.configurations(study.id).find((r) => r.params.A === 5)!;
    expect(five.status).toBe('done');
    expect(env.store.runs(study.id, five.configId).filter((x) => x.extra === undefined)).toHaveLength(5);
  });

  it('--no-fidelity (fidelity: false) runs no cheap look and sets the variable to its full value', async () => {
    const exp = experiment(`${TWELVE_FIDELITY}exploration: { strategy: grid, parallel: 1 }\n`);
    const seen = new Set<string>();
    const env = setup(measured(new Log(), (w, i) => {
      seen.add(String(w.env.D));
      return byFidelity(w, i);
    }));
    const study = await run(exp, env, { fidelity: false });
    expect([...seen]).toEqual(['10']);
    expect(env.store.runs(study.id).some((r) => r.extra === 'cheap-look')).toBe(false);
  });

  it('a resumed search with cheap looks continues exactly as an uninterrupted one, measuring nothing twice', async () => {
    const exp = experiment(`${TWELVE_FIDELITY}exploration: { strategy: bayesian, parallel: 1, seed: 6, budget: 10 }\n`);
    const uninterrupted = setup(measured(new Log(), byFidelity));
    const u = await run(exp, uninterrupted);
    const trace = (store: MemoryStore, id: string): string[] => store.configurations(id).map((r) => `${String(r.params.A)}:${r.failure ?? r.status}:${store.runs(id, r.configId).length}`);
    const expected = trace(uninterrupted.store, u.id);
    expect(uninterrupted.store.configurations(u.id).some((r) => r.stopped?.fidelity)).toBe(true);
    for (const stopAt of [1, 3, 7, 12]) {
      const log = new Log();
      let first: Study | undefined;
      let stopped: Promise<void> | undefined;
      const env = setup(measured(log, (w, i) => {
        if (log.runs.length === stopAt) stopped = first?.detach();
        return byFidelity(w, i);
      }));
      first = new Study(exp, env.store, env.transport);
      void first.run();
      await waitFor(() => stopped !== undefined);
      await stopped;
      const second = await run(exp, env);
      expect(trace(env.store, second.id), `detached after ${stopAt} runs`).toEqual(expected);
      expect(log.repeats()).toEqual([]);
    }
  });
});
