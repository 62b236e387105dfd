// The rows of a recorded table as a search space: a strategy can only pick configurations that were
// measured. Index = row index; sampling picks a row; contains() turns away unmeasured combinations.

import type { Config, Param } from '../types.js';
import type { Rng } from '../util/random.js';
import { keyOfNormalized } from './encoding.js';
import type { SearchSpace } from './space.js';

export class PoolSpace implements SearchSpace {
  readonly size: bigint;
  private readonly rowOf = new Map<string, number>();

  constructor(
    readonly params: Param[],
    private readonly rows: Config[],
  ) {
    this.size = BigInt(rows.length);
    rows.forEach((r, i) => this.rowOf.set(keyOfNormalized(params, r), i));
  }

  at(index: bigint): Config {
    const r = this.rows[Number(index)];
    if (!r || index < 0n) throw new RangeError(`row ${index} is outside the table (${this.rows.length} rows)`);
    return { ...r };
  }

  indexOf(config: Config): bigint {
    const i = this.rowOf.get(keyOfNormalized(this.params, config));
    if (i === undefined) throw new Error(`configuration ${JSON.stringify(config)} is not in the table`);
    return BigInt(i);
  }

  /** Row index of a configuration, or undefined. */
  rowIndex(config: Config): number | undefined {
    return this.rowOf.get(keyOfNormalized(this.params, config));
  }

  sample(rng: Rng): Config {
    return { ...this.rows[rng.int(this.rows.length)]! };
  }

  normalize(config: Config): Config {
    const out: Config = {};
    for (const p of this.params) if (config[p.name] !== undefined) out[p.name] = config[p.name]!;
    return out;
  }

  isActive(): boolean {
    return true;
  }

  contains(config: Config): boolean {
    return this.rowOf.has(keyOfNormalized(this.params, config));
  }
}
