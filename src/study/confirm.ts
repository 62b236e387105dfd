// Best against default, confirmed. The best of many noisy configurations is partly the best by luck
// (the winner's curse), and the default was measured at the start, possibly on a host that has
// changed since. So both are measured again, interleaved (best, default, default, best, ...: drift
// over time hits both sides alike, and alternating the order within pairs cancels a steady trend),
// and compared by the ratio of their medians, with a seeded percentile bootstrap interval, and by
// Mann-Whitney's rank test (exact for small samples).
//
// Sequential: `start` pairs first, then one pair at a time up to `cap`, looking at the test after
// the first `start` pairs and then every `every` pairs (and at the cap). Each look is one more
// chance of a false positive, so each uses the error rate divided by the number of looks
// (Bonferroni): over the whole sequence, a configuration no better than the default is called
// significantly different at most 5% of the time at 95%.

import { median } from 'simple-statistics';
import { mannWhitney, medianRatio } from '../metrics/two-sample.js';
import type { ConfigRow, ResultsStore, StoredComparison } from '../store/results-store.js';
import type { Objective } from '../types.js';
import type { RunResult } from '../wire.js';
import { ExtraCancelledError, type Study } from './study.js';

/** At most this many interleaved pairs unless told otherwise (`run --confirm N`, a daemon submission's `confirm`). */
export const DEFAULT_CONFIRM_PAIRS = 15;
/** Pairs before the first look at the test. */
export const START_PAIRS = 5;

export type Side = 'best' | 'default';

export interface ConfirmOptions {
  direction: Objective['direction'];
  /** Pairs measured before the first look (default 5). */
  start?: number;
  /** Most pairs (default 15). */
  cap?: number;
  /** Pairs between looks after the first (default 3). */
  every?: number;
  /** Confidence of the interval, and 1 - the overall error rate of the test (default 0.95). */
  confidence?: number;
  /** Seed of the bootstrap resampling (default 1). */
  seed?: number;
  /** Bootstrap resamples (default 10,000). */
  resamples?: number;
  /** Give up after this many failed measurements of one side (default 3). */
  maxFailures?: number;
  /** Told after each pair, for progress. */
  onPair?: (pair: number, cap: number, best: number | undefined, dflt: number | undefined) => void;
}

export interface Comparison {
  /** median(best) / median(default), oriented so that > 1 is better (default / best when minimizing); absent when a sample is not positive. */
  ratio?: number;
  /** Its bootstrap interval (percentile, `confidence`). */
  ci?: [number, number];
  /** Two-sided Mann-Whitney p-value of the last look. */
  pValue: number;
  /** The p-value passed its look's threshold and the interval excludes 1. */
  significant: boolean;
  /** Measurements per side (the smaller side, when a measurement failed). */
  n: number;
  samples: { best: number[]; default: number[] };
  /** The threshold each look used: (1 - confidence) / looks. */
  alphaPerLook: number;
  looks: number;
  confidence: number;
  /** Why it stopped: the test was decisive, the cap was reached, or measurements kept failing. */
  stopped: 'decided' | 'cap' | 'failures';
  /** What failed, when it stopped for that reason. */
  error?: string;
}

/** The pair counts at which the test is looked at. */
export function lookPoints(start: number, cap: number, every: number): number[] {
  const points: number[] = [];
  for (let n = start; n < cap; n += every) points.push(n);
  points.push(cap);
  return points;
}

/**
 * Compare two samples as the confirmation does at one look; `best` and `dflt` must each have at
 * least one value. Exposed for tests and for comparisons from stored runs.
 */
export function compareSamples(best: number[], dflt: number[], o: { direction: Objective['direction']; confidence: number; alpha: number; seed: number; resamples?: number }): Pick<Comparison, 'ratio' | 'ci' | 'pValue' | 'significant'> {
  const pValue = twoSidedP(best, dflt);
  const positive = [...best, ...dflt].every((v) => v > 0);
  if (!positive) return { pValue, significant: pValue < o.alpha };
  // Oriented so that > 1 is better: best over default, or default over best when smaller is better.
  const boot = { confidence: o.confidence, seed: o.seed, ...(o.resamples ? { resamples: o.resamples } : {}) };
  const r = o.direction === 'maximize' ? medianRatio(dflt, best, boot) : medianRatio(best, dflt, boot);
  const excludesOne = r.ci[0] > 1 || r.ci[1] < 1;
  return { ratio: r.ratio, ci: r.ci, pValue, significant: pValue < o.alpha && excludesOne };
}

function twoSidedP(a: number[], b: number[]): number {
  const rank = mannWhitney(a, b);
  return Math.min(1, 2 * Math.min(rank.pGreater, rank.pLess));
}

/**
 * Measure best and default interleaved until the comparison is decisive or `cap` pairs are in.
 * `measure` measures one side once and gives its objective value (undefined: the run failed).
 */
