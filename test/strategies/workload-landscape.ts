// Synthetic landscapes over configuration x workload, for the workload-aware search's tests and
// bench/workloads.ts. Shaped like the receive-batch measurements of issue 20: throughput grows with
// the number of flows, and the best batch size moves with it ("moving") or stays put ("static");
// a categorical knob has the same best value everywhere and a third knob hardly matters. Effects
// are drawn afresh per instance seed, on a log scale (effects multiply, as throughput's do).

import type { Config, Observation, Param } from '../../src/types.js';
import { Rng } from '../../src/util/random.js';
import { BayesianStrategy } from '../../src/strategies/bayesian.js';
import type { SearchSpace } from '../../src/strategies/space.js';
import { keyOfNormalized } from '../../src/strategies/encoding.js';
import { PoolSpace } from '../../src/strategies/pool-space.js';
import { loadTable } from '../../src/strategies/replay.js';
import { listParam, MixedRadixSpace } from './helpers.js';

export interface WorkloadLandscape {
  name: string;
  /** The knobs and the workload dimensions (marked `workload: true`). */
  params: Param[];
  /** The configurations a search may pick (default: every combination of the parameters' values). */
  space?: SearchSpace;
  /** A sub-space per workload point, for the independent searches (default: the workload dimensions fixed). */
  spaceAt?(point: number): SearchSpace;
  direction: 'maximize' | 'minimize';
  /** The workload points, as labels. */
  points: string[];
  /** The true (noise-free) objective; undefined: the configuration fails. */
  value(c: Config): number | undefined;
  /** Index of a configuration's workload point in `points`. */
  pointOf(c: Config): number;
  /** The best value at each workload point. */
  best: number[];
}

const BATCH = [1, 2, 4, 8, 16, 32, 64, 128];
const MODE = ['poll', 'irq', 'hybrid'];
const SPARE = [0, 1, 2, 3];
const FLOWS = [1, 2, 4, 8, 16, 32];

