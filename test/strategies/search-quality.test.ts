import { describe, expect, it } from 'vitest';
import { createStrategy } from '../../src/strategies/registry.js';
import type { Strategy, StrategyState } from '../../src/strategies/strategy.js';
import { configKey } from '../../src/strategies/encoding.js';
import { PoolSpace } from '../../src/strategies/pool-space.js';
import { simulate } from '../../src/strategies/simulate.js';
import type { SearchSpace } from '../../src/strategies/space.js';
import type { Config, Param, StrategyName } from '../../src/types.js';
import { Rng } from '../../src/util/random.js';
import { dominant, plateauFactorial } from '../../bench/landscapes.js';
import { signedRank } from '../../bench/wilcoxon.js';
import { listParam, MixedRadixSpace } from './helpers.js';

/** Ask one at a time and tell each result back; the keys in order. */
function drive(s: Strategy, sp: SearchSpace, f: (c: Config) => number | undefined, n: number): string[] {
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    const [c] = s.ask(1);
    if (!c) break;
    const key = configKey(sp, c);
    keys.push(key);
    const v = f(c);
    s.tell([v === undefined ? { config: c, configId: key, status: 'failed' } : { config: c, configId: key, value: v, status: 'ok' }]);
  }
  return keys;
}

/** Search, save the state at `at` (one ask in flight), resume from it, and compare with the uninterrupted search. */
function resumedMatches(sp: SearchSpace, f: (c: Config) => number | undefined, seed: number, at: number, total: number): { whole: string[]; resumed: string[] } {
  const make = (state?: StrategyState): Strategy => createStrategy('bayesian', sp, { seed, direction: 'maximize', state });
  const whole = drive(make(), sp, f, total);
  const a = make();
  const first = drive(a, sp, f, at);
  const [inFlight] = a.ask(1);
  const saved = JSON.parse(JSON.stringify(a.state())) as StrategyState;
  const b = make(saved);
  const key = configKey(sp, inFlight!);
  const v = f(inFlight!);
  b.tell([v === undefined ? { config: inFlight!, configId: key, status: 'failed' } : { config: inFlight!, configId: key, value: v, status: 'ok' }]);
  return { whole, resumed: [...first, key, ...drive(b, sp, f, total - at - 1)] };
}

describe('bayesian on the plateau with one interaction (bench/landscapes.ts plateauFactorial)', () => {
  const l = plateauFactorial();
  const f = (c: Config): number => l.evaluate(c)!;

  it('reaches 95% of the best within 40 evaluations and finds the best in nearly every run', () => {
    let best = 0;
    for (let seed = 300; seed < 310; seed++) {
      const t = simulate(l.space, f, 'bayesian', { budget: 40, seed, direction: 'maximize' });
      expect(new Set(t.configs.map((c) => configKey(l.space, c))).size).toBe(40);
      expect(t.bestSoFar.at(-1)!).toBeGreaterThanOrEqual(0.95 * l.optimum);
      if (t.bestSoFar.at(-1)! >= l.optimum) best++;
    }
    expect(best).toBeGreaterThanOrEqual(9);
  });

  it('measures every value of a few-valued parameter at least three times by 40 evaluations', () => {
    for (const seed of [1, 2, 3]) {
      const t = simulate(l.space, f, 'bayesian', { budget: 40, seed, direction: 'maximize' });
      for (const p of l.space.params) {
        if (p.domain.kind !== 'list') continue;
        for (const v of p.domain.values) expect(t.configs.filter((c) => c[p.name] === v).length, `${p.name}=${String(v)}`).toBeGreaterThanOrEqual(3);
      }
    }
  });

  it('is deterministic per seed and resumes mid-search with the same asks', () => {
    const { whole, resumed } = resumedMatches(l.space, f, 21, 14, 30);
    expect(new Set(whole).size).toBe(30);
    expect(resumed).toEqual(whole);
    expect(drive(createStrategy('bayesian', l.space, { seed: 21, direction: 'maximize' }), l.space, f, 30)).toEqual(whole);
    expect(drive(createStrategy('bayesian', l.space, { seed: 22, direction: 'maximize' }), l.space, f, 30)).not.toEqual(whole);
  });
});

describe('bayesian on a flat landscape (every configuration within a few percent of the others)', () => {
  // 4^8 = 65,536 configurations, 1% effects per value: nothing stands out, so a configuration much
  // better than the rest would be a combination of values no measured configuration holds.
  const sp = new MixedRadixSpace(Array.from({ length: 8 }, (_, j) => listParam(`q${j}`, [0, 1, 2, 3])));
  const f = (c: Config): number => 100 * Math.exp(sp.params.reduce((a, p, j) => a + 0.01 * Math.sin(3 * j + (c[p.name] as number)), 0));
  /** The most values any configuration of keys shares with an earlier one, from the pick `from` on. */
  const mostShared = (keys: string[], from: number): number => {
    let most = 0;
    const vals = keys.map((k) => JSON.parse(k) as number[]);
    for (let i = from; i < vals.length; i++)
      for (let j = 0; j < i; j++) most = Math.max(most, vals[i]!.filter((v, k) => v === vals[j]![k]).length);
    return most;
  };

  it('spreads its picks: none after the start shares more than four of eight values with an earlier one', () => {
    for (const seed of [1, 2, 3]) {
      const keys = drive(createStrategy('bayesian', sp, { seed, direction: 'maximize' }), sp, f, 30);
      expect(new Set(keys).size).toBe(30);
      expect(mostShared(keys, 5)).toBeLessThanOrEqual(4);
    }
    // Random search does not (about one pick in three of the last ten shares five or more).
    const rnd = [1, 2, 3].map((seed) => mostShared(drive(createStrategy('random', sp, { seed, direction: 'maximize' }), sp, f, 30), 5));
    expect(Math.max(...rnd)).toBeGreaterThan(4);
  });
});

