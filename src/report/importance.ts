// Which parameters matter: functional ANOVA (Hutter, Hoos & Leyton-Brown, ICML 2014) over a
// random-forest surrogate of the objective. Each tree is a piecewise-constant function over the
// product of the parameters' domains (uniform over each domain's values); its variance splits exactly
// into the variance of each parameter's marginal (main effects), of each pair's marginal beyond
// their main effects (interactions), and the rest. The marginals are computed exactly from the
// leaves' boxes, not by sampling; the fractions are averaged over the trees, whose spread is the
// uncertainty shown.

import { Forest, type ForestOptions, type TrainingSet, type TreeView } from '../strategies/forest.js';
import { Encoder } from '../strategies/encoding.js';
import type { Config, Param, Value } from '../types.js';
import { Rng } from '../util/random.js';
import { importanceWarnings, type ImportanceWarning } from './aliasing.js';

export const IMPORTANCE_METHOD = 'functional ANOVA (fANOVA) over a random-forest surrogate';

export interface Observed {
  config: Config;
  value: number;
}

export interface ParamImportance {
  name: string;
  /** Share of the surrogate's variance explained by this parameter alone (mean over trees). */
  fraction: number;
  /** Standard deviation of that share across the trees. */
  std: number;
  /** Main effect plus the interactions of every reported-on pair it is part of: what ranks parameters. */
  total: number;
}

export interface PairImportance {
  names: [string, string];
  /** Share of the variance explained by the pair beyond the two main effects. */
  fraction: number;
  std: number;
}

export interface Marginal {
  name: string;
  values: Value[];
  /** Predicted objective with this value, averaged over every other parameter (mean over trees). */
  mean: number[];
  /** That prediction one standard deviation (across trees) below and above, in the objective's units. */
  low: number[];
  high: number[];
}

export interface Importance {
  method: string;
  /** What the surrogate was fitted to: the objective, or log10 of it (when it spans orders of magnitude). */
  scale: 'linear' | 'log10';
  /** Configurations the surrogate was fitted on. */
  samples: number;
  trees: number;
  /** Coefficient of determination of the surrogate on held-out configurations (k-fold); undefined with too few. */
  cvR2?: number;
  folds?: number;
  params: ParamImportance[];
  pairs: PairImportance[];
  marginals: Marginal[];
  /** Why some shares cannot be read as they stand (aliased or never varied parameters, too few points). */
  warnings: ImportanceWarning[];
}

export interface ImportanceOptions {
  seed?: number;
  trees?: number;
  /** How many pairs to report (strongest first). */
  topPairs?: number;
  /** With more parameters than this, pairs are computed among the ones trees split on most. */
  maxPairParams?: number;
  /** At most this many values per parameter in a marginal (evenly spread over larger domains). */
  maxMarginalValues?: number;
  /**
   * Fit log10 of the objective (every value must be positive): variance shares then measure
   * multiplicative effects, and one huge outlier does not own the variance.
   */
  log?: boolean;
}

/** At most this many values of one parameter in a marginal or a main-effect figure. */
export const MAX_EFFECT_VALUES = 40;

/** Every position of a domain of K values, or `max` of them evenly spread over larger domains. */
export function samplePositions(K: number, max = MAX_EFFECT_VALUES): number[] {
  if (K <= max) return [...Array(K).keys()];
  return [...new Set(Array.from({ length: max }, (_, k) => Math.round((k * (K - 1)) / (max - 1))))];
}

/** Fewer measured configurations than this and no importance is computed: the surrogate would be noise. */
export const MIN_SAMPLES = 6;

/**
 * Extremely randomised trees, fully grown, no resampling, a third of the features tried per split
 * (Breiman's choice for regression): on landscapes with planted interactions this predicted held-out
 * configurations best, and a feature with no main effect (one half of a pure interaction) still gets
 * chosen when the features that win greedily are not among those tried.
 */
export function surrogateOptions(dims: number, trees = 32): ForestOptions {
  return { trees, mtry: Math.max(1, Math.ceil(dims / 3)), minSplit: 2, maxDepth: 32, bootstrap: false };
}

