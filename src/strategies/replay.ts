// Replay: judge strategies on a recorded table of measured configurations. The table is a pool:
// the strategy may pick only recorded rows, and each pick "measures" that row's recorded value.

import { readFileSync } from 'node:fs';
import { InputError, type Config, type Param, type StrategyName, type Value } from '../types.js';
import { parseCsv } from './csv.js';
import { PoolSpace } from './pool-space.js';
import { ratioTo } from './ratio.js';
import { simulate } from './simulate.js';
import { STRATEGY_NAMES } from './strategy.js';
import { bestSoFarSvg } from './svg.js';

export { bestSoFarSvg } from './svg.js';
export { ratioTo } from './ratio.js';

export interface Table {
  objective: string;
  minimize: boolean;
  params: Param[];
  rows: Config[];
  /** Objective of each row; undefined where the row failed. */
  values: (number | undefined)[];
  best: number;
  /** Data rows (1-based, as in error messages) that reach the best value. */
  bestRows: number[];
  /** What loading decided on its own: dropped columns, ties. */
  notes: string[];
  space: PoolSpace;
}

export interface LoadOptions {
  objective: string;
  /** Parameter columns; default: every column but the objective. */
  params?: string[];
  minimize?: boolean;
  /** Objective value that marks a failed configuration. */
  failure?: number;
}

export function loadTable(csvText: string, opts: LoadOptions): Table {
  const cells = parseCsv(csvText);
  const header = cells[0]?.map((h) => h.trim());
  if (!header || header.length === 0 || cells.length < 2) throw new InputError('the table needs a header line and at least one row');
  const dup = header.find((h, i) => header.indexOf(h) !== i);
  if (dup !== undefined) throw new InputError(`column "${dup}" appears twice in the header`);
  const column = (name: string, what: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new InputError(`unknown ${what} column "${name}"`, undefined, `columns: ${header.join(', ')}`);
    return i;
  };
  const objCol = column(opts.objective, 'objective');
  const explicit = opts.params !== undefined;
  const names = opts.params ?? header.filter((h) => h !== opts.objective);
  for (const n of names) {
    column(n, 'parameter');
    if (n === opts.objective) throw new InputError(`column "${n}" is the objective; it cannot also be a parameter`);
  }
  const body = cells.slice(1);
  body.forEach((r, k) => {
    if (r.length !== header.length) {
      throw new InputError(`row ${k + 1} (line ${k + 2}) has ${r.length} cells; the header has ${header.length}`);
    }
  });
  const cell = (k: number, col: number): string => {
    const v = body[k]![col]!.trim();
    if (v === '') throw new InputError(`row ${k + 1} (line ${k + 2}), column "${header[col]}": missing value`);
    return v;
  };

  const notes: string[] = [];
  const params: Param[] = [];
  for (const name of names) {
    const col = header.indexOf(name);
    const raw = body.map((_, k) => cell(k, col));
    const values = typedColumn(raw);
    const distinct = distinctValues(values);
    if (distinct.length < 2) {
      if (explicit) throw new InputError(`parameter column "${name}" has a single value (${raw[0]}): nothing to choose`);
      notes.push(`dropped column "${name}": every row has ${raw[0]}`);
      continue;
    }
    const type = typeof distinct[0] === 'number' ? 'integer' : typeof distinct[0] === 'boolean' ? 'boolean' : 'string';
    params.push({ name, type, domain: { kind: 'list', values: distinct }, when: 'test' });
    body.forEach((_, k) => ((body[k] as unknown as Value[])[col] = values[k]!));
  }
  if (params.length === 0) throw new InputError('no parameter column varies: nothing to search');

  const rows: Config[] = body.map((r) => {
    const c: Config = {};
    for (const p of params) c[p.name] = (r as unknown as Value[])[header.indexOf(p.name)]!;
    return c;
  });
  const values = body.map((_, k) => {
    const text = cell(k, objCol);
    const v = Number(text);
    if (!Number.isFinite(v)) {
      throw new InputError(`row ${k + 1} (line ${k + 2}), column "${opts.objective}": "${text}" is not a number`, undefined, 'mark failed runs with a number and pass it as the failure value');
    }
    return opts.failure !== undefined && v === opts.failure ? undefined : v;
  });

  const space = new PoolSpace(params, rows);
  const firstRow = new Map<string, number>();
  rows.forEach((r, k) => {
    const key = JSON.stringify(params.map((p) => r[p.name]));
    const prev = firstRow.get(key);
    if (prev !== undefined) {
      const what = params.map((p) => `${p.name}=${String(r[p.name])}`).join(', ');
      throw new InputError(`rows ${prev + 1} and ${k + 1} have the same configuration (${what})`, undefined, 'aggregate repeated measurements first, or name more parameter columns');
    }
    firstRow.set(key, k);
  });

  const minimize = opts.minimize ?? false;
  const ok = values.filter((v): v is number => v !== undefined);
  if (ok.length === 0) throw new InputError('every row is a failure: no best value to compare with');
  const best = minimize ? Math.min(...ok) : Math.max(...ok);
  const bestRows = values.flatMap((v, k) => (v === best ? [k + 1] : []));
  if (bestRows.length > 1) notes.push(`best value ${best} is reached by ${bestRows.length} rows (${bestRows.join(', ')})`);
  if ((minimize && best <= 0) || (!minimize && best <= 0)) notes.push('the best value is not positive: ratios to it are not meaningful');
  return { objective: opts.objective, minimize, params, rows, values, best, bestRows, notes, space };
}

