// The report at a terminal or in a CI log: a headline, loud warnings, and a table.

import { table } from '../util/format.js';
import type { RegressReport } from './report.js';
import { changeText, configLabel, headline, hostWarning, pText, sideText, verdictText } from './format.js';

export function renderText(r: RegressReport): string {
  const out: string[] = [];
  const host = hostWarning(r);
  if (host) out.push(`${'!'.repeat(72)}\nWARNING: ${host}\n${'!'.repeat(72)}`);
  for (const w of r.warnings) out.push(`warning: ${w}`);
  const rows = [['configuration', 'metric', 'baseline', 'now', `change [${(r.options.confidence * 100).toFixed(0)}% CI]`, 'p', 'verdict']];
  for (const c of r.configs) {
    if (c.failure) rows.push([configLabel(c), '-', '', '', '', '', `FAILED: ${c.failure.slice(0, 160)}`]);
    else if (c.noBaseline) rows.push([configLabel(c), '-', '', '', '', '', `no baseline: ${c.noBaseline}`]);
    for (const m of c.metrics) rows.push([configLabel(c), m.metric, sideText(m.baseline), sideText(m.current), changeText(m), pText(m), verdictText(m)]);
  }
  out.push('', table(rows), '', headline(r));
  return `${out.join('\n')}\n`;
}
