// The verdict on one metric of one configuration: its samples now against the baseline's.
//
// Everything is oriented as a "worse factor": current/baseline for a metric to minimise,
// baseline/current for one to maximise, so > 1 is always worse. With threshold t:
//   regression    the whole interval lies above 1 + t, and the rank test agrees (one-sided, at
//                 1 - confidence), so a single odd sample cannot decide;
//   pass          the whole interval lies at or below 1 + t;
//   inconclusive  the interval straddles 1 + t (or it lies above while the rank test disagrees):
//                 more iterations are needed, and about how many is estimated.
// A metric whose direction is unknown is shown (`info`) and never decides anything.

import { probit } from 'simple-statistics';
import { summarize } from '../metrics/stats.js';
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
  /** median(current) / median(baseline), with its bootstrap interval. */
  ratio: number;
  ci: [number, number];
  /** The same, oriented so that > 1 is worse (absent for an `info` metric). */
  worse?: number;
  worseCi?: [number, number];
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
  const worse = direction === 'minimize' ? ratio : 1 / ratio;
  const worseCi: [number, number] = direction === 'minimize' ? ci : [1 / ci[1], 1 / ci[0]];
  // The current sample is worse when it is larger (minimise) or smaller (maximise).
  const rank = mannWhitney(current, baseline);
  const p = direction === 'minimize' ? rank.pGreater : rank.pLess;
  const limit = 1 + o.threshold;
  const alpha = 1 - o.confidence;
  const pct = (x: number): string => `${x >= 1 ? '+' : ''}${((x - 1) * 100).toFixed(1)}%`;
  const judged = { ...base, direction, worse, worseCi, rank, p };
  if (worseCi[0] > limit) {
    if (p < alpha) {
      return { ...judged, verdict: 'regression', reason: `worse by ${pct(worseCi[0])} to ${pct(worseCi[1])}, beyond the ${(o.threshold * 100).toFixed(1)}% threshold (rank test p=${fmtP(p)})` };
    }
    return {
      ...judged,
      verdict: 'inconclusive',
      reason: `the interval lies beyond the threshold but the rank test does not confirm it (p=${fmtP(p)} ≥ ${fmtP(alpha)}): more iterations needed`,
      // No power model covers the two tests together: doubling is a rough guide.
      iterationsNeeded: Math.max(baseline.length, current.length) * 2,
    };
  }
  if (worseCi[1] <= limit) {
    const better = worseCi[1] < 1 ? ` (better by ${((1 / worseCi[1] - 1) * 100).toFixed(1)}% to ${((1 / worseCi[0] - 1) * 100).toFixed(1)}%)` : '';
    return { ...judged, verdict: 'pass', reason: `within the ${(o.threshold * 100).toFixed(1)}% threshold${better}` };
  }
  const needed = iterationsToSettle(worse, worseCi, limit, baseline.length, current.length, o.confidence);
  return {
    ...judged,
    verdict: 'inconclusive',
    reason: `the interval (${pct(worseCi[0])} to ${pct(worseCi[1])}) straddles the ${(o.threshold * 100).toFixed(1)}% threshold: more iterations needed`,
    iterationsNeeded: Math.min(needed, MAX_ITERATIONS_ESTIMATE + 1),
  };
}

export function fmtP(p: number): string {
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}
