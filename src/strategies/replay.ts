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
  /** The worst value measured (failures aside). */
  worst: number;
  /**
   * How a found value is judged: its ratio to the best (when every value measured is positive), else
   * its normalised score, 0 = the worst value in the table, 1 = the best (a ratio of values that
   * are zero or negative means nothing).
   */
  measure: 'ratio' | 'score';
}

/** What an empty parameter cell is: the parameter was left unset, a value of its own. */
export const UNSET = 'unset';

/** The names a measure is printed under. */
export const MEASURE_NAMES = {
  ratio: { short: 'ratio', long: 'ratio to the best value in the table (1 = the best)' },
  score: { short: 'score', long: 'normalised score (0 = the worst value in the table, 1 = the best)' },
} as const;

/** How good a found value is, 1 being the table's best, by the table's measure. */
export function quality(t: Pick<Table, 'best' | 'worst' | 'measure' | 'minimize'>, found: number): number {
  const direction = t.minimize ? 'minimize' : 'maximize';
  if (t.measure === 'ratio') return ratioTo(t.best, found, direction);
  if (Number.isNaN(found)) return 0;
  if (t.best === t.worst) return 1;
  return (found - t.worst) / (t.best - t.worst);
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
  const constant: string[] = [];
  const keys: string[] = [];
  for (const name of names) {
    const col = header.indexOf(name);
    // An empty parameter cell: the parameter was left unset in that configuration.
    const raw = body.map((r) => r.cells[col]!.trim());
    const values = typedColumn(raw);
    const distinct = distinctValues(values);
    if (distinct.length < 2) {
      if (!explicit) {
        constant.push(name);
        continue;
      }
      throw new InputError(
        `parameter column "${name}" has a single value (${raw[0] === '' ? `empty: ${UNSET}` : raw[0]}) in every row: nothing to choose`,
        { file, line: head.line, col: head.cols[col] ?? 1 },
        'leave it out of --params',
      );
    }
    // Row numbers and run ids (a different whole number in every row, with no gaps) tell nothing about any other row.
    if (!explicit && body.length >= KEY_MIN_ROWS && isKey(distinct, body.length)) {
      keys.push(name);
      continue;
    }
    const type = distinct.some((v) => typeof v === 'string') ? 'string' : typeof distinct[0] === 'number' ? 'integer' : 'boolean';
    params.push({ name, type, domain: { kind: 'list', values: distinct }, when: 'test' });
    typed.set(col, values);
  }
  if (constant.length > 0) notes.push(`left out ${constant.length} column${constant.length === 1 ? '' : 's'} with one value in every row (${listed(constant)})`);
  if (keys.length > 0) notes.push(`left out ${keys.length === 1 ? 'a column' : `${keys.length} columns`} numbering the rows, identifiers rather than parameters (${listed(keys)})`);
  const unsetIn = params.filter((p) => (p.domain.kind === 'list' ? p.domain.values : []).includes(UNSET)).length;
  if (unsetIn > 0) notes.push(`${unsetIn} parameter${unsetIn === 1 ? ' has' : 's have'} empty cells, read as the value "${UNSET}"`);
  if (params.length === 0) throw new InputError('no parameter column has two values: nothing to choose', { file, line: head.line, col: 1 }, 'name the parameter columns with --params');

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
  const worst = minimize ? Math.max(...ok) : Math.min(...ok);
  const measure = ok.every((v) => v > 0) ? 'ratio' : 'score';
  if (measure === 'score') notes.push(`some values are zero or negative: a found value is judged by its ${MEASURE_NAMES.score.long}, not by a ratio`);
  return { objective: opts.objective, minimize, params, rows, values, best, bestRows, notes, space, worst, measure };
}

/** A table of at least this many rows may have identifier columns (a different value in every row). */
const KEY_MIN_ROWS = 20;

/** Every row a different whole number, together a run without gaps: a row number or an id. */
function isKey(distinct: Value[], rows: number): boolean {
  if (distinct.length !== rows || !distinct.every((v) => typeof v === 'number' && Number.isInteger(v))) return false;
  const n = distinct as number[];
  return n[n.length - 1]! - n[0]! === rows - 1;
}

