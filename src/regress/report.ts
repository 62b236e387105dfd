// The whole comparison of a measurement with its baseline: each configuration matched with its
// baseline counterpart, each metric judged, warnings about what makes the two incomparable, and
// the outcome a CI system acts on.

import { compareMetric, type CompareOptions, type MetricComparison } from './compare.js';
import { hostDifferences, noiseDifferences, type MeasuredConfig, type Measurement } from './baseline.js';
import { metricDirection } from './direction.js';

/** What an inconclusive comparison counts as: its own exit status 3, a pass, or a failure. */
export type InconclusivePolicy = 'exit3' | 'pass' | 'fail';
export const INCONCLUSIVE_POLICIES: readonly InconclusivePolicy[] = ['exit3', 'pass', 'fail'];

export interface ConfigComparison {
  configId: string;
  params: MeasuredConfig['params'];
  isDefault: boolean;
  /** The baseline configuration it was compared with (another id when the default's parameters changed). */
  baselineConfigId?: string;
  /** The configuration failed to build or run now. */
  failure?: string;
  /** No usable baseline for it (absent, or failed in the baseline). */
  noBaseline?: string;
  metrics: MetricComparison[];
}

export type Outcome = 'pass' | 'regression' | 'inconclusive';

/** What is judged besides the objective: these metrics, or every metric measured. */
export type ExtraMetrics = string[] | 'all';

export type ReportOptions = CompareOptions & { inconclusive: InconclusivePolicy; metrics?: ExtraMetrics };

export interface RegressReport {
  experiment: string;
  objective: Measurement['objective'];
  options: ReportOptions;
  baseline: Pick<Measurement, 'createdAt' | 'wayfinder'> & { id: string; source: string };
  current: Pick<Measurement, 'createdAt' | 'wayfinder'> & { id: string };
  /** The baseline was measured on a different host: timings may not be comparable at all. */
  hostDifferences: string[];
  warnings: string[];
  configs: ConfigComparison[];
  counts: { pass: number; regression: number; inconclusive: number; info: number; failed: number };
  outcome: Outcome;
  /** 0 pass, 1 regression, 3 inconclusive (or 0/1 as the policy says). */
  exitStatus: number;
}

function matchBaseline(c: MeasuredConfig, baseline: Measurement): MeasuredConfig | undefined {
  return baseline.configurations.find((b) => b.configId === c.configId) ?? (c.isDefault ? baseline.configurations.find((b) => b.isDefault) : undefined);
}

