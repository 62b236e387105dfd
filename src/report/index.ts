// The report of one experiment: its numbers (JSON), figures (SVG) and one self-contained HTML page.
// renderReport works on an open store and a running experiment alike, so the daemon can serve it
// as results arrive; writeReport adds the files and PNGs for `wayfinder report`.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../store/store.js';
import { svgsToPng } from './browser.js';
import { reportData, type ReportData, type ReportOptions } from './data.js';
import { figures, type Figure } from './figures.js';
import { reportHtml, type HtmlOptions } from './html.js';

export type { ReportData } from './data.js';
export type { Figure } from './figures.js';
export { IMPORTANCE_METHOD, parameterImportance } from './importance.js';

export interface RenderedReport {
  html: string;
  json: ReportData;
  figures: Figure[];
}

/** The report of an experiment (by id) in an open store; throws when there is no such experiment. */
export function renderReport(store: Store, experimentId: string, opts: ReportOptions & HtmlOptions = {}): RenderedReport {
  const exp = store.getExperiment(experimentId);
  if (!exp) throw new Error(`no experiment ${experimentId} in the results database`);
  const json = reportData(store, exp, opts);
  const figs = figures(json);
  return { html: reportHtml(json, figs, opts), json, figures: figs };
}

/** report.html, report.json and figures/NAME.svg (and .png unless png is false) under dir. */
export async function writeReport(r: RenderedReport, dir: string, opts: { png?: boolean } = {}): Promise<{ html: string; json: string; svgs: string[]; pngs: string[] }> {
  const figDir = join(dir, 'figures');
  mkdirSync(figDir, { recursive: true });
  const html = join(dir, 'report.html');
  const json = join(dir, 'report.json');
  writeFileSync(html, r.html);
  writeFileSync(json, `${JSON.stringify(r.json, null, 2)}\n`);
  const svgs = r.figures.map((f) => {
    const p = join(figDir, `${f.name}.svg`);
    writeFileSync(p, `<?xml version="1.0" encoding="UTF-8"?>\n${f.svg}\n`);
    return p;
  });
  const pngs = opts.png === false ? [] : await svgsToPng(r.figures, figDir);
  return { html, json, svgs, pngs };
}
