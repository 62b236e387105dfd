import { describe, expect, it } from 'vitest';
import { binomialHalfCdf, describeInterval, improvement, intervalCell, medianCoverage, medianRank, studentTQuantile, summarize } from '../../src/metrics/stats.js';
import { fmtNum } from '../../src/util/format.js';
import { Rng } from '../../src/util/random.js';

/** Exact P(B <= k), B ~ Binomial(n, 1/2), by integer arithmetic: sum of C(n, i) over 2^n. */
function exactCdf(n: number, k: number): number {
  let c = 1n;
  let sum = 0n;
  for (let i = 0; i <= k; i++) {
    sum += c;
    c = (c * BigInt(n - i)) / BigInt(i + 1);
  }
  return Number(sum) / 2 ** n;
}

describe('summarize', () => {
  it('works out a small sample by hand', () => {
    // mean 5; squared deviations 9+1+1+1+0+0+4+16 = 32, so stdev sqrt(32/7); median (4+5)/2.
    // n = 8 at 95%: P(B<=0) = 1/256 fits the 2.5% tail, P(B<=1) = 9/256 does not, so [x(1), x(8)].
    // Quartiles (linear, R type 7): Q1 = 4, Q3 = 5 + 0.25*(7-5) = 5.5; upper fence 5.5 + 1.5*1.5 = 7.75.
    const s = summarize([5, 2, 9, 4, 4, 7, 4, 5]);
    expect(s.n).toBe(8);
    expect(s.mean).toBe(5);
    expect(s.median).toBe(4.5);
    expect(s.stdev).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(s.cv).toBeCloseTo(Math.sqrt(32 / 7) / 5, 12);
    expect(s.min).toBe(2);
    expect(s.max).toBe(9);
    expect(s.ci).toEqual([2, 9]);
    expect(s.ciMethod).toBe('order-statistic');
    expect(s.outliers).toEqual([9]);
    expect(s.highCv).toBe(true);
  });

  it('uses order statistics 2 and 9 for n = 10 at 95%, as the binomial distribution says', () => {
    // Coverage of [x(k), x(n-k+1)] is 1 - 2 P(B <= k-1).
    expect(exactCdf(10, 1)).toBe(11 / 1024);
    expect(exactCdf(10, 2)).toBe(56 / 1024);
    expect(1 - 2 * exactCdf(10, 1)).toBeGreaterThanOrEqual(0.95); // k = 2 is enough
    expect(1 - 2 * exactCdf(10, 2)).toBeLessThan(0.95); // k = 3 is not
    expect(medianRank(10, 0.95)).toBe(2);
    const s = summarize([7, 3, 10, 1, 5, 9, 2, 8, 6, 4]);
    expect(s.ci).toEqual([2, 9]);
    expect(s.ciMethod).toBe('order-statistic');
    expect(s.median).toBe(5.5);
    expect(s.outliers).toEqual([]);
  });

  it('agrees with the exact binomial for the ranks it picks', () => {
    for (const n of [6, 7, 10, 20, 30, 50]) {
      for (const conf of [0.9, 0.95, 0.99]) {
        const k = medianRank(n, conf);
        if (k === undefined) {
          expect(1 - 2 * exactCdf(n, 0), `n=${n} conf=${conf}`).toBeLessThan(conf);
          continue;
        }
        expect(binomialHalfCdf(n, k - 1)).toBeCloseTo(exactCdf(n, k - 1), 12);
        expect(1 - 2 * exactCdf(n, k - 1), `n=${n} conf=${conf}`).toBeGreaterThanOrEqual(conf);
        expect(1 - 2 * exactCdf(n, k), `n=${n} conf=${conf}`).toBeLessThan(conf);
      }
    }
    expect(medianRank(20, 0.95)).toBe(6);
    expect(medianRank(5, 0.95)).toBeUndefined();
    expect(medianRank(6, 0.95)).toBe(1);
  });

  it('gives the sample range below 6 samples at 95%, with the confidence it really has', () => {
    // [x(1), x(3)] covers the median unless all three fall on one side: 1 - 2/8 = 75%.
    const s = summarize([10, 14, 12]);
    expect(s.ciMethod).toBe('order-statistic');
    expect(s.ci).toEqual([10, 14]);
    expect(s.ciLevel).toBeCloseTo(0.75, 12);
    expect(summarize([3, 1, 2, 5, 4]).ciLevel).toBeCloseTo(1 - 2 / 32, 12);
    expect(medianCoverage(6, 1)).toBeCloseTo(1 - 2 / 64, 12);
    expect(s.outliers).toEqual([]); // fewer than 4 samples: not judged
  });

  it('never gives a bound outside the sample, so never one the metric cannot take', () => {
    // A latency with one large outlier: a mean +- t interval went below zero here.
    const xs = [0.4, 0.5, 0.45, 120];
    const s = summarize(xs);
    expect(s.ci[0]).toBeGreaterThanOrEqual(Math.min(...xs));
    expect(s.ci[1]).toBeLessThanOrEqual(Math.max(...xs));
    const rng = new Rng(9);
    for (let t = 0; t < 200; t++) {
      const n = 2 + rng.int(30);
      const ys = Array.from({ length: n }, () => Math.max(0, 3 + 5 * rng.normal()));
      const r = summarize(ys);
      expect(r.ci[0]).toBeGreaterThanOrEqual(0);
      expect(r.ci[0]).toBeGreaterThanOrEqual(Math.min(...ys));
      expect(r.ci[1]).toBeLessThanOrEqual(Math.max(...ys));
    }
  });

  it('needs more samples for the full confidence at higher confidence', () => {
    expect(summarize([1, 2, 3, 4, 5, 6, 7, 8], { confidence: 0.99 }).ciLevel).toBeGreaterThanOrEqual(0.99);
    const s = summarize([1, 2, 3, 4, 5, 6, 7], { confidence: 0.99 });
    expect(s.ciMethod).toBe('order-statistic');
    expect(s.ci).toEqual([1, 7]);
    expect(s.ciLevel).toBeCloseTo(1 - 2 / 128, 12);
  });

  it('labels every kind of interval for what it is', () => {
    expect(describeInterval(summarize([7, 3, 10, 1, 5, 9, 2, 8, 6, 4]), fmtNum)).toBe('95% CI of the median 2.00 – 9.00');
    expect(describeInterval(summarize([10, 14, 12]), fmtNum)).toBe('range 10.00 – 14.00 (only a 75% CI of the median: too few runs for 95%)');
    expect(describeInterval(summarize([42]), fmtNum)).toMatch(/^no interval \(one run/);
    // A row stored before intervals were of the median only.
    expect(describeInterval({ n: 3, ci: [1, 2], ciMethod: 'student-t', mean: 1.5 }, fmtNum)).toBe('95% Student-t CI of the mean 1.50: 1.00 – 2.00');
    expect(intervalCell(summarize([7, 3, 10, 1, 5, 9, 2, 8, 6, 4]), fmtNum)).toBe('2.00 – 9.00');
    expect(intervalCell(summarize([10, 14, 12]), fmtNum)).toBe('10.00 – 14.00 (75%)');
    expect(intervalCell(summarize([42]), fmtNum)).toBe('none (1 run)');
  });

  it('finds outliers by Tukey fences from 4 samples on', () => {
    // Q1 = 2, Q3 = 4, IQR 2: fences at -1 and 7.
    expect(summarize([1, 2, 3, 4, 100]).outliers).toEqual([100]);
    expect(summarize([1, 2, 3, 7]).outliers).toEqual([]);
    expect(summarize([1, 2, 100]).outliers).toEqual([]);
  });

  it('handles a single sample', () => {
    expect(summarize([42])).toEqual({
      n: 1,
      median: 42,
      mean: 42,
      stdev: 0,
      cv: 0,
      min: 42,
      max: 42,
      ci: [42, 42],
      ciMethod: 'single-sample',
      ciLevel: 0,
      outliers: [],
      highCv: false,
    });
  });

  it('flags a coefficient of variation above the threshold', () => {
    expect(summarize([99, 100, 101]).cv).toBeCloseTo(0.01, 12);
    expect(summarize([99, 100, 101]).highCv).toBe(false);
    expect(summarize([99, 100, 101], { cvThreshold: 0.005 }).highCv).toBe(true);
    expect(summarize([-1, 1]).cv).toBe(Infinity);
    expect(summarize([3, 3, 3]).cv).toBe(0);
  });

  it('refuses empty input, non-finite samples and bad options', () => {
    expect(() => summarize([])).toThrow(/at least one sample/);
    expect(() => summarize([1, NaN])).toThrow(/finite/);
    expect(() => summarize([1, Infinity])).toThrow(/finite/);
    expect(() => summarize([1, 2], { confidence: 1 })).toThrow(/confidence/);
    expect(() => summarize([1, 2], { cvThreshold: -1 })).toThrow(/cvThreshold/);
  });
});

describe('studentTQuantile', () => {
  it('matches the two-sided 95% table values', () => {
    const table: [number, number][] = [
      [1, 12.7062],
      [2, 4.3027],
      [3, 3.1824],
      [4, 2.7764],
      [5, 2.5706],
      [9, 2.2622],
      [30, 2.0423],
    ];
    for (const [df, t] of table) expect(studentTQuantile(0.95, df), `df=${df}`).toBeCloseTo(t, 4);
    expect(studentTQuantile(0.99, 6)).toBeCloseTo(3.7074, 4);
  });
});

describe('interval coverage by simulation', () => {
  const TRIALS = 4000;

  function coverage(n: number, draw: (rng: Rng) => number, trueMedian: number, seed: number): { rate: number; methods: Set<string> } {
    const rng = new Rng(seed);
    let covered = 0;
    const methods = new Set<string>();
    for (let t = 0; t < TRIALS; t++) {
      const xs = Array.from({ length: n }, () => draw(rng));
      const s = summarize(xs);
      methods.add(s.ciMethod);
      if (s.ci[0] <= trueMedian && trueMedian <= s.ci[1]) covered++;
    }
    return { rate: covered / TRIALS, methods };
  }

  const normal = (rng: Rng) => 50 + 5 * rng.normal();
  const exponential = (rng: Rng) => -Math.log(1 - rng.next()); // median ln 2

  // Tolerances are about 4 standard errors of a 4000-trial rate; the neighbouring ranks (one order
  // statistic wider or narrower) miss the exact coverage by more than that, so an off-by-one fails.
  it('covers the median of a normal distribution as often as the binomial says (n = 10)', () => {
    const exact = 1 - 2 * exactCdf(10, 1); // 0.9785
    const { rate, methods } = coverage(10, normal, 50, 1);
    expect([...methods]).toEqual(['order-statistic']);
    expect(Math.abs(rate - exact)).toBeLessThan(0.01);
    expect(rate).toBeGreaterThan(0.94);
  });

  it('covers the median of a skewed distribution too: it is distribution-free (n = 20)', () => {
    const exact = 1 - 2 * exactCdf(20, 5); // 0.9586
    const { rate, methods } = coverage(20, exponential, Math.LN2, 2);
    expect([...methods]).toEqual(['order-statistic']);
    expect(Math.abs(rate - exact)).toBeLessThan(0.015);
    expect(rate).toBeGreaterThan(0.94);
  });

  it('covers the median at least 93% of the time for every n from 6 to 40, and at the stated level below', () => {
    const rng = new Rng(4);
    for (let n = 2; n <= 40; n++) {
      const trials = 1500;
      let covered = 0;
      let level = 0;
      for (let t = 0; t < trials; t++) {
        // Log-normal: skewed and positive, as throughputs and latencies are; its median is e^3.
        const xs = Array.from({ length: n }, () => Math.exp(3 + 0.3 * rng.normal()));
        const s = summarize(xs);
        level = s.ciLevel;
        if (s.ci[0] <= Math.exp(3) && Math.exp(3) <= s.ci[1]) covered++;
      }
      const rate = covered / trials;
      if (n >= 6) expect(rate, `n=${n}`).toBeGreaterThanOrEqual(0.93);
      // Below 6 the interval claims only what it has (about 4 standard errors of slack).
      else expect(rate, `n=${n}`).toBeGreaterThan(level - 4 * Math.sqrt((level * (1 - level)) / trials) - 0.005);
    }
  });
});

describe('improvement', () => {
  it('orients the ratio so that above 1 is better', () => {
    expect(improvement(120, 100, 'maximize')).toBeCloseTo(1.2, 12);
    expect(improvement(90, 100, 'maximize')).toBeCloseTo(0.9, 12);
    expect(improvement(80, 100, 'minimize')).toBeCloseTo(1.25, 12);
    expect(improvement(125, 100, 'minimize')).toBeCloseTo(0.8, 12);
    expect(improvement(7, 7, 'minimize')).toBe(1);
  });

  it('refuses values a ratio means nothing for', () => {
    expect(() => improvement(0, 100, 'minimize')).toThrow(/positive finite best, got 0/);
    expect(() => improvement(10, -1, 'maximize')).toThrow(/positive finite baseline, got -1/);
    expect(() => improvement(Infinity, 1, 'maximize')).toThrow(RangeError);
  });
});
