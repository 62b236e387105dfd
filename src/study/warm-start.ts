// Warm start: the measurements of earlier experiments in the same results store that the
// experiment names (exploration.warm_start), as the strategy's prior (StrategyOptions.prior).

import { parseExperiment } from '../spec/index.js';
import type { PriorExperiment } from '../strategies/prior.js';
import type { ResultsStore } from '../store/results-store.js';
import { InputError, type Experiment, type Observation, type SourceLoc } from '../types.js';

/**
 * The named experiments' finished configurations (failed ones too; not those a worker's trouble ended). A name that is not in the store, or that is this
 * experiment, is the experiment file's error: it points at the name in the file.
 */
export function warmStartPrior(store: ResultsStore, exp: Experiment, selfId: string): { ref: string; experimentId: string; name: string; prior: PriorExperiment }[] {
  const out: { ref: string; experimentId: string; name: string; prior: PriorExperiment }[] = [];
  for (const ref of exp.exploration.warmStart ?? []) {
    const row = store.findExperiment(ref);
    if (!row) {
      throw new InputError(`exploration.warm_start: no experiment named ${JSON.stringify(ref)} in the results store`, where(exp, ref), 'name an experiment run before with the same store (see `wayfinder list`)');
    }
    if (row.id === selfId) throw new InputError(`exploration.warm_start: ${JSON.stringify(ref)} is this experiment itself`, where(exp, ref));
    let direction: 'maximize' | 'minimize';
    try {
      direction = parseExperiment(row.text, row.file).objective.direction;
    } catch {
      throw new InputError(`exploration.warm_start: the stored file of experiment ${JSON.stringify(ref)} no longer loads, so its objective's direction is unknown`, where(exp, ref));
    }
    const observations: Observation[] = [];
    for (const c of store.configurations(row.id)) {
      if (c.status === 'done' && c.objective !== undefined) observations.push({ config: c.params, configId: c.configId, status: 'ok', value: c.objective });
      else if (c.status === 'failed' && c.failure !== 'infra') observations.push({ config: c.params, configId: c.configId, status: 'failed', ...(c.failure ? { failure: c.failure } : {}) });
    }
    out.push({ ref, experimentId: row.id, name: row.name, prior: { direction, observations } });
  }
  return out;
}

/** Where a warm-start name stands in the experiment's text: the first line after `warm_start` that holds it. */
function where(exp: Experiment, ref: string): SourceLoc {
  const lines = exp.text.split('\n');
  const from = lines.findIndex((l) => /\bwarm_start\b/.test(l));
  for (let i = Math.max(0, from); i < lines.length && from >= 0; i++) {
    const col = lines[i]!.indexOf(ref, i === from ? lines[i]!.indexOf('warm_start') : 0);
    if (col >= 0) return { file: exp.file, line: i + 1, col: col + 1 };
  }
  return { file: exp.file, line: from >= 0 ? from + 1 : 1, col: 1 };
}
