import { describe, expect, it } from 'vitest';
import { describeSummary } from '../../src/cli/run.js';
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
  const v: MetricSummaryRow = { n: s.n, median: s.median, mean: s.mean, ci: s.ci, ciMethod: s.ciMethod, cv: s.cv, highCv: s.highCv, outliers: 0 };
  return { experimentId: 'e', configId, buildId: 'b', seq: 0, params: { A: isDefault ? 1 : 2 }, isDefault, status: 'done', objective: s.median, summary: { v }, createdAt: 0 };
}

describe('the summary a run ends with', () => {
  it('names the interval of the mean when there are too few runs for one of the median', () => {
    const best = row('b'.repeat(32), [10, 30, 50], false);
    const text = describeSummary(exp, { total: 2, done: 2, failed: 0, running: 0, best, baseline: row('d'.repeat(32), [5, 5, 6], true), ratio: 6, highCv: 1 });
    expect(text).toMatch(/Best {4}bbbbbbbbbbbb: v = 30\.00 \(mean 30\.00, its 95% CI /);
    expect(text).toMatch(/Default dddddddddddd: v = 5\.00 \(mean 5\.33, its 95% CI /);
    expect(text).toContain('Best is 6.000× the default');
  });

  it('gives the median interval from order statistics, and says when the default is the best', () => {
    const samples = [10, 11, 12, 13, 14, 15, 16, 17];
    const both = row('c'.repeat(32), samples, true);
    const text = describeSummary(exp, { total: 1, done: 1, failed: 0, running: 0, best: both, baseline: both, ratio: 1, highCv: 0 });
    expect(text).toMatch(/v = 13\.50 \(95% CI 10\.00 – 17\.00, n=8/);
    expect(text).toContain('Default is the best configuration measured.');
    expect(text).not.toMatch(/^Default c/m);
  });
});
