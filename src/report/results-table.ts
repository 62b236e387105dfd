// One row per configuration with its parameters and aggregated metrics, as a terminal table, CSV
// or JSON: what `wayfinder results` prints and the daemon's API serves.

import type { Placement } from '../wire.js';
import type { ConfigRow, ExperimentRow, Store } from '../store/store.js';
import { fmtNum, table } from '../util/format.js';

export function resultRecords(rows: ConfigRow[]): Record<string, unknown>[] {
  return rows.map((r) => {
    const rec: Record<string, unknown> = {
      config_id: r.configId,
      build_id: r.buildId,
      status: r.status,
      default: r.isDefault,
      ...Object.fromEntries(Object.entries(r.params)),
      objective: r.objective ?? null,
    };
    for (const [k, s] of Object.entries(r.summary ?? {})) {
      rec[`${k}`] = s.median;
      rec[`${k}.ci_low`] = s.ci[0];
      rec[`${k}.ci_high`] = s.ci[1];
      rec[`${k}.cv`] = s.cv;
      rec[`${k}.n`] = s.n;
    }
    if (r.failure) rec.failure = r.failure;
    if (r.error) rec.error = r.error;
    return rec;
  });
}

/** Each configuration's measured runs with where and how isolated they ran, for the JSON output. */
export function runsByConfig(store: Store, experimentId: string): Map<string, Record<string, unknown>[]> {
  const out = new Map<string, Record<string, unknown>[]>();
  for (const r of store.runs(experimentId)) {
    const p = (r.placement ?? {}) as Partial<Placement>;
    const list = out.get(r.configId) ?? [];
    list.push({
      test: r.test,
      iteration: r.iteration,
      status: r.status,
      duration_ms: r.durationMs,
      usage: r.usage ? { cpu_ms: r.usage.cpuMs, peak_memory_bytes: r.usage.peakMemoryBytes ?? null, source: r.usage.source } : null,
      placement: {
        host: r.host,
        cpus: p.cpus ?? [],
        isolation: p.isolation ?? null,
        numa_nodes: p.numaNodes ?? null,
        l3_mask: p.l3Mask ?? null,
        mb_percent: p.mbPercent ?? null,
        cgroup: p.cgroup ?? null,
        cpu_isolation_only: p.cpuIsolationOnly ?? null,
        ...(p.notes && p.notes.length > 0 ? { notes: p.notes } : {}),
      },
    });
    out.set(r.configId, list);
  }
  return out;
}

export function renderResults(exp: ExperimentRow, rows: ConfigRow[], format: string, metric: string, runs?: Map<string, Record<string, unknown>[]>): string {
  const records = resultRecords(rows);
  if (runs) records.forEach((rec, i) => (rec.runs = runs.get((rows[i] as ConfigRow).configId) ?? []));
  if (format === 'json') return `${JSON.stringify({ experiment: exp.id, name: exp.name, objective: metric, configurations: records }, null, 2)}\n`;
  const columns: string[] = [];
  for (const rec of records) for (const k of Object.keys(rec)) if (!columns.includes(k)) columns.push(k);
  if (format === 'csv') {
    const esc = (v: unknown): string => {
      const s = v === null || v === undefined ? '' : String(v);
      return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    };
    return `${[columns.join(','), ...records.map((rec) => columns.map((c) => esc(rec[c])).join(','))].join('\n')}\n`;
  }
  const params = rows[0] ? Object.keys(rows[0].params) : [];
  const head = ['config', 'status', ...params, metric, '95% CI', 'CV'];
  const body = rows.map((r) => {
    const s = r.summary?.[metric];
    return [
      `${r.configId.slice(0, 8)}${r.isDefault ? '*' : ''}`,
      r.status === 'failed' ? `failed:${r.failure ?? ''}` : r.status,
      ...params.map((p) => String(r.params[p])),
      fmtNum(r.objective),
      s ? `${fmtNum(s.ci[0])}–${fmtNum(s.ci[1])}` : '',
      s ? `${(s.cv * 100).toFixed(1)}%` : '',
    ];
  });
  return `${exp.id}: ${rows.length} configurations (* = default)\n${table([head, ...body])}\n`;
}
