// Best against default, confirmed, on the in-memory transport and store with a scripted noisy
// metric: a parameter that changes nothing is never called significantly better (A/A), a 10%
// effect is (A/B), a default measured earlier on a slower host is caught by the interleaved
// re-measurement (drift), and the rank test's false-positive rate stays within its 5%.

import { describe, expect, it } from 'vitest';
import { MemoryTransport, type Execute } from '../../src/queue/memory-transport.js';
import { parseExperiment } from '../../src/spec/index.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { compareSamples, confirmBest, confirmOnStudy, describeComparison, lookPoints, type Comparison } from '../../src/study/confirm.js';
import { DriftWatch, judgeDrift } from '../../src/study/drift.js';
import { Study } from '../../src/study/study.js';
import { summarizeStudy } from '../../src/study/summary.js';
import type { Experiment } from '../../src/types.js';
import { Rng } from '../../src/util/random.js';
import type { TestWork } from '../../src/wire.js';

/** B takes two values; `effect` says how much B=1 multiplies the metric by (1: it changes nothing). */
function experiment(o: { budget?: number; values?: number } = {}): Experiment {
  const values = Array.from({ length: o.values ?? 2 }, (_, i) => i).join(', ');
  return parseExperiment(
    `name: confirm
params:
  - { name: B, type: integer, only: [${values}], default: 0, when: test }
test:
  run: 'true'
  iterations: 3
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { strategy: grid, ${o.budget ? `budget: ${o.budget}, ` : ''}parallel: 1, seed: 1 }
`,
    '/tmp/wayfinder-confirm-study/exp.yaml',
  );
}

/**
 * A noisy host: each measurement is 1000 x effect(B) x host speed x log-normal noise (about 5%
 * CV). `speed(k)` is the host's speed at the k-th measurement (drift), 1 by default.
 */
function noisy(seed: number, effect: (b: number) => number, speed: (k: number) => number = () => 1): { execute: Execute; measured: () => number } {
  const rng = new Rng(seed);
  let k = 0;
  return {
    measured: () => k,
    execute: (w) => {
      if (w.kind === 'build') return { status: 'ok' };
      const b = Number((w as TestWork).env.B);
      const v = 1000 * effect(b) * speed(k++) * Math.exp(0.05 * rng.normal());
      return { status: 'ok', metrics: { v } };
    },
  };
}

async function explore(exp: Experiment, execute: Execute): Promise<{ study: Study; store: MemoryStore }> {
  const transport = new MemoryTransport();
  transport.addWorker({ id: 'w1', concurrency: 1, execute });
  const store = new MemoryStore();
  const study = new Study(exp, store, transport);
  await study.run();
  return { study, store };
}

async function exploreAndConfirm(exp: Experiment, execute: Execute, seed: number): Promise<{ comparison: Comparison; provisional: number | undefined; study: Study; store: MemoryStore }> {
  const { study, store } = await explore(exp, execute);
  const s = summarizeStudy(store as never, study.id, exp.objective);
  if (!s.best || !s.baseline) throw new Error('nothing measured');
  if (s.best.configId === s.baseline.configId) return { comparison: undefined as never, provisional: s.ratio, study, store };
  const comparison = await confirmOnStudy(study, { best: s.best.configId, default: s.baseline.configId }, { seed });
  await study.detach();
  return { comparison, provisional: s.ratio, study, store };
}

