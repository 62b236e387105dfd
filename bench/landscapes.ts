// Synthetic objective landscapes shaped like measured ones, for the strategy benchmarks. Each
// generator takes an instance seed: effects are drawn afresh per instance, so a strategy is judged
// over many landscapes of one shape, never tuned to one. Objectives work on a log scale
// (throughput-like: effects multiply), which is what makes the top configurations stand far above
// the median in real OS-configuration data.

import type { Config, Param, Value } from '../src/types.js';
import { Rng } from '../src/util/random.js';
import type { SearchSpace } from '../src/strategies/space.js';
import { listParam, MixedRadixSpace, rangeParam } from '../test/strategies/helpers.js';

export interface Landscape {
  name: string;
  space: SearchSpace;
  direction: 'maximize' | 'minimize';
  /** undefined: the configuration fails (build or run). */
  evaluate(c: Config): number | undefined;
  /** The best value any configuration reaches. */
  optimum: number;
}

/** Additive log-scale effects per parameter value plus pairwise interactions. */
interface Effects {
  main: number[][];
  pairs: { a: number; b: number; table: number[][] }[];
}

function drawEffects(rng: Rng, sizes: number[], scale: number[], pairs: [number, number, number][]): Effects {
  return {
    main: sizes.map((s, j) => Array.from({ length: s }, () => rng.normal() * scale[j]!)),
    pairs: pairs.map(([a, b, sd]) => ({
      a,
      b,
      table: Array.from({ length: sizes[a]! }, () => Array.from({ length: sizes[b]! }, () => rng.normal() * sd)),
    })),
  };
}

function logValue(e: Effects, idx: number[]): number {
  let s = 0;
  for (let j = 0; j < e.main.length; j++) s += e.main[j]![idx[j]!]!;
  for (const p of e.pairs) s += p.table[idx[p.a]!]![idx[p.b]!]!;
  return s;
}

function indices(params: Param[], c: Config): number[] {
  return params.map((p) => {
    if (p.domain.kind !== 'list') throw new Error('landscapes use list domains');
    return p.domain.values.indexOf(c[p.name] as Value);
  });
}

function optimumOf(space: SearchSpace, f: (c: Config) => number | undefined, dir: 'maximize' | 'minimize'): number {
  let best = dir === 'maximize' ? -Infinity : Infinity;
  for (let i = 0n; i < space.size; i++) {
    const v = f(space.at(i));
    if (v !== undefined && (dir === 'maximize' ? v > best : v < best)) best = v;
  }
  return best;
}

/** Best of f over every combination of positions (an odometer, no Config objects: fast for millions). */
function optimumOfIndices(sizes: number[], f: (idx: number[]) => number | undefined, dir: 'maximize' | 'minimize'): number {
  let best = dir === 'maximize' ? -Infinity : Infinity;
  const idx = sizes.map(() => 0);
  for (;;) {
    const v = f(idx);
    if (v !== undefined && (dir === 'maximize' ? v > best : v < best)) best = v;
    let j = sizes.length - 1;
    while (j >= 0 && ++idx[j]! === sizes[j]!) idx[j--] = 0;
    if (j < 0) return best;
  }
}

function pickDistinct(rng: Rng, n: number, k: number): number[] {
  return rng.shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, k);
}

const LEVELS = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * 256 configurations (2x2x2x2x4x4), like a small factorial of kernel and application knobs: two
 * parameters dominate, two interactions, the rest nudge. The top 1% sits several times above the median.
 */
export function factorial256(seed: number): Landscape {
  const rng = new Rng(seed * 7919 + 1);
  const sizes = [2, 2, 2, 2, 4, 4];
  const params = sizes.map((s, j) => (s === 2 ? listParam(`b${j}`, [false, true]) : listParam(`k${j}`, LEVELS(s).map((i) => 2 ** i))));
  const dominant = pickDistinct(rng, sizes.length, 2);
  const scale = sizes.map((_, j) => (dominant.includes(j) ? 0.7 : 0.12));
  const [a, b] = pickDistinct(rng, sizes.length, 2);
  const e = drawEffects(rng, sizes, scale, [
    [dominant[0]!, dominant[1]!, 0.3],
    [a!, b!, 0.25],
  ]);
  const space = new MixedRadixSpace(params);
  const evaluate = (c: Config): number => 1000 * Math.exp(logValue(e, indices(params, c)));
  return { name: 'factorial-256', space, direction: 'maximize', evaluate, optimum: optimumOf(space, evaluate, 'maximize') };
}

/**
 * Ten parameters (1.4 million configurations) where three matter: ordinal knobs with a sweet spot
 * (a buffer size too small or too large hurts) and one interaction; the other seven barely register.
 */