export function trainingSet(params: readonly Param[], rows: readonly Observed[]): { enc: Encoder; data: TrainingSet } {
  const enc = new Encoder(params);
  const n = rows.length;
  const d = enc.dims;
  const x = new Float64Array(n * d);
  const row = new Float64Array(d);
  rows.forEach((r, i) => {
    enc.features(enc.indices(r.config), row);
    for (let f = 0; f < d; f++) x[f * n + i] = row[f]!;
  });
  const categories = Int32Array.from(enc.codecs.map((c) => (c.categorical ? c.size : 0)));
  return { enc, data: { n, dims: d, x, y: Float64Array.from(rows.map((r) => r.value)), categories } };
}

export function parameterImportance(params: readonly Param[], rows: readonly Observed[], opts: ImportanceOptions = {}): Importance | undefined {
  if (rows.length < MIN_SAMPLES || params.length === 0) return undefined;
  const log = opts.log === true && rows.every((r) => r.value > 0);
  const { enc, data } = trainingSet(params, log ? rows.map((r) => ({ config: r.config, value: Math.log10(r.value) })) : rows);
  const back = (v: number): number => (log ? 10 ** v : v);
  const rng = new Rng(opts.seed ?? 1);
  const fo = surrogateOptions(data.dims, opts.trees);
  const forest = new Forest(data, fo, rng);
  const sizes = enc.codecs.map((c) => c.size);
  const trees = forest.trees.map((t) => decompose(t, sizes, data.categories));
  const live = trees.filter((t) => t.variance > 1e-12 * (1 + t.mean * t.mean));
  const d = data.dims;

  const params_: ParamImportance[] = params.map((p, f) => {
    const fr = live.map((t) => t.main.get(f) ?? 0);
    return { name: p.name, fraction: avg(fr), std: sd(fr), total: avg(fr) };
  });

  // Pair candidates: every parameter, or in large spaces the ones the trees split on most (a pure
  // interaction has no main effect, so main effects cannot choose them).
  const maxPair = opts.maxPairParams ?? 12;
  const splits = new Float64Array(d);
  for (const t of forest.trees) for (const f of t.feature) if (f >= 0) splits[f]! += 1;
  const cands = [...Array(d).keys()].sort((a, b) => splits[b]! - splits[a]! || a - b).slice(0, maxPair).sort((a, b) => a - b);
  const candSet = new Set(cands);
  const pairVals = new Map<number, number[]>();
  for (const t of live) {
    for (const [key, v] of pairsOf(t, candSet, d)) {
      const list = pairVals.get(key) ?? [];
      list.push(v);
      pairVals.set(key, list);
    }
  }
  const pairs: PairImportance[] = [];
  for (let a = 0; a < cands.length; a++) {
    for (let b = a + 1; b < cands.length; b++) {
      const f = cands[a]!;
      const g = cands[b]!;
      const fr = pairVals.get(f * d + g) ?? [];
      // Trees that never split on both explain nothing of the pair: zeros, not missing.
      while (fr.length < live.length) fr.push(0);
      pairs.push({ names: [params[f]!.name, params[g]!.name], fraction: avg(fr), std: sd(fr) });
    }
  }
  pairs.sort((p, q) => q.fraction - p.fraction);
  // A parameter that matters only together with another (a pure interaction) has no main effect;
  // ranking by main effect plus its interactions keeps it above one that does not matter at all.
  const byName = new Map(params_.map((p) => [p.name, p]));
  for (const p of pairs) for (const n of p.names) byName.get(n)!.total += p.fraction;

  const maxVals = opts.maxMarginalValues ?? MAX_EFFECT_VALUES;
  const marginals: Marginal[] = enc.codecs.map((c, f) => {
    const K = c.size;
    const idx = samplePositions(K, maxVals);
    const m: Marginal = { name: c.name, values: idx.map((i) => c.valueAt(i)), mean: [], low: [], high: [] };
    for (const i of idx) {
      const per = trees.map((t) => t.marginalAt(f, c.rank(i)));
      const mu = avg(per);
      const s = sd(per);
      m.mean.push(back(mu));
      m.low.push(back(mu - s));
      m.high.push(back(mu + s));
    }
    return m;
  });

  const cv = crossValidatedR2(data, fo, opts.seed ?? 1);
  return {
    method: IMPORTANCE_METHOD,
    scale: log ? 'log10' : 'linear',
    samples: rows.length,
    trees: fo.trees,
    ...(cv ? { cvR2: cv.r2, folds: cv.folds } : {}),
    params: params_.sort((p, q) => q.total - p.total || q.fraction - p.fraction),
    pairs: pairs.slice(0, opts.topPairs ?? 5),
    marginals,
    warnings: importanceWarnings(params, rows.map((r) => r.config)),
  };
}

