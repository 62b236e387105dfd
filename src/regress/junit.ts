// The report as JUnit XML (the Ant / Jenkins format every CI dashboard reads): one test case per
// configuration and metric; a regression is a failure, an inconclusive comparison is skipped when
// the policy counts it as a pass and an error otherwise.

import { fmtP, type MetricComparison } from './compare.js';
import type { RegressReport } from './report.js';
import { changeText, configLabel, hostWarning, sideText, verdictText } from './format.js';

/** Characters XML 1.0 cannot carry at all are dropped; the markup ones are escaped. */
export function xmlEscape(s: string): string {
  return s
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function attrs(o: Record<string, string | number>): string {
  return Object.entries(o)
    .map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`)
    .join('');
}

interface Case {
  classname: string;
  name: string;
  /** failure | error | skipped, with its message and details. */
  outcome?: { kind: 'failure' | 'error' | 'skipped'; type: string; message: string; text?: string };
  out?: string;
}

function details(m: MetricComparison): string {
  return [
    `baseline ${sideText(m.baseline)}`,
    `now ${sideText(m.current)}`,
    `change ${changeText(m)}`,
    ...(m.p !== undefined ? [`Mann-Whitney U=${m.rank?.u} (${m.rank?.method}), one-sided p=${fmtP(m.p)}`] : []),
    m.reason,
  ].join('\n');
}

export function renderJunit(r: RegressReport, opts: { hostname?: string; now?: Date } = {}): string {
  const suite = `regress.${r.experiment}`;
  const cases: Case[] = [];
  for (const c of r.configs) {
    const classname = `${suite}.${c.configId.slice(0, 12)}${c.isDefault ? '.default' : ''}`;
    if (c.failure) cases.push({ classname, name: 'run', outcome: { kind: 'error', type: 'failed', message: `${configLabel(c)} failed to run`, text: c.failure } });
    else if (c.noBaseline) cases.push({ classname, name: 'baseline', outcome: { kind: 'skipped', type: 'no-baseline', message: `no baseline: ${c.noBaseline}` } });
    for (const m of c.metrics) {
      const text = details(m);
      if (m.verdict === 'regression') cases.push({ classname, name: m.metric, outcome: { kind: 'failure', type: 'regression', message: m.reason, text } });
      else if (m.verdict === 'inconclusive') {
        const kind = r.options.inconclusive === 'pass' ? 'skipped' : 'error';
        cases.push({ classname, name: m.metric, outcome: { kind, type: 'inconclusive', message: verdictText(m), text } });
      } else cases.push({ classname, name: m.metric, out: text });
    }
  }
  const count = (k: string): number => cases.filter((c) => c.outcome?.kind === k).length;
  const totals = { tests: cases.length, failures: count('failure'), errors: count('error'), skipped: count('skipped') };
  // Ant's format: a local timestamp without a zone; we write UTC.
  const timestamp = (opts.now ?? new Date()).toISOString().replace(/\.\d+Z$/, '');
  const props: Record<string, string> = {
    threshold: String(r.options.threshold),
    confidence: String(r.options.confidence),
    inconclusive: r.options.inconclusive,
    objective: `${r.objective.direction} ${r.objective.metric}`,
    baseline: r.baseline.id,
    'baseline.source': r.baseline.source,
    'baseline.wayfinder': r.baseline.wayfinder,
    current: r.current.id,
    'current.wayfinder': r.current.wayfinder,
    outcome: r.outcome,
  };
  const host = hostWarning(r);
  if (host) props['warning.host'] = host;
  r.warnings.forEach((w, i) => (props[`warning.${i + 1}`] = w));

  const lines: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  lines.push(`<testsuites${attrs({ name: 'wayfinder regress', ...totals })}>`);
  lines.push(`  <testsuite${attrs({ name: suite, ...totals, timestamp, hostname: opts.hostname ?? 'localhost' })}>`);
  lines.push('    <properties>');
  for (const [name, value] of Object.entries(props)) lines.push(`      <property${attrs({ name, value })}/>`);
  lines.push('    </properties>');
  for (const c of cases) {
    const head = `    <testcase${attrs({ classname: c.classname, name: c.name })}`;
    if (!c.outcome && !c.out) {
      lines.push(`${head}/>`);
      continue;
    }
    lines.push(`${head}>`);
    if (c.outcome) {
      const o = c.outcome;
      lines.push(`      <${o.kind}${attrs(o.kind === 'skipped' ? { message: o.message } : { type: o.type, message: o.message })}>${xmlEscape(o.text ?? '')}</${o.kind}>`);
    }
    if (c.out) lines.push(`      <system-out>${xmlEscape(c.out)}</system-out>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>');
  return `${lines.join('\n')}\n`;
}