export function workloadLandscape(kind: 'moving' | 'static', instance: number): WorkloadLandscape & { bestBatch: number[] } {
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
  return { name: kind, params, direction: 'maximize', points: FLOWS.map(String), value, pointOf, best, bestBatch };
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

function observe(l: WorkloadLandscape, c: Config, rng: Rng, noise: number): Observation {
  const t = l.value(c);
  const e = Math.exp(noise * rng.normal());
  if (t === undefined) return { config: c, configId: keyOf(l, c), status: 'failed' };
  return { config: c, configId: keyOf(l, c), status: 'ok', value: t * e, samples: [t * e] };
}

/** A failure counts as nothing found (0 when maximising, infinity when minimising). */
function trueValue(l: WorkloadLandscape, c: Config): number {
  return l.value(c) ?? (l.direction === 'maximize' ? 0 : Infinity);
}

const keyOf = (l: WorkloadLandscape, c: Config): string => l.params.map((p) => String(c[p.name])).join('|');

/**
 * One bayesian search over configuration x workload with `budget` evaluations. `asKnob`: the
 * workload dimension loses its mark and is searched like any knob (what a search without workload
 * awareness does).
 */
export function sharedSearch(l: WorkloadLandscape, seed: number, budget: number, o: SearchOptions & { asKnob?: boolean } = {}): Step[] {
  const params = o.asKnob ? l.params.map((p) => (p.workload ? { ...p, workload: false } : p)) : l.params;
  const space = o.asKnob || !l.space ? new MixedRadixSpace(params) : l.space;
  if (o.asKnob && l.space) throw new Error('asKnob: only on landscapes of every combination');
  const s = new BayesianStrategy(space, { seed, budget, direction: l.direction });
  const noise = new Rng(seed ^ 0x5eed);
  const steps: Step[] = [];
  for (;;) {
    const [c] = s.ask(1);
    if (!c) break;
    s.tell([observe(l, c, noise, o.noise ?? 0)]);
    steps.push({ point: l.pointOf(c), value: trueValue(l, c), key: keyOf(l, c) });
  }
  return steps;
}

/**
 * One bayesian search per workload value, the budget split evenly (the first ones take the
 * remainder), run in turns: one evaluation each, round after round.
 */
export function independentSearches(l: WorkloadLandscape, seed: number, budget: number, o: SearchOptions = {}): Step[] {
  const n = l.points.length;
  const searches = l.points.map((_, w) => {
    const share = Math.floor(budget / n) + (w < budget % n ? 1 : 0);
    return new BayesianStrategy(l.spaceAt ? l.spaceAt(w) : fixedAt(l, w), { seed: seed * 101 + w, budget: share, direction: l.direction });
  });
  const noise = new Rng(seed ^ 0x5eed);
  const steps: Step[] = [];
  for (let active = true; active; ) {
    active = false;
    for (const s of searches) {
      const [c] = s.ask(1);
      if (!c) continue;
      active = true;
      s.tell([observe(l, c, noise, o.noise ?? 0)]);
      steps.push({ point: l.pointOf(c), value: trueValue(l, c), key: keyOf(l, c) });
    }
  }
  return steps;
}

/** Every combination of the knobs at workload point w (the workload dimensions fixed, unmarked). */
function fixedAt(l: WorkloadLandscape, w: number): SearchSpace {
  const full = new MixedRadixSpace(l.params);
  for (let i = 0n; i < full.size; i++) {
    const c = full.at(i);
    if (l.pointOf(c) !== w) continue;
    return new MixedRadixSpace(l.params.map((p) => (p.workload ? { ...p, workload: false, domain: { kind: 'list' as const, values: [c[p.name]!] } } : p)));
  }
  throw new Error(`no configuration at workload point ${w}`);
}

/** Whether a value is within `share` of a point's best (for a minimised objective: at most best / share). */
export function within(l: WorkloadLandscape, value: number, point: number, share: number): boolean {
  const best = l.best[point]!;
  return l.direction === 'maximize' ? value >= share * best : value <= best / share;
}

/** Evaluations until every workload point's best so far is within `share` of its best; undefined: never. */
export function evaluationsToReach(l: WorkloadLandscape, steps: Step[], share = 0.95): number | undefined {
  const reached = l.points.map(() => false);
  let left = l.points.length;
  for (let i = 0; i < steps.length; i++) {
    const { point, value } = steps[i]!;
    if (!reached[point] && within(l, value, point, share)) {
      reached[point] = true;
      if (--left === 0) return i + 1;
    }
  }
  return undefined;
}

/** Mean over workload points of the best found there over that point's best (0 where nothing was measured). */
export function meanShareOfBest(l: WorkloadLandscape, steps: Step[]): number {
  const max = l.direction === 'maximize';
  const found = l.points.map(() => (max ? 0 : Infinity));
  for (const s of steps) found[s.point] = max ? Math.max(found[s.point]!, s.value) : Math.min(found[s.point]!, s.value);
  return found.reduce((a, v, w) => a + (max ? v / l.best[w]! : l.best[w]! / v), 0) / l.points.length;
}

/**
 * A recorded table as a landscape: the rows are the pairs a search may pick (a pool), `workload`
 * names the workload columns. Values are the recorded ones (their noise is in them already).
 */
export function tableLandscape(name: string, csv: string, o: { objective: string; minimize?: boolean; workload: string[] }): WorkloadLandscape {
  const t = loadTable(csv, { objective: o.objective, ...(o.minimize ? { minimize: true } : {}) }, name);
  for (const w of o.workload) if (!t.params.some((p) => p.name === w)) throw new Error(`${name}: no workload column ${w}`);
  const params = t.params.map((p) => (o.workload.includes(p.name) ? { ...p, workload: true } : p));
  const label = (c: Config): string => o.workload.map((w) => `${w}=${String(c[w])}`).join(' ');
  const points = [...new Set(t.rows.map(label))];
  const index = new Map(points.map((p, i) => [p, i]));
  const values = new Map(t.rows.map((r, i) => [keyOfNormalized(params, r), t.values[i]]));
  const max = !o.minimize;
  const best = points.map(() => (max ? -Infinity : Infinity));
  t.rows.forEach((r, i) => {
    const v = t.values[i];
    const w = index.get(label(r))!;
    if (v !== undefined && (max ? v > best[w]! : v < best[w]!)) best[w] = v;
  });
  const pointOf = (c: Config): number => index.get(label(c))!;
  return {
    name,
    params,
    space: new PoolSpace(params, t.rows),
    spaceAt: (w) => {
      const rows = t.rows.filter((r) => pointOf(r) === w);
      return new PoolSpace(t.params, rows);
    },
    direction: max ? 'maximize' : 'minimize',
    points,
    value: (c) => values.get(keyOfNormalized(params, c)),
    pointOf,
    best,
  };
}