describe('bayesian on a large space of ordinal knobs with sweet spots (bench/landscapes.ts dominant)', () => {
  it('reaches 95% of the best within 40 evaluations, deterministically and resumably', () => {
    for (const inst of [1, 2, 3]) {
      const l = dominant(inst);
      const t = simulate(l.space, (c) => l.evaluate(c), 'bayesian', { budget: 40, seed: inst, direction: 'maximize' });
      expect(t.bestSoFar.at(-1)! / l.optimum, `instance ${inst}`).toBeGreaterThanOrEqual(0.95);
    }
    const l = dominant(4);
    const { whole, resumed } = resumedMatches(l.space, (c) => l.evaluate(c), 8, 12, 20);
    expect(new Set(whole).size).toBe(20);
    expect(resumed).toEqual(whole);
  });
});

describe('bayesian on a wide pool where one parameter of 80 matters and a third of the rows fail', () => {
  // 1,500 recorded rows of 80 parameters (two to five values each, one of 1,500 distinct numbers);
  // only k0 moves the objective (by about 1.5 standard deviations of the rest), failures at random.
  const rng = new Rng(99);
  const params: Param[] = Array.from({ length: 80 }, (_, j) =>
    j === 79 ? listParam('u79', Array.from({ length: 1500 }, (_, i) => i)) : listParam(`k${j}`, Array.from({ length: 2 + (j % 4) }, (_, i) => i)),
  );
  const rows: Config[] = [];
  const values: (number | undefined)[] = [];
  const perm = rng.shuffle(Array.from({ length: 1500 }, (_, i) => i));
  for (let r = 0; r < 1500; r++) {
    const c: Config = {};
    params.forEach((p, j) => (c[p.name] = j === 79 ? perm[r]! : rng.int(2 + (j % 4))));
    rows.push(c);
    values.push(rng.next() < 0.33 ? undefined : 100 + 1.5 * (c.k0 === 1 ? 1 : 0) + rng.normal());
  }
  const pool = new PoolSpace(params, rows);
  const f = (c: Config): number | undefined => values[pool.rowIndex(c)!];

  it('learns which parameter matters and measures more rows with its good value than random search', () => {
    const share = (name: StrategyName): number => {
      let good = 0;
      let all = 0;
      for (let seed = 0; seed < 6; seed++) {
        const t = simulate(pool, f, name, { budget: 50, seed, direction: 'maximize' });
        expect(t.repeats).toBe(0);
        const later = t.configs.slice(25);
        good += later.filter((c) => c.k0 === 1).length;
        all += later.length;
      }
      return good / all;
    };
    const bo = share('bayesian');
    expect(bo).toBeGreaterThan(0.7);
    expect(bo).toBeGreaterThan(share('random') + 0.15);
  });

  it('picks only recorded rows, never twice, deterministically, and resumes mid-search with the same asks', () => {
    const { whole, resumed } = resumedMatches(pool, f, 5, 23, 45);
    expect(new Set(whole).size).toBe(45);
    for (const k of whole) expect(pool.contains(Object.fromEntries(params.map((p, j) => [p.name, (JSON.parse(k) as number[])[j]!])))).toBe(true);
    expect(resumed).toEqual(whole);
  });
});

describe('Wilcoxon signed-rank test (bench/wilcoxon.ts)', () => {
  it('gives the exact two-sided p of small samples without ties', () => {
    // All ten differences positive: p = 2 / 2^10.
    const a = Array.from({ length: 10 }, (_, i) => i + 1.5);
    const b = Array.from({ length: 10 }, () => 0);
    expect(signedRank(a, b).p).toBeCloseTo(2 / 1024, 10);
    expect(signedRank(b, a).p).toBeCloseTo(2 / 1024, 10);
    // Ranks 1..5 with signs + - + - +: W+ = 1 + 3 + 5 = 9; 13 of the 32 sign patterns have W+ <= 6.
    const r = signedRank([1, -2, 3, -4, 5], [0, 0, 0, 0, 0]);
    expect(r.wPlus).toBe(9);
    expect(r.p).toBeCloseTo((2 * 13) / 32, 10);
  });

  it('drops zero differences and approximates with ties', () => {
    expect(signedRank([1, 2, 3], [1, 2, 3]).p).toBe(1);
    const a = Array.from({ length: 30 }, (_, i) => (i < 25 ? 1 : -1));
    const t = signedRank(a, Array.from({ length: 30 }, () => 0));
    expect(t.n).toBe(30);
    expect(t.p).toBeLessThan(0.001);
    const even = signedRank(Array.from({ length: 30 }, (_, i) => (i % 2 ? 1 : -1)), Array.from({ length: 30 }, () => 0));
    expect(even.p).toBeGreaterThan(0.9);
  });
});