function typedColumn(raw: string[]): Value[] {
  if (raw.every((v) => v !== '' && Number.isFinite(Number(v)))) return raw.map(Number);
  if (raw.every((v) => /^(true|false)$/i.test(v))) return raw.map((v) => v.toLowerCase() === 'true');
  return raw;
}

function distinctValues(values: Value[]): Value[] {
  const out = [...new Set(values)];
  if (typeof out[0] === 'number') (out as number[]).sort((a, b) => a - b);
  return out;
}

export interface ReplayRun {
  bestSoFar: number[];
  /** Best value found (NaN when every pick failed). */
  found: number;
}

export function replay(table: Table, strategyName: StrategyName, budget: number, seed: number): ReplayRun {
  const trace = simulate(
    table.space,
    (c) => {
      const row = table.space.rowIndex(c);
      if (row === undefined) throw new Error(`internal: ${strategyName} picked a configuration outside the table`);
      return table.values[row];
    },
    strategyName,
    { budget, seed, direction: table.minimize ? 'minimize' : 'maximize' },
  );
  return { bestSoFar: trace.bestSoFar, found: trace.bestSoFar.at(-1) ?? NaN };
}

export interface ReplayResult {
  strategy: StrategyName;
  budget: number;
  /** Mean over seeds of best found / best in table (for minimise best / found): 1 is optimal. */
  meanRatio: number;
  stdRatio: number;
  /** Share of seeds that found the table's best value. */
  shareBest: number;
  /** Share of seeds that reached 95% of it. */
  share95: number;
  /** Median evaluations to reach 95%; Infinity when most seeds did not within the budget. */
  medianEvalsTo95: number;
}

/** Figures per budget from traces run at the largest budget (a strategy's first k picks do not depend on its budget). */
export function summarizeTraces(
  strategy: StrategyName,
  traces: { bestSoFar: number[]; optimum: number }[],
  budgets: number[],
  direction: 'maximize' | 'minimize',
): ReplayResult[] {
  return budgets.map((budget) => {
    const ratios: number[] = [];
    const evals: number[] = [];
    for (const t of traces) {
      const upto = t.bestSoFar.slice(0, budget);
      ratios.push(ratioTo(t.optimum, upto.at(-1) ?? NaN, direction));
      const k = upto.findIndex((v) => ratioTo(t.optimum, v, direction) >= 0.95);
      evals.push(k < 0 ? Infinity : k + 1);
    }
    const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
    const std = Math.sqrt(ratios.reduce((a, b) => a + (b - mean) ** 2, 0) / ratios.length);
    return {
      strategy,
      budget,
      meanRatio: mean,
      stdRatio: std,
      shareBest: ratios.filter((r) => r >= 1 - 1e-9).length / ratios.length,
      share95: ratios.filter((r) => r >= 0.95).length / ratios.length,
      medianEvalsTo95: median(evals),
    };
  });
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  if (s.length % 2) return s[m]!;
  return (s[m - 1]! + s[m]!) / 2;
}

