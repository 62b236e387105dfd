// Everything a report shows, as plain numbers read from the results database: the JSON of
// `wayfinder report --json` and the input of every figure.

import { improvement, summarize } from '../metrics/stats.js';
import { parseExperiment } from '../spec/index.js';
import type { ConfigRow, ExperimentRow, Store, StoredComparison } from '../store/store.js';
import { countOutcomes, type OutcomeCounts } from '../store/results-store.js';
import { better, effectiveParams, rankConfigs, summarizeStudy, verdictLine, workloadNames } from '../study/summary.js';
import type { Config, Objective, Param, StoppedEarly, Value } from '../types.js';
import { codecFor } from '../strategies/encoding.js';
import { wantsLog } from './chart.js';
import { MIN_SAMPLES, parameterImportance, samplePositions, type Importance } from './importance.js';
import { byWorkload, type ByWorkload } from './workload.js';

export interface ConfigPoint {
  configId: string;
  seq: number;
  /** As asked (the strategy's space: importance and effects are computed over these). */
  params: Config;
  /** As the build had them: Kconfig parameters at their resolved values (null: left unset); absent when nothing was resolved. */
  effective?: Record<string, Value | null>;
  /** Status 'duplicate': the configuration measured in its place. */
  duplicateOf?: string;
  isDefault: boolean;
  status: ConfigRow['status'];
  strategy?: string;
  objective?: number;
  ci?: [number, number];
  /** The interval's real confidence (below 95% with fewer than 6 runs). */
  ciLevel?: number;
  cv?: number;
  n?: number;
  failure?: string;
  /** Stopped early (failure 'stopped'): after how many iterations, by what test. */
  stopped?: StoppedEarly;
  finishedAt?: number;
}

export interface BestRow {
  rank: number;
  configId: string;
  /** Effective values (see ConfigPoint.effective). */
  params: Record<string, Value | null>;
  /** Parameters whose value differs from the default configuration's: [default, this]. */
  differing: Record<string, [Value | null, Value | null]>;
  objective: number;
  ci?: [number, number];
  ciLevel?: number;
  n?: number;
  /** Over the default, oriented so that > 1 is better: the exploration's, provisional. */
  ratio?: number;
  /** The last confirmation's verdict, when it was of this configuration against this default (even if another is the best since). */
  confirmed?: StoredComparison;
}

/** The best against the default, as the report's tile and `results` say it. */
export interface BestAgainstDefault {
  /** A confirmation of the current best against the default is stored. */
  confirmed: boolean;
  comparison?: StoredComparison;
  /** The exploration's ratio (provisional). */
  ratio?: number;
  /** The verdict in one line (see study/summary.ts verdictLine); absent when the default is the best. */
  text?: string;
}

export interface EffectValue {
  value: Value;
  /** Measured configurations with this value, and the median of their objectives with its interval. */
  n: number;
  /** In a large domain: the lowest and highest measured values counted at this one. */
  bin?: [Value, Value];
  median?: number;
  ci?: [number, number];
  ciMethod?: string;
  /** The surrogate's marginal prediction (fANOVA), and ±1 sd across trees. */
  marginal?: number;
  marginalLow?: number;
  marginalHigh?: number;
}

export interface MainEffect {
  name: string;
  /** Share of variance (main effect) from the importance analysis. */
  fraction?: number;
  values: EffectValue[];
}

export interface BestSoFar {
  strategy: string;
  /** After each finished evaluation (in finishing order): the best objective so far; null before the first success. */
  values: (number | null)[];
}

export interface RunStats {
  /** Failed configurations by cause (build, test, timeout, parse, ...). */
  failuresByCause: Record<string, number>;
  /** Configurations stopped early (not failures: below the best), and the iterations they had. */
  stoppedEarly: { count: number; iterations: number; of: number; level?: number };
  /** Failed measured runs by cause. */
  runFailuresByCause: Record<string, number>;
  /** Coefficient of variation of the objective over each configuration's repeated runs. */
  cv: { configurations: number; median?: number; p90?: number; max?: number; above5pct: number; values: number[] };
  time: {
    buildMs: number;
    builds: number;
    testMs: number;
    runs: number;
    /** Time configurations spent between being asked for and their result, beyond their own build and runs. */
    waitingMs: number;
    /** First configuration asked for to last result. */
    wallMs: number;
  };
}

