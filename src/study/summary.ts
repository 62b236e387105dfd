// How a finished (or running) experiment stands: the best configuration against the default.

import { improvement } from '../metrics/stats.js';
import type { ConfigRow, Store } from '../store/store.js';
import type { Config, Objective, Param } from '../types.js';

export interface StudySummary {
  total: number;
  done: number;
  failed: number;
  running: number;
  best?: ConfigRow;
  baseline?: ConfigRow;
  /** best over default, oriented so that > 1 is better. */
  ratio?: number;
  highCv: number;
  /**
   * With workload dimensions: the default's workload point, the only one `best` is chosen at (a
   * configuration at a lighter workload is not better than the default, only its workload is).
   */
  workloadPoint?: Config;
}

/** The names of an experiment's workload dimensions (its `workload:` parameters). */
export function workloadNames(params: readonly Param[]): string[] {
  return params.filter((p) => p.workload).map((p) => p.name);
}

export function better(a: number, b: number, direction: Objective['direction']): boolean {
  return direction === 'maximize' ? a > b : a < b;
}

export function rankConfigs(rows: ConfigRow[], objective: Objective): ConfigRow[] {
  return rows
    .filter((r) => r.status === 'done' && r.objective !== undefined)
    .sort((a, b) => (objective.direction === 'maximize' ? (b.objective as number) - (a.objective as number) : (a.objective as number) - (b.objective as number)));
}

export function summarizeStudy(store: Store, experimentId: string, objective: Objective, o: { workload?: readonly string[] } = {}): StudySummary {
  const rows = store.configurations(experimentId);
  const baseline = rows.find((r) => r.isDefault && r.status === 'done');
  const def = rows.find((r) => r.isDefault);
  const workload = o.workload ?? [];
  const workloadPoint = workload.length > 0 && def ? Object.fromEntries(workload.map((w) => [w, def.params[w]!])) : undefined;
  const atPoint = workloadPoint ? rows.filter((r) => workload.every((w) => r.params[w] === workloadPoint[w])) : rows;
  const best = rankConfigs(atPoint, objective)[0];
  let ratio: number | undefined;
  if (best?.objective !== undefined && baseline?.objective !== undefined && best.objective > 0 && baseline.objective > 0) {
    ratio = improvement(best.objective, baseline.objective, objective.direction);
  }
  return {
    total: rows.length,
    done: rows.filter((r) => r.status === 'done').length,
    failed: rows.filter((r) => r.status === 'failed').length,
    running: rows.filter((r) => r.status === 'running').length,
    ...(best ? { best } : {}),
    ...(baseline ? { baseline } : {}),
    ...(ratio !== undefined ? { ratio } : {}),
    highCv: rows.filter((r) => r.summary?.[objective.metric]?.highCv).length,
    ...(workloadPoint ? { workloadPoint } : {}),
  };
}
