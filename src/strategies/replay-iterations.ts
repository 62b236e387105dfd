// Replay of a recorded table that kept every iteration (an export of `wayfinder results --format
// csv`, e.g. bench/tables/linux-nginx-iterations.csv: each configuration's runs, their objective
// values and the seconds each measured for), as the study loop runs a search: the default measured
// in full first, then one configuration at a time, its iterations taken from the table in an order
// drawn per seed. Without early stopping every configuration costs a warm-up and all its
// iterations; with it, its iterations come in stages (after 1, 2, 4 of 5) and it is stopped when
// early-stop.ts says so, costing the warm-up and the iterations it had. Both arms of a seed see the
// same iteration orders (paired). What a search would answer at any moment is its incumbent: the
// best fully measured configuration by its median; its quality is the table's value of that
// configuration over the table's best.

import { InputError, type Observation } from '../types.js';
import { Rng } from '../util/random.js';
import { parseCsvRows } from './csv.js';
import { looksFor, PooledNoise, shouldStop } from './early-stop.js';
import { configKey } from './encoding.js';
import { createStrategy } from './registry.js';
import { loadTable, type Table } from './replay.js';

export interface IterationTable {
  table: Table;
  /** Per row of table.rows: its iterations' objective samples and the benchmark-seconds of each. */
  samples: number[][];
  seconds: number[][];
  defaultRow: number;
  iterations: number;
}

/**
 * Read an export of `wayfinder results --format csv` whose `samples.*` columns hold every iteration
 * (space-separated, as `wayfinder results --format csv` writes them): `sample` and `seconds` name the
 * metrics of each iteration's objective value and benchmark-seconds. `iterations` absent: the
 * fewest any configuration has (extra runs, numbered past the test's own, are left out).
 */
export function loadIterationTable(text: string, file: string, o: { objective: string; minimize?: boolean; params?: string[]; sample: string; seconds: string; iterations?: number }): IterationTable {
  const table = loadTable(text, { objective: o.objective, ...(o.minimize ? { minimize: true } : {}), ...(o.params ? { params: o.params } : {}) }, file);
  const rows = parseCsvRows(text, file);
  const header = rows[0]!.cells;
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new InputError(`no column ${name}: per-iteration replay needs a \`wayfinder results --format csv\` export with every iteration's samples`, { file, line: 1, col: 1 });
    return i;
  };
  if (o.iterations === undefined) {
    const it0 = col('samples.iteration');
    const counts = rows.slice(1).map((r) => new Set((r.cells[it0] ?? '').split(' ').filter((x) => x !== '')).size);
    // Iterations numbered from 0: a configuration's own are 0..n-1; extra runs come after.
    o = { ...o, iterations: Math.min(...counts) };
  }
  const iterations = o.iterations as number;
  const [it, val, sec, def] = [col('samples.iteration'), col(`samples.${o.sample}`), col(`samples.${o.seconds}`), col('default')];
  const byKey = new Map<string, { samples: number[]; seconds: number[]; isDefault: boolean }>();
  for (const r of rows.slice(1)) {
    const its = r.cells[it]!.split(' ').map(Number);
    const vs = r.cells[val]!.split(' ').map(Number);
    const ss = r.cells[sec]!.split(' ').map(Number);
    // Iterations numbered past the test's own are extra runs (the default measured again for drift).
    const keep = its.map((n, k) => k).filter((k) => its[k]! < iterations).sort((a, b) => its[a]! - its[b]!);
    byKey.set(table.params.map((p) => r.cells[header.indexOf(p.name)]!).join('|'), { samples: keep.map((k) => vs[k]!), seconds: keep.map((k) => ss[k]!), isDefault: r.cells[def] === 'true' });
  }
  const per = table.rows.map((c) => {
    // Matched on the cells as written (the table's values are typed: false, 75).
    const hit = byKey.get(table.params.map((p) => String(c[p.name])).join('|'));
    if (!hit || hit.samples.length !== iterations) throw new InputError(`configuration ${JSON.stringify(c)} has ${hit?.samples.length ?? 'no'} iterations of ${iterations}`, { file, line: 1, col: 1 });
    return hit;
  });
  const defaultRow = per.findIndex((p) => p.isDefault);
  if (defaultRow < 0) throw new InputError('no row is the default (default: true): the replay measures it first, as a run does', { file, line: 1, col: 1 });
  return { table, samples: per.map((p) => p.samples), seconds: per.map((p) => p.seconds), defaultRow, iterations };
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

export interface EarlyStopRow {
  strategy: string;
  budget: number;
  /** Mean over seeds of the incumbent's quality after `budget` evaluations, without and with early stopping. */
  qualityWithout: number;
  qualityWith: number;
  /** Mean benchmark-seconds spent by then (warm-ups included), without and with. */
  secondsWithout: number;
  secondsWith: number;
  /** Mean configurations stopped early among the first `budget` evaluations... at the largest budget only (per search, not per budget). */
  stopped?: number;
}

/** Each strategy's searches with and without early stopping (paired per seed: seeds 1..k), per budget. */
export function replayEarlyStop(t: IterationTable, strategies: string[], budgets: number[], seeds: number): { rows: EarlyStopRow[]; text: string } {
  const max = Math.max(...budgets);
  const rows: EarlyStopRow[] = [];
  const avg = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
  for (const s of strategies) {
    const seedList = Array.from({ length: seeds }, (_, i) => i + 1);
    const on = seedList.map((seed) => searchArm(t, s, seed, max, true));
    const off = seedList.map((seed) => searchArm(t, s, seed, max, false));
    const at = (a: Arm, b: number, what: 'seconds' | 'quality'): number => a[what][Math.min(b, a[what].length) - 1]!;
    for (const b of budgets) {
      rows.push({
        strategy: s,
        budget: b,
        qualityWithout: avg(off.map((a) => at(a, b, 'quality'))),
        qualityWith: avg(on.map((a) => at(a, b, 'quality'))),
        secondsWithout: avg(off.map((a) => at(a, b, 'seconds'))),
        secondsWith: avg(on.map((a) => at(a, b, 'seconds'))),
        ...(b === max ? { stopped: avg(on.map((a) => a.stopped)) } : {}),
      });
    }
  }
  const head = ['strategy', 'budget', 'quality without', 'with', 'bench-s without', 'with', 'ratio'];
  const body = rows.map((r) => [r.strategy, String(r.budget), r.qualityWithout.toFixed(3), r.qualityWith.toFixed(3), r.secondsWithout.toFixed(0), r.secondsWith.toFixed(0), (r.secondsWith / r.secondsWithout).toFixed(2)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const stops = rows.filter((r) => r.stopped !== undefined).map((r) => `${r.strategy} ${r.stopped!.toFixed(1)} of ${r.budget}`);
  const text = [
    `Early stopping, replayed as a run applies it (${t.iterations} iterations per configuration, looks after ${looksFor(t.iterations).join(', ')}; the default measured in full first; ` +
      `each configuration charged a warm-up as long as its median iteration plus the seconds of the iterations it got; ${seeds} seeds, paired):`,
    line(head),
    ...body.map(line),
    `Quality: the table's value of the best fully measured configuration over the table's best. Stopped early (mean per search): ${stops.join(', ')}.`,
  ].join('\n');
  return { rows, text };
}