interface Segment {
  lo: number;
  hi: number;
  /** Share of the domain's values in this segment. */
  w: number;
}

interface TreeDecomposition {
  mean: number;
  variance: number;
  /** Main-effect share of the variance per feature the tree uses. */
  main: Map<number, number>;
  /** Marginal prediction at a feature rank (the tree's mean for unused features). */
  marginalAt(f: number, rank: number): number;
  leaves: Leaf[];
  used: number[];
  segments: Map<number, Segment[]>;
  mainVar: Map<number, number>;
}

interface Leaf {
  value: number;
  /** Volume of the leaf's box: the product of `frac`. */
  volume: number;
  /** Per used feature (by position in `used`): the fraction of its domain inside the leaf. */
  frac: Float64Array;
  /** Per used feature: the leaf's segments as inclusive index ranges [a0, b0, a1, b1, ...]. */
  ranges: Int32Array[];
}

/**
 * One tree's leaves as boxes over the domains, and its exact variance decomposition for main effects.
 * Each used feature's domain is cut into segments at the tree's thresholds (categories for
 * categorical features), so every leaf covers whole segments and marginals are constant on each.
 */
function decompose(tree: TreeView, sizes: number[], categories: Int32Array): TreeDecomposition {
  const usedSet = new Set<number>();
  const cuts = new Map<number, Set<number>>();
  tree.feature.forEach((f, node) => {
    if (f < 0) return;
    usedSet.add(f);
    if (categories[f]! === 0) {
      const c = Math.floor(tree.threshold[node]!);
      if (c >= 0 && c <= sizes[f]! - 2) {
        const set = cuts.get(f) ?? new Set<number>();
        set.add(c);
        cuts.set(f, set);
      }
    }
  });
  const used = [...usedSet].sort((a, b) => a - b);
  const pos = new Map(used.map((f, k) => [f, k]));
  const segments = new Map<number, Segment[]>();
  for (const f of used) {
    const K = sizes[f]!;
    if (categories[f]! > 0) {
      segments.set(f, Array.from({ length: K }, (_, c) => ({ lo: c, hi: c, w: 1 / K })));
    } else {
      const cs = [...(cuts.get(f) ?? [])].sort((a, b) => a - b);
      const segs: Segment[] = [];
      let lo = 0;
      for (const c of [...cs, K - 1]) {
        segs.push({ lo, hi: c, w: (c - lo + 1) / K });
        lo = c + 1;
      }
      segments.set(f, segs);
    }
  }

  // Walk to every leaf, narrowing each used feature's allowed values on the way.
  const leaves: Leaf[] = [];
  const lo = used.map(() => 0);
  const hi = used.map((f) => sizes[f]! - 1);
  const allowed: (Uint8Array | null)[] = used.map((f) => (categories[f]! > 0 ? new Uint8Array(sizes[f]!).fill(1) : null));
  const walk = (node: number): void => {
    const f = tree.feature[node]!;
    if (f < 0) {
      const frac = new Float64Array(used.length);
      const ranges: Int32Array[] = [];
      used.forEach((g, k) => {
        const K = sizes[g]!;
        const al = allowed[k];
        if (al) {
          let cnt = 0;
          const r: number[] = [];
          for (let c = 0; c < K; c++) {
            if (!al[c]) continue;
            cnt++;
            if (r.length > 0 && r[r.length - 1] === c - 1) r[r.length - 1] = c;
            else r.push(c, c);
          }
          frac[k] = cnt / K;
          ranges.push(Int32Array.from(r));
        } else {
          frac[k] = Math.max(0, hi[k]! - lo[k]! + 1) / K;
          const segs = segments.get(g)!;
          ranges.push(hi[k]! >= lo[k]! ? Int32Array.of(segmentOf(segs, lo[k]!), segmentOf(segs, hi[k]!)) : new Int32Array(0));
        }
      });
      const volume = frac.reduce((a, b) => a * b, 1);
      // A box empty along some feature holds no part of the space: it adds to no marginal.
      if (volume > 0) leaves.push({ value: tree.value[node]!, volume, frac, ranges });
      return;
    }
    const k = pos.get(f)!;
    const m = tree.mask[node];
    if (m) {
      const al = allowed[k]!;
      const saved = Uint8Array.from(al);
      for (let c = 0; c < al.length; c++) al[c] = saved[c]! & (m[c + 1] === 1 ? 1 : 0);
      walk(tree.left[node]!);
      for (let c = 0; c < al.length; c++) al[c] = saved[c]! & (m[c + 1] === 1 ? 0 : 1);
      walk(tree.right[node]!);
      al.set(saved);
    } else {
      const c = Math.floor(tree.threshold[node]!);
      const savedHi = hi[k]!;
      const savedLo = lo[k]!;
      hi[k] = Math.min(savedHi, c);
      walk(tree.left[node]!);
      hi[k] = savedHi;
      lo[k] = Math.max(savedLo, c + 1);
      walk(tree.right[node]!);
      lo[k] = savedLo;
    }
  };
  walk(0);

  let mean = 0;
  for (const l of leaves) mean += l.value * l.volume;
  let variance = 0;
  for (const l of leaves) variance += l.volume * (l.value - mean) ** 2;

  // Marginal of one feature: each leaf adds value x (volume outside that feature) over its ranges,
  // accumulated in a difference array and summed once.
  const marg = new Map<number, Float64Array>();
  const mainVar = new Map<number, number>();
  const main = new Map<number, number>();
  used.forEach((f, k) => {
    const segs = segments.get(f)!;
    const diff = new Float64Array(segs.length + 1);
    for (const l of leaves) {
      const x = (l.value * l.volume) / l.frac[k]!;
      const r = l.ranges[k]!;
      for (let q = 0; q < r.length; q += 2) {
        diff[r[q]!]! += x;
        diff[r[q + 1]! + 1]! -= x;
      }
    }
    const a = new Float64Array(segs.length);
    let run = 0;
    let v = 0;
    segs.forEach((s, i) => {
      run += diff[i]!;
      a[i] = run;
      v += s.w * (run - mean) ** 2;
    });
    marg.set(f, a);
    mainVar.set(f, v);
    main.set(f, variance > 0 ? v / variance : 0);
  });

  return {
    mean,
    variance,
    main,
    leaves,
    used,
    segments,
    mainVar,
    marginalAt(f: number, rank: number): number {
      const a = marg.get(f);
      if (!a) return mean;
      const segs = segments.get(f)!;
      const i = rank < 0 || rank > segs[segs.length - 1]!.hi ? -1 : segmentOf(segs, rank);
      return i < 0 ? mean : a[i]!;
    },
  };
}

