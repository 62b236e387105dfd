// A fixed list: exactly the configurations given, in order, each once. `wayfinder regress` measures
// the default (or chosen) configurations through the same study loop as an exploration, with this
// in place of a search.

import type { Config } from '../types.js';
import { BaseStrategy } from './base.js';
import type { SearchSpace } from './space.js';
import type { Json, StrategyOptions } from './strategy.js';

export class ListStrategy extends BaseStrategy {
  private readonly configs: Config[];
  private cursor = 0;

  constructor(space: SearchSpace, configs: Config[], opts: Omit<StrategyOptions, 'budget' | 'randomStart'>) {
    super('list', space, opts);
    this.configs = configs.map((c) => space.normalize(c));
    const extra = opts.state?.extra as { cursor: number } | null | undefined;
    if (extra) this.cursor = extra.cursor;
    this.spaceDone = this.cursor >= this.configs.length;
  }

  protected propose(n: number): Config[] {
    const out: Config[] = [];
    while (out.length < n && this.cursor < this.configs.length) {
      const c = this.configs[this.cursor++] as Config;
      // The same configuration listed twice (two ids of one default) is measured once.
      if (!this.seen.has(this.key(c)) && !out.some((o) => this.key(o) === this.key(c))) out.push(c);
    }
    if (this.cursor >= this.configs.length) this.spaceDone = true;
    return out;
  }

  protected override saveExtra(): Json {
    return { cursor: this.cursor };
  }
}
