// Bayesian optimisation over mixed categorical/ordinal/integer spaces with conditions.
//
// Surrogate, chosen by regime:
// - Small spaces (<= 20k configurations, scored exhaustively) with few measurements (<= 150) and
//   <= 30 parameters: a Gaussian process with a product kernel over per-parameter mismatch (categorical)
//   or rank distance (ordinal) and one length-scale per parameter by marginal likelihood (gp.ts).
//   With 10-40 measurements it extrapolates additive structure ("A best and B best together") and
//   gives calibrated uncertainty; the benchmark's 256-configuration factorial needs exactly that:
//   extra-trees alone reached 0.91 of the optimum at 20 evaluations, the GP 0.98-0.99.
// - Everything else: extremely randomised trees (forest.ts), SMAC-style: uncertainty from the spread
//   of the trees, categorical splits along the order of category means, irrelevant parameters ignored
//   by the splits, inactive ones just one more value. Fit in milliseconds where a GP's O(n^3) with
//   hyper-parameter search would blow the 200 ms budget at 1,000 measurements x 300 parameters.
//   A tree-Parzen estimator was set aside: it models parameters one at a time and misses the
//   interactions that decide real landscapes.
//
// The loop: a few seeded random points; then per proposal fit on the measured values (median of
// each run's samples, repeats averaged, log scale when they span more than 100x), multiply expected
// improvement by P(works) from a forest trained on ok/failed (failed runs never enter the
// regression), and maximise it over every unseen configuration when the space is small, else over
// random candidates refined by one-parameter local search from the best points. Configurations in
// flight enter as fantasies at the predicted mean (kriging believer), so a batch spreads out.

import type { Config, Observation } from '../types.js';
import { Rng } from '../util/random.js';
import { expectedImprovement } from './acquisition.js';
import { AdditiveModel } from './additive.js';
import { BaseStrategy } from './base.js';
import { configOfKey, Encoder } from './encoding.js';
import { Forest, type ForestOptions, type TrainingSet } from './forest.js';
import { GaussianProcess } from './gp.js';
import { IncrementalForest } from './incremental.js';
import type { SearchSpace } from './space.js';
import type { Json, StrategyOptions } from './strategy.js';

/** Spaces up to this size are scored exhaustively. */
export const EXHAUSTIVE_LIMIT = 20_000n;
/** Random candidates per ask on large spaces: many where they are cheap, fewer on wide spaces. */
const RANDOM_CANDIDATES = (dims: number): number => (dims <= 30 ? 1_000 : 256);
/** Candidates recombined from the best measured configurations per ask on large spaces. */
const RECOMBINED = 256;
/**
 * Above this many parameters a space is wide: the forest's mean is blended half and half with an
 * additive model's (ridge penalty 3 observations per value, the same pulling neighbouring values
 * of an ordinal together), which also opens its 16 strongest
 * parameters to local search, and recombined candidates redraw a fifth of their values at random
 * (one value in 1/dims would leave them near-copies of their parents). Settings from the wide-120
 * landscape of bench/landscapes.ts.
 */
const WIDE = 30;
const ADDITIVE_WEIGHT = 0.5;
const ADDITIVE_LAMBDA = 3;
const ADDITIVE_SMOOTH = 3;
const ADDITIVE_MOVES = 16;
const WIDE_MUTATION = 0.2;
const LOCAL_STARTS = 6;
const LOCAL_STEPS = 25;
const MAX_DRAWS = 2_000;
const GP_MAX_POINTS = 150;
const GP_MAX_DIMS = 30;

interface Measured {
  feat: Float64Array;
  ok: number[];
  failed: number;
}

interface Candidate {
  key: string;
  config: Config;
  feat: Float64Array;
}

/** A scored point of the space; `cand` once it has been made a configuration. */
interface Point {
  idx: Int32Array;
  feat: Float64Array;
  score: number;
  cand?: Candidate;
}

interface Surrogate {
  predict(v: ArrayLike<number>, off?: number): { mean: number; variance: number };
}

interface Model {
  forest: Surrogate;
  additive: AdditiveModel | null;
  /** Weight of the additive model's mean beside the forest's. */
  w: number;
  best: number;
  works: Forest | null;
}

