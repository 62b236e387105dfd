// The verdict on one metric of one configuration: its samples now against the baseline's.
//
// The one interval of a comparison is that of the change, median(now) / median(baseline), by
// bootstrap; every rendering shows it and words the verdict in it. The allowed worsening L is the
// threshold, raised to the noise floor when the baseline's own spread cannot resolve less (below).
// A metric to minimise is worse when it grows past 1 + L, one to maximise when it drops below 1 - L:
//   regression    the whole interval lies beyond that limit, and the rank test agrees (one-sided,
//                 at 1 - confidence), so a single odd sample cannot decide;
//   pass          the whole interval lies on the good side of the limit;
//   inconclusive  the interval straddles the limit (or it lies beyond while the rank test
//                 disagrees): more iterations are needed, and about how many is estimated.
// A metric whose direction is unknown is shown (`info`) and never decides anything.
//
// The noise floor: how far the ratio of medians of two measurements of the same thing (A/A) reaches
// when each side wanders as much as the baseline's median does by itself (bootstrap spread of the
// log median, at the baseline's and at the current number of samples). The floor is the
// upper end of where an A/A interval's far bound falls: (z of the interval + z of AA_PASS) standard
// errors, so an unchanged configuration passes at least AA_PASS of the time, while a host too noisy
// for the threshold says so (a warning) instead of calling the same code inconclusive.

import { probit } from 'simple-statistics';
import { summarize } from '../metrics/stats.js';
import { Rng } from '../util/random.js';
import { mannWhitney, medianRatio, type RankTest } from './stats.js';

export type Direction = 'maximize' | 'minimize';
export type Verdict = 'pass' | 'regression' | 'inconclusive' | 'info';

export interface CompareOptions {
  /** Allowed worsening as a fraction (0.05 for 5%). */
  threshold: number;
  confidence: number;
  seed?: number;
  resamples?: number;
}

export interface SideSummary {
  n: number;
  median: number;
  cv: number;
}

export interface MetricComparison {
  metric: string;
  direction?: Direction;
  baseline: SideSummary;
  current: SideSummary;
  /** median(current) / median(baseline), with its bootstrap interval: the comparison's one interval. */
  ratio: number;
  ci: [number, number];
  /** The worsening allowed, as a fraction: the threshold, or the noise floor when that is larger (absent for `info`). */
  allowed?: number;
  /** What the baseline's own spread can resolve, as a fraction (see above). */
  noiseFloor?: number;
  rank?: RankTest;
  /** One-sided p-value of the rank test in the bad direction. */
  p?: number;
  verdict: Verdict;
  /** Why, in a short sentence. */
  reason: string;
  /** Inconclusive: about how many iterations on each side would settle it. */
  iterationsNeeded?: number;
}

/** Beyond this, the estimate says only "more than". */
export const MAX_ITERATIONS_ESTIMATE = 10_000;

/** Share of A/A comparisons (the same code measured twice) that the noise floor lets pass. */
export const AA_PASS = 0.99;

function sdOfLogMedian(xs: readonly number[], size: number, rng: Rng, resamples: number): number {
  const buf = new Float64Array(size);
  let sum = 0;
  let sum2 = 0;
  for (let i = 0; i < resamples; i++) {
    for (let k = 0; k < size; k++) buf[k] = xs[rng.int(xs.length)] as number;
    buf.sort();
    const mid = size >> 1;
    const m = Math.log(size % 2 === 1 ? (buf[mid] as number) : ((buf[mid - 1] as number) + (buf[mid] as number)) / 2);
    sum += m;
    sum2 += m * m;
  }
  const mean = sum / resamples;
  return Math.sqrt(Math.max(0, sum2 / resamples - mean * mean));
}

/**
 * The smallest worsening (a fraction) a comparison of these samples can tell from noise: A/A
 * comparisons stay within it AA_PASS of the time. Positive samples only.
 */
export function noiseFloor(baseline: readonly number[], current: readonly number[], direction: Direction, o: { confidence: number; seed?: number; resamples?: number }): number {
  const rng = new Rng((o.seed ?? 1) + 7919);
  const resamples = Math.min(o.resamples ?? 2_000, 2_000);
  // The current side wanders at least as much as the baseline would with its number of samples, more if it is noisier itself.
  const now = Math.max(sdOfLogMedian(baseline, current.length, rng, resamples), sdOfLogMedian(current, current.length, rng, resamples));
  const se = Math.hypot(sdOfLogMedian(baseline, baseline.length, rng, resamples), now);
  const reach = (probit(1 - (1 - o.confidence) / 2) + probit(AA_PASS)) * se;
  return direction === 'minimize' ? Math.exp(reach) - 1 : 1 - Math.exp(-reach);
}