describe('confirming the best against the default (in memory)', () => {
  it('never calls a parameter that changes nothing significantly better (A/A, several seeds)', async () => {
    let confirmed = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const { comparison, provisional } = await exploreAndConfirm(experiment(), noisy(seed, () => 1).execute, seed);
      if (!comparison) continue; // the default came out best: nothing to confirm
      confirmed++;
      expect(provisional, `seed ${seed}`).toBeGreaterThan(1); // the exploration's best looks better...
      expect(comparison.significant, `seed ${seed}: ${describeComparison(comparison, 'v', 'maximize')}`).toBe(false); // ...and is not
      expect(comparison.n).toBe(15); // undecided: it went to the cap
      expect(describeComparison(comparison, 'v', 'maximize')).toMatch(/^no significant difference from the default/);
    }
    expect(confirmed).toBeGreaterThan(3);
  });

  it('calls a 10% effect significant, with an interval around it (A/B)', async () => {
    for (const seed of [1, 2, 3]) {
      const { comparison, store, study } = await exploreAndConfirm(experiment(), noisy(seed, (b) => (b === 1 ? 1.1 : 1)).execute, seed);
      expect(comparison.significant, `seed ${seed}`).toBe(true);
      expect(comparison.stopped).toBe('decided');
      expect(comparison.ratio).toBeGreaterThan(1.04);
      expect(comparison.ci?.[0]).toBeGreaterThan(1);
      expect(comparison.ci?.[0]).toBeLessThan(1.1);
      expect(comparison.ci?.[1]).toBeGreaterThan(1.1);
      expect(comparison.pValue).toBeLessThan(comparison.alphaPerLook);
      expect(describeComparison(comparison, 'requests_per_sec', 'maximize')).toMatch(/^1\.\d\d× \(95% CI 1\.\d\d–1\.\d\d, p[=<]0\.\d+\) faster than the default/);
      // The confirmation runs are stored as extra runs of each configuration, flagged as such, after its own.
      const extra = store.runs(study.id).filter((r) => r.extra === 'confirmation');
      expect(extra).toHaveLength(2 * comparison.n);
      expect(extra.every((r) => r.iteration >= 3)).toBe(true);
      // The aggregate is still the exploration's: three runs.
      expect(store.configurations(study.id).every((c) => c.summary?.v?.n === 3)).toBe(true);
    }
  });

  it('catches a default measured earlier on a slower host: interleaved, the difference is gone (drift)', async () => {
    // The first configuration measured (the default, 3 runs) ran on a host 30% slower; since then
    // the host is back to full speed. B changes nothing.
    const host = noisy(7, () => 1, (k) => (k < 3 ? 0.7 : 1));
    const { comparison, provisional } = await exploreAndConfirm(experiment(), host.execute, 7);
    expect(provisional).toBeGreaterThan(1.3); // "best is 1.4x the default"
    expect(comparison.significant).toBe(false);
    expect(comparison.ratio).toBeGreaterThan(0.95);
    expect(comparison.ratio).toBeLessThan(1.05);
  });

  it('runs interleaved: best and default alternate, the order swapping every pair', async () => {
    const order: string[] = [];
    await confirmBest(async (side) => {
      order.push(side);
      return side === 'best' ? 2 : 1;
    }, { direction: 'maximize', start: 5, cap: 10 });
    expect(order.slice(0, 6)).toEqual(['best', 'default', 'default', 'best', 'best', 'default']);
  });

  it('keeps the false-positive rate of the whole sequence within 5% (1,000 A/A sequences)', async () => {
    const rng = new Rng(11);
    let significant = 0;
    const runs = 1000;
    for (let i = 0; i < runs; i++) {
      const c = await confirmBest(async () => Math.exp(0.05 * rng.normal()), { direction: 'maximize', seed: i, cap: 15, resamples: 500 });
      if (c.significant) significant++;
    }
    expect(significant / runs).toBeLessThanOrEqual(0.05);
  });

  it('looks at the test after 5 pairs, then every 3, and at the cap', () => {
    expect(lookPoints(5, 15, 3)).toEqual([5, 8, 11, 14, 15]);
    expect(lookPoints(5, 5, 3)).toEqual([5]);
  });

  it('says the provisional best is worse when, measured again, it is', () => {
    const best = [90, 91, 92, 93, 94, 95, 96, 97];
    const dflt = [100, 101, 102, 103, 104, 105, 106, 107];
    const r = compareSamples(best, dflt, { direction: 'maximize', confidence: 0.95, alpha: 0.01, seed: 1 });
    expect(r.significant).toBe(true);
    expect(r.ratio).toBeLessThan(1);
    const c: Comparison = { ...r, n: 8, samples: { best, default: dflt }, alphaPerLook: 0.01, looks: 4, confidence: 0.95, stopped: 'decided' };
    expect(describeComparison(c, 'latency_ms', 'minimize')).toMatch(/slower than the default: measured again, the provisional best is worse/);
  });

  it('gives up, saying why, when a side keeps failing', async () => {
    const c = await confirmBest(async (side) => (side === 'best' ? undefined : 1), { direction: 'maximize' });
    expect(c.stopped).toBe('failures');
    expect(c.significant).toBe(false);
    expect(describeComparison(c, 'v', 'maximize')).toMatch(/not confirmed: the best configuration failed 3 of its confirmation runs/);
  });
});

describe('watching the default for drift', () => {
  it('waits for time to pass: a short run has no drift to speak of', async () => {
    const exp = experiment({ values: 5 });
    const transport = new MemoryTransport();
    transport.addWorker({ id: 'w1', concurrency: 1, execute: noisy(5, () => 1).execute });
    const store = new MemoryStore();
    const study = new Study(exp, store, transport);
    const watch = new DriftWatch(study, store, { every: 1 });
    study.on('config-finished', (r) => watch.configFinished(r));
    await study.run();
    await watch.settled();
    expect(watch.checks).toEqual([]);
    expect(store.runs(study.id).filter((r) => r.extra !== undefined)).toEqual([]);
  });

  it('calls a change drift only beyond 10% and outside the default\'s own runs', () => {
    expect(judgeDrift([100, 104, 96], 85).drifted).toBe(true);
    expect(judgeDrift([100, 104, 96], 92).drifted).toBe(false); // within 10%
    expect(judgeDrift([100, 130, 70], 85).drifted).toBe(false); // within its own spread
    expect(judgeDrift([100, 104, 96], 115).change).toBeCloseTo(0.15, 12);
  });

  it('measures the default again every N configurations of a running study and reports a slowed host', async () => {
    // Five values of B, none with an effect; the host slows to 70% after the 12th measurement.
    const exp = experiment({ values: 5 });
    const host = noisy(3, () => 1, (k) => (k < 12 ? 1 : 0.7));
    const transport = new MemoryTransport();
    transport.addWorker({ id: 'w1', concurrency: 1, execute: host.execute });
    const store = new MemoryStore();
    const study = new Study(exp, store, transport);
    const watch = new DriftWatch(study, store, { every: 2, minGapMs: 0 });
    study.on('config-finished', (r) => watch.configFinished(r));
    await study.run();
    await watch.settled();
    expect(watch.checks.length).toBe(2);
    // After 2 configurations (measurements 0-8 and the check at 9: full speed): no drift.
    expect(watch.checks[0]?.drifted).toBe(false);
    // After 4 (the host slowed at 12): drift, about -30%.
    expect(watch.checks[1]?.drifted).toBe(true);
    expect(watch.checks[1]?.change).toBeLessThan(-0.2);
    const checks = store.runs(study.id).filter((r) => r.extra === 'drift-check');
    expect(checks).toHaveLength(2);
    expect(store.getExperiment(study.id)?.state).toBe('done');
  });
});
