// The strategies an experiment can name, and how each is made.

import type { StrategyName } from '../types.js';
import { BayesianStrategy } from './bayesian.js';
import { GridStrategy } from './grid.js';
import { RandomStrategy } from './random.js';
import type { SearchSpace } from './space.js';
import type { Strategy, StrategyOptions } from './strategy.js';

export const STRATEGY_NAMES: readonly StrategyName[] = ['grid', 'random', 'bayesian'];

export function createStrategy(name: StrategyName, space: SearchSpace, opts: StrategyOptions): Strategy {
  if (opts.state && opts.state.name !== name) {
    throw new Error(`saved strategy state is for "${opts.state.name}", not "${name}"`);
  }
  if (opts.budget !== undefined && !(Number.isInteger(opts.budget) && opts.budget >= 0)) {
    throw new RangeError(`budget must be a non-negative integer, got ${opts.budget}`);
  }
  switch (name) {
    case 'grid':
      return new GridStrategy(space, opts);
    case 'random':
      return new RandomStrategy(space, opts);
    case 'bayesian':
      return new BayesianStrategy(space, opts);
    default:
      throw new Error(`unknown strategy "${String(name)}" (known: ${STRATEGY_NAMES.join(', ')})`);
  }
}
