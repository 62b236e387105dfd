// An inconclusive comparison measured further: which configurations, and how many more iterations.
// The rounds are pooled (pooled, below) and compared again, so a noisy moment during the first
// round costs time instead of an exit 3; test/regress/extend.test.ts simulates the error rates.

import type { Measurement } from './baseline.js';
import type { RegressReport } from './report.js';

/**
 * The configurations still inconclusive with fewer than `max` samples, and how many iterations to
 * add: what the power estimate asks for, at least one more first round's worth, within `max`.
 */
export function moreIterations(report: RegressReport, current: Measurement, first: number, max: number): { configs: string[]; iterations: number } | undefined {
  let add = 0;
  const ids: string[] = [];
  for (const c of report.configs) {
    const open = c.metrics.filter((m) => m.verdict === 'inconclusive');
    if (open.length === 0) continue;
    const n = Math.max(0, ...Object.values(current.configurations.find((x) => x.configId === c.configId)?.metrics ?? {}).map((xs) => xs.length));
    if (n >= max) continue;
    const needed = Math.max(...open.map((m) => m.iterationsNeeded ?? n + first));
    ids.push(c.configId);
    add = Math.max(add, Math.min(max - n, Math.max(needed - n, first)));
  }
  return ids.length > 0 && add > 0 ? { configs: ids, iterations: add } : undefined;
}

/**
 * `more`, measured after `first` on some of the same configurations, taken into it: each
 * configuration's samples in the order taken, under the first measurement's id. A configuration
 * that failed in the later round counts as failed.
 */
export function pooled(first: Measurement, more: Measurement): Measurement {
  const later = new Map(more.configurations.map((c) => [c.configId, c]));
  const tests = { ...first.noise.tests };
  for (const [name, t] of Object.entries(more.noise.tests)) {
    const was = tests[name];
    if (was) tests[name] = { ...was, iterations: was.iterations + t.iterations };
  }
  return {
    ...first,
    noise: { ...first.noise, tests, notes: [...new Set([...first.noise.notes, ...more.noise.notes])] },
    configurations: first.configurations.map((c) => {
      const m = later.get(c.configId);
      if (!m) return c;
      const metrics: Record<string, number[]> = { ...c.metrics };
      for (const [name, xs] of Object.entries(m.metrics)) metrics[name] = [...(metrics[name] ?? []), ...xs];
      return { ...c, metrics, ...(m.failure !== undefined ? { failure: m.failure } : {}) };
    }),
  };
}