function listed(names: string[]): string {
  return names.length <= 8 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`;
}

/** Numbers or booleans where every set cell is one; an empty cell is the value UNSET. */
function typedColumn(raw: string[]): Value[] {
  const set = raw.filter((v) => v !== '');
  const unset = (f: (v: string) => Value) => raw.map((v) => (v === '' ? UNSET : f(v)));
  if (set.length > 0 && set.every((v) => Number.isFinite(Number(v)))) return unset(Number);
  if (set.length > 0 && set.every((v) => /^(true|false)$/i.test(v))) return unset((v) => v.toLowerCase() === 'true');
  return unset((v) => v);
}

/** Each value once: numbers in order, then the rest as first met (UNSET among them). */
function distinctValues(values: Value[]): Value[] {
  const out = [...new Set(values)];
  const numbers = out.filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
  return [...numbers, ...out.filter((v) => typeof v !== 'number')];
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
  /** How the found values are judged (meanRatio, stdRatio and the shares are of it); default ratio. */
  measure?: 'ratio' | 'score';
  /**
   * Mean over seeds of best found / best in table (for minimise best / found): 1 is optimal; for
   * measure 'score', of the normalised score (0 = worst in the table, 1 = best).
   */
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
  judge?: { measure: 'ratio' | 'score'; of: (found: number) => number },
): ReplayResult[] {
  return budgets.map((budget) => {
    const ratios: number[] = [];
    const evals: number[] = [];
    for (const t of traces) {
      const upto = t.bestSoFar.slice(0, budget);
      const of = judge?.of ?? ((v: number) => ratioTo(t.optimum, v, direction));
      ratios.push(of(upto.at(-1) ?? NaN));
      const k = upto.findIndex((v) => of(v) >= 0.95);
      evals.push(k < 0 ? Infinity : k + 1);
    }
    const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
    const std = Math.sqrt(ratios.reduce((a, b) => a + (b - mean) ** 2, 0) / ratios.length);
    return {
      strategy,
      budget,
      ...(judge ? { measure: judge.measure } : {}),
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

/** Called after each search: how many of how many are done, and the strategy of the one just done. */
export type ReplayProgress = (done: number, total: number, strategy: StrategyName) => void;

export function evaluateWithTraces(
  table: Table,
  strategies: StrategyName[],
  budgets: number[],
  seeds: number | number[],
  onProgress?: ReplayProgress,
): { results: ReplayResult[]; traces: Map<StrategyName, number[][]> } {
  if (budgets.length === 0) throw new InputError('no budget to evaluate');
  const max = Math.max(...budgets);
  const direction = table.minimize ? 'minimize' : 'maximize';
  const traces = new Map<StrategyName, number[][]>();
  const results: ReplayResult[] = [];
  const list = seedList(seeds);
  const total = strategies.length * list.length;
  let done = 0;
  for (const s of strategies) {
    const runs = list.map((seed) => {
      const r = replay(table, s, max, seed).bestSoFar;
      onProgress?.(++done, total, s);
      return r;
    });
    traces.set(s, runs);
    results.push(...summarizeTraces(s, runs.map((bestSoFar) => ({ bestSoFar, optimum: table.best })), budgets, direction, { measure: table.measure, of: (v) => quality(table, v) }));
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
  onProgress?: ReplayProgress;
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
  const { results, traces } = evaluateWithTraces(table, strategies, budgets, seeds, args.onProgress);
  const m = MEASURE_NAMES[table.measure];
  const failed = table.values.filter((v) => v === undefined).length;
  const head = ['strategy', 'budget', `mean ${m.short}`, 'spread', 'found the best', 'reached 0.95', 'evaluations to 0.95'];
  const body = results.map((r) => [
    r.strategy,
    String(r.budget),
    r.meanRatio.toFixed(3),
    `± ${r.stdRatio.toFixed(3)}`,
    `${(100 * r.shareBest).toFixed(0)}%`,
    `${(100 * r.share95).toFixed(0)}%`,
    Number.isFinite(r.medianEvalsTo95) ? String(r.medianEvalsTo95) : `more than ${r.budget}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const lines = [
    `${n} configurations, ${table.params.length} parameters (${listed(table.params.map((p) => p.name))}); ` +
      `${failed} failed; best ${table.objective} = ${table.best} (${table.minimize ? 'lower' : 'higher'} is better)`,
    ...table.notes.map((x) => `note: ${x}`),
    `${seeds} searches per strategy, each with its own seed. A found value is judged by its ${m.long};`,
    `"reached 0.95": the share of searches whose best so far reached 0.95 of it; "evaluations to 0.95": how many that took (median).`,
    '',
    line(head),
    ...body.map(line),
  ];
  // The plot draws the same measure: by score, the traces become scores against a best of 1.
  const judged = table.measure === 'score';
  const svg = bestSoFarSvg(
    strategies.map((s) => ({ label: s, bestSoFar: traces.get(s)!.map((t) => (judged ? t.map((v) => quality(table, v)) : t)) })),
    judged
      ? { optimum: 1, direction: 'maximize', title: `best ${table.objective} so far as a ${m.long} (mean over ${seeds} seeds)` }
      : { optimum: table.best, direction: table.minimize ? 'minimize' : 'maximize', title: `best ${table.objective} so far (mean over ${seeds} seeds)` },
  );
  return { table, results, text: lines.join('\n'), svg };
}
