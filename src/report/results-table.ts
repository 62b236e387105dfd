// One row per configuration with its parameters and aggregated metrics, as a terminal table, CSV
// or JSON: what `wayfinder results` prints and the daemon's API serves. Rows are sorted by the
// objective, best first (then failed, then not measured yet). The exports carry every raw sample
// (test, iteration, each metric's value, where and how isolated it ran); the table fits the
// terminal and leaves a parameter blank where its condition made it inactive.

import { Space } from '../generator/index.js';
import type { Placement } from '../wire.js';
import { countOutcomes, type ConfigRow, type ExperimentRow, type OutcomeCounts, type StoredRun } from '../store/results-store.js';
import { changedByResolution, effectiveParams } from '../study/summary.js';
import type { Objective, Param } from '../types.js';
import { fitTable, type FitColumn } from '../util/fit-table.js';
import { fmtNum } from '../util/format.js';
import { verdictLine, type StudySummary } from '../study/summary.js';
import { statusCell } from '../strategies/early-stop.js';

export interface ResultsView {
  objective: Objective;
  /** The experiment's parameters: the table leaves inactive ones blank. */
  params?: Param[];
  /** Each configuration's measured runs (the exports' raw samples). */
  runs?: Map<string, StoredRun[]>;
  /** The table's width (default: the terminal's, or 100). */
  width?: number;
  /** Best against default: the confirmed comparison when one is stored, else the provisional ratio. */
  against?: Pick<StudySummary, 'best' | 'baseline' | 'ratio' | 'comparison'>;
}

/** Best against default for the JSON export, with the same names as `run --json`. */
function againstJson(a: NonNullable<ResultsView['against']>): Record<string, unknown> {
  const c = a.comparison;
  return {
    // The exploration's ratio: provisional (the best of many noisy measurements, the default measured once, early).
    ratio: a.ratio ?? null,
    comparison: c
      ? { best: c.bestConfigId, default: c.defaultConfigId, ratio: c.ratio ?? null, ci: c.ci ?? null, pValue: c.pValue, significant: c.significant, n: c.n, samples: c.samples, stopped: c.stopped, measuredAt: new Date(c.measuredAt).toISOString() }
      : null,
  };
}

/** Best objective first; then failed configurations; then those not measured yet; then duplicates (each group in the order measured). */
export function sortByObjective(rows: ConfigRow[], objective: Objective): ConfigRow[] {
  const group = (r: ConfigRow): number =>
    r.status === 'done' && r.objective !== undefined ? 0 : r.status === 'failed' || r.status === 'done' ? 1 : r.status === 'duplicate' ? 3 : 2;
  const sign = objective.direction === 'maximize' ? -1 : 1;
  return [...rows].sort((a, b) => group(a) - group(b) || (group(a) === 0 ? sign * ((a.objective as number) - (b.objective as number)) : 0) || a.seq - b.seq);
}

/** Each configuration's measured runs. */
export function runsByConfig(store: { runs(experimentId: string): StoredRun[] }, experimentId: string): Map<string, StoredRun[]> {
  const out = new Map<string, StoredRun[]>();
  for (const r of store.runs(experimentId)) {
    const list = out.get(r.configId) ?? [];
    list.push(r);
    out.set(r.configId, list);
  }
  return out;
}

/** A configuration's runs in test and iteration order. */
function inOrder(runs: StoredRun[] | undefined): StoredRun[] {
  return [...(runs ?? [])].sort((a, b) => (a.test < b.test ? -1 : a.test > b.test ? 1 : a.iteration - b.iteration));
}

function placementOf(r: StoredRun): Record<string, unknown> {
  const p = (r.placement ?? {}) as Partial<Placement>;
  return {
    host: r.host,
    cpus: p.cpus ?? [],
    isolation: p.isolation ?? null,
    numa_nodes: p.numaNodes ?? null,
    l3_mask: p.l3Mask ?? null,
    mb_percent: p.mbPercent ?? null,
    cgroup: p.cgroup ?? null,
    cpu_isolation_only: p.cpuIsolationOnly ?? null,
    ...(p.notes && p.notes.length > 0 ? { notes: p.notes } : {}),
  };
}

/** One raw sample as the JSON export gives it. */
function sampleRecord(r: StoredRun): Record<string, unknown> {
  return {
    test: r.test,
    iteration: r.iteration,
    status: r.status,
    ...(r.failure ? { failure: r.failure } : {}),
    metrics: r.metrics,
    duration_ms: r.durationMs,
    // CPU time and peak memory of the run, and where the figures come from (cgroup v1/v2, rusage).
    usage: r.usage ? { cpu_ms: r.usage.cpuMs, peak_memory_bytes: r.usage.peakMemoryBytes ?? null, source: r.usage.source } : null,
    // A run measured again after the configuration finished (confirmation, drift check): not in its aggregate.
    ...(r.extra ? { extra: r.extra } : {}),
    placement: placementOf(r),
  };
}