/** A change ratio as a signed percentage: 1.201 -> "+20.1%", 0.95 -> "−5.0%". */
export function pctChange(ratio: number): string {
  const p = (ratio - 1) * 100;
  return `${p >= 0 ? '+' : '−'}${Math.abs(p).toFixed(1)}%`;
}

/** The limit of the change ratio: 1 + L for a metric to minimise, 1 - L for one to maximise. */
function changeLimit(direction: Direction, allowed: number): number {
  return direction === 'minimize' ? 1 + allowed : 1 - allowed;
}

function side(xs: number[]): SideSummary {
  const s = summarize(xs);
  return { n: s.n, median: s.median, cv: s.cv };
}

/**
 * Samples per side that would settle the question with 80% probability, if the spread per sample
 * stays as it is (a power calculation): the interval's half-width on the side facing the limit is
 * z(confidence) standard errors and the standard error shrinks like sqrt(1/nb + 1/nc); the distance
 * from the point estimate to the limit (in log space, where a ratio's interval is close to symmetric)
 * must reach z(confidence) + z(power) standard errors.
 */
export function iterationsToSettle(worse: number, worseCi: [number, number], limit: number, nb: number, nc: number, confidence: number, power = 0.8): number {
  const e = Math.log(worse);
  const l = Math.log(limit);
  const half = e > l ? e - Math.log(worseCi[0]) : Math.log(worseCi[1]) - e;
  const distance = Math.abs(e - l);
  if (distance === 0 || !(half > 0)) return Infinity;
  const zc = probit(1 - (1 - confidence) / 2);
  const se = half / zc;
  const neededSe = distance / (zc + probit(power));
  const n = Math.ceil(2 / ((1 / nb + 1 / nc) * (neededSe / se) ** 2));
  return Math.max(n, Math.max(nb, nc) + 1);
}

export function compareMetric(metric: string, direction: Direction | undefined, baseline: number[], current: number[], o: CompareOptions): MetricComparison {
  const { ratio, ci } = medianRatio(baseline, current, { confidence: o.confidence, ...(o.seed !== undefined ? { seed: o.seed } : {}), ...(o.resamples ? { resamples: o.resamples } : {}) });
  const base = { metric, baseline: side(baseline), current: side(current), ratio, ci };
  if (!direction) {
    return { ...base, verdict: 'info', reason: 'direction unknown (not the objective): shown, not judged' };
  }
  const floor = noiseFloor(baseline, current, direction, o);
  const allowed = Math.max(o.threshold, floor);
  const limit = changeLimit(direction, allowed);
  // Internally oriented so that > 1 is worse, for the test and the power estimate.
  const worse = direction === 'minimize' ? ratio : 1 / ratio;
  const worseCi: [number, number] = direction === 'minimize' ? ci : [1 / ci[1], 1 / ci[0]];
  const worseLimit = direction === 'minimize' ? limit : limit > 0 ? 1 / limit : Infinity;
  // The current sample is worse when it is larger (minimise) or smaller (maximise).
  const rank = mannWhitney(current, baseline);
  const p = direction === 'minimize' ? rank.pGreater : rank.pLess;
  const alpha = 1 - o.confidence;
  const interval = `${pctChange(ci[0])} to ${pctChange(ci[1])}`;
  const raised = floor > o.threshold ? ` (the ${(o.threshold * 100).toFixed(1)}% threshold raised to what the baseline's own spread can resolve)` : '';
  const limitText = `the allowed ${pctChange(limit)}${raised}`;
  const judged = { ...base, direction, allowed, noiseFloor: floor, rank, p };
  if (worseCi[0] > worseLimit) {
    if (p < alpha) {
      return { ...judged, verdict: 'regression', reason: `the change (${interval}) lies beyond ${limitText}; rank test p=${fmtP(p)}` };
    }
    return {
      ...judged,
      verdict: 'inconclusive',
      reason: `the change (${interval}) lies beyond ${limitText} but the rank test does not confirm it (p=${fmtP(p)} ≥ ${fmtP(alpha)}): more iterations needed`,
      // No power model covers the two tests together: doubling is a rough guide.
      iterationsNeeded: Math.max(baseline.length, current.length) * 2,
    };
  }
  if (worseCi[1] <= worseLimit) {
    const better = worseCi[1] < 1 ? ', and is better' : '';
    return { ...judged, verdict: 'pass', reason: `the change (${interval}) lies within ${limitText}${better}` };
  }
  const needed = iterationsToSettle(worse, worseCi, worseLimit, baseline.length, current.length, o.confidence);
  return {
    ...judged,
    verdict: 'inconclusive',
    reason: `the change (${interval}) straddles ${limitText}: more iterations needed`,
    iterationsNeeded: Math.min(needed, MAX_ITERATIONS_ESTIMATE + 1),
  };
}

export function fmtP(p: number): string {
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}