export function compareMeasurements(baseline: Measurement, baselineSource: string, current: Measurement, opts: ReportOptions): RegressReport {
  const warnings: string[] = [];
  if (baseline.experiment.name !== current.experiment.name) warnings.push(`the baseline is of experiment "${baseline.experiment.name}", this is "${current.experiment.name}"`);
  if (baseline.objective.metric !== current.objective.metric || baseline.objective.direction !== current.objective.direction) {
    warnings.push(`the baseline's objective was ${baseline.objective.direction} ${baseline.objective.metric}; now ${current.objective.direction} ${current.objective.metric}`);
  }
  warnings.push(...noiseDifferences(baseline.noise, current.noise));
  // What the host lacked both times is in both measurements' records; what it lacks only now is news.
  for (const n of current.noise.notes) if (!baseline.noise.notes.includes(n)) warnings.push(`not available now, unlike for the baseline: ${n}`);
  const hostDiff = hostDifferences(baseline.host, current.host);

  const configs: ConfigComparison[] = [];
  for (const c of current.configurations) {
    const entry: ConfigComparison = { configId: c.configId, params: c.params, isDefault: c.isDefault, metrics: [] };
    configs.push(entry);
    if (c.failure) {
      entry.failure = c.failure;
      continue;
    }
    const b = matchBaseline(c, baseline);
    if (!b) {
      entry.noBaseline = 'not in the baseline';
      continue;
    }
    entry.baselineConfigId = b.configId;
    if (b.configId !== c.configId) warnings.push(`the default configuration changed (${b.configId.slice(0, 12)} in the baseline, ${c.configId.slice(0, 12)} now): compared as the default`);
    if (b.failure) {
      entry.noBaseline = `failed in the baseline (${b.failure})`;
      continue;
    }
    // The objective is judged; other metrics only when asked for (--metrics).
    const extra = opts.metrics ?? [];
    const wanted = (m: string): boolean => m === current.objective.metric || extra === 'all' || extra.includes(m);
    const names = Object.keys(c.metrics).filter((m) => wanted(m) && b.metrics[m] !== undefined && (b.metrics[m] as number[]).length > 0 && (c.metrics[m] as number[]).length > 0);
    names.sort((x, y) => (x === current.objective.metric ? -1 : y === current.objective.metric ? 1 : x.localeCompare(y)));
    for (const m of Object.keys(c.metrics)) if (wanted(m) && !names.includes(m)) warnings.push(`${c.configId.slice(0, 12)}: metric ${m} has no baseline samples`);
    if (extra !== 'all') for (const m of extra) if (!(m in c.metrics)) warnings.push(`${c.configId.slice(0, 12)}: --metrics names ${m}, which was not measured`);
    if (!names.includes(current.objective.metric)) warnings.push(`${c.configId.slice(0, 12)}: the objective ${current.objective.metric} cannot be compared`);
    for (const m of names) {
      const xs = b.metrics[m] as number[];
      const ys = c.metrics[m] as number[];
      const direction = metricDirection(m, current.objective);
      if ([...xs, ...ys].some((v) => !(v > 0))) {
        // A ratio needs positive numbers (error counts are often 0): shown only.
        if (direction && m === current.objective.metric) warnings.push(`${c.configId.slice(0, 12)}: ${m} has zero or negative samples; no ratio can be formed`);
        continue;
      }
      const judged = compareMetric(m, direction, xs, ys, opts);
      entry.metrics.push(judged);
      if (judged.noiseFloor !== undefined && judged.noiseFloor > opts.threshold) {
        warnings.push(
          `${c.configId.slice(0, 12)}: ${m}: the spread of the measurements (CV ${(judged.baseline.cv * 100).toFixed(1)}% in the baseline, ${(judged.current.cv * 100).toFixed(1)}% now, n=${judged.baseline.n} and ${judged.current.n}) cannot resolve changes under ` +
            `${(judged.noiseFloor * 100).toFixed(1)}%, so that is the allowed worsening instead of ${(opts.threshold * 100).toFixed(1)}%; more iterations or a quieter host lower it`,
        );
      }
    }
  }

  const all = configs.flatMap((c) => c.metrics);
  const counts = {
    pass: all.filter((m) => m.verdict === 'pass').length,
    regression: all.filter((m) => m.verdict === 'regression').length,
    inconclusive: all.filter((m) => m.verdict === 'inconclusive').length,
    info: all.filter((m) => m.verdict === 'info').length,
    failed: configs.filter((c) => c.failure).length,
  };
  const outcome: Outcome = counts.regression > 0 || counts.failed > 0 ? 'regression' : counts.inconclusive > 0 ? 'inconclusive' : 'pass';
  const exitStatus = outcome === 'regression' ? 1 : outcome === 'pass' ? 0 : opts.inconclusive === 'pass' ? 0 : opts.inconclusive === 'fail' ? 1 : 3;
  return {
    experiment: current.experiment.name,
    objective: current.objective,
    options: opts,
    baseline: { id: baseline.experiment.id, source: baselineSource, createdAt: baseline.createdAt, wayfinder: baseline.wayfinder },
    current: { id: current.experiment.id, createdAt: current.createdAt, wayfinder: current.wayfinder },
    hostDifferences: hostDiff,
    warnings: [...new Set(warnings)],
    configs,
    counts,
    outcome,
    exitStatus,
  };
}

/** Whether anything at all was judged (a baseline that matches nothing is an input error). */
export function comparedAnything(r: RegressReport): boolean {
  return r.configs.some((c) => c.failure || c.metrics.some((m) => m.verdict !== 'info'));
}
