import { describe, expect, it } from 'vitest';
import { configKey } from '../../src/strategies/encoding.js';
import { PoolSpace } from '../../src/strategies/pool-space.js';
import { PriorMix, priorRows, type Effects, type PriorExperiment } from '../../src/strategies/prior.js';
import { createStrategy } from '../../src/strategies/registry.js';
import { simulate } from '../../src/strategies/simulate.js';
import type { Strategy, StrategyState } from '../../src/strategies/strategy.js';
import type { Config, Observation, Param } from '../../src/types.js';
import { Rng } from '../../src/util/random.js';
import { listParam } from './helpers.js';

// Recorded pools of 60 parameters (two to five values each), a third of the rows failing at random:
// the shape of the recorded Linux sysctl pools, where one parameter of hundreds matters.
const params: Param[] = Array.from({ length: 60 }, (_, j) => listParam(`k${j}`, Array.from({ length: 2 + (j % 4) }, (_, i) => i)));

/**
 * A pool whose objective moves with k0 by `effect` noise standard deviations (negative: k0 = 1 is
 * worse); a configuration fails with probability `fails(c)` (a third, by default, whatever its values).
 */
function pool(
  seed: number,
  effect: number,
  rows = 1200,
  fails: (c: Config) => number = () => 0.33,
  ps: Param[] = params,
): { space: PoolSpace; values: (number | undefined)[]; f: (c: Config) => number | undefined } {
  const rng = new Rng(seed);
  const configs: Config[] = [];
  const values: (number | undefined)[] = [];
  const seen = new Set<string>();
  while (configs.length < rows) {
    const c: Config = {};
    for (const p of ps) {
      const values = p.domain.kind === 'list' ? p.domain.values : [];
      c[p.name] = values[rng.int(values.length)]!;
    }
    const key = JSON.stringify(c);
    if (seen.has(key)) continue;
    seen.add(key);
    configs.push(c);
    values.push(rng.next() < fails(c) ? undefined : 100 + effect * (c.k0 === 1 ? 1 : 0) + rng.normal());
  }
  const space = new PoolSpace(ps, configs);
  return { space, values, f: (c) => values[space.rowIndex(c)!] };
}

/** Every row of a pool as an earlier experiment's measurements. */
function earlier(p: ReturnType<typeof pool>, direction: 'maximize' | 'minimize' = 'maximize'): PriorExperiment {
  const observations: Observation[] = p.values.map((value, i) => {
    const config = p.space.at(BigInt(i));
    return value === undefined ? { config, configId: String(i), status: 'failed' } : { config, configId: String(i), value, status: 'ok' };
  });
  return { direction, observations };
}

/** Share of the picks from..to (over six seeds) that failed, and that are `at` (a value that fails, say). */
function picked(now: ReturnType<typeof pool>, prior: PriorExperiment[] | undefined, from: number, to: number, at: (c: Config) => boolean): { failed: number; at: number } {
  let failed = 0;
  let there = 0;
  let all = 0;
  for (let seed = 0; seed < 6; seed++) {
    const t = simulate(now.space, now.f, 'bayesian', { budget: to, seed, direction: 'maximize', ...(prior ? { prior } : {}) });
    expect(t.repeats).toBe(0);
    for (const c of t.configs.slice(from, to)) {
      if (now.f(c) === undefined) failed++;
      if (at(c)) there++;
      all++;
    }
  }
  return { failed: failed / all, at: there / all };
}

/** Nine configurations in ten with k1 = 0 fail, one in ten of the others: failures of the operating system's own, not the workload's. */
const k1Fails = (c: Config): number => (c.k1 === 0 ? 0.9 : 0.1);

/** Share of the picks from..to (over seeds) with k0 = 1. */
function share(now: ReturnType<typeof pool>, prior: PriorExperiment[] | undefined, from: number, to: number): number {
  let good = 0;
  let all = 0;
  for (let seed = 0; seed < 6; seed++) {
    const t = simulate(now.space, now.f, 'bayesian', { budget: to, seed, direction: 'maximize', ...(prior ? { prior } : {}) });
    expect(t.repeats).toBe(0);
    const picks = t.configs.slice(from, to);
    good += picks.filter((c) => c.k0 === 1).length;
    all += picks.length;
  }
  return good / all;
}

