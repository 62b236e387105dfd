import { describe, expect, it } from 'vitest';
import { exactUDistribution, mannWhitney, medianRatio } from '../../src/regress/stats.js';
import { compareSamples } from '../../src/study/confirm.js';
import { Rng } from '../../src/util/random.js';

function lognormal(rng: Rng, n: number, scale: number, sigma: number): number[] {
  return Array.from({ length: n }, () => scale * Math.exp(sigma * rng.normal()));
}

describe('Mann-Whitney U', () => {
  it('exact distribution: sums to one, symmetric, and the smallest tail is 1 / C(m+n, m)', () => {
    for (const [m, n] of [
      [1, 1],
      [3, 4],
      [10, 10],
      [7, 12],
    ] as const) {
      const d = exactUDistribution(m, n);
      expect(d.length).toBe(m * n + 1);
      expect(d.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 12);
      for (let u = 0; u <= m * n; u++) expect(d[u]).toBeCloseTo(d[m * n - u] as number, 14);
    }
    // C(20, 10) = 184756
    expect(exactUDistribution(10, 10)[0]).toBeCloseTo(1 / 184756, 15);
  });

  it('matches the reference values of an independent implementation (SciPy 1.17 mannwhitneyu)', () => {
    // Exact, no ties: U = 4, P(greater) = 0.984848..., P(less) = 0.025974...
    const exact = mannWhitney([1.1, 2.3, 3.2, 4.8, 5.5], [2.0, 6.1, 7.4, 8.2, 9.9, 10.5]);
    expect(exact.method).toBe('exact');
    expect(exact.u).toBe(4);
    expect(exact.pGreater).toBeCloseTo(0.9848484848484849, 10);
    expect(exact.pLess).toBeCloseTo(0.025974025974025976, 10);
    // Ties: normal approximation with tie and continuity correction; U = 35.
    const tied = mannWhitney([1, 2, 2, 3, 3, 3, 4, 5, 6, 7, 8, 9], [3, 4, 4, 5, 6, 6, 7, 8, 9, 9, 10, 11, 12]);
    expect(tied.method).toBe('normal');
    expect(tied.u).toBe(35);
    expect(tied.pLess).toBeCloseTo(0.010080416706220579, 6);
    expect(tied.pGreater).toBeCloseTo(0.9912967756296734, 6);
  });

  it('small tied samples: exact given their mid-ranks, as counting every split of the pooled values says', () => {
    // Every way of choosing which m of the pooled values are the first sample, equally likely.
    const brute = (x: number[], y: number[]): { pGreater: number; pLess: number } => {
      const all = [...x, ...y];
      const u = (a: number[], b: number[]): number => a.reduce((s, v) => s + b.reduce((t, w) => t + (v > w ? 1 : v === w ? 0.5 : 0), 0), 0);
      const observed = u(x, y);
      let greater = 0;
      let less = 0;
      let total = 0;
      for (let mask = 0; mask < 1 << all.length; mask++) {
        let bits = 0;
        for (let b = mask; b; b >>= 1) bits += b & 1;
        if (bits !== x.length) continue;
        const a = all.filter((_, i) => mask & (1 << i));
        const b = all.filter((_, i) => !(mask & (1 << i)));
        const v = u(a, b);
        total++;
        if (v >= observed - 1e-9) greater++;
        if (v <= observed + 1e-9) less++;
      }
      return { pGreater: greater / total, pLess: less / total };
    };
    const rng = new Rng(3);
    const cases: [number[], number[]][] = [
      [[11, 11, 11], [10, 10, 10]],
      [[1, 2, 2, 3], [2, 3, 3, 4, 5]],
      [[5, 5, 6, 7, 7, 7], [4, 5, 6, 6, 8]],
      ...Array.from({ length: 6 }, () => [Array.from({ length: 6 }, () => rng.int(5)), Array.from({ length: 7 }, () => rng.int(5))] as [number[], number[]]),
    ];
    for (const [x, y] of cases) {
      const r = mannWhitney(x, y);
      const b = brute(x, y);
      expect(r.method, `${x} vs ${y}`).toBe('exact');
      expect(r.pGreater, `${x} vs ${y}`).toBeCloseTo(b.pGreater, 12);
      expect(r.pLess, `${x} vs ${y}`).toBeCloseTo(b.pLess, 12);
    }
    // Three equal runs against three other equal runs: one split in twenty is as extreme, so p = 0.05
    // one-sided, 0.1 two-sided, and the confirmation cannot call it significant at 95%.
    expect(mannWhitney([11, 11, 11], [10, 10, 10]).pGreater).toBeCloseTo(0.05, 12);
    expect(compareSamples([11, 11, 11], [10, 10, 10], { direction: 'maximize', confidence: 0.95, alpha: 0.05, seed: 1 })).toMatchObject({ pValue: 0.1, significant: false });
  });

  it('large samples use the normal approximation; equal samples give p = 1 both ways', () => {
    const rng = new Rng(5);
    const big = mannWhitney(lognormal(rng, 80, 1, 0.1), lognormal(rng, 80, 1.2, 0.1));
    expect(big.method).toBe('normal');
    expect(big.pLess).toBeLessThan(1e-6);
    const same = mannWhitney([3, 3, 3], [3, 3, 3]);
    expect([same.pLess, same.pGreater]).toEqual([1, 1]);
  });

  it('its false alarm rate under no difference is at most alpha', () => {
    const rng = new Rng(11);
    let alarms = 0;
    const trials = 2000;
    for (let i = 0; i < trials; i++) if (mannWhitney(lognormal(rng, 10, 1, 0.2), lognormal(rng, 10, 1, 0.2)).pGreater < 0.05) alarms++;
    // Exact test: the rate is at most 5%; allow for the sampling error of 2000 trials.
    expect(alarms / trials).toBeLessThan(0.065);
    expect(alarms / trials).toBeGreaterThan(0.03);
  });
});

