// Synthetic landscapes over configuration x workload, for the workload-aware search's tests and
// bench/workloads.ts. Shaped like the receive-batch measurements of issue 20: throughput grows with
// the number of flows, and the best batch size moves with it ("moving") or stays put ("static");
// a categorical knob has the same best value everywhere and a third knob hardly matters. Effects
// are drawn afresh per instance seed, on a log scale (effects multiply, as throughput's do).

import type { Config, Param, Value } from '../../src/types.js';
import { Rng } from '../../src/util/random.js';
import { BayesianStrategy } from '../../src/strategies/bayesian.js';
import { listParam, MixedRadixSpace } from './helpers.js';

export interface WorkloadLandscape {
  name: string;
  /** The knobs, then the workload dimension (marked `workload: true`). */
  params: Param[];
  workload: Param;
  /** The workload dimension's values, in domain order. */
  points: Value[];
  /** The true (noise-free) objective, maximised. */
  value(c: Config): number;
  /** Index of a configuration's workload value in `points`. */
  pointOf(c: Config): number;
  /** The best value at each workload point. */
  best: number[];
  /** Where each point's best batch size sits (index into the batch values). */
  bestBatch: number[];
}

const BATCH = [1, 2, 4, 8, 16, 32, 64, 128];
const MODE = ['poll', 'irq', 'hybrid'];
const SPARE = [0, 1, 2, 3];
const FLOWS = [1, 2, 4, 8, 16, 32];

export function workloadLandscape(kind: 'moving' | 'static', instance: number): WorkloadLandscape {
  const rng = new Rng(instance * 7919 + (kind === 'moving' ? 1 : 2));
  // The best batch index at each workload point: a line from about 1 to about 6 when it moves.
  const from = 0.5 + rng.next() * 1.5;
  const slope = kind === 'moving' ? 0.8 + rng.next() * 0.3 : 0;
  const flat = 1 + rng.next() * 5;
  const opt = FLOWS.map((_, w) => (kind === 'moving' ? Math.min(7, from + slope * w) : flat));
  // Curvature: one batch step away from the best costs 4-12%, so 95% of a point's best needs its best
  // batch size or a neighbour.
  const curve = 0.04 + rng.next() * 0.08;
  const level = FLOWS.map((_, w) => 0.45 * w + 0.1 * rng.normal());
  const mode = MODE.map(() => 0.15 * rng.normal());
  const spare = SPARE.map(() => 0.01 * rng.normal());
  const pair = BATCH.map(() => MODE.map(() => 0.02 * rng.normal()));
  const workload = listParam('flows', FLOWS, { workload: true, when: 'test' });
  const params = [listParam('batch', BATCH), listParam('mode', MODE), listParam('spare', SPARE), workload];
  const pointOf = (c: Config): number => FLOWS.indexOf(c.flows as number);
  const value = (c: Config): number => {
    const w = pointOf(c);
    const b = BATCH.indexOf(c.batch as number);
    const m = MODE.indexOf(c.mode as string);
    const s = SPARE.indexOf(c.spare as number);
    return 1000 * Math.exp(level[w]! - curve * (b - opt[w]!) ** 2 + mode[m]! + spare[s]! + pair[b]![m]!);
  };
  const best = FLOWS.map(() => -Infinity);
  const bestBatch = FLOWS.map(() => -1);
  for (const batch of BATCH) {
    for (const m of MODE) {
      for (const s of SPARE) {
        FLOWS.forEach((flows, w) => {
          const v = value({ batch, mode: m, spare: s, flows });
          if (v > best[w]!) {
            best[w] = v;
            bestBatch[w] = BATCH.indexOf(batch);
          }
        });
      }
    }
  }
  return { name: kind, params, workload, points: FLOWS, value, pointOf, best, bestBatch };
}

/** One evaluation of a search: its configuration's workload point and true value. */
export interface Step {
  point: number;
  value: number;
  key: string;
}

export interface SearchOptions {
  /** Measurement noise: the value told is the true one times exp(noise x N(0, 1)). */
  noise?: number;
}

function measure(l: WorkloadLandscape, c: Config, rng: Rng, noise: number): { value: number; samples: number[] } {
  const v = l.value(c) * Math.exp(noise * rng.normal());
  return { value: v, samples: [v] };
}

const keyOf = (l: WorkloadLandscape, c: Config): string => l.params.map((p) => String(c[p.name])).join('|');

/**
 * One bayesian search over configuration x workload with `budget` evaluations. `asKnob`: the
 * workload dimension loses its mark and is searched like any knob (what a search without workload
 * awareness does).
 */
export function sharedSearch(l: WorkloadLandscape, seed: number, budget: number, o: SearchOptions & { asKnob?: boolean } = {}): Step[] {
  const params = o.asKnob ? l.params.map((p) => (p.workload ? { ...p, workload: false } : p)) : l.params;
  const s = new BayesianStrategy(new MixedRadixSpace(params), { seed, budget, direction: 'maximize' });
  const noise = new Rng(seed ^ 0x5eed);
  const steps: Step[] = [];
  for (;;) {
    const [c] = s.ask(1);
    if (!c) break;
    const m = measure(l, c, noise, o.noise ?? 0);
    s.tell([{ config: c, configId: keyOf(l, c), status: 'ok', ...m }]);
    steps.push({ point: l.pointOf(c), value: l.value(c), key: keyOf(l, c) });
  }
  return steps;
}

/**
 * One bayesian search per workload value, the budget split evenly (the first ones take the
 * remainder), run in turns: one evaluation each, round after round.
 */
export function independentSearches(l: WorkloadLandscape, seed: number, budget: number, o: SearchOptions = {}): Step[] {
  const n = l.points.length;
  const searches = l.points.map((v, w) => {
    const params = l.params.map((p) => (p.workload ? { ...p, workload: false, domain: { kind: 'list' as const, values: [v] } } : p));
    const share = Math.floor(budget / n) + (w < budget % n ? 1 : 0);
    return new BayesianStrategy(new MixedRadixSpace(params), { seed: seed * 101 + w, budget: share, direction: 'maximize' });
  });
  const noise = new Rng(seed ^ 0x5eed);
  const steps: Step[] = [];
  for (let active = true; active; ) {
    active = false;
    for (const s of searches) {
      const [c] = s.ask(1);
      if (!c) continue;
      active = true;
      const m = measure(l, c, noise, o.noise ?? 0);
      s.tell([{ config: c, configId: keyOf(l, c), status: 'ok', ...m }]);
      steps.push({ point: l.pointOf(c), value: l.value(c), key: keyOf(l, c) });
    }
  }
  return steps;
}

/** Evaluations until every workload point's best so far is within `share` of its best; undefined: never. */
export function evaluationsToReach(l: WorkloadLandscape, steps: Step[], share = 0.95): number | undefined {
  const reached = l.points.map(() => false);
  let left = l.points.length;
  for (let i = 0; i < steps.length; i++) {
    const { point, value } = steps[i]!;
    if (!reached[point] && value >= share * l.best[point]!) {
      reached[point] = true;
      if (--left === 0) return i + 1;
    }
  }
  return undefined;
}

/** Mean over workload points of the best found there over that point's best (0 where nothing was measured). */
export function meanShareOfBest(l: WorkloadLandscape, steps: Step[]): number {
  const found = l.points.map(() => 0);
  for (const s of steps) found[s.point] = Math.max(found[s.point]!, s.value);
  return found.reduce((a, v, w) => a + v / l.best[w]!, 0) / l.points.length;
}