/**
 * One record per configuration. Parameters are at their effective values (a Kconfig symbol as the
 * tree's resolver left it, null where it left it unset); `requested` holds what was asked where
 * that differs, and `kconfig` what the resolution changed. A duplicate names the configuration
 * measured in its place.
 */
export function resultRecords(rows: ConfigRow[], params: Param[] = []): Record<string, unknown>[] {
  return rows.map((r) => {
    const changed = changedByResolution(r, params);
    const rec: Record<string, unknown> = {
      config_id: r.configId,
      build_id: r.buildId,
      status: r.status,
      default: r.isDefault,
      ...effectiveParams(r, params),
      objective: r.objective ?? null,
    };
    if (r.duplicateOf) rec.duplicate_of = r.duplicateOf;
    if (r.effectiveId) rec.effective_id = r.effectiveId;
    if (changed.length > 0) rec.requested = Object.fromEntries(changed.map((c) => [c.name, c.requested]));
    if (r.resolution) {
      const k = r.resolution;
      rec.kconfig = { overridden: k.overridden, unknown: k.unknown, base_unknown: k.baseUnknown, checked: k.checked };
    }
    for (const [k, s] of Object.entries(r.summary ?? {})) {
      rec[`${k}`] = s.median;
      rec[`${k}.ci_low`] = s.ci[0];
      rec[`${k}.ci_high`] = s.ci[1];
      rec[`${k}.cv`] = s.cv;
      rec[`${k}.n`] = s.n;
    }
    if (r.failure) rec.failure = r.failure;
    if (r.error) rec.error = r.error;
    // Stopped early: after how many iterations, at what p-value against what level, below which best.
    if (r.stopped) {
      rec.stopped_after = r.stopped.after;
      rec.stopped_of = r.stopped.of;
      rec.stopped_p = r.stopped.p;
      rec.stopped_level = r.stopped.level;
      rec.stopped_below = r.stopped.below;
      // Judged at a cheap look: the fidelity variable's value then (stopped_after counts cheap iterations).
      if (r.stopped.fidelity) rec.stopped_fidelity = `${r.stopped.fidelity.env}=${r.stopped.fidelity.value}`;
    }
    return rec;
  });
}

/**
 * The CSV's raw samples, beside each configuration's summary (one row per configuration, as
 * `wayfinder replay` reads it): space-separated lists in one order, sample k of every list being
 * the same run: `samples.test`, `samples.iteration`, `samples.host`, `samples.cpus` (a run's CPUs
 * joined by +), and `samples.<metric>` per metric.
 */
function sampleColumns(runs: StoredRun[]): Record<string, string> {
  const out: Record<string, string> = {
    'samples.test': runs.map((r) => r.test).join(' '),
    'samples.iteration': runs.map((r) => r.iteration).join(' '),
    'samples.host': runs.map((r) => r.host).join(' '),
    'samples.cpus': runs.map((r) => ((r.placement as Partial<Placement> | undefined)?.cpus ?? []).join('+')).join(' '),
  };
  const metrics = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))];
  // A run that failed has no value: "NA", so positions stay aligned.
  for (const m of metrics) out[`samples.${m}`] = runs.map((r) => (r.metrics[m] === undefined ? 'NA' : String(r.metrics[m]))).join(' ');
  return out;
}

export function renderResults(exp: Pick<ExperimentRow, 'id' | 'name'>, rows: ConfigRow[], format: string, view: ResultsView): string {
  const metric = view.objective.metric;
  const sorted = sortByObjective(rows, view.objective);
  const records = resultRecords(sorted, view.params ?? []);
  if (format === 'json') {
    if (view.runs) records.forEach((rec, i) => (rec.runs = inOrder(view.runs?.get((sorted[i] as ConfigRow).configId)).map(sampleRecord)));
    // Counts of the rows shown: stopped early apart from failed (broken).
    const { done, failed, stopped, running, duplicates } = countOutcomes(rows);
    return `${JSON.stringify({ experiment: exp.id, name: exp.name, objective: metric, direction: view.objective.direction, ...(view.against ? againstJson(view.against) : {}), counts: { done, failed, stopped, running, duplicates }, configurations: records }, null, 2)}\n`;
  }
  if (format === 'csv') {
    if (view.runs) records.forEach((rec, i) => Object.assign(rec, sampleColumns(inOrder(view.runs?.get((sorted[i] as ConfigRow).configId)))));
    const columns: string[] = [];
    for (const rec of records) for (const k of Object.keys(rec)) if (!columns.includes(k)) columns.push(k);
    const esc = (v: unknown): string => {
      const s = v === null || v === undefined ? '' : String(v);
      return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    };
    return `${[columns.join(','), ...records.map((rec) => columns.map((c) => esc(rec[c])).join(','))].join('\n')}\n`;
  }
  return resultsTable(exp, sorted, view);
}