export class BayesianStrategy extends BaseStrategy {
  private readonly enc: Encoder;
  private readonly categories: Int32Array;
  private readonly sizes: number[];
  /** Ordinals of more than two values: neighbouring values' effects are pulled together. */
  private readonly smoothable: boolean[];
  private readonly data = new Map<string, Measured>();
  private all: Candidate[] | null = null;
  readonly initial: number;
  /** Some parameter has a condition: points must be normalised before they are scored. */
  private readonly conditional: boolean;

  constructor(space: SearchSpace, opts: StrategyOptions) {
    super('bayesian', space, opts);
    this.enc = new Encoder(space.params);
    this.sizes = this.enc.codecs.map((c) => c.size);
    this.smoothable = this.enc.codecs.map((c) => !c.categorical && c.size > 2);
    this.categories = Int32Array.from(this.enc.codecs.map((c) => (c.categorical ? c.size : 0)));
    this.conditional = space.params.some((p) => p.if !== undefined) || space.contains !== undefined;
    this.initial = Math.max(5, Math.min(10, Math.ceil(Math.sqrt(space.params.length))));
    if (space.size === 0n) this.spaceDone = true;
    const saved = opts.state?.extra as { data: [string, number[], number][] } | undefined;
    for (const [key, ok, failed] of saved?.data ?? []) {
      const config = configOfKey(space.params, key);
      this.data.set(key, { feat: this.features(config), ok: [...ok], failed });
    }
  }

  protected override saveExtra(): Json {
    return { data: [...this.data].map(([k, m]) => [k, [...m.ok], m.failed]) };
  }

  protected override observe(o: Observation, key: string, normalized: Config): void {
    let m = this.data.get(key);
    if (!m) {
      m = { feat: this.features(normalized), ok: [], failed: 0 };
      this.data.set(key, m);
    }
    const v = measuredValue(o);
    if (v === undefined) m.failed++;
    else m.ok.push(v);
  }

  protected propose(n: number): Config[] {
    const out: Candidate[] = [];
    const taken = new Set<string>();
    const okCount = [...this.data.values()].filter((m) => m.ok.length > 0).length;
    while (out.length < n) {
      const c =
        this.seen.size + out.length < this.initial || okCount < 2 ? this.randomUnseen(taken) : this.modelPick(out, taken);
      if (!c) break;
      taken.add(c.key);
      out.push(c);
    }
    return out.map((c) => c.config);
  }

  private features(normalized: Config): Float64Array {
    const f = new Float64Array(this.enc.dims);
    this.enc.features(this.enc.indices(normalized), f);
    return f;
  }

  private candidate(raw: Config): Candidate {
    const config = this.space.normalize(raw);
    return { key: this.key(config), config, feat: this.features(config) };
  }

  private fresh(c: Candidate, taken: Set<string>): boolean {
    return !this.seen.has(c.key) && !taken.has(c.key);
  }

  private randomUnseen(taken: Set<string>): Candidate | null {
    for (let i = 0; i < MAX_DRAWS; i++) {
      const c = this.candidate(this.space.sample(this.rng));
      if (this.fresh(c, taken)) return c;
    }
    // Mostly seen: only a small space gets here, so list what is left.
    if (this.space.size <= EXHAUSTIVE_LIMIT) {
      const left = this.allCandidates().filter((c) => this.fresh(c, taken));
      if (left.length > 0) return left[this.rng.int(left.length)]!;
    }
    this.spaceDone = true;
    return null;
  }

  private allCandidates(): Candidate[] {
    if (!this.all) {
      const byKey = new Map<string, Candidate>();
      for (let i = 0n; i < this.space.size; i++) {
        const c = this.candidate(this.space.at(i));
        if (!byKey.has(c.key)) byKey.set(c.key, c);
      }
      this.all = [...byKey.values()];
    }
    return this.all;
  }

