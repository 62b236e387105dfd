// The bayesian strategy over configuration x workload (workload dimensions declared): one model
// shared by every workload point, expected improvement against each point's own incumbent.

import { describe, expect, it } from 'vitest';
import { BayesianStrategy } from '../../src/strategies/bayesian.js';
import { configKey } from '../../src/strategies/encoding.js';
import type { Config } from '../../src/types.js';
import { listParam, MixedRadixSpace } from './helpers.js';
import { evaluationsToReach, independentSearches, sharedSearch, workloadLandscape } from './workload-landscape.js';

describe('bayesian search across workload points', () => {
  it('finds every workload point\'s best with fewer evaluations than one search per workload value', () => {
    // The best batch size moves with the flows. Same total budget; not reaching 95% counts as budget + 1.
    const budget = 72;
    let shared = 0;
    let independent = 0;
    let sharedReached = 0;
    for (let i = 0; i < 6; i++) {
      const l = workloadLandscape('moving', 500 + i);
      const s = evaluationsToReach(l, sharedSearch(l, 500 + i, budget, { noise: 0.02 }));
      const ind = evaluationsToReach(l, independentSearches(l, 500 + i, budget, { noise: 0.02 }));
      shared += s ?? budget + 1;
      independent += ind ?? budget + 1;
      if (s !== undefined) sharedReached++;
    }
    expect(sharedReached).toBeGreaterThanOrEqual(5);
    expect(shared).toBeLessThan(0.8 * independent);
  }, 120_000);

  it('starts with a measurement at every workload point, then never asks a (configuration, workload) pair twice', () => {
    const l = workloadLandscape('moving', 7);
    const steps = sharedSearch(l, 7, 40);
    expect(new Set(steps.slice(0, l.points.length).map((s) => s.point)).size).toBe(l.points.length);
    expect(new Set(steps.map((s) => s.key)).size).toBe(steps.length);
    expect(steps).toHaveLength(40);
  });

  it('asks the same sequence for the same seed, and a different one for another seed', () => {
    const l = workloadLandscape('static', 3);
    const a = sharedSearch(l, 11, 25, { noise: 0.02 }).map((s) => s.key);
    const b = sharedSearch(l, 11, 25, { noise: 0.02 }).map((s) => s.key);
    const c = sharedSearch(l, 12, 25, { noise: 0.02 }).map((s) => s.key);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('continues from its saved state exactly as an uninterrupted search', () => {
    const l = workloadLandscape('moving', 4);
    const space = new MixedRadixSpace(l.params);
    const run = (stopAt: number | undefined): string[] => {
      let s = new BayesianStrategy(space, { seed: 9, budget: 30, direction: 'maximize' });
      const keys: string[] = [];
      for (let i = 0; ; i++) {
        if (i === stopAt) s = new BayesianStrategy(space, { seed: 9, budget: 30, direction: 'maximize', state: JSON.parse(JSON.stringify(s.state())) });
        const asked = s.ask(2);
        if (asked.length === 0) break;
        keys.push(...asked.map((c) => configKey(space, c)));
        s.tell(asked.map((c: Config) => ({ config: c, configId: configKey(space, c), status: 'ok' as const, value: l.value(c) })));
      }
      return keys;
    };
    const whole = run(undefined);
    expect(whole).toHaveLength(30);
    expect(run(6)).toEqual(whole);
  });

  it('covers every pair exactly once when the budget is the whole space', () => {
    const space = new MixedRadixSpace([listParam('k', [1, 2, 3]), listParam('w', [10, 20], { workload: true, when: 'test' })]);
    const s = new BayesianStrategy(space, { seed: 1, budget: 6, direction: 'minimize' });
    const keys: string[] = [];
    for (;;) {
      const [c] = s.ask(1);
      if (!c) break;
      keys.push(configKey(space, c));
      s.tell([{ config: c, configId: configKey(space, c), status: 'ok', value: (c.k as number) * (c.w as number) }]);
    }
    expect(new Set(keys).size).toBe(6);
    expect(s.exhausted).toBe(true);
  });

  it('on a space too large to score whole (forest, candidates, local search): every point started and searched though its values are 1000x smaller, no pair twice', () => {
    // 8^5 x 4 = 131,072 pairs. Throughput level grows 10x per workload step; best k0 = workload index.
    const knobs = ['k0', 'k1', 'k2', 'k3', 'k4'].map((n) => listParam(n, [0, 1, 2, 3, 4, 5, 6, 7]));
    const space = new MixedRadixSpace([...knobs, listParam('w', [0, 1, 2, 3], { workload: true, when: 'test' })]);
    const f = (c: Config): number => 10 ** (c.w as number) * Math.exp(-0.3 * ((c.k0 as number) - (c.w as number)) ** 2 - 0.05 * (c.k1 as number));
    const s = new BayesianStrategy(space, { seed: 5, budget: 40, direction: 'maximize' });
    const keys: string[] = [];
    const points: number[] = [];
    for (;;) {
      const asked = s.ask(2);
      if (asked.length === 0) break;
      for (const c of asked) {
        keys.push(configKey(space, c));
        points.push(c.w as number);
      }
      s.tell(asked.map((c) => ({ config: c, configId: configKey(space, c), status: 'ok' as const, value: f(c) })));
    }
    expect(keys).toHaveLength(40);
    expect(new Set(keys).size).toBe(40);
    expect(new Set(points.slice(0, 4)).size).toBe(4);
    // Relative improvement, not absolute: the lightest point (w=0, values 1000x smaller) is still searched.
    for (let w = 0; w < 4; w++) expect(points.filter((p) => p === w).length).toBeGreaterThanOrEqual(4);
  }, 60_000);

  it('treats the space as before when no parameter is a workload dimension', () => {
    const l = workloadLandscape('moving', 1);
    const plain = l.params.map((p) => ({ ...p, workload: false }));
    expect(new BayesianStrategy(new MixedRadixSpace(plain), { seed: 1, direction: 'maximize' }).workloads).toBeNull();
    expect(new BayesianStrategy(new MixedRadixSpace(l.params), { seed: 1, direction: 'maximize' }).workloads?.count).toBe(6);
  });
});