export interface ReportData {
  generatedAt: string;
  experiment: {
    id: string;
    name: string;
    file: string;
    format: string;
    hash: string;
    state: string;
    strategy: string;
    spaceSize: string;
    createdAt: string;
    updatedAt: string;
    text: string;
  };
  objective: Objective;
  params: { name: string; type: string; default?: Value; values: number; when: string }[];
  host: unknown;
  /** duplicates: resolved to the effective configuration of one measured in their place. */
  /** failed: broken (not those stopped early, counted in stopped). */
  counts: OutcomeCounts;
  configurations: ConfigPoint[];
  default?: ConfigPoint;
  best: BestRow[];
  bestAgainstDefault: BestAgainstDefault;
  bestSoFar: BestSoFar[];
  importance?: Importance;
  /** Why there is no importance analysis, when there is none. */
  importanceNote?: string;
  mainEffects: MainEffect[];
  runStats: RunStats;
  /** With workload dimensions: the best configuration per workload point and the learned policy. */
  byWorkload?: ByWorkload;
  byWorkloadNote?: string;
}

export interface ReportOptions {
  /** Best configurations compared with the default. */
  top?: number;
  /** Parameters whose main effect is drawn. */
  effects?: number;
  seed?: number;
}

export function reportData(store: Store, exp: ExperimentRow, opts: ReportOptions = {}): ReportData {
  const spec = parseExperiment(exp.text, exp.file);
  const objective = spec.objective;
  const rows = store.configurations(exp.id);
  const metric = objective.metric;
  const points: ConfigPoint[] = rows.map((r) => {
    const s = r.summary?.[metric];
    return {
      configId: r.configId,
      seq: r.seq,
      params: r.params,
      ...(r.resolution ? { effective: effectiveParams(r, spec.params) } : {}),
      ...(r.duplicateOf ? { duplicateOf: r.duplicateOf } : {}),
      isDefault: r.isDefault,
      status: r.status,
      ...(r.strategy ? { strategy: r.strategy } : {}),
      ...(r.objective !== undefined ? { objective: r.objective } : {}),
      ...(s ? { ci: s.ci, ...(s.ciLevel !== undefined ? { ciLevel: s.ciLevel } : {}), cv: s.cv, n: s.n } : {}),
      ...(r.failure ? { failure: r.failure } : {}),
      ...(r.stopped ? { stopped: r.stopped } : {}),
      ...(r.finishedAt ? { finishedAt: r.finishedAt } : {}),
    };
  });
  const done = points.filter((p) => p.status === 'done' && p.objective !== undefined);
  const def = points.find((p) => p.isDefault);

  const summary = summarizeStudy(store, exp.id, objective, { workload: workloadNames(spec.params) });
  const verdict = verdictLine(summary, objective);
  const against: BestAgainstDefault = {
    confirmed: summary.comparison !== undefined,
    ...(summary.comparison ? { comparison: summary.comparison } : {}),
    ...(summary.ratio !== undefined ? { ratio: summary.ratio } : {}),
    ...(verdict ? { text: verdict } : {}),
  };

  const observed = done.filter((p) => Number.isFinite(p.objective)).map((p) => ({ config: p.params, value: p.objective as number }));
  // An objective spanning orders of magnitude is analysed (and drawn) on a log scale.
  const importance = parameterImportance(spec.params, observed, { seed: opts.seed ?? 1, log: wantsLog(observed.map((o) => o.value)) });

  return {
    generatedAt: new Date().toISOString(),
    experiment: {
      id: exp.id,
      name: exp.name,
      file: exp.file,
      format: exp.format,
      hash: exp.hash,
      state: exp.state,
      strategy: exp.strategy,
      spaceSize: exp.spaceSize,
      createdAt: new Date(exp.createdAt).toISOString(),
      updatedAt: new Date(exp.updatedAt).toISOString(),
      text: exp.text,
    },
    objective,
    params: spec.params.map((p) => ({
      name: p.name,
      type: p.type,
      ...(p.default !== undefined ? { default: p.default } : {}),
      values: codecFor(p).size,
      when: p.when,
    })),
    host: exp.host ?? null,
    counts: countOutcomes(rows),
    configurations: points,
    ...(def ? { default: def } : {}),
    best: bestRows(rows, def, objective, opts.top ?? 5, store.lastComparison(exp.id), spec.params),
    bestAgainstDefault: against,
    bestSoFar: bestSoFar(points, exp.strategy, objective),
    ...(importance
      ? { importance }
      : { importanceNote: `needs at least ${MIN_SAMPLES} measured configurations (have ${observed.length})` }),
    mainEffects: mainEffects(spec.params, done, importance, opts.effects ?? 6),
    runStats: runStats(store, exp.id, rows, metric),
    ...byWorkload(store, exp, spec.params.some((p) => p.workload)),
  };
}