  /** Fit on measured values plus fantasies for everything in flight, then maximise EI x P(works). */
  private modelPick(chosen: Candidate[], taken: Set<string>): Candidate | null {
    const model = this.fit(chosen);
    const score = (feat: Float64Array, off = 0): number => {
      const p = model.forest.predict(feat, off);
      const mean = model.additive ? (1 - model.w) * p.mean + model.w * model.additive.predict(feat, off) : p.mean;
      const ei = expectedImprovement(mean, Math.sqrt(p.variance), model.best);
      return model.works ? ei * model.works.predict(feat, off).mean : ei;
    };
    let best: Candidate | null = null;
    let bestScore = -Infinity;
    const consider = (c: Candidate): void => {
      if (!this.fresh(c, taken)) return;
      if (this.space.contains && !this.space.contains(c.config)) return;
      const s = score(c.feat);
      if (s > bestScore) {
        bestScore = s;
        best = c;
      }
    };
    if (this.space.size <= EXHAUSTIVE_LIMIT) {
      const all = this.allCandidates();
      // Start at a random place so ties do not favour the front of the enumeration.
      const start = this.rng.int(all.length);
      for (let k = 0; k < all.length; k++) consider(all[(start + k) % all.length]!);
    } else {
      // Score points as feature vectors; only the winners become configurations (normalised and
      // keyed), which is what keeps an ask on 300 parameters within milliseconds.
      const pool: Point[] = [];
      for (let i = 0, k = RANDOM_CANDIDATES(this.enc.dims); i < k; i++) pool.push(this.randomPoint(score));
      if (!this.conditional) pool.push(...this.recombined(score));
      const points = [...pool];
      for (const s of this.localStarts(pool)) points.push(...this.localSearch(s, model));
      points.sort((a, b) => b.score - a.score);
      for (const p of points) {
        const c = p.cand ?? this.candidate(this.enc.config(p.idx));
        if (!this.fresh(c, taken) || (this.space.contains && !this.space.contains(c.config))) continue;
        return c;
      }
    }
    if (!best) return this.randomUnseen(taken);
    return best;
  }

  private fit(chosen: Candidate[]): Model {
    const measured = [...this.data.values()].filter((m) => m.ok.length > 0);
    const raw = measured.map((m) => m.ok.reduce((a, b) => a + b, 0) / m.ok.length);
    const positive = raw.every((v) => v > 0);
    const logScale = positive && Math.max(...raw) / Math.min(...raw) > 100;
    const sign = this.opts.direction === 'maximize' ? -1 : 1;
    const ys = raw.map((v) => sign * (logScale ? Math.log(v) : v));
    const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
    const sd = Math.sqrt(ys.reduce((a, b) => a + (b - mean) ** 2, 0) / ys.length) || 1;
    const y = ys.map((v) => (v - mean) / sd);
    const feats = measured.map((m) => m.feat);
    const best = Math.min(...y);

    // Small spaces scored exhaustively, few observations: a GP (see gp.ts); else extra-trees.
    const useGp = this.space.size <= EXHAUSTIVE_LIMIT && feats.length <= GP_MAX_POINTS && this.enc.dims <= GP_MAX_DIMS;
    const gpDims = {
      categorical: this.enc.codecs.map((c) => c.categorical),
      range: this.enc.codecs.map((c) => c.size - 1),
    };
    const gp = useGp ? new GaussianProcess(feats, Float64Array.from(y), gpDims) : null;
    let forest: Surrogate = gp ?? this.forest(feats, y);
    // Kriging believer: configurations in flight count as measured at the predicted mean.
    const inFlight: Float64Array[] = [];
    for (const k of this.pending.keys()) {
      const m = this.data.get(k);
      if (!m || m.ok.length === 0) inFlight.push(this.features(this.space.normalize(configOfKey(this.space.params, k))));
    }
    for (const c of chosen) inFlight.push(c.feat);
    if (inFlight.length > 0) {
      const fy = [...y];
      for (const f of inFlight) fy.push(forest.predict(f).mean);
      forest = gp
        ? new GaussianProcess([...feats, ...inFlight], Float64Array.from(fy), gpDims, gp.hyper.theta, gp.hyper.noise)
        : this.forest([...feats, ...inFlight], fy);
    }

    let works: Forest | null = null;
    const all = [...this.data.values()];
    if (all.some((m) => m.failed > 0)) {
      works = this.forest(
        all.map((m) => m.feat),
        all.map((m) => m.ok.length / (m.ok.length + m.failed)),
        true,
      );
    }
    // Wide spaces: per-value main effects beside the trees (see additive.ts). Fitted on measured
    // values only: a fantasy sits at the prediction and would hardly move them.
    const additive = !gp && this.enc.dims > WIDE ? new AdditiveModel(feats, y, this.sizes, this.smoothable, ADDITIVE_LAMBDA, ADDITIVE_SMOOTH) : null;
    return { forest, best, works, additive, w: additive ? ADDITIVE_WEIGHT : 0 };
  }