const now = pool(1, 1.5);

describe('warm start from earlier experiments (StrategyOptions.prior)', () => {
  it('goes for the value an earlier experiment found better from its first model picks on', () => {
    const right = share(now, [earlier(pool(2, 1.5))], 10, 25);
    const cold = share(now, undefined, 10, 25);
    expect(right).toBeGreaterThan(0.85);
    expect(right).toBeGreaterThan(cold + 0.1);
  });

  it('carries over what was better, not the unit: a minimised earlier objective informs a maximised one', () => {
    // The earlier experiment minimised the negated objective: k0 = 1 was better there too.
    const flipped = earlier(pool(2, 1.5));
    const negated: PriorExperiment = {
      direction: 'minimize',
      observations: flipped.observations.map((o) => (o.value === undefined ? o : { ...o, value: 1000 - o.value })),
    };
    expect(share(now, [negated], 10, 25)).toBeGreaterThan(0.85);
  });

  it('lets its own measurements overrule an earlier experiment that points the wrong way', () => {
    // Earlier, k0 = 1 was worse; here it is better. The prior's weight goes to zero as the search's
    // own measurements disagree, and the search learns the right value as a cold one does (0.88 of
    // picks 50-80 at k0 = 1, the cold search 0.90; on the way, picks 25-50, 0.80 against 0.84).
    const wrong = share(now, [earlier(pool(3, -1.5))], 50, 80);
    expect(wrong).toBeGreaterThan(0.85);
  });

  it('avoids the values that failed in an earlier experiment, from its first model picks on', () => {
    // The earlier experiment measured another workload (nothing to learn of its values) on the same
    // operating system: what failed there fails here.
    const here = pool(1, 1.5, 1200, k1Fails);
    const warm = picked(here, [earlier(pool(2, 0, 1200, k1Fails))], 10, 30, (c) => c.k1 === 0);
    const cold = picked(here, undefined, 10, 30, (c) => c.k1 === 0);
    expect(warm.failed).toBeLessThan(0.15);
    expect(warm.failed).toBeLessThan(cold.failed - 0.05);
    expect(warm.at).toBeLessThan(0.05);
  });

  it('avoids the values that failed earlier on a narrow space too, where the forest models failures', () => {
    // Nine parameters (under the 30 where main effects take over): a forest of this experiment's
    // own works/failed record, plus the earlier experiment's failure prior. Half of the 20 values
    // of w fail nine times in ten, scattered over its range, so a search's own first measurements
    // (each value seen once or twice) cannot tell which; 1,200 rows of an earlier experiment can.
    // The landscape is flat (k0 moves it by 1.5%), so the picks are the space-filling ones: there the
    // prior's P(works) bars what is known to fail (picks 11-30 that failed: 7.5% warm-started, 38%
    // cold; 37% warm-started before the bar).
    const bad = new Set(['v0', 'v3', 'v4', 'v7', 'v9', 'v10', 'v13', 'v15', 'v16', 'v18']);
    const narrow: Param[] = [listParam('w', Array.from({ length: 20 }, (_, i) => `v${i}`)), ...params.slice(0, 8)];
    const wFails = (c: Config): number => (bad.has(c.w as string) ? 0.9 : 0.05);
    const here = pool(1, 1.5, 1200, wFails, narrow);
    const atBad = (c: Config): boolean => bad.has(c.w as string);
    const warm = picked(here, [earlier(pool(2, 0, 1200, wFails, narrow))], 10, 30, atBad);
    const cold = picked(here, undefined, 10, 30, atBad);
    expect(warm.failed).toBeLessThan(0.15);
    expect(warm.at).toBeLessThan(cold.at - 0.15);
  });

  it('lets its own failures overrule an earlier experiment whose failures were its own', () => {
    // Earlier, k1 = 0 failed; here failures strike at random. The prior's weight goes to zero once
    // this experiment's own failures disagree, and k1 = 0 (half the rows) is picked as a cold search
    // picks it.
    const here = pool(1, 1.5);
    const warm = picked(here, [earlier(pool(2, 0, 1200, k1Fails))], 40, 70, (c) => c.k1 === 0);
    const cold = picked(here, undefined, 40, 70, (c) => c.k1 === 0);
    expect(warm.at).toBeGreaterThan(cold.at - 0.15);
    expect(warm.failed).toBeLessThan(cold.failed + 0.1);
  });

  it('weights each earlier experiment by how well it predicts the new one', () => {
    const right = earlier(pool(2, 1.5));
    const noise = earlier(pool(4, 0));
    const reversed = earlier(pool(3, -1.5));
    const features = (c: Config): Float64Array => Float64Array.from(params, (p) => c[p.name] as number);
    // Main effects of one parameter, standing in for the fitted models (the strategy fits AdditiveModels).
    const effectOf = (src: PriorExperiment, f: number): Effects => {
      const rows = priorRows([src], features)[0]!;
      const mean = (v: number) => {
        const ys = rows.y.filter((_, i) => rows.feats[i]![f] === v);
        return ys.reduce((a, b) => a + b, 0) / ys.length;
      };
      const e = Array.from({ length: 2 + (f % 4) }, (_, v) => mean(v));
      return { predict: (v, off = 0) => e[v[off + f]!]!, delta: (g, a, b) => (g === f ? e[b]! - e[a]! : 0) };
    };
    // The new experiment's own first 20 working measurements, standardized as the search does (lower is better).
    const rng = new Rng(7);
    const picks = rng.shuffle(Array.from({ length: now.values.length }, (_, i) => i)).filter((i) => now.values[i] !== undefined).slice(0, 20);
    const feats = picks.map((i) => features(now.space.at(BigInt(i))));
    const raw = picks.map((i) => -now.values[i]!);
    const m = raw.reduce((a, b) => a + b, 0) / raw.length;
    const z = raw.map((v) => v - m);
    // What the right one says of k0 predicts; what the noise one says of k1 does not.
    const mix = PriorMix.fit([effectOf(right, 0), effectOf(noise, 1)], feats, z)!;
    expect(mix).not.toBeNull();
    expect(mix.weights[0]).toBeGreaterThan(0.3);
    expect(mix.weights[1]!).toBeLessThan(0.5 * mix.weights[0]!);
    // One that points the wrong way gets no weight, beside the right one or alone.
    expect(PriorMix.fit([effectOf(right, 0), effectOf(reversed, 0)], feats, z)!.weights[1]).toBeLessThan(1e-9);
    expect(PriorMix.fit([effectOf(reversed, 0)], feats, z)).toBeNull();
  });

  it('ignores an earlier experiment with fewer than two working measurements: the search is the cold one', () => {
    const failed: PriorExperiment = { direction: 'maximize', observations: [{ config: now.space.at(0n), configId: 'a', status: 'failed' }] };
    const a = simulate(now.space, now.f, 'bayesian', { budget: 25, seed: 3, direction: 'maximize', prior: [failed] });
    const b = simulate(now.space, now.f, 'bayesian', { budget: 25, seed: 3, direction: 'maximize' });
    expect(a.configs).toEqual(b.configs);
  });

  it('is deterministic per seed and resumes from a saved state with the same asks, given the same prior', () => {
    const prior = [earlier(pool(2, 1.5))];
    const make = (state?: StrategyState): Strategy => createStrategy('bayesian', now.space, { seed: 11, direction: 'maximize', prior, ...(state ? { state } : {}) });
    const drive = (s: Strategy, n: number): string[] => {
      const keys: string[] = [];
      for (let i = 0; i < n; i++) {
        const [c] = s.ask(1);
        if (!c) break;
        const key = configKey(now.space, c);
        keys.push(key);
        const v = now.f(c);
        s.tell([v === undefined ? { config: c, configId: key, status: 'failed' } : { config: c, configId: key, value: v, status: 'ok' }]);
      }
      return keys;
    };
    const whole = drive(make(), 30);
    expect(drive(make(), 30)).toEqual(whole);
    const a = make();
    const first = drive(a, 17);
    const b = make(JSON.parse(JSON.stringify(a.state())) as StrategyState);
    expect([...first, ...drive(b, 13)]).toEqual(whole);
    expect(new Set(whole).size).toBe(30);
  });
});
