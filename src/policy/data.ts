// Measurements arranged for learning a workload policy: the knobs (system parameters) against the
// workload points (values of the workload dimensions), one objective value per measured pair.
// Built from a recorded table or from an experiment's configurations; everything after works on
// this shape alone.

import { InputError, type Config, type Value } from '../types.js';
import { UsageError } from '../errors.js';

export interface Knob {
  name: string;
  /** Distinct measured values, numbers sorted ascending. */
  values: Value[];
}

export interface WorkloadData {
  objective: string;
  minimize: boolean;
  knobs: Knob[];
  /** Workload dimensions: the features a policy decides on (numeric). */
  features: string[];
  /** Distinct workload points, each a value per feature; sorted. */
  points: number[][];
  /** Distinct knob configurations, in the order first measured. */
  configs: Config[];
  /**
   * value[c][p]: the objective of configuration c at point p; null when it failed, undefined when
   * that pair was not measured.
   */
  value: (number | null | undefined)[][];
  notes: string[];
  source: { kind: 'table'; file: string } | { kind: 'experiment'; id: string; name: string };
}

export interface MeasuredRow {
  /** Knobs and workload dimensions together. */
  params: Config;
  /** undefined: failed. */
  value: number | undefined;
  /** Where the row came from, for errors: "file:line" or a configuration id. */
  where: string;
}

export interface BuildOptions {
  objective: string;
  minimize: boolean;
  knobs: string[];
  features: string[];
  rows: MeasuredRow[];
  notes?: string[];
  source: WorkloadData['source'];
  /** The flag that named the features, for errors. */
  featureFlag?: string;
}

export function buildWorkloadData(o: BuildOptions): WorkloadData {
  const flag = o.featureFlag ?? '--workload';
  if (o.features.length === 0) throw new UsageError(`${flag}: name at least one workload dimension`);
  if (o.knobs.length === 0) throw new UsageError('no knob left to choose: every parameter is a workload dimension');
  for (const f of o.features) {
    const bad = o.rows.find((r) => typeof r.params[f] !== 'number' || !Number.isFinite(r.params[f]));
    if (bad) {
      throw new UsageError(`${flag}: workload dimension "${f}" has the value ${JSON.stringify(bad.params[f] ?? null)} at ${bad.where}; a policy splits on numbers only`);
    }
  }
  const notes = [...(o.notes ?? [])];
  const features = o.features.filter((f) => {
    if (new Set(o.rows.map((r) => r.params[f])).size >= 2) return true;
    notes.push(`workload dimension ${f} has a single measured value (${String(o.rows[0]?.params[f])}): left out of the policy`);
    return false;
  });
  if (features.length === 0) throw new UsageError(`${flag}: no workload dimension has two measured values: nothing to adapt to`);
  const knobs: Knob[] = [];
  for (const name of o.knobs) {
    const values = distinct(o.rows.map((r) => r.params[name]).filter((v): v is Value => v !== undefined));
    if (values.length < 2) notes.push(`knob ${name} has a single measured value (${String(values[0])}): it is part of every configuration, never chosen`);
    knobs.push({ name, values });
  }

  const pointKey = (r: MeasuredRow): string => JSON.stringify(features.map((f) => r.params[f]));
  const configKey = (r: MeasuredRow): string => JSON.stringify(o.knobs.map((k) => r.params[k] ?? null));
  const pointIndex = new Map<string, number>();
  const points = distinctPoints(o.rows.map((r) => features.map((f) => r.params[f] as number)));
  points.forEach((p, i) => pointIndex.set(JSON.stringify(p), i));
  const configIndex = new Map<string, number>();
  const configs: Config[] = [];
  const value: (number | null | undefined)[][] = [];
  const seenAt: (string | undefined)[][] = [];
  for (const r of o.rows) {
    const ck = configKey(r);
    let c = configIndex.get(ck);
    if (c === undefined) {
      c = configs.length;
      configIndex.set(ck, c);
      configs.push(Object.fromEntries(o.knobs.map((k) => [k, r.params[k]!])));
      value.push(new Array<number | null | undefined>(points.length).fill(undefined));
      seenAt.push(new Array<string | undefined>(points.length).fill(undefined));
    }
    const p = pointIndex.get(pointKey(r))!;
    const before = seenAt[c]![p];
    if (before !== undefined) {
      const what = [...o.knobs, ...features].map((k) => `${k}=${String(r.params[k])}`).join(', ');
      throw new UsageError(`${r.where} and ${before} are both ${what}: aggregate repeated measurements into one, or name every parameter that tells them apart with --params`);
    }
    seenAt[c]![p] = r.where;
    value[c]![p] = r.value === undefined || !Number.isFinite(r.value) ? null : r.value;
  }
  if (!value.some((row) => row.some((v) => typeof v === 'number'))) throw new InputError('every measured configuration failed: nothing to learn from');
  const measured = value.reduce((s, row) => s + row.filter((v) => v !== undefined).length, 0);
  if (measured < 0.5 * configs.length * points.length) {
    // A search that sampled configurations and workload values together measured most configurations
    // at one workload point: choices then rest on few comparisons.
    notes.push(
      `each configuration was measured at ${(measured / configs.length).toFixed(1)} of ${points.length} workload points on average: ` +
        'a configuration counts as failed where it was not measured when choosing; measure every configuration at every workload value (a grid over the workload) for a sounder policy',
    );
  }
  return { objective: o.objective, minimize: o.minimize, knobs, features, points, configs, value, notes, source: o.source };
}

function distinct(values: Value[]): Value[] {
  const out = [...new Set(values)];
  if (out.every((v) => typeof v === 'number')) (out as number[]).sort((a, b) => a - b);
  return out;
}

function distinctPoints(points: number[][]): number[][] {
  const seen = new Map<string, number[]>();
  for (const p of points) seen.set(JSON.stringify(p), p);
  return [...seen.values()].sort((a, b) => {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return 0;
  });
}

/** "F=v, G=w" for a workload point. */
export function pointLabel(data: WorkloadData, p: number): string {
  return data.features.map((f, i) => `${f}=${data.points[p]![i]}`).join(', ');
}
