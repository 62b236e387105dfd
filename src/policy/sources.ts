// Where the measurements come from: a recorded table (CSV, as `wayfinder results --format csv`
// writes or any table with a column per parameter), or an experiment in the results database.

import { parseExperiment } from '../spec/index.js';
import type { ExperimentRow, Store } from '../store/store.js';
import { loadTable } from '../strategies/replay.js';
import { UsageError } from '../errors.js';
import { buildWorkloadData, type WorkloadData } from './data.js';

export interface TableSource {
  csv: string;
  file: string;
  objective: string;
  minimize?: boolean;
  failure?: number;
  /** Knob columns; default every parameter column that is not a workload dimension. */
  knobs?: string[];
  workload: string[];
}

export function workloadFromTable(s: TableSource): WorkloadData {
  for (const w of s.workload) if (s.knobs?.includes(w)) throw new UsageError(`--params: "${w}" is a workload dimension (--workload); it cannot also be a knob`);
  const table = loadTable(
    s.csv,
    {
      objective: s.objective,
      ...(s.knobs ? { params: [...s.knobs, ...s.workload] } : {}),
      ...(s.minimize ? { minimize: true } : {}),
      ...(s.failure !== undefined ? { failure: s.failure } : {}),
    },
    s.file,
  );
  const names = table.params.map((p) => p.name);
  for (const w of s.workload) {
    if (!names.includes(w)) throw new UsageError(`--workload: "${w}" is not a parameter column of ${s.file} (parameter columns: ${names.join(', ')})`);
  }
  return buildWorkloadData({
    objective: s.objective,
    minimize: table.minimize,
    knobs: names.filter((n) => !s.workload.includes(n)),
    features: s.workload,
    rows: table.rows.map((params, k) => ({ params, value: table.values[k], where: `${s.file} data row ${k + 1}` })),
    notes: table.notes,
    source: { kind: 'table', file: s.file },
  });
}

export interface ExperimentSource {
  /** Knobs; default every parameter that is not a workload dimension. */
  knobs?: string[];
  /** Workload dimensions; default the experiment's `workload:` parameters. */
  workload?: string[];
}

export function workloadFromExperiment(store: Store, exp: ExperimentRow, s: ExperimentSource = {}): WorkloadData {
  const spec = parseExperiment(exp.text, exp.file);
  const names = spec.params.map((p) => p.name);
  const workload = s.workload ?? spec.params.filter((p) => p.workload).map((p) => p.name);
  if (workload.length === 0) throw new UsageError(`--workload: experiment ${exp.name} declares no workload dimension; name the parameters that describe the workload`);
  for (const w of workload) if (!names.includes(w)) throw new UsageError(`--workload: "${w}" is not a parameter of experiment ${exp.name} (parameters: ${names.join(', ')})`);
  const knobs = s.knobs ?? names.filter((n) => !workload.includes(n));
  for (const k of knobs) {
    if (!names.includes(k)) throw new UsageError(`--params: "${k}" is not a parameter of experiment ${exp.name} (parameters: ${names.join(', ')})`);
    if (workload.includes(k)) throw new UsageError(`--params: "${k}" is a workload dimension; it cannot also be a knob`);
  }
  const rows = store.configurations(exp.id).filter((r) => r.status === 'done' || r.status === 'failed');
  if (rows.length === 0) throw new UsageError(`experiment ${exp.name} has no measured configuration yet`);
  const running = store.countConfigurations(exp.id, 'running');
  return buildWorkloadData({
    objective: spec.objective.metric,
    minimize: spec.objective.direction === 'minimize',
    knobs,
    features: workload,
    rows: rows.map((r) => ({ params: r.params, value: r.status === 'done' ? r.objective : undefined, where: `configuration ${r.configId}` })),
    notes: running > 0 ? [`${running} configurations still running are left out`] : [],
    source: { kind: 'experiment', id: exp.id, name: exp.name },
  });
}
