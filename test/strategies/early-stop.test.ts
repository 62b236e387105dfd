// The early-stopping rule's error rate by simulation: a configuration as good as the incumbent is
// stopped at most at the stated rate over many seeds; a clearly worse one is stopped at its first look.

import { describe, expect, it } from 'vitest';
import { EARLY_STOP_ALPHA, looksFor, PooledNoise, shouldStop, stageAt, stagesFor } from '../../src/strategies/early-stop.js';
import { Rng } from '../../src/util/random.js';
import { BayesianStrategy, censoredValue } from '../../src/strategies/bayesian.js';
import type { Observation, Param } from '../../src/types.js';
import { MixedRadixSpace } from './helpers.js';

/** Throughput-like samples: a level times log-normal noise of spread `sd`. */
const draw = (rng: Rng, level: number, sd: number, n: number): number[] => Array.from({ length: n }, () => level * Math.exp(sd * rng.normal()));

/**
 * One configuration raced against an incumbent of 5 iterations, with the variance pooled over
 * `others` configurations of 5 iterations each; it is looked at after 1, 2 and 4 of its 5
 * iterations. Returns the iterations it got before being stopped (5: never stopped).
 */
function race(rng: Rng, candidateLevel: number, o: { sd: number; others: number; alpha?: number }): number {
  const n = 5;
  const noise = new PooledNoise();
  const incumbent = draw(rng, 1000, o.sd, n);
  noise.add(incumbent);
  for (let i = 0; i < o.others; i++) noise.add(draw(rng, 500 + 100 * i, o.sd, n));
  const all = draw(rng, candidateLevel, o.sd, n);
  const looks = looksFor(n);
  for (const k of looks) {
    const v = shouldStop({ candidate: all.slice(0, k), incumbent, noise, direction: 'maximize', looks: looks.length, ...(o.alpha !== undefined ? { alpha: o.alpha } : {}) });
    if (v.stop) return k;
  }
  return n;
}

describe('early stopping rule', () => {
  it('looks after 1, 2, 4, ... iterations, in stages that cover every iteration once', () => {
    expect(looksFor(1)).toEqual([]);
    expect(looksFor(3)).toEqual([1, 2]);
    expect(looksFor(5)).toEqual([1, 2, 4]);
    expect(stagesFor(5)).toEqual([[0, 1], [1, 2], [2, 4], [4, 5]]);
    expect(stagesFor(1)).toEqual([[0, 1]]);
    expect(stageAt(5, 0)).toEqual([0, 1]);
    expect(stageAt(5, 3)).toEqual([2, 4]);
    expect(stageAt(5, 5)).toBeUndefined();
  });

  it(`stops a configuration as good as the incumbent (A/A) in at most ${EARLY_STOP_ALPHA * 100}% of 4,000 seeds`, () => {
    for (const sd of [0.03, 0.2]) {
      const rng = new Rng(11);
      const runs = 4000;
      let stopped = 0;
      for (let s = 0; s < runs; s++) if (race(rng, 1000, { sd, others: 3 }) < 5) stopped++;
      // Bonferroni over 3 looks keeps it below alpha; allow three binomial standard errors of alpha.
      const slack = 3 * Math.sqrt((EARLY_STOP_ALPHA * (1 - EARLY_STOP_ALPHA)) / runs);
      expect(stopped / runs, `sd ${sd}`).toBeLessThanOrEqual(EARLY_STOP_ALPHA + slack);
    }
  });

  it('at a looser level the same simulation stops A/A configurations at about that level (the test is not vacuous)', () => {
    const rng = new Rng(12);
    const runs = 4000;
    let stopped = 0;
    for (let s = 0; s < runs; s++) if (race(rng, 1000, { sd: 0.1, others: 3, alpha: 0.3 }) < 5) stopped++;
    // Three looks at 0.1 each, correlated: between the single look's 0.1 and the bound 0.3.
    expect(stopped / runs).toBeGreaterThan(0.1);
    expect(stopped / runs).toBeLessThanOrEqual(0.3);
  });

  it('stops a clearly worse configuration (30% below, 5% noise) at its first look in nearly every seed', () => {
    const rng = new Rng(13);
    const at = Array.from({ length: 1000 }, () => race(rng, 700, { sd: 0.05, others: 3 }));
    expect(at.filter((k) => k === 1).length / at.length).toBeGreaterThan(0.95);
    expect(at.every((k) => k < 5)).toBe(true);
  });

  it('never stops a better configuration, nor any before the pooled variance has 4 degrees of freedom', () => {
    const rng = new Rng(14);
    for (let s = 0; s < 500; s++) expect(race(rng, 1300, { sd: 0.1, others: 2 })).toBe(5);
    const noise = new PooledNoise();
    noise.add([100, 101, 99]);
    expect(shouldStop({ candidate: [1], incumbent: [100, 101, 99], noise, direction: 'maximize', looks: 1 }).stop).toBe(false);
    noise.add([50, 51, 49]);
    expect(shouldStop({ candidate: [1], incumbent: [100, 101, 99], noise, direction: 'maximize', looks: 1 }).stop).toBe(true);
    // Minimising: lower is better, so a higher candidate is the worse one.
    expect(shouldStop({ candidate: [1], incumbent: [100, 101, 99], noise, direction: 'minimize', looks: 1 }).stop).toBe(false);
    expect(shouldStop({ candidate: [300], incumbent: [100, 101, 99], noise, direction: 'minimize', looks: 1 }).stop).toBe(true);
  });

  it('a strategy fits a stopped configuration at a typical worse value, never its own partial iterations', () => {
    // Worse than 100 when maximising: the median of the measured ones below 100.
    expect(censoredValue([100], [10, 20, 30, 200], 'maximize')).toBe(20);
    expect(censoredValue([100, 25], [10, 20, 30, 200], 'maximize')).toBe(15);
    expect(censoredValue([100], [150, 300], 'maximize')).toBe(100);
    expect(censoredValue([5], [1, 6, 8, 9], 'minimize')).toBe(8);
  });

  it('the bayesian strategy counts a stop as working (not a failure) and keeps it in its saved state', () => {
    const params: Param[] = ['A', 'B', 'C'].map((name) => ({ name, type: 'integer', when: 'test', domain: { kind: 'list', values: [0, 1, 2, 3] } }));
    const space = new MixedRadixSpace(params);
    const s = new BayesianStrategy(space, { seed: 3, direction: 'maximize' });
    const told: Observation[] = s.ask(8).map((config, i) => {
      const key = JSON.stringify(config);
      return i < 5
        ? { config, configId: key, status: 'ok', value: 10 + Number(config.A) * 5 + i }
        : { config, configId: key, status: 'failed', failure: 'stopped', below: 30 };
    });
    s.tell(told);
    const state = s.state();
    const data = (state.extra as { data: [string, number[], number, unknown[]?][] }).data;
    // Told without its iterations: the bound alone (fitted at the rank-based value).
    expect(data.filter((d) => d[3] !== undefined).map((d) => [d[1], d[2], d[3]])).toEqual([[[], 0, [[30, null]]], [[], 0, [[30, null]]], [[], 0, [[30, null]]]]);
    const again = new BayesianStrategy(space, { seed: 3, direction: 'maximize', state: JSON.parse(JSON.stringify(state)) });
    expect(again.ask(3)).toEqual(s.ask(3));
  });
});