function resultsTable(exp: Pick<ExperimentRow, 'id' | 'name'>, rows: ConfigRow[], view: ResultsView): string {
  const metric = view.objective.metric;
  const width = view.width ?? (process.stdout.columns || 100);
  const space = view.params ? new Space(view.params) : undefined;
  let params = rows[0] ? Object.keys(rows[0].params) : [];
  // Effective values (what the build had), each changed one with what was asked.
  const cell = (r: ConfigRow, p: string): string => {
    const eff = effectiveParams(r, view.params ?? [])[p];
    const v = eff === null ? 'unset' : String(eff);
    return eff !== r.params[p] ? `${v} (asked ${String(r.params[p])})` : v;
  };
  const shown = (r: ConfigRow, p: string): string => (space && view.params?.some((x) => x.name === p) && !space.isActive(p, r.params) ? '' : cell(r, p));
  // A parameter with one value in every row says nothing per row: said once above the table.
  const same = rows.length > 1 ? params.filter((p) => rows.every((r) => shown(r, p) === shown(rows[0] as ConfigRow, p))) : [];
  params = params.filter((p) => !same.includes(p));
  let ofMean = false;
  // Only worth a column when some configuration is not simply done.
  const status = rows.some((r) => r.status !== 'done');
  const body = rows.map((r) => {
    const s = r.summary?.[metric];
    const interval = s && s.n > 1 && s.ci[0] !== s.ci[1];
    if (interval && s.ciMethod === 'student-t') ofMean = true;
    return [
      `${r.configId.slice(0, 8)}${r.isDefault ? '*' : ''}`,
      ...(status ? [r.status === 'duplicate' ? `= ${(r.duplicateOf ?? '').slice(0, 8)}` : statusCell(r)] : []),
      ...params.map((p) => shown(r, p)),
      fmtNum(r.objective),
      interval ? `${fmtNum(s.ci[0])}–${fmtNum(s.ci[1])}${s.ciMethod === 'student-t' ? '†' : ''}` : '',
      s ? `${(s.cv * 100).toFixed(1)}%` : '',
      s ? String(s.n) : '',
    ];
  });
  const columns: FitColumn[] = [
    { header: 'config' },
    ...(status ? [{ header: 'status' }] : []),
    ...params.map((p) => ({ header: p, shrink: true })),
    { header: `${metric} (median)`, align: 'right' },
    { header: '95% CI', align: 'right' },
    { header: 'CV', align: 'right' },
    { header: 'n', align: 'right' },
  ];
  const lines = wrap(`${exp.id}: ${rows.length} configurations (* = default), best ${metric} first (${view.objective.direction === 'maximize' ? 'higher' : 'lower'} is better)`, width);
  if (same.length > 0) lines.push(...wrap(`the same in every row: ${same.map((p) => `${p}=${shown(rows[0] as ConfigRow, p) || '(inactive)'}`).join(' ')}`, width));
  lines.push(fitTable(columns, body, width));
  if (view.params?.some((p) => p.if)) lines.push('a blank parameter is inactive (its condition is false)');
  if (rows.some((r) => r.resolution)) lines.push("Kconfig parameters are shown as the tree's resolver left them; (asked X): what was asked");
  if (rows.some((r) => r.status === 'duplicate')) lines.push('= C: a duplicate, resolved to the effective configuration of C, which was measured in its place');
  if (ofMean) lines.push('† interval of the mean: too few runs for one of the median');
  if (status) lines.push(countsLine(countOutcomes(rows)));
  const verdict = view.against && verdictLine(view.against, view.objective);
  if (verdict) lines.push(...wrap(verdict, width));
  return `${lines.join('\n')}\n`;
}

/** "5 measured, 2 failed, 3 stopped early (below the best)": stopped early is not failed. */
function countsLine(c: OutcomeCounts): string {
  const parts = [`${c.done} measured`, `${c.failed} failed`];
  if (c.stopped) parts.push(`${c.stopped} stopped early (below the best)`);
  if (c.running) parts.push(`${c.running} running`);
  if (c.duplicates) parts.push(`${c.duplicates} duplicates`);
  return parts.join(', ');
}

/** Words in lines of at most `width` characters, continuation lines indented. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = `  ${word}`;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}
