// How a finished (or running) experiment stands: the best configuration against the default.

import { improvement } from '../metrics/stats.js';
import type { ConfigRow, Store, StoredComparison } from '../store/store.js';
import { countOutcomes } from '../store/results-store.js';
import { effectiveValues, kconfigParams } from '../targets/effective.js';
import type { Config, Objective, Param, Value } from '../types.js';
import { describeComparison } from './confirm.js';

export interface StudySummary {
  total: number;
  done: number;
  /** Failed configurations (broken: failed to build, boot or finish), not those stopped early. */
  failed: number;
  /** Configurations stopped early by the early-stopping test (below the best, not broken). */
  stopped: number;
  running: number;
  /** Configurations that resolved to the effective configuration of one measured instead (not built or measured). */
  duplicates?: number;
  best?: ConfigRow;
  baseline?: ConfigRow;
  /** best over default, oriented so that > 1 is better: the exploration's, provisional. */
  ratio?: number;
  highCv: number;
  /**
   * The last confirmation's verdict, when it is of this best and this default (after a resumed
   * run finds another best, the earlier verdict is of another configuration and not shown).
   */
  comparison?: StoredComparison;
  /**
   * With workload dimensions: the default's workload point, the only one `best` is chosen at (a
   * configuration at a lighter workload is not better than the default, only its workload is).
   */
  workloadPoint?: Config;
  /** Benchmark time and what stopping early saved (run's summary adds it: it reads every run). */
  benchmark?: BenchmarkTime;
}

/** Seconds of measured iterations (warm-ups excluded), in an experiment's exploration. */
export interface BenchmarkTime {
  /** Every iteration measured: full ones and cheap looks (not confirmation or drift runs). */
  seconds: number;
  /** Of them, in cheap looks. */
  cheapSeconds: number;
  /** Full iterations not measured because their configuration was stopped early. */
  skipped: number;
  /** The mean full iteration's seconds. */
  perIteration: number;
  /**
   * skipped × perIteration less the cheap looks: what measuring every configuration in full, with
   * no cheap looks, would have cost more (negative when cheap looks cost more than they saved).
   */
  savedSeconds: number;
}

/** What the exploration's iterations took, and what stopping early (after full or cheap looks) saved, estimated at the mean full iteration. */
export function benchmarkTime(store: Store, experimentId: string): BenchmarkTime {
  const runs = store.runs(experimentId);
  const full = runs.filter((r) => r.extra === undefined);
  const cheap = runs.filter((r) => r.extra === 'cheap-look');
  const sum = (rs: typeof runs): number => rs.reduce((a, r) => a + r.durationMs, 0) / 1000;
  const perIteration = full.length > 0 ? sum(full) / full.length : 0;
  const fullOf = new Map<string, number>();
  for (const r of full) fullOf.set(r.configId, (fullOf.get(r.configId) ?? 0) + 1);
  let skipped = 0;
  for (const c of store.configurations(experimentId)) if (c.stopped) skipped += Math.max(0, c.stopped.of - (fullOf.get(c.configId) ?? 0));
  const cheapSeconds = sum(cheap);
  return { seconds: sum(full) + cheapSeconds, cheapSeconds, skipped, perIteration, savedSeconds: skipped * perIteration - cheapSeconds };
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
  const { total, done, failed, stopped, running, duplicates } = countOutcomes(rows);
  return {
    total,
    done,
    failed,
    stopped,
    running,
    duplicates,
    ...(best ? { best } : {}),
    ...(baseline ? { baseline } : {}),
    ...(ratio !== undefined ? { ratio } : {}),
    highCv: rows.filter((r) => r.summary?.[objective.metric]?.highCv).length,
    ...confirmedOf(store.lastComparison(experimentId), best, baseline),
    ...(workloadPoint ? { workloadPoint } : {}),
  };
}

function confirmedOf(c: StoredComparison | undefined, best: ConfigRow | undefined, baseline: ConfigRow | undefined): { comparison?: StoredComparison } {
  return c && best && baseline && c.bestConfigId === best.configId && c.defaultConfigId === baseline.configId ? { comparison: c } : {};
}

/**
 * Best against default in one line, as every reader of stored results says it: the confirmed
 * verdict ("Confirmed: the best is 1.21× (95% CI 1.08–1.59, p=0.003) faster than the default
 * (...)", "Not confirmed: no significant difference from the default (...)"), or the
 * exploration's ratio marked "provisional (not confirmed)". Undefined when there is no best
 * other than the default.
 */
export function verdictLine(s: Pick<StudySummary, 'best' | 'baseline' | 'ratio' | 'comparison'>, objective: Objective): string | undefined {
  if (s.comparison) return `${s.comparison.significant ? 'Confirmed: the best is ' : 'Not confirmed: '}${describeComparison(s.comparison, objective.metric, objective.direction)}.`;
  if (!s.best || !s.baseline || s.best.configId === s.baseline.configId) return undefined;
  return s.ratio !== undefined ? `Best is ${s.ratio.toFixed(3)}× the default: provisional (not confirmed).` : 'Best against the default: provisional (not confirmed).';
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