  private forest(feats: Float64Array[], y: number[], classify = false): Forest {
    const n = feats.length;
    const d = this.enc.dims;
    const x = new Float64Array(n * d);
    for (let i = 0; i < n; i++) for (let f = 0; f < d; f++) x[f * n + i] = feats[i]![f]!;
    const data: TrainingSet = { n, dims: d, x, y: Float64Array.from(y), categories: this.categories };
    return new Forest(data, classify ? classifierOptions(d) : forestOptions(d), this.rng);
  }

  /** A random point of the space, scored; normalised (a configuration) only where conditions apply. */
  private randomPoint(score: (f: Float64Array) => number): Point {
    if (this.conditional) {
      const cand = this.candidate(this.space.sample(this.rng));
      return { idx: this.enc.indices(cand.config), feat: cand.feat, score: score(cand.feat), cand };
    }
    const idx = new Int32Array(this.enc.dims);
    for (let f = 0; f < idx.length; f++) idx[f] = this.rng.int(this.enc.codecs[f]!.size);
    const feat = new Float64Array(this.enc.dims);
    this.enc.features(idx, feat);
    return { idx, feat, score: score(feat) };
  }

  /**
   * Candidates that take each parameter's value from one of the best measured configurations (and
   * now and then a random value): where effects mostly add up, the best values of different good
   * configurations combine, and uniform random points in a space of millions are far from all of
   * them. On wide spaces a fifth of the values are redrawn, so candidates also try the good
   * configurations with several parameters changed at once.
   */
  private recombined(score: (f: Float64Array) => number): Point[] {
    const measured = [...this.data.values()].filter((m) => m.ok.length > 0);
    const sign = this.opts.direction === 'maximize' ? -1 : 1;
    measured.sort((a, b) => sign * (avg(a.ok) - avg(b.ok)));
    const parents = measured.slice(0, Math.min(10, Math.max(2, Math.ceil(0.2 * measured.length)))).map((m) => {
      const idx = new Int32Array(this.enc.dims);
      for (let f = 0; f < idx.length; f++) idx[f] = positionOfRank(this.enc.codecs[f]!, m.feat[f]!);
      return idx;
    });
    const mutate = this.enc.dims > WIDE ? WIDE_MUTATION : 1 / this.enc.dims;
    const out: Point[] = [];
    for (let i = 0; i < RECOMBINED; i++) {
      const idx = new Int32Array(this.enc.dims);
      for (let f = 0; f < idx.length; f++) {
        idx[f] = this.rng.next() < mutate ? this.rng.int(this.enc.codecs[f]!.size) : parents[this.rng.int(parents.length)]![f]!;
      }
      const feat = new Float64Array(this.enc.dims);
      this.enc.features(idx, feat);
      out.push({ idx, feat, score: score(feat) });
    }
    return out;
  }

  /** The best measured points and the best-scoring random candidates. */
  private localStarts(pool: Point[]): Float64Array[] {
    const measured = [...this.data.values()].filter((m) => m.ok.length > 0);
    const sign = this.opts.direction === 'maximize' ? -1 : 1;
    measured.sort((a, b) => sign * (avg(a.ok) - avg(b.ok)));
    const starts = measured.slice(0, LOCAL_STARTS - 2).map((m) => m.feat);
    const scored = [...pool].sort((a, b) => b.score - a.score);
    for (const p of scored.slice(0, LOCAL_STARTS - starts.length)) starts.push(p.feat);
    return starts;
  }

