// The ask/tell interface of a search strategy, kept apart from storage and the study loop (in the
// manner of Optuna's samplers): the loop asks for configurations, measures them, and tells back.

import type { Config, Observation, StrategyName } from '../types.js';
import type { PriorExperiment } from './prior.js';

/** The exploring strategies an experiment names, and `list`: exactly the configurations it is given. */
export type StrategyKind = StrategyName | 'list';

export interface Strategy {
  readonly name: StrategyKind;
  /**
   * Up to n configurations (normalised) never evaluated nor pending; [] once exhausted or when the
   * budget is used. Configurations passed to remeasure() come first and do not count against the budget.
   */
  ask(n: number): Config[];
  /** Results of asked (or externally measured) configurations; each clears its pending mark. */
  tell(observations: Observation[]): void;
  /** Let one configuration be proposed again: the next ask() returns it first. */
  remeasure?(config: Config): void;
  /**
   * JSON-serialisable state, measurements included: a strategy created with it and then told the
   * same observations as the original continues the original's exact sequence.
   */
  state(): StrategyState;
  /** No new configuration will ever be proposed: the space is used up or the budget is. */
  readonly exhausted: boolean;
}

export interface StrategyOptions {
  seed: number;
  /**
   * At most this many distinct configurations (asked or told) in all; one told as a duplicate of
   * another (Observation.duplicateOf: the same effective configuration) does not count.
   */
  budget?: number;
  direction: 'maximize' | 'minimize';
  /** grid: begin at a random offset (the Wayfinder paper's random start). */
  randomStart?: boolean;
  state?: StrategyState;
  /**
   * Warm start (bayesian only; the others ignore it): measurements of earlier experiments over the
   * same parameters. Their screened main effects become the model's prior mean; its own
   * measurements correct them. Not part of the state: a resumed search is given the same prior.
   */
  prior?: readonly PriorExperiment[];
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface StrategyState {
  version: 1;
  name: StrategyKind;
  seed: number;
  rng: number[];
  /** Distinct configurations counted against the budget. */
  used: number;
  /** Keys of every configuration asked or told. */
  seen: string[];
  /** Keys asked and not yet told, with multiplicity for re-measurements. */
  pending: string[];
  /** Keys queued by remeasure(). */
  again: string[];
  /** Strategy-specific: grid cursor, random permutation, bayesian measurements. */
  extra: Json;
}
