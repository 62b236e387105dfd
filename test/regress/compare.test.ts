import { describe, expect, it } from 'vitest';
import { compareMetric, iterationsToSettle } from '../../src/regress/compare.js';
import { metricDirection } from '../../src/regress/direction.js';
import { Rng } from '../../src/util/random.js';

const opts = { threshold: 0.05, confidence: 0.95, resamples: 4000 };

function lognormal(rng: Rng, n: number, scale: number, sigma: number): number[] {
  return Array.from({ length: n }, () => scale * Math.exp(sigma * rng.normal()));
}

describe('the verdict on one metric', () => {
  it('a slowdown well past the threshold is a regression; the same data for a metric to maximise is a pass', () => {
    const rng = new Rng(1);
    const base = lognormal(rng, 12, 100, 0.02);
    const slow = lognormal(rng, 12, 120, 0.02);
    const time = compareMetric('time', 'minimize', base, slow, opts);
    expect(time.verdict).toBe('regression');
    expect(time.ci[0]).toBeGreaterThan(1.05);
    expect(time.p).toBeLessThan(0.05);
    // The reason words the verdict in the comparison's one interval.
    expect(time.reason).toContain(`the change (+${((time.ci[0] - 1) * 100).toFixed(1)}% to +${((time.ci[1] - 1) * 100).toFixed(1)}%) lies beyond the allowed +${((time.allowed as number) * 100).toFixed(1)}%`);
    const rps = compareMetric('rps', 'maximize', base, slow, opts);
    expect(rps.verdict).toBe('pass');
    expect(rps.reason).toMatch(/lies within the allowed −\d+\.\d%.*, and is better$/);
    // Throughput that drops 20% is the regression.
    expect(compareMetric('rps', 'maximize', slow, base, opts).verdict).toBe('regression');
  });

  it('no change measured precisely passes; a change below the threshold passes', () => {
    const rng = new Rng(2);
    expect(compareMetric('t', 'minimize', lognormal(rng, 12, 100, 0.01), lognormal(rng, 12, 100, 0.01), opts).verdict).toBe('pass');
    expect(compareMetric('t', 'minimize', lognormal(rng, 12, 100, 0.005), lognormal(rng, 12, 102, 0.005), opts).verdict).toBe('pass');
  });

  it('an interval straddling the threshold is inconclusive, with an estimate of the iterations that would settle it', () => {
    // Quiet samples (CV 2%, below what the threshold needs) and the same 5.5% slower: the interval straddles +5%.
    const base = [0.97, 0.98, 0.99, 1.0, 1.0, 1.01, 1.02, 1.03, 0.995, 1.005].map((x) => x * 10);
    const slower = [1.02, 0.97, 1.0, 0.98, 1.03, 0.995, 1.01, 1.005, 0.99, 1.0].map((x) => x * 10.55);
    const c = compareMetric('t', 'minimize', base, slower, { ...opts, seed: 1 });
    expect(c.verdict).toBe('inconclusive');
    expect(c.allowed).toBe(0.05);
    expect(c.reason).toMatch(/^the change \(\+\d\.\d% to \+\d\.\d%\) straddles the allowed \+5\.0%: more iterations needed$/);
    expect(c.iterationsNeeded).toBeGreaterThan(10);
    // Measuring that many (from lognormal distributions with that spread) settles it most of the time (the estimate aims at 80%).
    const rng = new Rng(3);
    let settled = 0;
    for (let i = 0; i < 10; i++) {
      const n = Math.min(c.iterationsNeeded as number, 2000);
      const again = compareMetric('t', 'minimize', lognormal(rng, n, 100, 0.02), lognormal(rng, n, 110, 0.02), { ...opts, seed: i + 1 });
      if (again.verdict !== 'inconclusive') settled++;
    }
    expect(settled).toBeGreaterThanOrEqual(6);
  });

  it('A/A on a noisy host passes: the allowed worsening is raised to what the baseline\'s spread can resolve', () => {
    const rng = new Rng(11);
    for (const sigma of [0.02, 0.05, 0.1, 0.2]) {
      const verdicts: Record<string, number> = {};
      for (let i = 0; i < 200; i++) {
        const v = compareMetric('t', 'minimize', lognormal(rng, 10, 100, sigma), lognormal(rng, 10, 100, sigma), { ...opts, resamples: 2000, seed: i + 1 });
        verdicts[v.verdict] = (verdicts[v.verdict] ?? 0) + 1;
      }
      expect(verdicts.pass ?? 0, `sigma ${sigma}: ${JSON.stringify(verdicts)}`).toBeGreaterThanOrEqual(196);
      expect(verdicts.regression ?? 0).toBe(0);
    }
    // The floor grows with the spread and shrinks with the samples; a quiet baseline keeps the threshold.
    const floor = (sigma: number, n: number) => compareMetric('t', 'minimize', lognormal(new Rng(1), n, 100, sigma), lognormal(new Rng(2), n, 100, sigma), opts).noiseFloor as number;
    expect(floor(0.1, 10)).toBeGreaterThan(floor(0.05, 10));
    expect(floor(0.1, 40)).toBeLessThan(floor(0.1, 10));
    expect(compareMetric('t', 'minimize', lognormal(rng, 10, 100, 0.005), lognormal(rng, 10, 100, 0.005), opts).allowed).toBe(0.05);
    const noisy = compareMetric('t', 'maximize', lognormal(rng, 10, 100, 0.1), lognormal(rng, 10, 100, 0.1), opts);
    expect(noisy.allowed).toBeGreaterThan(0.1);
    expect(noisy.reason).toMatch(/the 5\.0% threshold raised to what the baseline's own spread can resolve/);
  });

  it('a 30% slowdown is still caught where the spread allows it (CV 5%, 10 samples)', () => {
    const rng = new Rng(12);
    let regressions = 0;
    for (let i = 0; i < 50; i++) if (compareMetric('t', 'minimize', lognormal(rng, 10, 100, 0.05), lognormal(rng, 10, 130, 0.05), { ...opts, seed: i + 1 }).verdict === 'regression') regressions++;
    expect(regressions).toBeGreaterThanOrEqual(40);
  });

  it('one wild sample cannot decide', () => {
    const rng = new Rng(4);
    const base = lognormal(rng, 10, 100, 0.01);
    const now = lognormal(rng, 10, 100, 0.01);
    now[3] = 10_000;
    expect(compareMetric('t', 'minimize', base, now, opts).verdict).toBe('pass');
  });

  it('a metric of unknown direction is shown, not judged', () => {
    const c = compareMetric('bytes', undefined, [1, 2, 3], [4, 5, 6], opts);
    expect(c.verdict).toBe('info');
    expect(c.p).toBeUndefined();
  });

  it('the estimate grows as the point estimate nears the threshold', () => {
    const far = iterationsToSettle(1.3, [1.25, 1.35], 1.05, 10, 10, 0.95);
    const mid = iterationsToSettle(1.2, [1.0, 1.4], 1.05, 10, 10, 0.95);
    const near = iterationsToSettle(1.07, [0.97, 1.17], 1.05, 10, 10, 0.95);
    expect(far).toBe(11); // already settled: at least one more than now
    expect(mid).toBeGreaterThan(10);
    expect(near).toBeGreaterThan(mid);
    expect(near).toBeGreaterThan(100);
    expect(iterationsToSettle(1.05, [1.0, 1.1], 1.05, 10, 10, 0.95)).toBe(Infinity);
  });
});

describe('metric directions', () => {
  it('the objective decides its metric; known parser fields are recognised; others are unknown', () => {
    const obj = { metric: 'req.requests_per_sec', direction: 'maximize' as const };
    expect(metricDirection('req.requests_per_sec', obj)).toBe('maximize');
    expect(metricDirection('req.latency_p99_ms', obj)).toBe('minimize');
    expect(metricDirection('rb.set_rps', obj)).toBe('maximize');
    expect(metricDirection('rb.set_p50_ms', obj)).toBe('minimize');
    expect(metricDirection('echo.p99_ns', obj)).toBe('minimize');
    expect(metricDirection('req.read_bytes', obj)).toBeUndefined();
    expect(metricDirection('elapsed', obj)).toBeUndefined();
    expect(metricDirection('elapsed', { metric: 'elapsed', direction: 'minimize' })).toBe('minimize');
  });
});