/** Index of the segment holding a rank (segments are sorted and cover the domain). */
function segmentOf(segs: Segment[], rank: number): number {
  let a = 0;
  let b = segs.length - 1;
  while (a < b) {
    const mid = (a + b) >> 1;
    if (segs[mid]!.hi < rank) a = mid + 1;
    else b = mid;
  }
  return a;
}

/** Reused across pairs and trees: the joint marginals are many and short-lived. */
let scratch = new Float64Array(1024);

/**
 * Interaction shares of every pair of used features among the candidates, keyed f * dims + g (f < g):
 * the pair's joint marginal from a two-dimensional difference array over their segments.
 */
function pairsOf(t: TreeDecomposition, cands: Set<number>, dims: number): Map<number, number> {
  const out = new Map<number, number>();
  const ks = t.used.map((f, k) => ({ f, k })).filter(({ f }) => cands.has(f));
  for (let x = 0; x < ks.length; x++) {
    for (let y = x + 1; y < ks.length; y++) {
      const { f, k } = ks[x]!;
      const { f: g, k: j } = ks[y]!;
      const sf = t.segments.get(f)!;
      const sg = t.segments.get(g)!;
      const W = sg.length + 1;
      const size = (sf.length + 1) * W;
      if (scratch.length < size) scratch = new Float64Array(2 * size);
      const diff = scratch;
      diff.fill(0, 0, size);
      for (const l of t.leaves) {
        const c = (l.value * l.volume) / (l.frac[k]! * l.frac[j]!);
        const rf = l.ranges[k]!;
        const rg = l.ranges[j]!;
        for (let p = 0; p < rf.length; p += 2) {
          const a0 = rf[p]! * W;
          const a1 = (rf[p + 1]! + 1) * W;
          for (let q = 0; q < rg.length; q += 2) {
            const b0 = rg[q]!;
            const b1 = rg[q + 1]! + 1;
            diff[a0 + b0]! += c;
            diff[a0 + b1]! -= c;
            diff[a1 + b0]! -= c;
            diff[a1 + b1]! += c;
          }
        }
      }
      // Prefix sums along both axes turn the corner updates into the joint marginal.
      for (let s = 0; s <= sf.length; s++) for (let u = 1; u <= sg.length; u++) diff[s * W + u]! += diff[s * W + u - 1]!;
      for (let s = 1; s <= sf.length; s++) for (let u = 0; u <= sg.length; u++) diff[s * W + u]! += diff[(s - 1) * W + u]!;
      let v = 0;
      for (let s = 0; s < sf.length; s++) for (let u = 0; u < sg.length; u++) v += sf[s]!.w * sg[u]!.w * (diff[s * W + u]! - t.mean) ** 2;
      v -= t.mainVar.get(f)! + t.mainVar.get(g)!;
      out.set(f * dims + g, Math.max(0, v) / t.variance);
    }
  }
  return out;
}

