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
import { parseCsvRows } from '../src/strategies/csv.js';
import { looksFor, PooledNoise, shouldStop } from '../src/strategies/early-stop.js';
import { configKey } from '../src/strategies/encoding.js';
import { createStrategy } from '../src/strategies/registry.js';
import { loadTable, type Table } from '../src/strategies/replay.js';
import type { Observation } from '../src/types.js';
import { Rng } from '../src/util/random.js';
import { signedRank } from './wilcoxon.js';

export interface IterationTable {
  table: Table;
  /** Per row of table.rows: its iterations' objective samples and the benchmark-seconds of each. */
  samples: number[][];
  seconds: number[][];
  defaultRow: number;
  iterations: number;
}

/** Read an export of `wayfinder results --format csv` whose `samples.*` columns hold every iteration. */
export function loadIterationTable(file: string, o: { objective: string; sample: string; seconds: string; iterations: number }): IterationTable {
  const text = readFileSync(file, 'utf8');
  const table = loadTable(text, { objective: 'objective' }, file);
  const rows = parseCsvRows(text, file);
  const header = rows[0]!.cells;
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`${file}: no column ${name}`);
    return i;
  };
  const [it, val, sec, def] = [col('samples.iteration'), col(`samples.${o.sample}`), col(`samples.${o.seconds}`), col('default')];
  const byKey = new Map<string, { samples: number[]; seconds: number[]; isDefault: boolean }>();
  for (const r of rows.slice(1)) {
    const its = r.cells[it]!.split(' ').map(Number);
    const vs = r.cells[val]!.split(' ').map(Number);
    const ss = r.cells[sec]!.split(' ').map(Number);
    // Iterations numbered past the test's own are extra runs (the default measured again for drift).
    const keep = its.map((n, k) => k).filter((k) => its[k]! < o.iterations).sort((a, b) => its[a]! - its[b]!);
    byKey.set(table.params.map((p) => r.cells[header.indexOf(p.name)]!).join('|'), { samples: keep.map((k) => vs[k]!), seconds: keep.map((k) => ss[k]!), isDefault: r.cells[def] === 'true' });
  }
  const per = table.rows.map((c) => {
    // Matched on the cells as written (the table's values are typed: false, 75).
    const hit = byKey.get(table.params.map((p) => String(c[p.name])).join('|'));
    if (!hit || hit.samples.length !== o.iterations) throw new Error(`${file}: configuration ${JSON.stringify(c)} has ${hit?.samples.length ?? "no"} iterations of ${o.iterations}`);
    return hit;
  });
  return { table, samples: per.map((p) => p.samples), seconds: per.map((p) => p.seconds), defaultRow: per.findIndex((p) => p.isDefault), iterations: o.iterations };
}

export interface Arm {
  /** Per evaluation: cumulative benchmark-seconds and the incumbent's quality after it. */
  seconds: number[];
  quality: number[];
  stopped: number;
  iterations: number;
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** One search of `budget` evaluations (the default included), with or without early stopping. */
export function searchArm(t: IterationTable, strategyName: string, seed: number, budget: number, earlyStop: boolean, alpha?: number): Arm {
  const { table } = t;
  const direction = table.minimize ? 'minimize' : 'maximize';
  const sign = table.minimize ? -1 : 1;
  const strategy = createStrategy(strategyName, table.space, { seed, budget, direction });
  // The order of each configuration's iterations for this seed: the same in both arms.
  const orderRng = new Rng(seed * 7919 + 17);
  const order = t.samples.map(() => orderRng.shuffle(Array.from({ length: t.iterations }, (_, k) => k)));
  const noise = new PooledNoise();
  const looks = looksFor(t.iterations);
  let incumbent: { row: number; value: number; samples: number[] } | undefined;
  const arm: Arm = { seconds: [], quality: [], stopped: 0, iterations: 0 };
  let spent = 0;
  const measure = (row: number, config: Observation['config']): Observation => {
    const samples = order[row]!.map((k) => t.samples[row]![k]!);
    const secs = order[row]!.map((k) => t.seconds[row]![k]!);
    spent += median(secs); // the warm-up, as long as a measured iteration
    let n = t.iterations;
    let stop: { below: number } | undefined;
    if (earlyStop && incumbent && row !== t.defaultRow) {
      for (const k of looks) {
        if (shouldStop({ candidate: samples.slice(0, k), incumbent: incumbent.samples, noise, direction, looks: looks.length, ...(alpha !== undefined ? { alpha } : {}) }).stop) {
          n = k;
          stop = { below: incumbent.value };
          break;
        }
      }
    }
    for (let k = 0; k < n; k++) spent += secs[k]!;
    arm.iterations += n;
    const configId = configKey(table.space, config);
    if (stop) {
      arm.stopped++;
      return { config, configId, status: 'failed', failure: 'stopped', below: stop.below, samples: samples.slice(0, n) };
    }
    noise.add(samples);
    const value = median(samples);
    if (!incumbent || sign * value > sign * incumbent.value) incumbent = { row, value, samples };
    return { config, configId, status: 'ok', value, samples };
  };
  const record = (): void => {
    arm.seconds.push(spent);
    arm.quality.push(incumbent ? table.values[incumbent.row]! / table.best : 0);
  };
  strategy.tell([measure(t.defaultRow, table.rows[t.defaultRow]!)]);
  record();
  while (arm.quality.length < budget) {
    const [config] = strategy.ask(1);
    if (!config) break;
    const row = table.space.rowIndex(config)!;
    strategy.tell([measure(row, config)]);
    record();
  }
  return arm;
}

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
