// Replay: judge strategies on a recorded table of measured configurations. The table is a pool:
// the strategy may pick only recorded rows, and each pick "measures" that row's recorded value.

import { readFileSync } from 'node:fs';
import { InputError, type Config, type Param, type StrategyName, type Value } from '../types.js';
import { parseCsvRows, type CsvRow } from './csv.js';
import { PoolSpace } from './pool-space.js';
import { ratioTo } from './ratio.js';
import { simulate } from './simulate.js';
import { isStrategyName, strategyNames } from './registry.js';
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
  /**
   * Parameter columns; default: the experiment's parameters in a `wayfinder results --format csv`
   * export (the columns between "default" and "objective"), else every column but the objective.
   */
  params?: string[];
  minimize?: boolean;
  /** Objective value that marks a failed configuration. */
  failure?: number;
}

/** Columns `wayfinder results --format csv` writes before and after the parameters. */
const EXPORT_LEAD = ['config_id', 'build_id', 'status', 'default'];

export function loadTable(csvText: string, opts: LoadOptions, file = 'table'): Table {
  const parsed = parseCsvRows(csvText, file);
  const head = parsed[0];
  const header = head?.cells.map((h) => h.trim());
  if (!head || !header || header.length === 0 || parsed.length < 2) {
    throw new InputError('the table needs a header line and at least one row', { file, line: head?.line ?? 1, col: 1 });
  }
  const at = (r: CsvRow, col = 0) => ({ file, line: r.line, col: r.cols[col] ?? 1 });
  const dup = header.findIndex((h, i) => header.indexOf(h) !== i);
  if (dup >= 0) throw new InputError(`column "${header[dup]}" appears twice in the header`, at(head, dup));
  const column = (name: string, what: string, flag: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new InputError(`${flag}: unknown ${what} column "${name}"`, { file, line: head.line, col: 1 }, `columns: ${header.join(', ')}`);
    return i;
  };
  const objCol = column(opts.objective, 'objective', '--objective');
  const exported = EXPORT_LEAD.every((c) => header.includes(c)) && header.includes('objective');
  const explicit = opts.params !== undefined;
  const names =
    opts.params ??
    (exported ? header.slice(header.indexOf('default') + 1, header.indexOf('objective')) : header.filter((h) => h !== opts.objective));
  for (const n of names) {
    column(n, 'parameter', '--params');
    if (n === opts.objective) throw new InputError(`--params: column "${n}" is the objective; it cannot also be a parameter`);
  }
  const notes: string[] = [];
  let body = parsed.slice(1);
  body.forEach((r) => {
    if (r.cells.length !== header.length) {
      throw new InputError(`this row has ${r.cells.length} cells; the header has ${header.length}`, at(r));
    }
  });
  // An export of an unfinished experiment lists configurations still queued: they have no result.
  const statusCol = exported ? header.indexOf('status') : -1;
  const status = (r: CsvRow): string => (statusCol >= 0 ? r.cells[statusCol]!.trim() : 'done');
  if (statusCol >= 0) {
    const unmeasured = body.filter((r) => !['done', 'failed'].includes(status(r)));
    if (unmeasured.length > 0) notes.push(`skipped ${unmeasured.length} configurations not measured yet (lines ${unmeasured.map((r) => r.line).join(', ')})`);
    body = body.filter((r) => ['done', 'failed'].includes(status(r)));
    if (body.length === 0) throw new InputError('no configuration of this export has been measured', { file, line: head.line, col: 1 });
  }
  const cell = (r: CsvRow, col: number): string => {
    const v = r.cells[col]!.trim();
    if (v === '') throw new InputError(`column "${header[col]}": missing value`, at(r, col));
    return v;
  };

  const params: Param[] = [];
  const typed = new Map<number, Value[]>();
  for (const name of names) {
    const col = header.indexOf(name);
    const raw = body.map((r) => cell(r, col));
    const values = typedColumn(raw);
    const distinct = distinctValues(values);
    if (distinct.length < 2) {
      throw new InputError(
        `parameter column "${name}" has a single value (${raw[0]}) in every row: nothing to choose`,
        { file, line: head.line, col: head.cols[col] ?? 1 },
        explicit ? 'leave it out of --params' : 'name the parameter columns with --params, without this one',
      );
    }
    const type = typeof distinct[0] === 'number' ? 'integer' : typeof distinct[0] === 'boolean' ? 'boolean' : 'string';
    params.push({ name, type, domain: { kind: 'list', values: distinct }, when: 'test' });
    typed.set(col, values);
  }

  const rows: Config[] = body.map((_, k) => {
    const c: Config = {};
    for (const p of params) c[p.name] = typed.get(header.indexOf(p.name))![k]!;
    return c;
  });
  const values = body.map((r) => {
    // A failed configuration in an export has no objective: its status says so.
    if (status(r) === 'failed') return undefined;
    const text = cell(r, objCol);
    const v = Number(text);
    if (!Number.isFinite(v)) {
      throw new InputError(`column "${opts.objective}": "${text}" is not a number`, at(r, objCol), 'mark failed runs with a number and pass it as --failure');
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
      throw new InputError(
        `this row ties with line ${body[prev]!.line}: both are the configuration ${what}`,
        at(body[k]!),
        'aggregate repeated measurements into one row, or name more parameter columns with --params',
      );
    }
    firstRow.set(key, k);
  });

  const minimize = opts.minimize ?? false;
  const ok = values.filter((v): v is number => v !== undefined);
  if (ok.length === 0) throw new InputError('every row is a failure: no best value to compare with', { file, line: head.line, col: 1 });
  const best = minimize ? Math.min(...ok) : Math.max(...ok);
  const bestRows = values.flatMap((v, k) => (v === best ? [k + 1] : []));
  if (bestRows.length > 1) {
    notes.push(`best value ${best} is reached by ${bestRows.length} rows (lines ${bestRows.map((k) => body[k - 1]!.line).join(', ')}); finding any of them counts as finding the best`);
  }
  if (best <= 0) notes.push('the best value is not positive: ratios to it are not meaningful');
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
  /** A strategy's name (or a benchmark baseline's). */
  strategy: string;
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
  strategy: string,
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
  const table = loadTable(text, args, args.file ?? 'table');
  const strategies = args.strategies ?? strategyNames();
  for (const s of strategies) if (!isStrategyName(s)) throw new InputError(`unknown strategy "${s}" (known: ${strategyNames().join(', ')})`);
  const n = table.rows.length;
  // A budget beyond the table is allowed: the search simply runs out of configurations.
  const budgets = args.budgets ?? [10, 20, 40, 100].filter((b) => b < n);
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
