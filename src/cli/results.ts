// `wayfinder results [EXPERIMENT]`: one row per configuration with its parameters and aggregated
// metrics, best first; the exports with every raw sample.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Store } from '../store/store.js';
import { rankConfigs, summarizeStudy, workloadNames } from '../study/summary.js';
import { parseExperiment } from '../spec/index.js';
import { UsageError, positiveInt } from './errors.js';
import { renderResults, runsByConfig } from '../report/results-table.js';
import { databasePath } from '../workdir.js';
import { pickExperiment } from './pick-experiment.js';

export interface ResultsOptions {
  workdir: string;
  format?: string;
  top?: string;
}

export function resultsCommand(ref: string | undefined, o: ResultsOptions): number {
  const dbPath = databasePath(resolve(o.workdir));
  if (!existsSync(dbPath)) throw new UsageError(`no results in ${resolve(o.workdir)} (no wayfinder.db): run an experiment there first, or pass --workdir`);
  const format = o.format ?? 'table';
  if (!['table', 'csv', 'json'].includes(format)) throw new UsageError(`--format: expected table, csv or json, got "${format}"`);
  const store = new Store(dbPath);
  try {
    const exp = pickExperiment(store, ref, o.workdir);
    let rows = store.configurations(exp.id);
    const { objective, params } = parseExperiment(exp.text, exp.file);
    // Best against default over the whole experiment (before --top cuts the rows).
    const against = summarizeStudy(store, exp.id, objective, { workload: workloadNames(params) });
    if (o.top !== undefined) rows = rankConfigs(rows, objective).slice(0, positiveInt(o.top, '--top'));
    process.stdout.write(renderResults(exp, rows, format, { objective, params, against, ...(format === 'table' ? {} : { runs: runsByConfig(store, exp.id) }) }));
    return 0;
  } finally {
    store.close();
  }
}
