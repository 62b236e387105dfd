// A configuration's measured runs become one summary per metric, and the objective.

import { summarize } from '../metrics/stats.js';
import type { Failure, Objective } from '../types.js';
import type { MetricSummaryRow, StoredRun } from '../store/results-store.js';

export interface Aggregate {
  status: 'done' | 'failed';
  objective?: number;
  summary: Record<string, MetricSummaryRow>;
  failure?: Failure;
  error?: string;
}

export function aggregateRuns(runs: StoredRun[], objective: Objective): Aggregate {
  const failed = runs.find((r) => r.status === 'failed');
  if (failed) {
    return { status: 'failed', summary: {}, failure: failed.failure ?? 'exit', ...(failed.error ? { error: failed.error } : {}) };
  }
  const samples = new Map<string, number[]>();
  for (const r of runs) {
    for (const [k, v] of Object.entries(r.metrics)) {
      if (!Number.isFinite(v)) continue;
      const list = samples.get(k) ?? [];
      list.push(v);
      samples.set(k, list);
    }
  }
  const summary: Record<string, MetricSummaryRow> = {};
  for (const [k, values] of samples) {
    const s = summarize(values);
    summary[k] = { n: s.n, median: s.median, mean: s.mean, ci: s.ci, ciMethod: s.ciMethod, ciLevel: s.ciLevel, cv: s.cv, highCv: s.highCv, outliers: s.outliers.length };
  }
  const obj = summary[objective.metric];
  if (!obj) {
    return { status: 'failed', summary, failure: 'parse', error: `no run produced the objective metric ${objective.metric}` };
  }
  return { status: 'done', objective: obj.median, summary };
}

/** The value a failed configuration counts as, for strategies and rankings. */
export function failureValue(objective: Objective): number {
  if (objective.failureValue !== undefined) return objective.failureValue;
  return objective.direction === 'maximize' ? 0 : Number.POSITIVE_INFINITY;
}