function seedList(seeds: number | number[]): number[] {
  return typeof seeds === 'number' ? Array.from({ length: seeds }, (_, i) => i + 1) : seeds;
}

/** Every strategy once per seed at the largest budget; figures for each budget. */
export function evaluate(table: Table, strategies: StrategyName[], budgets: number[], seeds: number | number[]): ReplayResult[] {
  return evaluateWithTraces(table, strategies, budgets, seeds).results;
}

export function evaluateWithTraces(
  table: Table,
  strategies: StrategyName[],
  budgets: number[],
  seeds: number | number[],
): { results: ReplayResult[]; traces: Map<StrategyName, number[][]> } {
  if (budgets.length === 0) throw new InputError('no budget to evaluate');
  const max = Math.max(...budgets);
  const direction = table.minimize ? 'minimize' : 'maximize';
  const traces = new Map<StrategyName, number[][]>();
  const results: ReplayResult[] = [];
  for (const s of strategies) {
    const runs = seedList(seeds).map((seed) => replay(table, s, max, seed).bestSoFar);
    traces.set(s, runs);
    results.push(...summarizeTraces(s, runs.map((bestSoFar) => ({ bestSoFar, optimum: table.best })), budgets, direction));
  }
  return { results, traces };
}

export interface ReplayArgs extends LoadOptions {
  /** The table's text, or a path to read it from. */
  csv?: string;
  file?: string;
  strategies?: StrategyName[];
  budgets?: number[];
  seeds?: number;
}

export function runReplay(args: ReplayArgs): { table: Table; results: ReplayResult[]; text: string; svg: string } {
  let text = args.csv;
  if (text === undefined) {
    if (!args.file) throw new InputError('replay needs a table: a CSV file');
    text = readFileSync(args.file, 'utf8');
  }
  let table: Table;
  try {
    table = loadTable(text, args);
  } catch (e) {
    if (e instanceof InputError && args.file) throw new InputError(`${args.file}: ${e.message}`, e.loc, e.hint);
    throw e;
  }
  const strategies = args.strategies ?? [...STRATEGY_NAMES];
  for (const s of strategies) if (!STRATEGY_NAMES.includes(s)) throw new InputError(`unknown strategy "${s}" (known: ${STRATEGY_NAMES.join(', ')})`);
  const n = table.rows.length;
  const budgets = (args.budgets ?? [10, 20, 40, 100].filter((b) => b < n)).map((b) => Math.min(b, n));
  if (budgets.length === 0) budgets.push(n);
  const seeds = args.seeds ?? 30;
  const { results, traces } = evaluateWithTraces(table, strategies, budgets, seeds);

  const lines = [
    `${n} configurations, ${table.params.length} parameters (${table.params.map((p) => p.name).join(', ')}); ` +
      `${table.values.filter((v) => v === undefined).length} failed; best ${table.objective} = ${table.best} (${table.minimize ? 'minimise' : 'maximise'})`,
    ...table.notes.map((x) => `note: ${x}`),
    `${seeds} seeds per strategy`,
    '',
    'strategy  budget  meanRatio    std  found-best  reach-95%  evals-to-95',
    ...results.map((r) =>
      [
        r.strategy.padEnd(9),
        String(r.budget).padStart(6),
        r.meanRatio.toFixed(3).padStart(10),
        r.stdRatio.toFixed(3).padStart(6),
        `${(100 * r.shareBest).toFixed(0)}%`.padStart(11),
        `${(100 * r.share95).toFixed(0)}%`.padStart(10),
        (Number.isFinite(r.medianEvalsTo95) ? String(r.medianEvalsTo95) : `>${r.budget}`).padStart(12),
      ].join(' '),
    ),
  ];
  const svg = bestSoFarSvg(
    strategies.map((s) => ({ label: s, bestSoFar: traces.get(s)! })),
    { optimum: table.best, direction: table.minimize ? 'minimize' : 'maximize', title: `best ${table.objective} so far (mean over ${seeds} seeds)` },
  );
  return { table, results, text: lines.join('\n'), svg };
}
