import { describe, expect, it } from 'vitest';
import { describeSummary } from '../../src/cli/run.js';
import { describeConfirmation } from '../../src/cli/confirm.js';
import { parseExperiment } from '../../src/spec/index.js';
import type { ConfigRow, MetricSummaryRow } from '../../src/store/store.js';
import { summarize } from '../../src/metrics/stats.js';

const exp = parseExperiment(
  `
name: text
params:
  - { name: A, type: integer, only: [1, 2], default: 1 }
test: { run: 'echo v=$A' }
metrics: [{ name: v, parser: regex, pattern: 'v=(\\d+)' }]
objective: { metric: v, direction: maximize }
`,
  'text.yaml',
);

function row(configId: string, samples: number[], isDefault: boolean): ConfigRow {
  const s = summarize(samples);
  const v: MetricSummaryRow = { n: s.n, median: s.median, mean: s.mean, ci: s.ci, ciMethod: s.ciMethod, ciLevel: s.ciLevel, cv: s.cv, highCv: s.highCv, outliers: 0 };
  return { experimentId: 'e', configId, buildId: 'b', seq: 0, params: { A: isDefault ? 1 : 2 }, isDefault, status: 'done', objective: s.median, summary: { v }, createdAt: 0 };
}

describe('the summary a run ends with', () => {
  it('gives too few runs their range with the confidence it has, and calls the ranking provisional', () => {
    const best = row('b'.repeat(32), [10, 30, 50], false);
    const text = describeSummary(exp, { total: 2, done: 2, failed: 0, stopped: 0, running: 0, best, baseline: row('d'.repeat(32), [5, 5, 6], true), ratio: 6, highCv: 1 });
    expect(text).toMatch(/Best \(provisional\) bbbbbbbbbbbb: v = 30\.00 \(median; range 10\.00 – 50\.00 \(only a 75% CI of the median: too few runs for 95%\), n=3/);
    expect(text).toMatch(/Default {12}dddddddddddd: v = 5\.00 \(median; range 5\.00 – 6\.00/);
    expect(text).toContain('Best is 6.000× the default (higher v is better): provisional, from the exploration (n=3 against n=3;');
    expect(text).not.toMatch(/mean|Student/);
  });

  it('gives the median interval from order statistics, and says when the default is the best', () => {
    const samples = [10, 11, 12, 13, 14, 15, 16, 17];
    const both = row('c'.repeat(32), samples, true);
    const text = describeSummary(exp, { total: 1, done: 1, failed: 0, stopped: 0, running: 0, best: both, baseline: both, ratio: 1, highCv: 0 });
    expect(text).toMatch(/v = 13\.50 \(median; 95% CI of the median 10\.00 – 17\.00, n=8/);
    expect(text).toContain('Default is the best configuration measured.');
    expect(text).not.toMatch(/^Default c/m);
    expect(text).not.toContain('provisional');
  });

  it('counts configurations stopped early apart from broken ones', () => {
    const best = row('b'.repeat(32), [10, 30, 50], false);
    const base = row('d'.repeat(32), [5, 5, 6], true);
    const stoppedOnly = describeSummary(exp, { total: 8, done: 5, failed: 0, stopped: 3, running: 0, best, baseline: base, ratio: 6, highCv: 0 });
    expect(stoppedOnly).toContain('8 configurations measured: 5 ok, 3 stopped early (clearly below the best).');
    const both = describeSummary(exp, { total: 8, done: 5, failed: 2, stopped: 1, running: 0, best, baseline: base, ratio: 6, highCv: 0 });
    expect(both).toContain('8 configurations measured: 5 ok, 2 failed, 1 stopped early (clearly below the best).');
    const none = describeSummary(exp, { total: 8, done: 8, failed: 0, stopped: 0, running: 0, best, baseline: base, ratio: 6, highCv: 0 });
    expect(none).toContain('8 configurations measured: 8 ok, 0 failed.');
  });

  it('shows no interval for one run, and says why', () => {
    const one = row('e'.repeat(32), [7], false);
    const text = describeSummary(exp, { total: 2, done: 2, failed: 0, stopped: 0, running: 0, best: one, baseline: row('d'.repeat(32), [5], true), ratio: 1.4, highCv: 0 });
    expect(text).toMatch(/v = 7\.00 \(median; no interval \(one run: nothing to estimate the spread from\), n=1/);
  });

  it('says what the confirmation found, or that the ranking stays provisional', () => {
    const comparison = { ratio: 1.21, ci: [1.08, 1.59] as [number, number], pValue: 0.003, significant: true, n: 8, samples: { best: [], default: [] }, alphaPerLook: 0.01, looks: 5, confidence: 0.95, stopped: 'decided' as const };
    expect(describeConfirmation({ state: 'confirmed', comparison }, 'wrk.requests_per_sec', 'maximize')).toBe(
      'Confirmed: the best is 1.21× (95% CI 1.08–1.59, p=0.003) faster than the default (8 interleaved runs each of wrk.requests_per_sec).\n',
    );
    expect(describeConfirmation({ state: 'confirmed', comparison: { ...comparison, ratio: 1.01, ci: [0.97, 1.05], pValue: 0.4, significant: false, n: 15, stopped: 'cap' } }, 'v', 'maximize')).toMatch(
      /^Not confirmed: no significant difference from the default \(1\.01×, 95% CI 0\.97–1\.05, p=0\.40, 15 interleaved runs each of v;/,
    );
    expect(describeConfirmation({ state: 'skipped', reason: 'not confirmed (--no-confirm)' }, 'v', 'maximize')).toBe('The ranking above is provisional: not confirmed (--no-confirm).\n');
  });
});