export async function confirmBest(measure: (side: Side, pair: number) => Promise<number | undefined>, o: ConfirmOptions): Promise<Comparison> {
  const start = o.start ?? 5;
  const cap = Math.max(o.cap ?? 15, start);
  const confidence = o.confidence ?? 0.95;
  const seed = o.seed ?? 1;
  const maxFailures = o.maxFailures ?? 3;
  const looks = lookPoints(start, cap, o.every ?? 3);
  const alpha = (1 - confidence) / looks.length;
  const samples: Record<Side, number[]> = { best: [], default: [] };
  const failures: Record<Side, number> = { best: 0, default: 0 };
  const compare = (): Pick<Comparison, 'ratio' | 'ci' | 'pValue' | 'significant'> =>
    samples.best.length > 0 && samples.default.length > 0
      ? compareSamples(samples.best, samples.default, { direction: o.direction, confidence, alpha, seed, ...(o.resamples ? { resamples: o.resamples } : {}) })
      : { pValue: 1, significant: false };
  const result = (stopped: Comparison['stopped'], error?: string, last = compare()): Comparison => ({
    ...last,
    n: Math.min(samples.best.length, samples.default.length),
    samples,
    alphaPerLook: alpha,
    looks: looks.length,
    confidence,
    stopped,
    ...(error ? { error } : {}),
  });
  for (let pair = 0; pair < cap; pair++) {
    // ABBA: the order alternates, so that a trend within a pair favours neither side.
    const order: Side[] = pair % 2 === 0 ? ['best', 'default'] : ['default', 'best'];
    const got: Partial<Record<Side, number>> = {};
    for (const side of order) {
      const v = await measure(side, pair);
      if (v === undefined || !Number.isFinite(v)) {
        if (++failures[side] >= maxFailures) {
          return result('failures', `the ${side === 'best' ? 'best configuration' : 'default'} failed ${failures[side]} of its confirmation runs`);
        }
        continue;
      }
      samples[side].push(v);
      got[side] = v;
    }
    o.onPair?.(pair + 1, cap, got.best, got.default);
    if (!looks.includes(pair + 1) || samples.best.length === 0 || samples.default.length === 0) continue;
    // The bootstrap is only worth its time once the rank test passes.
    if (twoSidedP(samples.best, samples.default) >= alpha) continue;
    const last = compare();
    if (last.significant) return result('decided', undefined, last);
  }
  return result('cap');
}

/** A configuration's objective in one set of results (one per test): undefined when one failed or none has it. */
export function objectiveOf(results: RunResult[], metric: string): number | undefined {
  if (results.some((r) => r.status !== 'ok')) return undefined;
  for (const r of results) {
    const v = r.metrics[metric];
    if (v !== undefined) return v;
  }
  return undefined;
}

/**
 * Confirm `bestId` against `defaultId` on a study: each measurement is an extra run of the
 * configuration (flagged 'confirmation' in the store). The first measurement of each side runs the
 * test's warm-ups; later ones do not, as each side's runs keep the host warm for the other's.
 */
export function confirmOnStudy(study: Study, ids: { best: string; default: string }, o: Omit<ConfirmOptions, 'direction'>): Promise<Comparison> {
  const metric = study.exp.objective.metric;
  return confirmBest(
    async (side, pair) => objectiveOf(await study.measureExtra(ids[side], 'confirmation', { warmup: pair === 0 }), metric),
    { ...o, direction: study.exp.objective.direction },
  );
}

export type Confirmation =
  | { state: 'confirmed'; comparison: Comparison }
  | { state: 'skipped'; reason: string }
  | { state: 'interrupted' };

export interface ConfirmStudyOptions {
  /** The most interleaved pairs; undefined: not confirmed (`--no-confirm`). */
  pairs: number | undefined;
  seed?: number;
  /** Told once confirming starts: which two, and from how many pairs to how many. */
  onStart?: (ids: { best: string; default: string }, start: number, cap: number) => void;
  onPair?: ConfirmOptions['onPair'];
}

/**
 * The end of every exploration, whatever its front door (`wayfinder run`, `confirm`, the daemon):
 * the best configuration of `summary` and its default measured again, interleaved, and the
 * verdict kept in the store, where `report`, `results` and the daemon's status read it.
 */
