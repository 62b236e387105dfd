// `wayfinder report [EXPERIMENT]`: the HTML report, its figures (SVG, PNG) and its numbers (JSON).

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BrowserMissingError } from '../report/browser.js';
import { renderReport, writeReport } from '../report/index.js';
import { Store } from '../store/store.js';
import { UsageError, positiveInt } from './errors.js';
import { databasePath, reportsDir } from '../workdir.js';
import { pickExperiment } from './pick-experiment.js';

export interface ReportCommandOptions {
  workdir: string;
  out?: string;
  json?: boolean;
  png?: boolean;
  top?: string;
}

export async function reportCommand(ref: string | undefined, o: ReportCommandOptions): Promise<number> {
  const dbPath = databasePath(resolve(o.workdir));
  if (!existsSync(dbPath)) throw new UsageError(`no results in ${resolve(o.workdir)} (no wayfinder.db): run an experiment there first, or pass --workdir`);
  const top = o.top !== undefined ? positiveInt(o.top, '--top') : 5;
  const store = new Store(dbPath);
  let rendered;
  try {
    const exp = pickExperiment(store, ref, o.workdir);
    rendered = renderReport(store, exp.id, { top });
  } finally {
    store.close();
  }
  const dir = resolve(o.out ?? reportsDir(o.workdir, rendered.json.experiment.id));
  let written;
  try {
    written = await writeReport(rendered, dir, { png: o.png !== false });
  } catch (e) {
    if (e instanceof BrowserMissingError) throw new UsageError(`${e.message}; or pass --no-png (report.html, report.json and the SVG figures are in ${dir})`);
    throw e;
  }
  if (o.json) process.stdout.write(`${JSON.stringify(rendered.json, null, 2)}\n`);
  else {
    process.stdout.write(`${written.html}\n${written.json}\n${written.svgs.length} figures in ${join(dir, 'figures')} (SVG${written.pngs.length ? ' and PNG' : ''})\n`);
  }
  return 0;
}
