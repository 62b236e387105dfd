// How a finished (or running) experiment stands: the best configuration against the default.

import { improvement } from '../metrics/stats.js';
import type { ConfigRow, Store } from '../store/store.js';
import type { Objective } from '../types.js';

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
}

export function better(a: number, b: number, direction: Objective['direction']): boolean {
  return direction === 'maximize' ? a > b : a < b;
}

export function rankConfigs(rows: ConfigRow[], objective: Objective): ConfigRow[] {
  return rows
    .filter((r) => r.status === 'done' && r.objective !== undefined)
    .sort((a, b) => (objective.direction === 'maximize' ? (b.objective as number) - (a.objective as number) : (a.objective as number) - (b.objective as number)));
}

export function summarizeStudy(store: Store, experimentId: string, objective: Objective): StudySummary {
  const rows = store.configurations(experimentId);
  const ranked = rankConfigs(rows, objective);
  const best = ranked[0];
  const baseline = rows.find((r) => r.isDefault && r.status === 'done');
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
  };
}
