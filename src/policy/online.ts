// Continuous learning (docs/control.md, "Learning from what the controller saw"): the observations
// `wayfinder control` stored (each period's signals, the knobs in force, the objective) joined to the
// offline measurements, so that `learn --online` trains on both; and a drift warning where what
// the controller saw online disagrees with what the offline data says of the same configuration at
// the same workload.
//
// Each observation's workload features are put on the offline data's grid (the nearest measured
// value of each feature, when inside the measured range; outside it, the value itself to 3
// significant digits, a new workload point), and the observations of one configuration at one point
// become one measurement: their median. Where the offline data measured the same pair, the online
// median replaces it (it is what this machine does under this workload now), and the two are
// compared for drift.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ControlSessionRow, Store } from '../store/store.js';
import type { Config, Value } from '../types.js';
import { UsageError } from '../errors.js';
import { buildWorkloadData, type MeasuredRow, type WorkloadData } from './data.js';
import type { Policy } from './policy.js';
import { workloadFromExperiment, workloadFromTable } from './sources.js';

export interface DriftWarning {
  point: Record<string, number>;
  params: Config;
  offline: number;
  online: { median: number; n: number; low: number; high: number };
  /** |online median - offline| as a share of |offline|. */
  change: number;
}

export interface OnlineJoin {
  data: WorkloadData;
  sessions: number[];
  observations: number;
  drift: DriftWarning[];
}

export interface OnlineOptions {
  /** Session ids; default every session whose objective, features and knobs fit the data. */
  sessions?: number[];
  /** Least observations of a pair before it counts (and before it can warn of drift). */
  minObservations?: number;
  /** A drift warning needs the online median this far (share of the offline value) from it. */
  driftTolerance?: number;
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]!;

function snap(v: number, grid: number[]): number {
  if (grid.length && v >= grid[0]! && v <= grid[grid.length - 1]!) return grid.reduce((best, g) => (Math.abs(g - v) < Math.abs(best - v) ? g : best));
  return Number(v.toPrecision(3));
}

export function joinOnline(store: Store, offline: WorkloadData, o: OnlineOptions = {}): OnlineJoin {
  const minN = o.minObservations ?? 3;
  const tolerance = o.driftTolerance ?? 0.1;
  const knobNames = offline.knobs.map((k) => k.name);
  const all = store.controlSessions();
  const fits = (s: ControlSessionRow): string | undefined => {
    if (s.objective !== offline.objective) return `its objective is ${s.objective ?? 'not named'}, not ${offline.objective}`;
    const f = offline.features.find((x) => !s.features.includes(x));
    if (f) return `it did not decide on ${f}`;
    const k = knobNames.find((x) => !s.knobs.includes(x));
    if (k) return `it did not set ${k}`;
    return undefined;
  };
  let chosen: ControlSessionRow[];
  if (o.sessions) {
    chosen = o.sessions.map((id) => {
      const s = all.find((x) => x.id === id);
      if (!s) throw new UsageError(`--online: no controller session ${id} in the work directory (sessions: ${all.map((x) => x.id).join(', ') || 'none'})`);
      const why = fits(s);
      if (why) throw new UsageError(`--online: session ${id} does not fit the data: ${why}`);
      return s;
    });
  } else chosen = all.filter((s) => fits(s) === undefined);
  if (chosen.length === 0) throw new UsageError(`--online: no controller session in the work directory measured ${offline.objective} while setting ${knobNames.join(', ')} on ${offline.features.join(', ')}`);

  const grids = offline.features.map((_, i) => [...new Set(offline.points.map((p) => p[i]!))].sort((a, b) => a - b));
  const groups = new Map<string, { point: number[]; params: Config; values: number[] }>();
  let observations = 0;
  for (const s of chosen) {
    for (const ob of store.controlObservations(s.id)) {
      if (ob.objective === undefined) continue;
      const x = offline.features.map((f) => ob.signals[f]);
      if (x.some((v) => v === null || v === undefined || !Number.isFinite(v))) continue;
      const params: Config = {};
      for (const k of knobNames) params[k] = ob.knobs[k] as Value;
      if (knobNames.some((k) => params[k] === undefined)) continue;
      const point = x.map((v, i) => snap(v as number, grids[i]!));
      const key = JSON.stringify([point, knobNames.map((k) => params[k])]);
      const g = groups.get(key) ?? { point, params, values: [] };
      g.values.push(ob.objective);
      groups.set(key, g);
      observations++;
    }
  }

  const rows = new Map<string, MeasuredRow>();
  const rowKey = (point: number[], params: Config): string => JSON.stringify([point, knobNames.map((k) => params[k] ?? null)]);
  offline.configs.forEach((c, ci) =>
    offline.points.forEach((p, pi) => {
      const v = offline.value[ci]![pi];
      if (v === undefined) return;
      const params: Config = { ...c, ...Object.fromEntries(offline.features.map((f, i) => [f, p[i]!])) };
      rows.set(rowKey(p, c), { params, value: v === null ? undefined : v, where: `offline configuration ${ci + 1} at point ${pi + 1}` });
    }),
  );
  const drift: DriftWarning[] = [];
  let replaced = 0;
  let added = 0;
  for (const g of groups.values()) {
    if (g.values.length < minN) continue;
    const sorted = [...g.values].sort((a, b) => a - b);
    const median = quantile(sorted, 0.5);
    const k = rowKey(g.point, g.params);
    const before = rows.get(k);
    if (before) {
      replaced++;
      const off = before.value;
      const low = quantile(sorted, 0.1);
      const high = quantile(sorted, 0.9);
      const change = off === undefined ? Infinity : Math.abs(median - off) / Math.abs(off || 1);
      // The offline value outside the online values' 10-90% range and far from their median.
      if (off !== undefined && (off < low || off > high) && change > tolerance) {
        drift.push({ point: Object.fromEntries(offline.features.map((f, i) => [f, g.point[i]!])), params: g.params, offline: off, online: { median, n: sorted.length, low, high }, change });
      }
    } else added++;
    rows.set(k, { params: { ...g.params, ...Object.fromEntries(offline.features.map((f, i) => [f, g.point[i]!])) }, value: median, where: `online median of ${sorted.length} periods (sessions ${chosen.map((s) => s.id).join(', ')})` });
  }
  const data = buildWorkloadData({
    objective: offline.objective,
    minimize: offline.minimize,
    knobs: knobNames,
    features: offline.features,
    rows: [...rows.values()],
    notes: [
      ...offline.notes,
      `online: ${observations} observations of controller sessions ${chosen.map((s) => s.id).join(', ')}: ${replaced} measured pairs replaced by their online median, ${added} pairs added`,
    ],
    source: offline.source,
  });
  return { data, sessions: chosen.map((s) => s.id), observations, drift };
}

