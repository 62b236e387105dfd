// A replay target: an experiment whose "test" looks the configuration up in a recorded table instead
// of running a benchmark, so the whole pipeline (spec, queue, runner, store, strategy, resume) runs
// in seconds on recorded data. scripts/test/replay-table.mjs is the test script; it reads
//   REPLAY_TABLE      the CSV (relative paths resolve against the experiment's directory)
//   REPLAY_OBJECTIVE  its objective column (default "objective", as in `wayfinder results` exports)
//   REPLAY_PARAMS     parameter columns (default as `wayfinder replay --params`)
//   REPLAY_FAILURE    objective value that marks a failed configuration
// and finds the row whose parameter columns equal the parameters the job received in its
// environment. It prints {"value": V, "line": L} for the json parser (path "value"); a row recorded
// as failed makes the test fail, as the measured configuration did.

import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { InputError, type Config, type Value } from '../types.js';
import { formatValue } from '../generator/checksum.js';
import { loadTable, type Table } from './replay.js';

export interface RecordedRow {
  /** undefined: the configuration failed when it was measured. */
  value: number | undefined;
  /** Data row, 1-based. */
  row: number;
}

const tables = new Map<string, Table>();

/** The recorded result of the configuration in `env` (parameter name -> value as jobs receive it). */
export function recordedRow(env: Record<string, string | undefined>): RecordedRow {
  const name = env.REPLAY_TABLE;
  if (!name) throw new InputError('REPLAY_TABLE is not set: name the recorded table (CSV) in the test\'s env');
  const file = isAbsolute(name) ? name : resolve(env.WAYFINDER_EXPERIMENT_DIR ?? process.cwd(), name);
  let table = tables.get(file);
  if (!table) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new InputError(`cannot read the recorded table ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    const failure = env.REPLAY_FAILURE !== undefined && env.REPLAY_FAILURE !== '' ? Number(env.REPLAY_FAILURE) : undefined;
    if (failure !== undefined && !Number.isFinite(failure)) throw new InputError(`REPLAY_FAILURE: expected a number, got "${env.REPLAY_FAILURE}"`);
    const params = env.REPLAY_PARAMS ? env.REPLAY_PARAMS.split(',').map((p) => p.trim()) : undefined;
    table = loadTable(text, { objective: env.REPLAY_OBJECTIVE || 'objective', ...(params ? { params } : {}), ...(failure !== undefined ? { failure } : {}) }, file);
    tables.set(file, table);
  }
  const config: Config = {};
  for (const p of table.params) {
    const raw = env[p.name];
    if (raw === undefined) throw new InputError(`the table's parameter column "${p.name}" is not a parameter of this experiment (no ${p.name} in the job's environment)`);
    const values = p.domain.kind === 'list' ? p.domain.values : [];
    const v = values.find((x: Value) => formatValue(x) === raw);
    if (v === undefined) throw new InputError(`${p.name}=${raw} never occurs in ${file} (recorded: ${values.map(formatValue).join(', ')})`);
    config[p.name] = v;
  }
  const row = table.space.rowIndex(config);
  if (row === undefined) {
    throw new InputError(`${file} has no row for ${table.params.map((p) => `${p.name}=${env[p.name]}`).join(' ')}: it does not cover this configuration`);
  }
  return { value: table.values[row], row: row + 1 };
}

/** The script's body: print the value, or explain and fail. Returns the exit status. */
export function replayTarget(env: Record<string, string | undefined>, out: (s: string) => void, err: (s: string) => void): number {
  try {
    const r = recordedRow(env);
    if (r.value === undefined) {
      err(`replay-table: this configuration failed when it was measured (row ${r.row})\n`);
      return 1;
    }
    out(`${JSON.stringify({ value: r.value, row: r.row })}\n`);
    return 0;
  } catch (e) {
    err(`replay-table: ${e instanceof InputError ? e.format() : String(e)}\n`);
    return 2;
  }
}
