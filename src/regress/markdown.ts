// The report as Markdown for a pull-request or merge-request comment (GitHub and GitLab flavours
// both render pipe tables and <details>).

import type { RegressReport } from './report.js';
import { betterText, changeText, configLabel, headline, hostWarning, pText, sideText, verdictText } from './format.js';

/** Text in a table cell: no line breaks, Markdown's punctuation taken literally. */
export function mdEscape(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').replace(/([\\`*_[\]<>|#])/g, '\\$1');
}

const ICON = { pass: '✅', regression: '❌', inconclusive: '⚠️', info: 'ℹ️' } as const;

export function renderMarkdown(r: RegressReport): string {
  const out: string[] = [];
  const icon = ICON[r.outcome];
  out.push(`### ${icon} wayfinder regress: ${mdEscape(r.experiment)}`, '');
  out.push(`**${mdEscape(headline(r))}**`, '');
  out.push(`Baseline \`${r.baseline.id}\` (${r.baseline.createdAt}, wayfinder ${mdEscape(r.baseline.wayfinder)}) against \`${r.current.id}\` (${r.current.createdAt}, wayfinder ${mdEscape(r.current.wayfinder)}).`, '');
  const host = hostWarning(r);
  if (host) out.push(`> **⚠️ Warning:** ${mdEscape(host)}`, '');
  out.push(`| Configuration | Metric | Baseline | Now | Change [${(r.options.confidence * 100).toFixed(0)}% CI] | p | Verdict |`, '|---|---|---:|---:|---:|---:|---|');
  for (const c of r.configs) {
    const label = mdEscape(configLabel(c));
    if (c.failure) out.push(`| ${label} | | | | | | ❌ failed to run: ${mdEscape(c.failure.slice(0, 300))} |`);
    else if (c.noBaseline) out.push(`| ${label} | | | | | | ℹ️ no baseline: ${mdEscape(c.noBaseline)} |`);
    for (const m of c.metrics) {
      out.push(
        `| ${label} | ${mdEscape(m.metric)} (${betterText(m)}) | ${mdEscape(sideText(m.baseline))} | ${mdEscape(sideText(m.current))} | ${mdEscape(changeText(m))} | ${pText(m)} | ${ICON[m.verdict]} ${mdEscape(verdictText(m))} |`,
      );
    }
  }
  out.push('');
  out.push(
    `Change is median now over median baseline with a ${(r.options.confidence * 100).toFixed(0)}% bootstrap interval; p is the one-sided Mann-Whitney U test in the worse direction. ` +
      `A regression needs the whole interval beyond the allowed worsening (the ${(r.options.threshold * 100).toFixed(1)}% threshold, or what the measurements' own spread can resolve when that is more) and the rank test to agree.`,
  );
  if (r.warnings.length > 0) {
    out.push('', `<details><summary>${r.warnings.length} warning${r.warnings.length === 1 ? '' : 's'}</summary>`, '');
    for (const w of r.warnings) out.push(`- ${mdEscape(w)}`);
    out.push('', '</details>');
  }
  return `${out.join('\n')}\n`;
}
