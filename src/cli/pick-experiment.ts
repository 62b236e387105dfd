// Which experiment of a work directory `results` and `report` mean: the one named (id, id prefix or
// name), else the exploration run last, never a regress measurement unless it is named.

import type { ExperimentRow, Store } from '../store/store.js';
import { UsageError } from './errors.js';

export function pickExperiment(store: Store, ref: string | undefined, workdir: string): ExperimentRow {
  if (ref) {
    const exp = store.findExperiment(ref);
    if (exp) return exp;
    const known = store.listExperiments().map((e) => e.id);
    throw new UsageError(`no experiment "${ref}" in ${workdir} (known: ${known.join(', ') || 'none'}; see \`wayfinder experiments\`)`);
  }
  const last = store.lastExploration();
  if (last) return last;
  const any = store.listExperiments();
  throw new UsageError(
    any.length > 0
      ? `no exploration in ${workdir}, only regress measurements: name one (\`wayfinder experiments\` lists them)`
      : `no experiments in ${workdir}`,
  );
}

/** A regress measurement (fixed configurations), or an exploration. */
export function experimentKind(e: Pick<ExperimentRow, 'strategy'>): 'regress' | 'exploration' {
  return e.strategy === 'list' ? 'regress' : 'exploration';
}
