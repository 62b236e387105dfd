// The end of `wayfinder run` for an experiment with workload dimensions: a best configuration per
// workload point, not one across them (a lighter workload is not a better configuration), and
// what the best single static configuration loses at each point. The figures are `wayfinder
// learn`'s and the report's "By workload" section's (src/policy/learn.ts), so the three agree.

import type { ConfigRow, Store } from '../store/store.js';
import { byWorkload } from '../report/workload.js';
import { pct } from '../policy/text.js';
import { defaultConfig } from '../generator/index.js';
import type { Config, Experiment } from '../types.js';
import { fmtConfig, fmtNum, table } from '../util/format.js';

export interface WorkloadPointSummary {
  point: Record<string, number>;
  /** The best measured there (absent: every configuration failed there). */
  best?: { params: Config; value: number };
  /** The default configuration's knobs there: its value, null when it failed, absent when not measured. */
  default?: number | null;
  /** The best static configuration there, and its regret (share below the point's best). */
  static: { value?: number | null; regret?: number };
}

export interface WorkloadSummary {
  features: string[];
  knobs: string[];
  perPoint: WorkloadPointSummary[];
  /** The configuration with the least total regret over every point, its mean and worst regret. */
  static: { params: Config; mean: number; max: number };
}

/** The per-workload summary, a note saying why there is none yet, or undefined without workload dimensions. */
export function workloadSummary(store: Store, experimentId: string, exp: Pick<Experiment, 'params'>): { byWorkload: WorkloadSummary } | { note: string } | undefined {
  if (!exp.params.some((p) => p.workload)) return undefined;
  const row = store.findExperiment(experimentId);
  if (!row) return { note: `experiment ${experimentId} is not in the store` };
  const r = byWorkload(store, row, true);
  if ('byWorkloadNote' in r) return { note: r.byWorkloadNote };
  if (!('byWorkload' in r)) return undefined;
  const w = r.byWorkload;
  const knobs = w.knobs;
  const defaults = defaultConfig(exp.params);
  const done = store.configurations(experimentId).filter((c) => c.status === 'done' || c.status === 'failed');
  const at = (point: Record<string, number>): ConfigRow | undefined =>
    done.find((c) => knobs.every((k) => c.params[k] === defaults[k]) && w.features.every((f) => Number(c.params[f]) === point[f]));
  return {
    byWorkload: {
      features: w.features,
      knobs,
      static: { params: pick(w.static.params, knobs), mean: w.static.mean, max: w.static.max },
      perPoint: w.perPoint.map((p) => {
        const d = at(p.point);
        return {
          point: p.point,
          ...(p.best ? { best: { params: pick(p.best.params, knobs), value: p.best.value } } : {}),
          ...(d ? { default: d.status === 'done' ? (d.objective ?? null) : null } : {}),
          static: p.static,
        };
      }),
    },
  };
}

function pick(c: Config, names: string[]): Config {
  return Object.fromEntries(names.filter((n) => n in c).map((n) => [n, c[n]!]));
}

const value = (v: number | null | undefined, missing: string): string => (v === undefined ? missing : v === null ? 'failed' : fmtNum(v));

export function describeWorkloads(s: { byWorkload: WorkloadSummary } | { note: string }, metric: string): string {
  if ('note' in s) return `By workload: nothing to compare yet (${s.note}).\n`;
  const w = s.byWorkload;
  const lines = [`By workload point (${w.features.join(', ')}): the best configuration measured at each, the default's and the best static configuration's value there`];
  lines.push(
    table([
      [...w.features, 'best configuration', metric, 'default', 'static', 'static loss'],
      ...w.perPoint.map((p) => [
        ...w.features.map((f) => String(p.point[f])),
        p.best ? fmtConfig(p.best.params) : 'every configuration failed',
        p.best ? fmtNum(p.best.value) : '-',
        value(p.default, 'not measured'),
        value(p.static.value, 'not measured'),
        pct(p.static.regret),
      ]),
    ])
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
  );
  lines.push(
    `Best static configuration ${fmtConfig(w.static.params)}: loses ${pct(w.static.mean)} on average and ${pct(w.static.max)} at worst against each point's best ` +
      '(the value of adapting; `wayfinder learn` says which knobs must follow the workload and writes a policy).',
  );
  return `${lines.join('\n')}\n`;
}
