// How a finished (or running) experiment stands: the best configuration against the default.

import { improvement } from '../metrics/stats.js';
import type { ConfigRow, Store } from '../store/store.js';
import { effectiveValues, kconfigParams } from '../targets/effective.js';
import type { Objective, Param, Value } from '../types.js';

export interface StudySummary {
  total: number;
  done: number;
  failed: number;
  running: number;
  /** Configurations that resolved to the effective configuration of one measured instead (not built or measured). */
  duplicates?: number;
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
    duplicates: rows.filter((r) => r.status === 'duplicate').length,
    ...(best ? { best } : {}),
    ...(baseline ? { baseline } : {}),
    ...(ratio !== undefined ? { ratio } : {}),
    highCv: rows.filter((r) => r.summary?.[objective.metric]?.highCv).length,
  };
}

/**
 * A configuration's parameters as the build really had them: each Kconfig parameter at the value
 * the tree's resolver left (null where it left the symbol unset), the others as asked. Without a
 * resolution (none recorded, or no Kconfig parameters) the values asked for.
 */
export function effectiveParams(row: Pick<ConfigRow, 'params' | 'resolution'>, params: Param[]): Record<string, Value | null> {
  if (!row.resolution) return { ...row.params };
  return { ...row.params, ...effectiveValues(kconfigParams({ params }), row.resolution.effective) };
}

/** The parameters whose effective value differs from the one asked for, with both. */
export function changedByResolution(row: Pick<ConfigRow, 'params' | 'resolution'>, params: Param[]): Array<{ name: string; requested: Value; effective: Value | null }> {
  const eff = effectiveParams(row, params);
  return Object.keys(row.params)
    .filter((k) => eff[k] !== row.params[k])
    .map((k) => ({ name: k, requested: row.params[k] as Value, effective: eff[k] ?? null }));
}

/** NAME=VALUE for every parameter, effective values, each changed one followed by what was asked. */
export function fmtEffective(row: Pick<ConfigRow, 'params' | 'resolution'>, params: Param[]): string {
  const eff = effectiveParams(row, params);
  const changed = new Map(changedByResolution(row, params).map((c) => [c.name, c]));
  return Object.entries(eff)
    .map(([k, v]) => `${k}=${v === null ? 'unset' : String(v)}${changed.has(k) ? ` (asked ${String(changed.get(k)?.requested)})` : ''}`)
    .join(' ');
}
