// Random search without replacement. Huge spaces are never enumerated: draw uniformly and reject
// duplicates. When rejections pile up on a space small enough to list, switch to a seeded
// permutation of all indices so the tail of the space is reached without endless redraws.

import type { Config } from '../types.js';
import { Rng } from '../util/random.js';
import { BaseStrategy } from './base.js';
import type { SearchSpace } from './space.js';
import type { Json, StrategyOptions } from './strategy.js';

/** Spaces up to this size may be permuted in memory. */
const PERMUTE_LIMIT = 1n << 22n;
/** Rejections in a row that mean "mostly seen" (and, on huge spaces, give up). */
const SWITCH_AFTER = 16;
const GIVE_UP_AFTER = 100_000;

interface RandomExtra {
  permSeed: number | null;
  permPos: number;
}

export class RandomStrategy extends BaseStrategy {
  private permSeed: number | null = null;
  private permPos = 0;
  private perm: Uint32Array | null = null;

  constructor(space: SearchSpace, opts: StrategyOptions) {
    super('random', space, opts);
    const extra = opts.state?.extra as RandomExtra | undefined;
    if (extra && extra.permSeed !== null) {
      this.permSeed = extra.permSeed;
      this.permPos = extra.permPos;
      this.perm = permutation(Number(space.size), extra.permSeed);
      this.spaceDone = this.permPos >= this.perm.length;
    }
    if (space.size === 0n) this.spaceDone = true;
  }

  protected propose(n: number): Config[] {
    const out: Config[] = [];
    const taken = new Set<string>();
    let rejected = 0;
    while (out.length < n && !this.spaceDone) {
      if (this.perm) {
        if (this.permPos >= this.perm.length) {
          this.spaceDone = true;
          break;
        }
        const c = this.space.normalize(this.space.at(BigInt(this.perm[this.permPos++]!)));
        const key = this.key(c);
        if (this.seen.has(key) || taken.has(key)) continue;
        taken.add(key);
        out.push(c);
        continue;
      }
      const c = this.space.normalize(this.space.sample(this.rng));
      const key = this.key(c);
      if (this.seen.has(key) || taken.has(key)) {
        rejected++;
        if (this.space.size <= PERMUTE_LIMIT && rejected >= SWITCH_AFTER) {
          this.permSeed = this.rng.nextU32();
          this.perm = permutation(Number(this.space.size), this.permSeed);
        } else if (rejected >= GIVE_UP_AFTER) {
          // A huge raw space whose conditions collapse it to few distinct configurations.
          this.spaceDone = true;
        }
        continue;
      }
      rejected = 0;
      taken.add(key);
      out.push(c);
    }
    return out;
  }

  protected override saveExtra(): Json {
    return { permSeed: this.permSeed, permPos: this.permPos };
  }
}

function permutation(n: number, seed: number): Uint32Array {
  const rng = new Rng(seed);
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}
