// An experiment's identity in a work directory: what it measures (parameters, jobs, metrics) and
// where (its pool of hosts), not how it searches, so raising the budget or changing the strategy
// resumes the same results, while the same file on another pool never mixes its runs with these.

import { createHash } from 'node:crypto';
import type { Experiment } from '../types.js';

export function experimentId(exp: Experiment): string {
  const measured = {
    params: exp.params.map(({ loc: _l, description: _d, ...p }) => p),
    build: exp.build ? stripLoc(exp.build) : null,
    tests: exp.tests.map(stripLoc),
    metrics: exp.metrics.map(({ loc: _l, ...m }) => m),
    objective: exp.objective.metric,
    // Only a named pool is part of it, so experiments on the default pool keep the ids they had.
    ...(exp.pool !== 'default' ? { pool: exp.pool } : {}),
  };
  const h = createHash('sha256').update(JSON.stringify(measured)).digest('hex');
  return `${exp.name}-${h.slice(0, 10)}`;
}

function stripLoc<T extends { loc?: unknown }>(o: T): Omit<T, 'loc'> {
  const { loc: _l, ...rest } = o;
  return rest;
}
