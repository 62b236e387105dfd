// Overrides of an experiment's exploration settings given beside the file (command-line flags,
// a daemon submission's options), already checked where they came in.

import type { Experiment, StrategyName } from '../types.js';

export interface ExplorationOverrides {
  budget?: number;
  parallel?: number;
  seed?: number;
  strategy?: StrategyName;
}

export function withExploration(exp: Experiment, o: ExplorationOverrides): Experiment {
  const x = { ...exp.exploration };
  if (o.budget !== undefined) x.budget = o.budget;
  if (o.parallel !== undefined) x.parallel = o.parallel;
  if (o.seed !== undefined) x.seed = o.seed;
  if (o.strategy !== undefined) x.strategy = o.strategy;
  // Only bayesian starts from earlier experiments: another strategy asked for beside the file searches without.
  if (x.strategy !== 'bayesian') delete x.warmStart;
  return { ...exp, exploration: x };
}
