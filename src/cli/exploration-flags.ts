// --budget, --parallel, --seed and --strategy, as `run` and `submit` take them.

import type { ExplorationOverrides } from '../spec/exploration.js';
import { isStrategyName, strategyNames } from '../strategies/registry.js';
import { UsageError, positiveInt } from './errors.js';

export function explorationFlags(o: { budget?: string; parallel?: string; seed?: string; strategy?: string }): ExplorationOverrides {
  const out: ExplorationOverrides = {};
  if (o.budget !== undefined) out.budget = positiveInt(o.budget, '--budget');
  if (o.parallel !== undefined) out.parallel = positiveInt(o.parallel, '--parallel');
  if (o.seed !== undefined) out.seed = positiveInt(o.seed, '--seed', 0);
  if (o.strategy !== undefined) {
    if (!isStrategyName(o.strategy)) throw new UsageError(`--strategy: unknown strategy "${o.strategy}" (known: ${strategyNames().join(', ')})`);
    out.strategy = o.strategy;
  }
  return out;
}
