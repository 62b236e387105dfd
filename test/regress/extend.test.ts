// The second round of an inconclusive comparison, simulated: which configurations it measures and
// how many times, samples pooled in order, and the error rates of the whole two-stage procedure.

import { describe, expect, it } from 'vitest';
import type { Measurement, MeasuredConfig } from '../../src/regress/baseline.js';
import { moreIterations, pooled } from '../../src/regress/extend.js';
import { compareMeasurements, type Outcome } from '../../src/regress/report.js';
import { Rng } from '../../src/util/random.js';
import { measurement as shaped } from './measurement.js';

const opts = { threshold: 0.05, confidence: 0.95, inconclusive: 'exit3' as const, resamples: 1000 };

function measurement(id: string, configs: MeasuredConfig[], iterations: number): Measurement {
  return shaped(id, configs, { iterations });
}

const one = (xs: number[], id = 'a'.repeat(32)): MeasuredConfig => ({ configId: id, params: { A: 1 }, isDefault: true, metrics: { t: xs } });

function lognormal(rng: Rng, n: number, scale: number, sigma: number): number[] {
  return Array.from({ length: n }, () => scale * Math.exp(sigma * rng.normal()));
}

/** regress as the command runs it: a first round of 10, then more rounds while inconclusive, up to 30. */
function regress(rng: Rng, base: Measurement, scale: number, sigma: number, seed: number): { outcome: Outcome; n: number } {
  let current = measurement('now', [one(lognormal(rng, 10, scale, sigma))], 10);
  for (;;) {
    const report = compareMeasurements(base, 'b', current, { ...opts, seed });
    const more = moreIterations(report, current, 10, 30);
    if (!more) return { outcome: report.outcome, n: current.configurations[0]?.metrics.t?.length ?? 0 };
    current = pooled(current, measurement('more', [one(lognormal(rng, more.iterations, scale, sigma))], more.iterations));
  }
}

describe('an inconclusive comparison measured further', () => {
  it('asks for the undecided configurations only, at least a first round more, never past the maximum', () => {
    const rng = new Rng(3);
    const base = measurement('b', [one(lognormal(rng, 10, 100, 0.02)), one(lognormal(rng, 10, 100, 0.02), 'b'.repeat(32))], 10);
    // a: 5.5% slower, across the 5% limit; b: unchanged.
    const now = measurement('n', [one([...base.configurations[0]!.metrics.t!].map((x) => x * 1.055)), one(lognormal(rng, 10, 100, 0.005), 'b'.repeat(32))], 10);
    const report = compareMeasurements(base, 'b', now, { ...opts, seed: 1 });
    expect(report.configs.map((c) => c.metrics[0]?.verdict)).toEqual(['inconclusive', 'pass']);
    const more = moreIterations(report, now, 10, 30);
    expect(more?.configs).toEqual(['a'.repeat(32)]);
    expect(more?.iterations).toBeGreaterThanOrEqual(10);
    expect(more?.iterations).toBeLessThanOrEqual(20);
    expect(moreIterations(report, now, 10, 10)).toBeUndefined();
  });

  it('pools the rounds in order under the first measurement, adds up the iterations, and a failure in a later round stands', () => {
    const first = measurement('first', [one([1, 2, 3]), one([5], 'b'.repeat(32))], 3);
    const later = measurement('later', [one([4, 5]), { ...one([], 'b'.repeat(32)), failure: 'exit status 1' }], 2);
    const p = pooled(first, later);
    expect(p.experiment.id).toBe('first');
    expect(p.configurations[0]?.metrics.t).toEqual([1, 2, 3, 4, 5]);
    expect(p.configurations[1]?.failure).toBe('exit status 1');
    expect(p.noise.tests.bench?.iterations).toBe(5);
    expect(first.configurations[0]?.metrics.t).toEqual([1, 2, 3]);
  });

  it('keeps its error rates: A/A passes, a slowdown at the threshold is rarely a regression, a large one is caught (simulated)', () => {
    const rng = new Rng(11);
    const count = (scale: number, sigma: number, reps: number) => {
      const out = { pass: 0, regression: 0, inconclusive: 0, rounds: 0 };
      for (let i = 0; i < reps; i++) {
        const base = measurement('b', [one(lognormal(rng, 10, 100, sigma))], 10);
        const r = regress(rng, base, scale, sigma, i + 1);
        out[r.outcome]++;
        if (r.n > 10) out.rounds++;
      }
      return out;
    };
    // The same code at CV 5%: nearly always a pass, and more often than the first round alone.
    const aa = count(100, 0.05, 200);
    expect(aa.pass).toBeGreaterThanOrEqual(194);
    expect(aa.regression).toBeLessThanOrEqual(2);
    // Exactly the threshold's slowdown, measured quietly: called a regression at most about 5%.
    const edge = count(105, 0.01, 200);
    expect(edge.regression).toBeLessThanOrEqual(12);
    expect(edge.rounds).toBeGreaterThan(50);
    // 30% slower at CV 5%: caught almost always.
    const slow = count(130, 0.05, 100);
    expect(slow.regression).toBeGreaterThanOrEqual(90);
  }, 120_000);
});
