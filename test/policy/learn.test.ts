// learn on synthetic tables whose answer is known: the knob that follows the workload, the
// policy's regret on workload values it never saw, and the fallback outside the trained range.

import { describe, expect, it } from 'vitest';
import { workloadFromTable } from '../../src/policy/sources.js';
import { learn, type LearnResult } from '../../src/policy/learn.js';
import { decide } from '../../src/policy/policy.js';
import { parsePolicy } from '../../src/policy/policy-file.js';
import { FALLOFF, flatCsv, POWERS, syntheticCsv, twoDimCsv } from './synthetic.js';

function learnCsv(csv: string, objective: string, workload: string[], minimize = false): LearnResult {
  const data = workloadFromTable({ csv, file: 'synthetic.csv', objective, workload, ...(minimize ? { minimize } : {}) });
  return learn(data, { maxDepth: 4, tolerance: 0.01 });
}

describe('learn on a synthetic table', () => {
  const r = learnCsv(syntheticCsv(), 'throughput', ['FLOWS']);

  it('finds the best configuration per workload value: BATCH equal to FLOWS', () => {
    expect(r.perPoint.map((p) => p.point.FLOWS)).toEqual(POWERS);
    for (const p of r.perPoint) expect(p.best?.params.BATCH).toBe(p.point.FLOWS);
  });

  it('finds exactly the knob that must follow the workload', () => {
    expect(r.adaptation.filter((a) => a.adapt).map((a) => a.name)).toEqual(['BATCH']);
    const batch = r.adaptation.find((a) => a.name === 'BATCH')!;
    expect(batch.bestValues).toEqual(POWERS);
    // Held at 8, BATCH is 3 steps off at FLOWS=1 and 64: 1 - 1/(1 + 9 * FALLOFF).
    expect(batch.maxLossIfFixed).toBeCloseTo(1 - 1 / (1 + 9 * FALLOFF), 2);
    for (const n of ['X', 'Y']) expect(r.adaptation.find((a) => a.name === n)!.lossIfFixed).toBeLessThan(0.005);
    // fANOVA agrees: BATCH × FLOWS carries the variance, X and Y interact with nothing.
    expect(batch.interaction).toBeGreaterThan(0.3);
    for (const n of ['X', 'Y']) expect(r.adaptation.find((a) => a.name === n)!.interaction).toBeLessThan(0.02);
  });

  it('the best static configuration and what it loses at each workload value', () => {
    expect(r.static.params.BATCH).toBe(8);
    const loss = r.perPoint.map((p) => p.static.regret!);
    // Each point loses what the distance from 8 costs (within the 0.2% noise each way).
    POWERS.forEach((f, i) => expect(Math.abs(loss[i]! - (1 - 1 / (1 + FALLOFF * (Math.log2(f) - 3) ** 2)))).toBeLessThan(0.005));
    expect(r.static.max).toBeGreaterThan(0.14);
  });

  it('a policy whose leaves differ only in BATCH, with regret under 5% on held-back workload values', () => {
    const p = r.policy;
    const fixed = (k: string) => new Set(p.leaves.map((l) => l.params[k]));
    expect(fixed('X').size).toBe(1);
    expect(fixed('Y').size).toBe(1);
    expect(p.leaves.map((l) => l.params.BATCH).sort((a, b) => Number(a) - Number(b))).toEqual(POWERS);
    expect(p.regret.trained.max).toBeLessThan(0.005);
    const interp = r.heldOut.filter((h) => h.kind === 'interpolation');
    expect(interp.map((h) => h.value)).toEqual([2, 4, 8, 16, 32]);
    expect(p.regret.interpolation!.max).toBeLessThan(0.05);
    // One step off the best, and no better: the left-out value's own BATCH is never in the training.
    expect(p.regret.interpolation!.mean).toBeGreaterThan(1 - 1 / (1 + FALLOFF) - 0.005);
    expect(r.heldOut.filter((h) => h.kind === 'extrapolation').map((h) => h.value)).toEqual([1, 64]);
  });

  it('decides within the trained range by the tree, outside it by the fallback', () => {
    const p = r.policy;
    for (const f of POWERS) expect(decide(p, [f])).toMatchObject({ params: { BATCH: f }, fallback: false });
    expect(decide(p, [10]).params.BATCH).toBe(8);
    for (const x of [0.5, 65, 1e9, -1, NaN]) expect(decide(p, [x])).toEqual({ params: r.static.params, leaf: null, fallback: true });
    expect(p.fallback).toEqual({ params: r.static.params, why: 'static-best' });
  });

  it('round-trips through policy.json', () => {
    const back = parsePolicy(JSON.stringify(r.policy, null, 2), 'policy.json');
    expect(back).toEqual(r.policy);
  });

  it('a fallback never measured has no regret to show, and its policy.json still reads back', () => {
    const data = workloadFromTable({ csv: syntheticCsv(), file: 's.csv', objective: 'throughput', workload: ['FLOWS'] });
    const given = learn(data, { maxDepth: 4, tolerance: 0.01, fallback: { BATCH: 128, X: 'a', Y: 0 } });
    expect(given.notes).toContain('the fallback configuration given was never measured: its regret is unknown');
    expect(given.policy.regret.extrapolation).toMatchObject({ points: 2, unmeasured: 2 });
    expect(given.policy.regret.extrapolation!.mean).toBeNaN();
    const text = JSON.stringify(given.policy);
    expect(text).toContain('"extrapolation":{"mean":null,"max":null');
    const back = parsePolicy(text, 'policy.json');
    expect(back.regret.extrapolation!.mean).toBeNaN();
    expect(decide(back, [1000])).toEqual({ params: { BATCH: 128, X: 'a', Y: 0 }, leaf: null, fallback: true });
  });
});

