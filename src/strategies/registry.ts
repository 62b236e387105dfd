// The strategies an experiment can name: one descriptor each (its name, a line saying what it does,
// and how it is made). The experiment schema's `strategy` enum, the CLI's --strategy checks and help,
// the daemon's request checks and docs/openapi.yaml all read this table; another strategy is one
// module plus one registerStrategy call.

import type { StrategyName } from '../types.js';
import { BayesianStrategy } from './bayesian.js';
import { GridStrategy } from './grid.js';
import { RandomStrategy } from './random.js';
import type { SearchSpace } from './space.js';
import type { Strategy, StrategyOptions } from './strategy.js';

export interface StrategyDescriptor {
  /** What `exploration.strategy` and --strategy name it by. */
  name: string;
  /** One line, for help texts and the API description. */
  description: string;
  /** A strategy over `space`; continues from `opts.state` when given. */
  create(space: SearchSpace, opts: StrategyOptions): Strategy;
}

/** The strategy of an experiment that names none. */
export const DEFAULT_STRATEGY: StrategyName = 'grid';

const BUILT_IN: StrategyDescriptor[] = [
  {
    name: 'grid',
    description: 'every configuration in declaration order (from a random offset with random_start)',
    create: (space, opts) => new GridStrategy(space, opts),
  },
  {
    name: 'random',
    description: 'configurations drawn uniformly at random, none twice',
    create: (space, opts) => new RandomStrategy(space, opts),
  },
  {
    name: 'bayesian',
    description: 'Bayesian optimisation: a surrogate model of the measurements proposes where to measure next',
    create: (space, opts) => new BayesianStrategy(space, opts),
  },
];

const strategies = new Map<string, StrategyDescriptor>();

/** Make a strategy known by its name: experiments, --strategy and the daemon's API may name it from now on (in this process). */
export function registerStrategy(d: StrategyDescriptor): void {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(d.name)) throw new Error(`strategy name "${d.name}" must be lower-case letters, digits, ".", "_" or "-"`);
  // `list` is the study's own: exactly the configurations it is given (src/strategies/list.ts).
  if (strategies.has(d.name) || d.name === 'list') throw new Error(`a strategy named "${d.name}" is already registered`);
  strategies.set(d.name, d);
}

for (const d of BUILT_IN) registerStrategy(d);

/** Every registered strategy, in the order registered (built-ins first). */
export function strategyDescriptors(): readonly StrategyDescriptor[] {
  return [...strategies.values()];
}

export function strategyNames(): StrategyName[] {
  return [...strategies.keys()];
}

export function isStrategyName(name: string): name is StrategyName {
  return strategies.has(name);
}

/** "grid, random or bayesian": the registered names as a help text says them. */
export function strategyNamesText(): string {
  const names = strategyNames();
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}` : (names[0] ?? '');
}

export function createStrategy(name: StrategyName, space: SearchSpace, opts: StrategyOptions): Strategy {
  if (opts.state && opts.state.name !== name) {
    throw new Error(`saved strategy state is for "${opts.state.name}", not "${name}"`);
  }
  if (opts.budget !== undefined && !(Number.isInteger(opts.budget) && opts.budget >= 0)) {
    throw new RangeError(`budget must be a non-negative integer, got ${opts.budget}`);
  }
  const d = strategies.get(name);
  if (!d) throw new Error(`unknown strategy "${String(name)}" (known: ${strategyNames().join(', ')})`);
  return d.create(space, opts);
}