export async function confirmStudy(study: Study, store: ResultsStore, summary: { best?: ConfigRow | undefined; baseline?: ConfigRow | undefined }, o: ConfirmStudyOptions): Promise<Confirmation> {
  if (o.pairs === undefined) return { state: 'skipped', reason: 'not confirmed (--no-confirm)' };
  if (!summary.best || !summary.baseline) return { state: 'skipped', reason: 'nothing to confirm: no successful best and default' };
  if (summary.best.configId === summary.baseline.configId) return { state: 'skipped', reason: 'nothing to confirm: the default is the best configuration measured' };
  const ids = { best: summary.best.configId, default: summary.baseline.configId };
  const start = Math.min(START_PAIRS, o.pairs);
  o.onStart?.(ids, start, o.pairs);
  try {
    const comparison = await confirmOnStudy(study, ids, { start, cap: o.pairs, ...(o.seed !== undefined ? { seed: o.seed } : {}), ...(o.onPair ? { onPair: o.onPair } : {}) });
    store.recordComparison(study.id, storedComparison(comparison, ids, study.exp.objective));
    return { state: 'confirmed', comparison };
  } catch (e) {
    if (e instanceof ExtraCancelledError) return { state: 'interrupted' };
    throw e;
  }
}

/** A comparison as the store keeps it: with the two configurations and the objective it was of. */
export function storedComparison(c: Comparison, ids: { best: string; default: string }, objective: Objective, measuredAt = Date.now()): StoredComparison {
  return {
    bestConfigId: ids.best,
    defaultConfigId: ids.default,
    metric: objective.metric,
    direction: objective.direction,
    ...(c.ratio !== undefined ? { ratio: c.ratio } : {}),
    ...(c.ci ? { ci: c.ci } : {}),
    pValue: c.pValue,
    significant: c.significant,
    n: c.n,
    confidence: c.confidence,
    looks: c.looks,
    alphaPerLook: c.alphaPerLook,
    stopped: c.stopped,
    ...(c.error !== undefined ? { error: c.error } : {}),
    samples: c.samples,
    measuredAt,
  };
}

/** Words for "better" in a metric's own terms: faster for rates and times, else "higher METRIC" or "lower METRIC". */
export function betterWord(metric: string, direction: Objective['direction'], better: boolean): string {
  const rate = /per_?sec|_ps$|rps|qps|ops|throughput|requests/i.test(metric);
  const time = /time|latency|duration|_ms$|_us$|_ns$|_s$|seconds/i.test(metric);
  if ((direction === 'maximize' && rate) || (direction === 'minimize' && time)) return better ? 'faster' : 'slower';
  return `${direction === 'maximize' === better ? 'higher' : 'lower'} ${metric}`;
}

/** A p-value as the verdicts print it: p=0.003, p=0.41, p<0.001. */
export const fmtP = (v: number): string => (v < 0.001 ? 'p<0.001' : `p=${v < 0.01 ? v.toFixed(3) : v.toFixed(2)}`);
const p = fmtP;
const x = (v: number): string => v.toFixed(2);

/**
 * The verdict in one line: "1.21× (95% CI 1.08–1.59, p=0.003) faster than the default", or "no
 * significant difference from the default (...)", with what it rests on.
 */
export function describeComparison(c: Comparison, metric: string, direction: Objective['direction']): string {
  const level = `${Math.round(c.confidence * 100)}%`;
  const basis = `${c.n} interleaved runs each of ${metric}`;
  const ci = c.ratio !== undefined && c.ci ? `${level} CI ${x(c.ci[0])}–${x(c.ci[1])}, ` : '';
  if (c.stopped === 'failures' && !c.significant) return `not confirmed: ${c.error ?? 'confirmation runs failed'}`;
  if (c.significant && c.ratio !== undefined) {
    if (c.ratio >= 1) return `${x(c.ratio)}× (${ci}${p(c.pValue)}) ${betterWord(metric, direction, true)} than the default (${basis})`;
    return `${x(1 / c.ratio)}× (${c.ci ? `${level} CI ${x(1 / c.ci[1])}–${x(1 / c.ci[0])}, ` : ''}${p(c.pValue)}) ${betterWord(metric, direction, false)} than the default: measured again, the provisional best is worse (${basis})`;
  }
  if (c.significant) {
    const better = direction === 'maximize' ? median(c.samples.best) > median(c.samples.default) : median(c.samples.best) < median(c.samples.default);
    return `${betterWord(metric, direction, better)} than the default (${p(c.pValue)}; no ratio, as ${metric} is not always positive; ${basis})`;
  }
  const ratio = c.ratio !== undefined ? `${x(c.ratio)}×, ${ci}` : '';
  return `no significant difference from the default (${ratio}${p(c.pValue)}, ${basis}; each of ${c.looks} looks needed p<${c.alphaPerLook.toPrecision(2)} and an interval excluding 1)`;
}

/** The comparison as `run --json` and `confirm --json` carry it. */
export function comparisonJson(c: Comparison): { ratio: number | null; ci: [number, number] | null; pValue: number; significant: boolean; n: number; samples: Comparison['samples']; stopped: string } {
  return { ratio: c.ratio ?? null, ci: c.ci ?? null, pValue: c.pValue, significant: c.significant, n: c.n, samples: c.samples, stopped: c.stopped };
}
