// Two-sample statistics for comparing a metric's samples now with a baseline's.
//
// The effect size is the ratio of medians, with a percentile bootstrap interval (both samples
// resampled independently, seeded so a report is reproducible). Percentile rather than BCa: BCa's
// acceleration comes from the jackknife, which is inconsistent for the median (a non-smooth
// statistic), and its bias correction is erratic when many resampled medians tie with the observed
// one, as they do for small samples; the percentile interval is transformation-respecting, so the
// interval of current/baseline is exactly the inverse of the interval of baseline/current.
//
// The rank test is Mann-Whitney U: exact (the null distribution counted by recursion) for small
// samples without ties; exact given the mid-ranks (every split of the pooled values equally likely,
// counted by rank sum) for small samples with ties, where the normal approximation is
// anti-conservative (three equal runs against three other equal runs got a two-sided p just under
// 0.05 from it, when one split of six values into three and three in twenty is as extreme each way:
// p = 0.1); otherwise the normal approximation with tie correction and continuity correction.

import { errorFunction, median } from 'simple-statistics';
import { Rng } from '../util/random.js';

export interface RatioInterval {
  /** median(current) / median(baseline). */
  ratio: number;
  ci: [number, number];
  resamples: number;
}

export interface BootstrapOptions {
  confidence: number;
  resamples?: number;
  seed?: number;
}

function medianOf(buf: Float64Array): number {
  buf.sort();
  const n = buf.length;
  const mid = n >> 1;
  return n % 2 === 1 ? (buf[mid] as number) : ((buf[mid - 1] as number) + (buf[mid] as number)) / 2;
}

function resampledMedian(xs: readonly number[], rng: Rng, buf: Float64Array): number {
  for (let i = 0; i < buf.length; i++) buf[i] = xs[rng.int(xs.length)] as number;
  return medianOf(buf);
}

/** Linear interpolation between order statistics (type 7), on a sorted array. */
function quantile(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return (sorted[lo] as number) + (h - lo) * ((sorted[hi] as number) - (sorted[lo] as number));
}

