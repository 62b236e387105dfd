// A search strategy that is not built in: the space in reverse declaration order, last configuration
// first. With a budget it measures the configurations grid search would reach last, so a test can
// tell from the results which strategy ran. It is registered by the test, not by wayfinder.

import { BaseStrategy } from '../../src/strategies/base.js';
import type { StrategyDescriptor } from '../../src/strategies/registry.js';
import type { SearchSpace } from '../../src/strategies/space.js';
import type { Json, StrategyOptions } from '../../src/strategies/strategy.js';
import type { Config } from '../../src/types.js';

class BackwardsStrategy extends BaseStrategy {
  private next: bigint;

  constructor(space: SearchSpace, opts: StrategyOptions) {
    super('backwards', space, opts);
    const saved = opts.state?.extra as { next: string } | undefined;
    this.next = saved ? BigInt(saved.next) : space.size - 1n;
    this.spaceDone = this.next < 0n;
  }

  protected propose(n: number): Config[] {
    const out: Config[] = [];
    const taken = new Set<string>();
    while (out.length < n && this.next >= 0n) {
      const c = this.space.normalize(this.space.at(this.next--));
      const key = this.key(c);
      if (this.seen.has(key) || taken.has(key)) continue;
      taken.add(key);
      out.push(c);
    }
    if (this.next < 0n) this.spaceDone = true;
    return out;
  }

  protected override saveExtra(): Json {
    return { next: this.next.toString() };
  }
}

export const backwardsStrategy: StrategyDescriptor = {
  name: 'backwards',
  description: 'every configuration in reverse declaration order',
  create: (space, opts) => new BackwardsStrategy(space, opts),
};
