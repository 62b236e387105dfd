// Run a strategy against an objective function in-process: the loop replay and the benchmarks share.

import type { Config, StrategyName } from '../types.js';
import { configKey } from './encoding.js';
import type { SearchSpace } from './space.js';
import { createStrategy } from './registry.js';
import type { PriorExperiment } from './prior.js';
import type { Strategy, StrategyOptions } from './strategy.js';

/** A search from outside src/strategies (the benchmark's baselines): only ask and tell are needed. */
export interface SearchFactory {
  name: string;
  create(space: SearchSpace, opts: StrategyOptions): Pick<Strategy, 'ask' | 'tell'>;
}

export interface SimulateOptions {
  budget: number;
  seed: number;
  direction: 'maximize' | 'minimize';
  /** Configurations asked at once (parallel slots). */
  batch?: number;
  randomStart?: boolean;
  /** Warm start: earlier experiments' measurements (StrategyOptions.prior). */
  prior?: readonly PriorExperiment[];
}

export interface Trace {
  /** Best objective value after each evaluation; NaN until one succeeded. */
  bestSoFar: number[];
  configs: Config[];
  /** Configurations proposed a second time (a correct strategy keeps this at 0). */
  repeats: number;
}

/** `objective` returns undefined for a configuration that fails. */
export function simulate(
  space: SearchSpace,
  objective: (c: Config) => number | undefined,
  name: StrategyName | SearchFactory,
  opts: SimulateOptions,
): Trace {
  const sopts: StrategyOptions = {
    seed: opts.seed,
    budget: opts.budget,
    direction: opts.direction,
    randomStart: opts.randomStart ?? name === 'grid',
    ...(opts.prior ? { prior: opts.prior } : {}),
  };
  const strategy = typeof name === 'string' ? createStrategy(name, space, sopts) : name.create(space, sopts);
  const better = opts.direction === 'maximize' ? (a: number, b: number) => a > b : (a: number, b: number) => a < b;
  const seen = new Set<string>();
  const trace: Trace = { bestSoFar: [], configs: [], repeats: 0 };
  let best = NaN;
  while (trace.configs.length < opts.budget) {
    const asked = strategy.ask(opts.batch ?? 1);
    if (asked.length === 0) break;
    const obs = asked.map((config) => {
      const key = configKey(space, config);
      if (seen.has(key)) trace.repeats++;
      seen.add(key);
      const value = objective(config);
      trace.configs.push(config);
      if (value !== undefined && (Number.isNaN(best) || better(value, best))) best = value;
      trace.bestSoFar.push(best);
      return value === undefined
        ? { config, configId: key, status: 'failed' as const }
        : { config, configId: key, value, status: 'ok' as const };
    });
    strategy.tell(obs);
  }
  return trace;
}