export function dominant(seed: number): Landscape {
  const rng = new Rng(seed * 104729 + 2);
  const sizes = [2, 2, 3, 3, 4, 4, 5, 6, 8, 10];
  const params = sizes.map((s, j) => listParam(`p${j}`, LEVELS(s)));
  const big = pickDistinct(rng, sizes.length, 3);
  const peaks = sizes.map((s) => rng.int(s));
  const widths = sizes.map((s) => 0.25 + rng.next() * 0.5 * s);
  const small = sizes.map(() => rng.normal() * 0.03);
  const inter = { a: big[0]!, b: big[1]!, w: 0.4 };
  const logv = (idx: number[]): number => {
    let s = 0;
    idx.forEach((i, j) => {
      const d = (i - peaks[j]!) / widths[j]!;
      s += big.includes(j) ? -0.5 * d * d : small[j]! * i;
    });
    // Both near their sweet spot together gives a little more.
    if (Math.abs(idx[inter.a]! - peaks[inter.a]!) <= 1 && Math.abs(idx[inter.b]! - peaks[inter.b]!) <= 1) s += inter.w;
    return s;
  };
  const space = new MixedRadixSpace(params);
  const evaluate = (c: Config): number => 500 * Math.exp(logv(indices(params, c)));
  const optimum = 500 * Math.exp(optimumOfIndices(sizes, logv, 'maximize'));
  return { name: 'dominant-1.4M', space, direction: 'maximize', evaluate, optimum };
}

/**
 * A plateau with rare peaks: 4^8 = 65,536 configurations, nearly all within a few percent of each
 * other; one configuration in 256 (four parameters at the right values together) is 40-80% faster.
 * Little for a model to learn before a peak is hit: strategies should do about as well as random.
 */
export function plateau(seed: number): Landscape {
  const rng = new Rng(seed * 15485863 + 3);
  const sizes = Array.from({ length: 8 }, () => 4);
  const params = sizes.map((s, j) => listParam(`q${j}`, LEVELS(s)));
  const keyParams = pickDistinct(rng, 8, 4);
  const keyVals = keyParams.map(() => rng.int(4));
  const e = drawEffects(rng, sizes, sizes.map(() => 0.01), []);
  const lift = 0.4 + 0.4 * rng.next();
  const space = new MixedRadixSpace(params);
  const evaluate = (c: Config): number => {
    const idx = indices(params, c);
    const hit = keyParams.every((p, k) => idx[p] === keyVals[k]);
    return 100 * Math.exp(logValue(e, idx)) * (hit ? 1 + lift : 1);
  };
  return { name: 'plateau-65k', space, direction: 'maximize', evaluate, optimum: optimumOf(space, evaluate, 'maximize') };
}

/**
 * Latency (minimise) over 3x3x4x4x2x2 = 576 configurations where 20-40% fail: the aggressive end
 * of the dominant knob is fastest but crashes unless a second knob is high enough, and one value of
 * a categorical knob breaks the build for one of its partners.
 */
export function failing(seed: number): Landscape {
  const rng = new Rng(seed * 32452843 + 4);
  const sizes = [3, 3, 4, 4, 2, 2];
  const params = [
    listParam('mode', ['poll', 'irq', 'hybrid']),
    listParam('alloc', ['slab', 'buddy', 'bump']),
    listParam('queue', [64, 128, 256, 512]),
    listParam('batch', [1, 4, 16, 64]),
    listParam('numa', [false, true]),
    listParam('huge', [false, true]),
  ];
  const e = drawEffects(rng, sizes, [0.3, 0.15, 0.2, 0.05, 0.05, 0.1], [[0, 2, 0.15]]);
  // The queue knob speeds things up steadily, and the deepest queues need a large batch.
  const queueGain = 0.25 + 0.2 * rng.next();
  const badAlloc = rng.int(3);
  const badMode = rng.int(3);
  const space = new MixedRadixSpace(params);
  const evaluate = (c: Config): number | undefined => {
    const idx = indices(params, c);
    if (idx[2]! >= 2 && idx[3]! < idx[2]! - 1) return undefined;
    if (idx[1] === badAlloc && idx[0] === badMode) return undefined;
    return 50 * Math.exp(logValue(e, idx) - queueGain * idx[2]!);
  };
  return { name: 'failing-576', space, direction: 'minimize', evaluate, optimum: optimumOf(space, evaluate, 'minimize') };
}

/**
 * 120 parameters (about 10^50 configurations) of which five matter, with one interaction between two
 * of them; the rest have tiny effects. The optimum is known without enumerating: best combination of
 * the five plus each other parameter's best value.
 */
