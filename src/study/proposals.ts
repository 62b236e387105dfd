// What a study measures and in which order, shared by the study loop and `wayfinder plan`, so that
// the plan is what a run does: the strategy made the same way, the default first, each configuration
// normalised and identified the same way, and the strategy asked in the same pattern (the default
// in flight, then as many as there are free parallel slots, again each time one finishes).

import { buildChecksum, configChecksum, defaultConfig, type Space } from '../generator/index.js';
import { createStrategy, ListStrategy, type Strategy, type StrategyState } from '../strategies/index.js';
import type { PriorExperiment } from '../strategies/prior.js';
import type { Config, Experiment, Observation } from '../types.js';

/** A normalised configuration and its identities. */
export interface Identified {
  config: Config;
  configId: string;
  buildId: string;
}

/**
 * The strategy a study asks: the fixed list when given (regress), else the experiment's. A saved
 * state continues its sequence only when it is that strategy's own (`savedFor` names the strategy
 * that saved it); otherwise the strategy starts its own search.
 */
export function studyStrategy(
  exp: Experiment,
  space: Space,
  o: { configs?: Config[]; saved?: StrategyState; savedFor?: string; prior?: readonly PriorExperiment[] } = {},
): Strategy {
  const { seed, strategy, randomStart, budget } = exp.exploration;
  const direction = exp.objective.direction;
  if (o.configs) {
    return new ListStrategy(space, o.configs, { seed, direction, ...(o.saved && o.savedFor === 'list' ? { state: o.saved as never } : {}) });
  }
  return createStrategy(strategy, space, {
    seed,
    direction,
    randomStart,
    ...(budget !== undefined ? { budget } : {}),
    ...(o.saved && o.savedFor === strategy ? { state: o.saved as never } : {}),
    ...(o.prior && o.prior.length > 0 ? { prior: o.prior } : {}),
  });
}

/** A configuration as the study stores it: normalised (inactive parameters at their defaults) and identified. */
export function identify(exp: Experiment, space: Space, raw: Config): Identified {
  const config = space.normalize(raw);
  return { config, configId: configChecksum(exp.params, config), buildId: buildChecksum(exp.params, config) };
}

/** The default configuration: measured first, the baseline every result is compared with. */
export function defaultConfiguration(exp: Experiment, space: Space): Identified {
  return identify(exp, space, defaultConfig(exp.params));
}

/**
 * The configurations a study of `exp` queues, in order, when each one's measurement gives
 * `outcome(i)` (i counts from 0 in the order queued; undefined: it failed) and they finish in the
 * order queued. The first ones of a strategy that decides from measurements depend on `outcome`;
 * `wayfinder plan` compares sequences for different outcomes to tell which do not.
 */
export function* queuedConfigurations(
  exp: Experiment,
  space: Space,
  outcome: (i: number) => number | undefined,
  o: { configs?: Config[]; effectiveOf?: ReadonlyMap<string, { effectiveId: string }> } = {},
): Generator<Identified> {
  const strategy = studyStrategy(exp, space, o);
  const queued = new Map<string, { c: Identified; i: number; done: boolean }>();
  // With effective identities known (Kconfig resolved: effective-plan.ts), a configuration that
  // resolves like one queued is its duplicate, as in the study: not queued, told as the same point.
  const byEffective = new Map<string, { c: Identified; i: number; done: boolean }>();
  const duplicates = new Map<string, Identified[]>();
  const duplicate = (d: Identified, of: { c: Identified; i: number }): Observation => ({ ...observation(of.c, of.i), config: d.config, configId: d.configId, duplicateOf: of.c.configId });
  const inFlight: { c: Identified; i: number }[] = [];
  const observation = (c: Identified, i: number): Observation => {
    const value = outcome(i);
    return value === undefined
      ? { config: c.config, configId: c.configId, status: 'failed', failure: 'exit' }
      : { config: c.config, configId: c.configId, status: 'ok', value, samples: [value] };
  };
  const queue = (c: Identified): Identified => {
    const entry = { c, i: queued.size, done: false };
    queued.set(c.configId, entry);
    const eff = o.effectiveOf?.get(c.configId)?.effectiveId;
    if (eff !== undefined) byEffective.set(eff, entry);
    inFlight.push(entry);
    return c;
  };
  yield queue(defaultConfiguration(exp, space));
  for (;;) {
    // fill(): ask for the free slots until none are free or nothing more comes.
    while (!strategy.exhausted) {
      const free = exp.exploration.parallel - inFlight.length;
      if (free <= 0) break;
      const asked = strategy.ask(free);
      if (asked.length === 0) break;
      for (const raw of asked) {
        const c = identify(exp, space, raw);
        const known = queued.get(c.configId);
        if (known) {
          // Measured already: told now; in flight (the default): told when it finishes.
          if (known.done) strategy.tell([observation(known.c, known.i)]);
          continue;
        }
        const eff = o.effectiveOf?.get(c.configId)?.effectiveId;
        const original = eff !== undefined ? byEffective.get(eff) : undefined;
        if (original) {
          if (original.done) strategy.tell([duplicate(c, original)]);
          else duplicates.set(original.c.configId, [...(duplicates.get(original.c.configId) ?? []), c]);
          continue;
        }
        yield queue(c);
      }
    }
    const first = inFlight.shift();
    if (!first) return;
    (queued.get(first.c.configId) as { done: boolean }).done = true;
    strategy.tell([observation(first.c, first.i)]);
    const dups = duplicates.get(first.c.configId) ?? [];
    if (dups.length > 0) strategy.tell(dups.map((d) => duplicate(d, first)));
  }
}