/** k-fold cross-validated R² of the surrogate: how much of the objective it predicts on unseen configurations. */
function crossValidatedR2(data: TrainingSet, fo: ForestOptions, seed: number): { r2: number; folds: number } | undefined {
  const n = data.n;
  if (n < 10) return undefined;
  const folds = Math.min(5, n);
  const rng = new Rng(seed + 7);
  const order = [...Array(n).keys()];
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const mean = avg([...data.y]);
  let sse = 0;
  let sst = 0;
  const row = new Float64Array(data.dims);
  for (let k = 0; k < folds; k++) {
    const test = order.filter((_, i) => i % folds === k);
    const train = order.filter((_, i) => i % folds !== k);
    const m = train.length;
    const x = new Float64Array(m * data.dims);
    for (let f = 0; f < data.dims; f++) for (let i = 0; i < m; i++) x[f * m + i] = data.x[f * n + train[i]!]!;
    const sub: TrainingSet = { n: m, dims: data.dims, x, y: Float64Array.from(train.map((i) => data.y[i]!)), categories: data.categories };
    const forest = new Forest(sub, { ...fo, trees: Math.min(fo.trees, 16) }, rng);
    for (const i of test) {
      for (let f = 0; f < data.dims; f++) row[f] = data.x[f * n + i]!;
      const pred = forest.predict(row).mean;
      sse += (data.y[i]! - pred) ** 2;
      sst += (data.y[i]! - mean) ** 2;
    }
  }
  return { r2: sst > 0 ? 1 - sse / sst : 0, folds };
}

function avg(v: readonly number[]): number {
  return v.length === 0 ? 0 : v.reduce((a, b) => a + b, 0) / v.length;
}

function sd(v: readonly number[]): number {
  if (v.length < 2) return 0;
  const m = avg(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
}