export function wide(seed: number): Landscape {
  const rng = new Rng(seed * 49979687 + 5);
  const n = 120;
  const sizes = Array.from({ length: n }, (_, j) => [2, 3, 4, 8][j % 4]!);
  const params: Param[] = sizes.map((s, j) =>
    s === 2 ? listParam(`w${j}`, [false, true]) : s === 3 ? listParam(`w${j}`, ['off', 'low', 'high']) : listParam(`w${j}`, LEVELS(s)),
  );
  const big = pickDistinct(rng, n, 5);
  const scale = sizes.map((_, j) => (big.includes(j) ? 0.5 : 0.004));
  const e = drawEffects(rng, sizes, scale, [[big[0]!, big[1]!, 0.3]]);
  const space = new MixedRadixSpace(params);
  const evaluate = (c: Config): number => 200 * Math.exp(logValue(e, indices(params, c)));
  // Everything but the interacting pair is additive: maximise those per parameter.
  let best = 0;
  e.main.forEach((m, j) => {
    if (j !== big[0] && j !== big[1]) best += Math.max(...m);
  });
  const pair = e.pairs[0]!;
  let pairBest = -Infinity;
  for (let i = 0; i < sizes[pair.a]!; i++)
    for (let k = 0; k < sizes[pair.b]!; k++) pairBest = Math.max(pairBest, e.main[pair.a]![i]! + e.main[pair.b]![k]! + pair.table[i]![k]!);
  return { name: 'wide-120', space, direction: 'maximize', evaluate, optimum: 200 * Math.exp(best + pairBest) };
}

/**
 * The Wayfinder paper's Unikraft NGINX factorial, made explicit: 256 configurations (access log,
 * keep-alive, wrk's TCP connections 8-64, sendfile, tcp_nodelay, worker connections 128-1024).
 * Only access log off AND keep-alive on AND 32 or 64 connections is fast (44,000-90,000 requests/s);
 * everything else is a plateau of 239-3,043 requests/s, where keep-alive helps a little and nothing
 * else much. Inside the fast corner the knobs add up (64 connections, more worker connections,
 * sendfile, tcp_nodelay, in that order), so exactly two configurations reach 95% of the best. One
 * fixed landscape: the seed argument is ignored and the seeds vary the search instead.
 */
export function plateauFactorial(_seed = 0): Landscape {
  const rng = new Rng(20260);
  const params = [
    listParam('access_log', [true, false]),
    listParam('keepalive', [false, true]),
    listParam('connections', [8, 16, 32, 64]),
    listParam('sendfile', [false, true]),
    listParam('tcp_nodelay', [false, true]),
    listParam('worker_connections', [128, 256, 512, 1024]),
  ];
  const space = new MixedRadixSpace(params);
  const idx = (c: Config): number[] => indices(params, c);
  const fast = (i: number[]): boolean => i[0] === 1 && i[1] === 1 && i[2]! >= 2;
  // Log-scale effects in the fast corner; the best is 64 connections, 1024 worker connections,
  // sendfile and tcp_nodelay on; dropping tcp_nodelay keeps it within 5%, anything else does not.
  const WORKER = [0, 0.12, 0.22, 0.28];
  const fastLog = (i: number[]): number => 0.25 * (i[2]! - 2) + 0.1 * i[3]! + 0.03 * i[4]! + WORKER[i[5]!]! + 0.02 * i[3]! * (i[5]! >> 1);
  const top = fastLog([1, 1, 3, 1, 1, 3]);
  // The plateau: keep-alive lifts it, the other knobs shift it by a few percent, and a fixed draw of
  // measurement scatter per configuration (drawn once, in index order).
  const scatter = Array.from({ length: 256 }, () => rng.normal() * 0.25);
  const plateauLog = (i: number[], k: number): number => 1.4 * i[1]! + 0.1 * i[0]! + 0.05 * i[2]! + 0.04 * i[3]! + scatter[k]!;
  const plateauLogs = Array.from({ length: 256 }, (_, k) => plateauLog(idx(space.at(BigInt(k))), k));
  const lo = Math.min(...plateauLogs);
  const hi = Math.max(...plateauLogs);
  const value = new Float64Array(256);
  for (let k = 0; k < 256; k++) {
    const i = idx(space.at(BigInt(k)));
    value[k] = fast(i)
      ? 44_000 * (90_000 / 44_000) ** (fastLog(i) / top)
      : 239 * (3_043 / 239) ** ((plateauLogs[k]! - lo) / (hi - lo));
  }
  const evaluate = (c: Config): number => value[Number(space.indexOf(c))]!;
  const optimum = Math.max(...value);
  const near = value.filter((v) => v >= 0.95 * optimum).length;
  if (near !== 2) throw new Error(`internal: plateau factorial has ${near} configurations within 5% of the best, not 2`);
  return { name: 'plateau-factorial-256', space, direction: 'maximize', evaluate, optimum };
}

/** A 300-parameter space for timing the bayesian strategy's ask. */
export function latencySpace(): SearchSpace {
  const params: Param[] = Array.from({ length: 300 }, (_, j) =>
    j % 3 === 0 ? listParam(`x${j}`, [false, true]) : j % 3 === 1 ? listParam(`x${j}`, ['a', 'b', 'c', 'd', 'e']) : rangeParam(`x${j}`, 0, 63),
  );
  return new MixedRadixSpace(params);
}

export const LANDSCAPES: Record<string, (seed: number) => Landscape> = { plateauFactorial, factorial256, dominant, plateau, failing, wide };
