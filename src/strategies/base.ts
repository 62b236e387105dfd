// Bookkeeping every strategy shares: which configurations were seen or are pending, the budget,
// re-measurement requests and the saved state. Subclasses only decide what to propose next.

import type { Config, Observation } from '../types.js';
import { Rng } from '../util/random.js';
import { configOfKey, keyOfNormalized } from './encoding.js';
import type { SearchSpace } from './space.js';
import type { Json, Strategy, StrategyKind, StrategyOptions, StrategyState } from './strategy.js';

export abstract class BaseStrategy implements Strategy {
  protected rng: Rng;
  protected readonly seen = new Set<string>();
  /** key -> number of outstanding asks (more than one only for re-measurements). */
  protected readonly pending = new Map<string, number>();
  private readonly again: string[] = [];
  private used = 0;
  /** Set by a subclass once it has nothing new left to propose. */
  protected spaceDone = false;

  constructor(
    readonly name: StrategyKind,
    protected readonly space: SearchSpace,
    protected readonly opts: StrategyOptions,
  ) {
    const s = opts.state;
    if (!s) {
      this.rng = new Rng(opts.seed);
      return;
    }
    if (s.version !== 1) throw new Error(`unsupported strategy state version ${String(s.version)}`);
    this.rng = Rng.fromState(s.rng);
    this.used = s.used;
    for (const k of s.seen) this.seen.add(k);
    for (const k of s.pending) this.pending.set(k, (this.pending.get(k) ?? 0) + 1);
    this.again.push(...s.again);
  }

  get exhausted(): boolean {
    return this.spaceDone || this.budgetLeft() === 0;
  }

  ask(n: number): Config[] {
    const out: Config[] = [];
    while (out.length < n && this.again.length > 0) {
      const key = this.again.shift()!;
      this.pending.set(key, (this.pending.get(key) ?? 0) + 1);
      out.push(configOfKey(this.space.params, key));
    }
    const room = Math.min(n - out.length, this.budgetLeft());
    if (room <= 0 || this.spaceDone) return out;
    for (const c of this.propose(room)) {
      const key = this.key(c);
      if (this.seen.has(key)) throw new Error(`internal: ${this.name} proposed a seen configuration ${key}`);
      this.seen.add(key);
      this.pending.set(key, 1);
      this.used++;
      out.push(c);
    }
    return out;
  }

  tell(observations: Observation[]): void {
    for (const o of observations) {
      const config = this.space.normalize(o.config);
      const key = this.key(config);
      const p = this.pending.get(key);
      if (p !== undefined) {
        if (p <= 1) this.pending.delete(key);
        else this.pending.set(key, p - 1);
      }
      if (!this.seen.has(key)) {
        this.seen.add(key);
        if (o.duplicateOf === undefined) this.used++;
      } else if (o.duplicateOf !== undefined && p !== undefined) {
        // Asked, counted then, and it turned out to be a point measured already: the budget
        // counts distinct measured configurations, so its place is given back. It stays seen, so
        // it is never proposed again. Told once per ask, so given back once.
        this.used--;
      }
      this.observe(o, key, config);
    }
  }

  remeasure(config: Config): void {
    const key = this.key(this.space.normalize(config));
    if (!this.again.includes(key)) this.again.push(key);
  }

  state(): StrategyState {
    const pending: string[] = [];
    for (const [k, c] of this.pending) for (let i = 0; i < c; i++) pending.push(k);
    return {
      version: 1,
      name: this.name,
      seed: this.opts.seed,
      rng: this.rng.state(),
      used: this.used,
      seen: [...this.seen],
      pending,
      again: [...this.again],
      extra: this.saveExtra(),
    };
  }

  protected key(normalized: Config): string {
    return keyOfNormalized(this.space.params, normalized);
  }

  private budgetLeft(): number {
    return this.opts.budget === undefined ? Infinity : Math.max(0, this.opts.budget - this.used);
  }

  /** Up to n normalised configurations whose keys are not in `seen` and distinct from each other. */
  protected abstract propose(n: number): Config[];
  protected observe(_o: Observation, _key: string, _normalized: Config): void {}
  protected saveExtra(): Json {
    return null;
  }
}