export function driftText(d: DriftWarning, objective: string): string {
  const at = Object.entries(d.point).map(([k, v]) => `${k}=${v}`).join(', ');
  const cfg = Object.entries(d.params).map(([k, v]) => `${k}=${String(v)}`).join(' ');
  return `drift: at ${at}, ${cfg} measured ${objective} ${d.offline} offline but ${d.online.median} online (median of ${d.online.n} periods, 10-90%: ${d.online.low}-${d.online.high}; ${(d.change * 100).toFixed(0)}% away): the model no longer describes this machine there`;
}

/**
 * The offline data a policy was learned from, read again for a drift check: its table (the path as
 * learn was given it, from the working directory or beside the policy file) or its experiment in the
 * store. Undefined (and why) when it cannot be found.
 */
export function offlineDataOf(p: Policy, policyFile: string, store: Store): { data?: WorkloadData; why?: string } {
  const knobs = p.knobs.map((k) => k.name);
  const workload = p.features.map((f) => f.name);
  try {
    if (p.source.kind === 'experiment') {
      const exp = store.getExperiment(p.source.id);
      if (!exp) return { why: `its experiment ${p.source.name} (${p.source.id}) is not in this work directory` };
      return { data: workloadFromExperiment(store, exp, { knobs, workload }) };
    }
    const file = [resolve(p.source.file), resolve(dirname(policyFile), p.source.file)].find((f) => existsSync(f));
    if (!file) return { why: `its table ${p.source.file} is not found` };
    return {
      data: workloadFromTable({ csv: readFileSync(file, 'utf8'), file, objective: p.objective.name, ...(p.objective.direction === 'minimize' ? { minimize: true } : {}), knobs, workload }),
    };
  } catch (e) {
    return { why: (e as Error).message };
  }
}

/** Drift of one controller session against the data its policy was learned from. */
export function sessionDrift(p: Policy, policyFile: string, store: Store, session: number): { drift: DriftWarning[]; why?: string } {
  const off = offlineDataOf(p, policyFile, store);
  if (!off.data) return { drift: [], why: off.why! };
  try {
    return { drift: joinOnline(store, off.data, { sessions: [session] }).drift };
  } catch (e) {
    return { drift: [], why: (e as Error).message };
  }
}
