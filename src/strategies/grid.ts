// Grid search: walk the space in declaration (mixed-radix) order, optionally from a random offset
// (the Wayfinder paper's random start), wrapping around once. Configurations that normalise to one
// already seen (an inactive parameter changed) are skipped.

import type { Config } from '../types.js';
import { BaseStrategy } from './base.js';
import type { SearchSpace } from './space.js';
import type { Json, StrategyOptions } from './strategy.js';

export class GridStrategy extends BaseStrategy {
  private offset: bigint;
  /** How many indices have been walked from the offset. */
  private walked = 0n;

  constructor(space: SearchSpace, opts: StrategyOptions) {
    super('grid', space, opts);
    const extra = opts.state?.extra as { offset: string; walked: string } | undefined;
    if (extra) {
      this.offset = BigInt(extra.offset);
      this.walked = BigInt(extra.walked);
    } else {
      this.offset = opts.randomStart && space.size > 0n ? this.rng.bigint(space.size) : 0n;
    }
    this.spaceDone = this.walked >= space.size;
  }

  protected propose(n: number): Config[] {
    const out: Config[] = [];
    const size = this.space.size;
    const taken = new Set<string>();
    while (out.length < n && this.walked < size) {
      const c = this.space.normalize(this.space.at((this.offset + this.walked) % size));
      this.walked++;
      const key = this.key(c);
      if (this.seen.has(key) || taken.has(key)) continue;
      taken.add(key);
      out.push(c);
    }
    if (this.walked >= size) this.spaceDone = true;
    return out;
  }

  protected override saveExtra(): Json {
    return { offset: this.offset.toString(), walked: this.walked.toString() };
  }
}