  /**
   * Hill-climb on the acquisition by one-parameter moves. Only features on some tree's path to the
   * current point can change the score, so only those are moved (scored incrementally). Returns the
   * points visited.
   */
  private localSearch(start: Float64Array, model: Model): Point[] {
    if (!(model.forest instanceof Forest)) return [];
    const reg = new IncrementalForest(model.forest);
    const works = model.works ? new IncrementalForest(model.works) : null;
    const add = model.additive;
    const addMoves = add ? add.strongest(ADDITIVE_MOVES) : [];
    let addCur = 0;
    let addFrom = 0;
    const scoreMove = (feat: Float64Array, f: number): number => {
      const p = reg.predictChanged(feat, f);
      const mean = add ? (1 - model.w) * p.mean + model.w * (f < 0 ? addCur : addCur + add.delta(f, addFrom, feat[f]!)) : p.mean;
      const ei = expectedImprovement(mean, Math.sqrt(p.variance), model.best);
      return works ? ei * works.predictChanged(feat, f).mean : ei;
    };
    const codecs = this.enc.codecs;
    const idx = new Int32Array(this.enc.dims);
    const feat = Float64Array.from(start);
    const visited: Point[] = [];
    let cur = -Infinity;
    for (let step = 0; step < LOCAL_STEPS; step++) {
      // Features are ranks; map back to domain positions to move within each domain.
      for (let f = 0; f < this.enc.dims; f++) idx[f] = positionOfRank(codecs[f]!, feat[f]!);
      reg.reset(feat);
      works?.reset(feat);
      if (add) addCur = add.predict(feat);
      if (step === 0) cur = scoreMove(feat, -1);
      const movable = new Set(reg.features());
      if (works) for (const f of works.features()) movable.add(f);
      for (const f of addMoves) movable.add(f);
      let bestF = -1;
      let bestPos = -1;
      let bestS = cur;
      for (const f of movable) {
        const c = codecs[f]!;
        const old = feat[f]!;
        addFrom = old;
        for (const pos of moves(c.size, idx[f]!, c.categorical, this.rng)) {
          feat[f] = c.rank(pos);
          const s = scoreMove(feat, f);
          if (s > bestS) {
            bestS = s;
            bestF = f;
            bestPos = pos;
          }
        }
        feat[f] = old;
      }
      if (bestF < 0) break;
      idx[bestF] = bestPos;
      cur = bestS;
      if (this.conditional) {
        // Conditions may have reset other parameters: continue from the normalised point.
        const cand = this.candidate(this.enc.config(idx));
        feat.set(cand.feat);
        visited.push({ idx: this.enc.indices(cand.config), feat: cand.feat, score: bestS, cand });
      } else {
        feat[bestF] = codecs[bestF]!.rank(bestPos);
        visited.push({ idx: Int32Array.from(idx), feat: Float64Array.from(feat), score: bestS });
      }
    }
    return visited;
  }
}

function forestOptions(dims: number): ForestOptions {
  // Bootstrap resamples and minSplit 3 widen the spread between trees: better-calibrated uncertainty
  // in the factorial benchmark than interpolating trees.
  // Many dimensions: a few dozen features per split and at most 300 draws per tree keep a fit of
  // 1,000 points x 300 parameters within tens of milliseconds.
  return {
    trees: dims <= 24 ? 32 : 10,
    mtry: dims <= 24 ? dims : Math.max(24, Math.ceil(2 * Math.sqrt(dims))),
    minSplit: 3,
    maxDepth: 24,
    bootstrap: true,
    maxSamples: 300,
  };
}

/** Fully grown trees without resampling: a failure seen nearby pulls P(works) firmly down. */
function classifierOptions(dims: number): ForestOptions {
  return { ...forestOptions(dims), minSplit: 2, bootstrap: false };
}

function avg(v: number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

/** The value a measurement stands for: the median of its samples, else its aggregate; undefined = failed. */
export function measuredValue(o: Observation): number | undefined {
  if (o.status !== 'ok') return undefined;
  const s = (o.samples ?? []).filter((x) => Number.isFinite(x));
  if (s.length > 0) {
    const sorted = [...s].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  }
  return o.value !== undefined && Number.isFinite(o.value) ? o.value : undefined;
}

function positionOfRank(c: { size: number; rank(i: number): number }, r: number): number {
  if (r < 0) return 0;
  // Ranks equal positions except in numeric lists written out of order.
  if (c.rank(r) === r) return r;
  for (let i = 0; i < c.size; i++) if (c.rank(i) === r) return i;
  return 0;
}

/** Neighbouring positions: the adjacent values of an ordinal, a few other values of a category. */
function moves(size: number, here: number, categorical: boolean, rng: Rng): number[] {
  if (size <= 1) return [];
  if (categorical || size <= 5) {
    const all: number[] = [];
    for (let i = 0; i < size && all.length < 6; i++) if (i !== here) all.push(i);
    if (size <= 7) return all;
    return [rng.int(size), rng.int(size), rng.int(size)].filter((i) => i !== here);
  }
  const out: number[] = [];
  if (here > 0) out.push(here - 1);
  if (here < size - 1) out.push(here + 1);
  const far = rng.int(size);
  if (far !== here) out.push(far);
  return out;
}
