// Warm start: the measurements of earlier experiments in the same results store that the
// experiment names (exploration.warm_start), as the strategy's prior (StrategyOptions.prior).

import { parseExperiment, SourceDoc } from '../spec/index.js';
import type { PriorExperiment } from '../strategies/prior.js';
import type { ResultsStore } from '../store/results-store.js';
import { InputError, type Experiment, type Observation, type SourceLoc } from '../types.js';

/** An earlier experiment a warm start read: its name, id and how many configurations it gave. */
export interface WarmStartSource {
  ref: string;
  experimentId: string;
  name: string;
  measured: number;
}

/** The sources as run, plan and the daemon's log name them: "name (id, n configurations), ...". */
export function describeWarmStart(sources: readonly Omit<WarmStartSource, 'ref'>[]): string {
  return sources.map((s) => `${s.name} (${s.experimentId}, ${s.measured} configurations)`).join(', ');
}

/**
 * The named experiments' finished configurations (failed ones too; not those a worker's trouble ended). A name that is not in the store, or that is this
 * experiment, is the experiment file's error: it points at the name in the file. No store (null:
 * a work directory where nothing has run yet, read by `wayfinder plan`) holds no name.
 */
export function warmStartPrior(store: ResultsStore | null, exp: Experiment, selfId: string): { ref: string; experimentId: string; name: string; prior: PriorExperiment }[] {
  const rows = resolveWarmStart(exp, selfId, (ref) => store?.findExperiment(ref), {
    where: 'in the results store',
    hint: 'name an experiment run before in the same work directory (`wayfinder experiments` lists them)',
  });
  return rows.map(({ ref, found: row }, i) => {
    let direction: 'maximize' | 'minimize';
    try {
      direction = parseExperiment(row.text, row.file).objective.direction;
    } catch {
      throw new InputError(`exploration.warm_start: the stored file of experiment ${JSON.stringify(ref)} no longer loads, so its objective's direction is unknown`, where(exp, i));
    }
    const observations: Observation[] = [];
    // A store found every name (resolveWarmStart throws otherwise).
    for (const c of store!.configurations(row.id)) {
      if (c.status === 'done' && c.objective !== undefined) observations.push({ config: c.params, configId: c.configId, status: 'ok', value: c.objective });
      else if (c.status === 'failed' && c.failure !== 'infra') observations.push({ config: c.params, configId: c.configId, status: 'failed', ...(c.failure ? { failure: c.failure } : {}) });
    }
    return { ref, experimentId: row.id, name: row.name, prior: { direction, observations } };
  });
}

/**
 * What each warm-start name stands for, in the file's order: `find` gives it (with its experiment
 * id) or undefined. An unknown name, or one that is this experiment, is the experiment file's error
 * at the name; `look` says where names were looked for (run: the results store; the daemon, at
 * submission: the store and the experiments submitted before) and what to do.
 */
export function resolveWarmStart<T extends { id: string }>(
  exp: Experiment,
  selfId: string,
  find: (ref: string) => T | undefined,
  look: { where: string; hint: string },
): { ref: string; found: T }[] {
  return (exp.exploration.warmStart ?? []).map((ref, i) => {
    const found = find(ref);
    if (found === undefined) throw new InputError(`exploration.warm_start: no experiment named ${JSON.stringify(ref)} ${look.where}`, where(exp, i), look.hint);
    if (found.id === selfId) throw new InputError(`exploration.warm_start: ${JSON.stringify(ref)} is this experiment itself`, where(exp, i));
    return { ref, found };
  });
}

/** Where the i-th warm-start name stands in the experiment's file (read again: only on this error). */
function where(exp: Experiment, i: number): SourceLoc {
  return SourceDoc.parse(exp.text, exp.file).loc(['exploration', 'warm_start', i]);
}