describe('learn on tables with a known different answer', () => {
  it('a landscape whose optimum does not move: nothing adapts and the policy is one leaf', () => {
    const r = learnCsv(flatCsv(), 'throughput', ['FLOWS']);
    expect(r.adaptation.filter((a) => a.adapt)).toEqual([]);
    expect(r.policy.leaves).toHaveLength(1);
    expect(r.policy.leaves[0]!.params.BATCH).toBe(8);
    expect(r.static.max).toBeLessThan(0.005);
  });

  it('two workload dimensions, minimised: BATCH follows FLOWS, RETRIES follows LOSS, MODE neither', () => {
    const r = learnCsv(twoDimCsv(), 'latency_us', ['FLOWS', 'LOSS'], true);
    expect(r.direction).toBe('minimize');
    expect(r.adaptation.filter((a) => a.adapt).map((a) => a.name)).toEqual(['BATCH', 'RETRIES']);
    for (const p of r.perPoint) {
      expect(p.best?.params.BATCH).toBe(p.point.FLOWS);
      expect(p.best?.params.RETRIES).toBe([1, 2, 4].find((x) => x >= p.point.LOSS! / 10) ?? 0);
    }
    expect(r.policy.regret.trained.max).toBeLessThan(0.01);
    expect(new Set(r.policy.leaves.map((l) => l.params.MODE)).size).toBe(1);
    expect(decide(r.policy, [16, 7])).toMatchObject({ params: { BATCH: 16, RETRIES: 1 }, fallback: false });
    expect(decide(r.policy, [16, 50]).fallback).toBe(true);
  });

  it('says so when configurations were measured at few workload points, and judges only measured choices', () => {
    const [head, ...rows] = syntheticCsv().trim().split('\n');
    // Every configuration at two or three of the seven FLOWS values only.
    const sparse = [head, ...rows.filter((_, i) => (i * 7919) % 5 < 2)].join('\n');
    const r = learnCsv(sparse, 'throughput', ['FLOWS']);
    expect(r.notes.join('\n')).toMatch(/each configuration was measured at [0-9.]+ of 7 workload points on average/);
    expect(r.measured).toBeLessThan(0.5 * r.configurations * r.points);
    const trained = r.policy.regret.trained;
    expect(trained.points).toBe(7);
    expect(trained.unmeasured).toBe(r.perPoint.filter((p) => p.policy.regret === undefined).length);
    expect(learnCsv(syntheticCsv(), 'throughput', ['FLOWS']).notes).toEqual([]);
  });

  it('a shallower tree trades regret for size', () => {
    const deep = learnCsv(syntheticCsv(), 'throughput', ['FLOWS']);
    const data = workloadFromTable({ csv: syntheticCsv(), file: 's.csv', objective: 'throughput', workload: ['FLOWS'] });
    const shallow = learn(data, { maxDepth: 1, tolerance: 0.01 });
    expect(shallow.policy.leaves).toHaveLength(2);
    expect(shallow.policy.regret.trained.mean).toBeGreaterThan(deep.policy.regret.trained.mean + 0.01);
  });
});