describe('bootstrap interval of the ratio of medians', () => {
  it('is reproducible from its seed, and contains the point estimate', () => {
    const rng = new Rng(2);
    const a = lognormal(rng, 15, 100, 0.05);
    const b = lognormal(rng, 15, 110, 0.05);
    const one = medianRatio(a, b, { confidence: 0.95, seed: 7 });
    expect(medianRatio(a, b, { confidence: 0.95, seed: 7 })).toEqual(one);
    expect(one.ci[0]).toBeLessThanOrEqual(one.ratio);
    expect(one.ci[1]).toBeGreaterThanOrEqual(one.ratio);
    // The interval of b/a is the inverse of that of a/b (the percentile method respects the transformation).
    const inv = medianRatio(b, a, { confidence: 0.95, seed: 7 });
    expect(inv.ratio).toBeCloseTo(1 / one.ratio, 12);
  });

  it('covers the true ratio close to the promised rate', () => {
    const rng = new Rng(3);
    const trials = 300;
    let covered = 0;
    for (let i = 0; i < trials; i++) {
      // Medians of lognormal(scale, sigma) are `scale`: the true ratio is 1.2.
      const r = medianRatio(lognormal(rng, 15, 100, 0.1), lognormal(rng, 15, 120, 0.1), { confidence: 0.9, resamples: 2000, seed: i + 1 });
      if (r.ci[0] <= 1.2 && 1.2 <= r.ci[1]) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.82);
    expect(covered / trials).toBeLessThan(0.97);
  });

  it('refuses samples a ratio cannot be formed from', () => {
    expect(() => medianRatio([1, 2], [0, 1], { confidence: 0.95 })).toThrow(/positive/);
    expect(() => medianRatio([], [1], { confidence: 0.95 })).toThrow(/no samples/);
    expect(() => medianRatio([1], [1], { confidence: 1 })).toThrow(/confidence/);
  });
});
