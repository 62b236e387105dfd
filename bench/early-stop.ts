// Early stopping in benchmark-seconds, on a recorded table that kept every iteration
// (bench/tables/linux-nginx-iterations.csv: each configuration's wrk runs, their requests/s and
// the seconds wrk measured for). A search is replayed as the study loop runs it: the default
// measured in full first, then one configuration at a time, its iterations taken from the table in
// an order drawn per seed. Without early stopping every configuration costs a warm-up and all its
// iterations; with it, its iterations come in stages (after 1, 2, 4 of 5) and it is stopped when
// src/strategies/early-stop.ts says so, costing the warm-up and the iterations it had. Both arms of
// a seed see the same iteration orders (paired).
//
// What a search would answer at any moment is its incumbent: the best fully measured configuration
// by its median. Its quality is the table's value of that configuration (the median of all its
// recorded iterations) over the table's best; benchmark-seconds to 95% are those spent until the
// incumbent's quality first reaches 0.95.

import { readFileSync } from 'node:fs';
import { searchArm, loadIterationTable as loadIterations, type Arm, type IterationTable } from '../src/strategies/replay-iterations.js';
import { signedRank } from './wilcoxon.js';

export type { Arm, IterationTable };
export { searchArm };

/** Read a recorded table from its file (the loader and the replay live in src/strategies/replay-iterations.ts). */
export function loadIterationTable(file: string, o: { objective: string; sample: string; seconds: string; iterations: number }): IterationTable {
  return loadIterations(readFileSync(file, 'utf8'), file, o);
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export interface EarlyStopFigures {
  lines: string[];
  /** Median benchmark-seconds to 95% with early stopping over without (paired per seed). */
  secondsRatio: number;
  /** Budgets at which early stopping's final quality is significantly worse (paired). */
  worseAt: number[];
}

/** Both arms over seeds for one strategy; prints nothing, returns the lines. */
/** `alpha`: the early-stopping test's level (default EARLY_STOP_ALPHA), to measure others. */
export function compareArms(t: IterationTable, strategyName: string, seeds: number[], budgets: number[], alpha?: number): EarlyStopFigures {
  const max = Math.max(...budgets);
  const on = seeds.map((s) => searchArm(t, strategyName, s, max, true, alpha));
  const off = seeds.map((s) => searchArm(t, strategyName, s, max, false));
  const to95 = (a: Arm): number => {
    const i = a.quality.findIndex((q) => q >= 0.95);
    return i < 0 ? Number.POSITIVE_INFINITY : a.seconds[i]!;
  };
  const at = (a: Arm, b: number, what: 'seconds' | 'quality'): number => a[what][Math.min(b, a[what].length) - 1]!;
  const fmt = (v: number): string => (Number.isFinite(v) ? v.toFixed(0) : 'never');
  const lines: string[] = [];
  const s95on = on.map(to95);
  const s95off = off.map(to95);
  const reached = (v: number[]): string => `${v.filter(Number.isFinite).length}/${v.length}`;
  const ratios = s95on.map((v, i) => v / s95off[i]!).filter(Number.isFinite);
  const secondsRatio = median(ratios);
  lines.push(`${strategyName}: benchmark-seconds to 95% of the best, median over ${seeds.length} seeds: ${fmt(median(s95off))} s without, ${fmt(median(s95on))} s with early stopping (reached in ${reached(s95off)} / ${reached(s95on)} seeds); median paired ratio ${secondsRatio.toFixed(2)}`);
  lines.push(`  budget   quality without   with    paired p   bench-s without   with   ratio   stopped`);
  const worseAt: number[] = [];
  for (const b of budgets) {
    const qOff = off.map((a) => at(a, b, 'quality'));
    const qOn = on.map((a) => at(a, b, 'quality'));
    const sOff = off.map((a) => at(a, b, 'seconds'));
    const sOn = on.map((a) => at(a, b, 'seconds'));
    const test = signedRank(qOn, qOff);
    const dq = mean(qOn) - mean(qOff);
    if (test.p < 0.05 && dq < 0) worseAt.push(b);
    // Configurations stopped among the first b evaluations are not tracked per budget: the total is shown at the largest.
    lines.push(
      `  ${String(b).padStart(6)}   ${mean(qOff).toFixed(3).padStart(15)}   ${mean(qOn).toFixed(3)}   ${test.p.toFixed(3).padStart(8)}${test.p < 0.05 ? (dq < 0 ? '-' : '+') : '='}  ${mean(sOff).toFixed(0).padStart(15)}   ${mean(sOn).toFixed(0).padStart(4)}   ${(mean(sOn) / mean(sOff)).toFixed(2)}` +
        (b === max ? `   ${(mean(on.map((a) => a.stopped))).toFixed(1)} of ${max} configurations, ${mean(on.map((a) => a.iterations)).toFixed(0)} of ${mean(off.map((a) => a.iterations)).toFixed(0)} iterations` : ''),
    );
  }
  return { lines, secondsRatio, worseAt };
}

function mean(v: number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}