function bestRows(rows: ConfigRow[], def: ConfigPoint | undefined, objective: Objective, top: number, confirmed: StoredComparison | undefined, params: Param[]): BestRow[] {
  const metric = objective.metric;
  return rankConfigs(rows, objective)
    .slice(0, top)
    .map((r, i) => {
      const differing: Record<string, [Value | null, Value | null]> = {};
      // Effective values: a difference only asked for (resolved alike) is no difference.
      const mine = effectiveParams(r, params);
      if (def) {
        const theirs = def.effective ?? def.params;
        for (const k of new Set([...Object.keys(theirs), ...Object.keys(mine)])) {
          const a = theirs[k];
          const b = mine[k];
          if (a !== b) differing[k] = [a ?? null, b ?? null];
        }
      }
      const o = r.objective as number;
      const d = def?.status === 'done' ? def.objective : undefined;
      const sm = r.summary?.[metric];
      const ci = sm?.ci;
      return {
        rank: i + 1,
        configId: r.configId,
        params: mine,
        differing,
        objective: o,
        ...(ci ? { ci } : {}),
        ...(sm ? { n: sm.n, ...(sm.ciLevel !== undefined ? { ciLevel: sm.ciLevel } : {}) } : {}),
        ...(d !== undefined && o > 0 && d > 0 && Number.isFinite(o) && Number.isFinite(d) ? { ratio: improvement(o, d, objective.direction) } : {}),
        ...(confirmed && confirmed.bestConfigId === r.configId && confirmed.defaultConfigId === def?.configId ? { confirmed } : {}),
      };
    });
}

/** Best objective after each finished evaluation, one trace per strategy that asked for configurations. */
function bestSoFar(points: ConfigPoint[], fallback: string, objective: Objective): BestSoFar[] {
  const finished = points.filter((p) => p.status === 'done' || p.status === 'failed').sort((a, b) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0) || a.seq - b.seq);
  const groups = new Map<string, ConfigPoint[]>();
  for (const p of finished) {
    const k = p.strategy ?? fallback;
    groups.set(k, [...(groups.get(k) ?? []), p]);
  }
  return [...groups].map(([strategy, list]) => {
    let best: number | null = null;
    const values = list.map((p) => {
      if (p.status === 'done' && p.objective !== undefined && Number.isFinite(p.objective)) {
        if (best === null || better(p.objective, best, objective.direction)) best = p.objective;
      }
      return best;
    });
    return { strategy, values };
  });
}

function mainEffects(params: Param[], done: ConfigPoint[], imp: Importance | undefined, k: number): MainEffect[] {
  if (done.length === 0) return [];
  // The most important parameters by the analysis; without one, the first parameters declared.
  const chosen = imp ? imp.params.filter((p) => p.total > 0.01).slice(0, k).map((p) => p.name) : params.slice(0, k).map((p) => p.name);
  return chosen.map((name) => {
    const codec = codecFor(params.find((p) => p.name === name)!);
    const marginal = imp?.marginals.find((m) => m.name === name);
    // Large domains are shown at evenly spread values (the ones the marginal is computed at), each
    // measured configuration counted at the nearest of them.
    const shown = samplePositions(codec.size).sort((a, b) => codec.rank(a) - codec.rank(b));
    const ranks = shown.map((i) => codec.rank(i));
    const objectives = shown.map(() => [] as number[]);
    const members = shown.map(() => [] as number[]);
    for (const p of done) {
      const v = p.params[name];
      const i = v === undefined ? -1 : codec.indexOf(v);
      if (i < 0 || !Number.isFinite(p.objective)) continue;
      const b = nearest(ranks, codec.rank(i));
      objectives[b]!.push(p.objective as number);
      members[b]!.push(i);
    }
    return {
      name,
      ...(imp ? { fraction: imp.params.find((p) => p.name === name)?.fraction ?? 0 } : {}),
      values: shown.map((pos, b) => {
        const value = codec.valueAt(pos);
        const obs = objectives[b]!;
        const s = obs.length > 0 ? summarize(obs) : undefined;
        const mi = marginal ? marginal.values.findIndex((v) => v === value) : -1;
        const mem = members[b]!;
        const binned = mem.some((i) => i !== pos);
        return {
          value,
          n: obs.length,
          ...(binned ? { bin: [codec.valueAt(Math.min(...mem)), codec.valueAt(Math.max(...mem))] as [Value, Value] } : {}),
          ...(s ? { median: s.median, ci: s.ci, ciMethod: s.ciMethod } : {}),
          ...(marginal && mi >= 0 ? { marginal: marginal.mean[mi]!, marginalLow: marginal.low[mi]!, marginalHigh: marginal.high[mi]! } : {}),
        };
      }),
    };
  });
}

