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
    expect(time.worseCi?.[0]).toBeGreaterThan(1.05);
    expect(time.p).toBeLessThan(0.05);
    const rps = compareMetric('rps', 'maximize', base, slow, opts);
    expect(rps.verdict).toBe('pass');
    expect(rps.reason).toMatch(/better by/);
    // Throughput that drops 20% is the regression.
    expect(compareMetric('rps', 'maximize', slow, base, opts).verdict).toBe('regression');
  });

  it('no change measured precisely passes; a change below the threshold passes', () => {
    const rng = new Rng(2);
    expect(compareMetric('t', 'minimize', lognormal(rng, 12, 100, 0.01), lognormal(rng, 12, 100, 0.01), opts).verdict).toBe('pass');
    expect(compareMetric('t', 'minimize', lognormal(rng, 12, 100, 0.005), lognormal(rng, 12, 102, 0.005), opts).verdict).toBe('pass');
  });

  it('an interval straddling the threshold is inconclusive, with an estimate of the iterations that would settle it', () => {
    const rng = new Rng(3);
    // The same samples 25% slower plus noise: the point estimate is clearly past the threshold, the interval is not.
    const base = lognormal(rng, 8, 100, 0.15);
    const c = compareMetric('t', 'minimize', base, lognormal(rng, 8, 125, 0.15), opts);
    expect(c.verdict).toBe('inconclusive');
    expect(c.reason).toMatch(/straddles the 5\.0% threshold/);
    expect(c.iterationsNeeded).toBeGreaterThan(8);
    // Measuring that many (from the same distributions) settles it most of the time (the estimate aims at 80%).
    let settled = 0;
    for (let i = 0; i < 10; i++) {
      const n = c.iterationsNeeded as number;
      const again = compareMetric('t', 'minimize', lognormal(rng, n, 100, 0.15), lognormal(rng, n, 125, 0.15), { ...opts, seed: i + 1 });
      if (again.verdict !== 'inconclusive') settled++;
    }
    expect(settled).toBeGreaterThanOrEqual(6);
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