/** The ratio of medians current/baseline with its percentile bootstrap interval; every sample must be positive. */
export function medianRatio(baseline: readonly number[], current: readonly number[], opts: BootstrapOptions): RatioInterval {
  const { confidence } = opts;
  const resamples = opts.resamples ?? 10_000;
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be between 0 and 1, got ${confidence}`);
  for (const [what, xs] of [
    ['baseline', baseline],
    ['current', current],
  ] as const) {
    if (xs.length === 0) throw new RangeError(`${what}: no samples`);
    const bad = xs.find((x) => !(Number.isFinite(x) && x > 0));
    if (bad !== undefined) throw new RangeError(`${what}: a ratio needs positive finite samples, got ${bad}`);
  }
  const rng = new Rng(opts.seed ?? 1);
  const bb = new Float64Array(baseline.length);
  const cb = new Float64Array(current.length);
  const ratios = new Float64Array(resamples);
  for (let i = 0; i < resamples; i++) ratios[i] = resampledMedian(current, rng, cb) / resampledMedian(baseline, rng, bb);
  ratios.sort();
  const tail = (1 - confidence) / 2;
  return { ratio: median([...current]) / median([...baseline]), ci: [quantile(ratios, tail), quantile(ratios, 1 - tail)], resamples };
}

export interface RankTest {
  /** Pairs (x, y) with x > y, ties counting one half. */
  u: number;
  /** P(U >= u) under no difference: small when x tends to be larger than y. */
  pGreater: number;
  /** P(U <= u) under no difference: small when x tends to be smaller than y. */
  pLess: number;
  method: 'exact' | 'normal';
}

/** Samples up to this size (each), without ties, get the exact null distribution. */
export const EXACT_LIMIT = 50;
/** Tied samples of at most this many values in all get the exact distribution given their mid-ranks. */
export const EXACT_TIED_LIMIT = 20;

/**
 * One-sided p-values of the rank sum of the first `m` of `ranks2` (doubled mid-ranks, so integers)
 * being `sum2`, under every choice of m of the pooled values being equally likely: the number of
 * size-m subsets by doubled rank sum, counted one value at a time.
 */
export function exactTiedP(ranks2: readonly number[], m: number, sum2: number): { pGreater: number; pLess: number } {
  const max = ranks2.reduce((a, b) => a + b, 0);
  const ways = Array.from({ length: m + 1 }, () => new Float64Array(max + 1));
  (ways[0] as Float64Array)[0] = 1;
  let seen = 0;
  for (const r of ranks2) {
    seen++;
    for (let k = Math.min(m, seen); k >= 1; k--) {
      const from = ways[k - 1] as Float64Array;
      const to = ways[k] as Float64Array;
      for (let t = max; t >= r; t--) to[t] = (to[t] as number) + (from[t - r] as number);
    }
  }
  const dist = ways[m] as Float64Array;
  let total = 0;
  let upper = 0;
  let lower = 0;
  for (let t = 0; t <= max; t++) {
    const w = dist[t] as number;
    total += w;
    if (t >= sum2) upper += w;
    if (t <= sum2) lower += w;
  }
  return { pGreater: Math.min(1, upper / total), pLess: Math.min(1, lower / total) };
}

/**
 * P(U = u) for u = 0..m*n, U the Mann-Whitney statistic of samples of sizes m and n without ties,
 * by the recursion p(m, n, u) = m/(m+n) p(m-1, n, u-n) + n/(m+n) p(m, n-1, u) (the largest of the
 * m+n values belongs to the first sample with probability m/(m+n) and then beats all n others).
 */
export function exactUDistribution(m: number, n: number): Float64Array {
  // rows[j] holds p(i, j, .) for the current i.
  let prev: Float64Array[] = [];
  for (let i = 0; i <= m; i++) {
    const cur: Float64Array[] = [];
    for (let j = 0; j <= n; j++) {
      const d = new Float64Array(i * j + 1);
      if (i === 0 || j === 0) d[0] = 1;
      else {
        const a = prev[j] as Float64Array; // p(i-1, j, .)
        const b = cur[j - 1] as Float64Array; // p(i, j-1, .)
        const wa = i / (i + j);
        const wb = j / (i + j);
        for (let u = 0; u < d.length; u++) {
          const fromA = u - j >= 0 && u - j < a.length ? (a[u - j] as number) : 0;
          const fromB = u < b.length ? (b[u] as number) : 0;
          d[u] = wa * fromA + wb * fromB;
        }
      }
      cur.push(d);
    }
    prev = cur;
  }
  return prev[n] as Float64Array;
}

function normalCdf(z: number): number {
  return 0.5 * (1 + errorFunction(z / Math.SQRT2));
}

/** Mann-Whitney U of x against y, with one-sided p-values in both directions. */
export function mannWhitney(x: readonly number[], y: readonly number[]): RankTest {
  const m = x.length;
  const n = y.length;
  if (m === 0 || n === 0) throw new RangeError('mannWhitney needs samples on both sides');
  const all = [...x.map((v) => ({ v, first: true })), ...y.map((v) => ({ v, first: false }))].sort((a, b) => a.v - b.v);
  // Mid-ranks for ties; the sizes of tie groups for the variance correction.
  let rankSumX = 0;
  const ties: number[] = [];
  const ranks2: number[] = [];
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && (all[j + 1] as { v: number }).v === (all[i] as { v: number }).v) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      ranks2.push(i + j + 2);
      if ((all[k] as { first: boolean }).first) rankSumX += rank;
    }
    if (j > i) ties.push(j - i + 1);
    i = j + 1;
  }
  const u = rankSumX - (m * (m + 1)) / 2;
  if (ties.length > 0 && m + n <= EXACT_TIED_LIMIT) {
    if (ties.length === 1 && ties[0] === m + n) return { u, pGreater: 1, pLess: 1, method: 'exact' }; // every value equal
    return { u, ...exactTiedP(ranks2, m, Math.round(2 * rankSumX)), method: 'exact' };
  }
  if (ties.length === 0 && m <= EXACT_LIMIT && n <= EXACT_LIMIT) {
    const dist = exactUDistribution(m, n);
    let upper = 0;
    let lower = 0;
    for (let k = 0; k < dist.length; k++) {
      if (k >= u) upper += dist[k] as number;
      if (k <= u) lower += dist[k] as number;
    }
    return { u, pGreater: Math.min(1, upper), pLess: Math.min(1, lower), method: 'exact' };
  }
  const total = m + n;
  const tieTerm = ties.reduce((s, t) => s + t ** 3 - t, 0) / (total * (total - 1));
  const variance = ((m * n) / 12) * (total + 1 - tieTerm);
  const mean = (m * n) / 2;
  if (variance <= 0) return { u, pGreater: 1, pLess: 1, method: 'normal' }; // every value equal
  const sd = Math.sqrt(variance);
  return {
    u,
    pGreater: 1 - normalCdf((u - mean - 0.5) / sd),
    pLess: normalCdf((u - mean + 0.5) / sd),
    method: 'normal',
  };
}