/** Index of the value in a sorted list closest to x. */
function nearest(sorted: number[], x: number): number {
  let best = 0;
  for (let i = 1; i < sorted.length; i++) if (Math.abs(sorted[i]! - x) < Math.abs(sorted[best]! - x)) best = i;
  return best;
}

function runStats(store: Store, experimentId: string, rows: ConfigRow[], metric: string): RunStats {
  const count = (xs: (string | undefined)[]): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const x of xs) out[x ?? 'unknown'] = (out[x ?? 'unknown'] ?? 0) + 1;
    return out;
  };
  // The exploration's own runs: confirmation and drift-check runs came after (see study/confirm.ts).
  const runs = store.runs(experimentId).filter((r) => r.extra === undefined);
  const builds = store.builds(experimentId);
  const cvs = rows
    .map((r) => r.summary?.[metric])
    .filter((s): s is NonNullable<typeof s> => s !== undefined && s.n >= 2 && Number.isFinite(s.cv))
    .map((s) => s.cv)
    .sort((a, b) => a - b);
  const q = (p: number): number | undefined => (cvs.length ? cvs[Math.min(cvs.length - 1, Math.floor(p * cvs.length))] : undefined);

  const runMs = new Map<string, number>();
  for (const r of runs) runMs.set(r.configId, (runMs.get(r.configId) ?? 0) + r.durationMs);
  const buildOf = new Map(builds.map((b) => [b.buildId, b]));
  let waiting = 0;
  let first = Infinity;
  let last = -Infinity;
  for (const r of rows) {
    first = Math.min(first, r.createdAt);
    if (r.finishedAt === undefined) continue;
    last = Math.max(last, r.finishedAt);
    const b = buildOf.get(r.buildId);
    // A build counts against the configuration it started for, not one that reused it later.
    const own = b && b.startedAt !== undefined && b.startedAt >= r.createdAt && b.startedAt <= r.finishedAt ? (b.durationMs ?? 0) : 0;
    waiting += Math.max(0, r.finishedAt - r.createdAt - own - (runMs.get(r.configId) ?? 0));
  }
  return {
    failuresByCause: count(rows.filter((r) => r.status === 'failed' && r.failure !== 'stopped').map((r) => r.failure)),
    stoppedEarly: stoppedStats(rows),
    runFailuresByCause: count(runs.filter((r) => r.status === 'failed').map((r) => r.failure)),
    cv: {
      configurations: cvs.length,
      ...(cvs.length ? { median: q(0.5)!, p90: q(0.9)!, max: cvs[cvs.length - 1]! } : {}),
      above5pct: cvs.filter((c) => c > 0.05).length,
      values: cvs,
    },
    time: {
      buildMs: builds.reduce((a, b) => a + (b.durationMs ?? 0), 0),
      builds: builds.length,
      testMs: runs.reduce((a, r) => a + r.durationMs, 0),
      runs: runs.length,
      waitingMs: waiting,
      wallMs: last > first ? last - first : 0,
    },
  };
}

function stoppedStats(rows: ConfigRow[]): RunStats['stoppedEarly'] {
  const stopped = rows.flatMap((r) => (r.stopped ? [r.stopped] : []));
  return {
    count: stopped.length,
    // Full iterations: one stopped at a cheap look had none (its `after` counts cheap ones).
    iterations: stopped.reduce((n, s) => n + (s.fidelity ? 0 : s.after), 0),
    of: stopped.reduce((n, s) => n + s.of, 0),
    ...(stopped.length ? { level: Math.max(...stopped.map((s) => s.level)) } : {}),
  };
}
