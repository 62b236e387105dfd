// The part of the generator's parameter space a strategy relies on. Declared here, not imported, so
// that strategies can be built and tested on their own; src/generator/space.ts satisfies it
// structurally, and replay's PoolSpace implements it over the rows of a recorded table.

import type { Config, Param } from '../types.js';
import type { Rng } from '../util/random.js';

export interface SearchSpace {
  readonly params: Param[];
  /** Product of the domain sizes; may be astronomically large (10^79 and more). */
  readonly size: bigint;
  /** Mixed-radix decoding in declaration order. */
  at(index: bigint): Config;
  indexOf(config: Config): bigint;
  /** Uniform over the raw (not normalised) configurations. */
  sample(rng: Rng): Config;
  /** Inactive parameters (condition false) take their default. */
  normalize(config: Config): Config;
  isActive(name: string, config: Config): boolean;
  /**
   * Whether a configuration may be proposed at all. Absent: every combination of domain values may.
   * A pool of recorded rows says no to combinations that were never measured.
   */
  contains?(config: Config): boolean;
}
