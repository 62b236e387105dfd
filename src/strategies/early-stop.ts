// Stopping hopeless measurements early: a configuration's iterations are measured in stages, and
// after each stage but the last its samples are compared with the incumbent's (the best fully
// measured configuration) by a one-sided two-sample t-test whose variance is pooled over every
// fully measured configuration. It is stopped when it is below the incumbent with p < alpha / looks:
// by Bonferroni over its looks, a configuration as good as the incumbent is stopped with probability
// at most alpha in all (normal noise of the same spread in every configuration, on the log scale
// where every sample is positive, since throughput and latency vary by a factor rather than by a
// fixed amount). docs/strategies.md says why this rule and what it costs.
//
// Pure: the study loop feeds it stored runs, the strategies bench recorded iterations.

import { studentTCentral } from '../metrics/stats.js';

/** The false-stop rate per configuration when nothing else is said: at most 1 in 100 as good as the incumbent. */
export const EARLY_STOP_ALPHA = 0.01;
/** Degrees of freedom of the pooled variance needed before the first stop (two configurations of three iterations). */
export const MIN_POOLED_DF = 4;

/**
 * The iteration counts after which a configuration of n iterations is looked at: 1, 2, 4, ... below n.
 * Doubling keeps the looks (and the extra queueing) to log2(n) while the first one is as early as can be.
 */
export function looksFor(iterations: number): number[] {
  const out: number[] = [];
  for (let k = 1; k < iterations; k *= 2) out.push(k);
  return out;
}

/** The stages a test of n iterations is queued in, as [first, end) iteration numbers. */
export function stagesFor(iterations: number): [number, number][] {
  const cuts = [0, ...looksFor(iterations), iterations];
  const out: [number, number][] = [];
  for (let i = 0; i + 1 < cuts.length; i++) out.push([cuts[i]!, cuts[i + 1]!]);
  return out;
}

/** The stage to queue when `measured` iterations are in (undefined: all are). */
export function stageAt(iterations: number, measured: number): [number, number] | undefined {
  return stagesFor(iterations).find(([, end]) => measured < end);
}

/** Sums of squares of fully measured configurations around their own means, raw and on the log scale. */
export class PooledNoise {
  private ss = 0;
  private ssLog = 0;
  df = 0;
  /** Every sample added so far was positive (the log scale is open). */
  positive = true;

  add(samples: readonly number[]): void {
    if (samples.length < 2) return;
    if (samples.some((x) => !(x > 0))) this.positive = false;
    this.ss += sumSquares(samples);
    if (this.positive) this.ssLog += sumSquares(samples.map(Math.log));
    this.df += samples.length - 1;
  }

  variance(log: boolean): number {
    return this.df > 0 ? (log ? this.ssLog : this.ss) / this.df : Number.NaN;
  }
}

export interface StopInput {
  /** The candidate's samples so far. */
  candidate: readonly number[];
  /** All of the incumbent's samples. */
  incumbent: readonly number[];
  noise: PooledNoise;
  direction: 'maximize' | 'minimize';
  /** Looks the candidate gets in all (the Bonferroni divisor). */
  looks: number;
  alpha?: number;
}

export interface StopVerdict {
  stop: boolean;
  /** One-sided p-value of "the candidate is no worse than the incumbent". */
  p: number;
  /** The level p was held against: alpha / looks. */
  level: number;
}

export function shouldStop(inp: StopInput): StopVerdict {
  const alpha = inp.alpha ?? EARLY_STOP_ALPHA;
  const level = alpha / Math.max(1, inp.looks);
  const keep = { stop: false, p: 1, level };
  const { candidate, incumbent, noise } = inp;
  if (candidate.length === 0 || incumbent.length === 0 || noise.df < MIN_POOLED_DF) return keep;
  const log = noise.positive && candidate.every((x) => x > 0) && incumbent.every((x) => x > 0);
  const f = log ? Math.log : (x: number): number => x;
  const diff = mean(incumbent.map(f)) - mean(candidate.map(f));
  const gap = inp.direction === 'maximize' ? diff : -diff;
  const sd = Math.sqrt(noise.variance(log));
  if (!(sd > 0)) return keep;
  const t = gap / (sd * Math.sqrt(1 / candidate.length + 1 / incumbent.length));
  // One-sided: P(T >= t) under "no worse".
  const p = t > 0 ? (1 - studentTCentral(t, noise.df)) / 2 : 1 - (1 - studentTCentral(-t, noise.df)) / 2;
  return { stop: p < level, p, level };
}

function mean(v: readonly number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

function sumSquares(v: readonly number[]): number {
  const m = mean(v);
  return v.reduce((a, b) => a + (b - m) ** 2, 0);
}

/** A configuration's status as a table cell: "stopped early 1/5" for one stopped early. */
export function statusCell(r: { status: string; failure?: string; stopped?: { after: number; of: number; fidelity?: { env: string; value: string } } }): string {
  if (r.failure === 'stopped' && r.stopped?.fidelity) return `stopped at a cheap look (${r.stopped.fidelity.env}=${r.stopped.fidelity.value})`;
  if (r.failure === 'stopped' && r.stopped) return `stopped early ${r.stopped.after}/${r.stopped.of}`;
  return r.status === 'failed' ? `failed: ${r.failure ?? ''}` : r.status;
}

/** How a stopped configuration is described in results and reports. */
export function describeStop(s: { after: number; of: number; p: number; level: number; fidelity?: { env: string; value: string } }): string {
  if (s.fidelity) return `stopped at a cheap look (${s.after} iterations at ${s.fidelity.env}=${s.fidelity.value}), below the best's cheap look with p=${s.p.toPrecision(2)} < ${s.level.toPrecision(2)}`;
  return `stopped early after ${s.after} of ${s.of} iterations, below the best with p=${s.p.toPrecision(2)} < ${s.level.toPrecision(2)}`;
}
