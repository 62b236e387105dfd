// Bayesian optimisation over mixed categorical/ordinal/integer spaces with conditions.
//
// Surrogate, chosen by regime:
// - Few measurements (<= 150) and <= 30 parameters, on a small space (<= 20k configurations, scored
//   exhaustively) or a large one without conditions: a Gaussian process with a product kernel over per-parameter mismatch (categorical)
//   or rank distance (ordinal) and one length-scale per parameter by marginal likelihood (gp.ts).
//   With 10-40 measurements it extrapolates additive structure ("A best and B best together") and
//   gives calibrated uncertainty; the benchmark's 256-configuration factorial needs exactly that:
//   extra-trees alone reached 0.91 of the optimum at 20 evaluations, the GP 0.98-0.99.
// - Everything else: extremely randomised trees (forest.ts), SMAC-style: uncertainty from the spread
//   of the trees, categorical splits along the order of category means, irrelevant parameters ignored
//   by the splits, inactive ones just one more value. Fit in milliseconds where a GP's O(n^3) with
//   hyper-parameter search would blow the 200 ms budget at 1,000 measurements x 300 parameters.
//   On wide spaces (over 30 parameters) the forest's mean is blended with an additive model's
//   (additive.ts): with few measurements, per-value effects find the parameters that matter long
//   before tree splits do.
//   A tree-Parzen estimator was set aside: it models parameters one at a time and misses the
//   interactions that decide real landscapes.
//
// The loop: a few seeded random points; then per proposal fit on the measured values (median of
// each run's samples, repeats averaged, log scale when they span more than 100x), multiply expected
// improvement by P(works) from a forest trained on ok/failed (failed runs never enter the
// regression), and maximise it over every unseen configuration when the space is small, else over
// random and recombined candidates refined by one-parameter local search from the best points. Configurations in
// flight enter as fantasies at the predicted mean (kriging believer), so a batch spreads out.
//
// Warm start (StrategyOptions.prior): earlier experiments' screened main effects, each weighted by
// how well it predicts this one's measurements (prior.ts), are the prior mean; the surrogates fit
// what it leaves. Their main effects on whether a configuration works are, weighted the same way,
// the prior of P(works).
//
// Workload dimensions declared (Param.workload): the search wants the best configuration at every
// workload point, not the best pair. One model over configuration x workload (the workload
// dimensions are inputs like any parameter, so what one point teaches about a knob serves the
// others), expected improvement of each pair against its own workload point's incumbent, on a log
// scale when it can be (relative improvement), and a start that covers every point (workloads.ts).

import type { Config, Observation } from '../types.js';
import { Rng } from '../util/random.js';
import { expectedImprovement } from './acquisition.js';
import { AdditiveModel } from './additive.js';
import { BaseStrategy } from './base.js';
import { configOfKey, Encoder } from './encoding.js';
import { Forest, type ForestOptions, type TrainingSet } from './forest.js';
import { GaussianProcess } from './gp.js';
import { IncrementalForest } from './incremental.js';
import { measuredValue, standardize } from './measured.js';
import { PriorMix, priorRows, type Effects } from './prior.js';
import type { SearchSpace } from './space.js';
import type { Json, StrategyOptions } from './strategy.js';
import { WorkloadGrid } from './workloads.js';

/** Spaces up to this size are scored exhaustively. */
export const EXHAUSTIVE_LIMIT = 20_000n;
/**
 * Above this many parameters a space is wide. There the forest's mean is blended half and half with
 * an additive model's (additive.ts: ridge penalty of 3 observations per value; for ordinals the same
 * on differences between neighbouring values and 10 on second differences, so an untried value
 * next to the best ones stays near them), whose 16 strongest parameters are also open to local search;
 * recombined candidates redraw a fifth of their values at random (one value in 1/dims would leave
 * them near-copies of their parents); and fewer candidates are drawn, since each costs more.
 * Settings from the wide-120 landscape of bench/landscapes.ts and the 40-parameter test of
 * test/strategies.
 */
const WIDE = 30;
const ADDITIVE_WEIGHT = 0.5;
const ADDITIVE_LAMBDA = 3;
const ADDITIVE_SMOOTH = 3;
const ADDITIVE_CURVE = 10;
const ADDITIVE_MOVES = 16;
const WIDE_MUTATION = 0.2;
/**
 * Random candidates per ask on large spaces: many where they are cheap; on wide spaces, where a
 * uniform point is far from everything good, a few beside the recombined ones (wide-120 did as
 * well without any).
 */
const RANDOM_CANDIDATES = (dims: number): number => (dims <= WIDE ? 1_000 : 64);
/** Candidates recombined from the best measured configurations per ask on large spaces. */
const RECOMBINED = (dims: number): number => (dims <= WIDE ? 256 : 128);
/**
 * Hill-climbs per ask, half from the best measured points, half from the best candidates, and their
 * one-parameter moves at most (on wide-120, 12 or 40 moves per climb did as well as 25).
 */
const LOCAL_STARTS = (dims: number): number => (dims <= WIDE ? 6 : 4);
const LOCAL_STEPS = (dims: number): number => (dims <= WIDE ? 25 : 12);
const MAX_DRAWS = 2_000;
/**
 * Every value of a parameter with at most this many values is measured at least
 * min(MIN_TRIES, measured / (2 x values)) times before the model may pass it over: on a plateau a
 * value seen twice with unlucky scatter would otherwise look bad for good (the Unikraft NGINX factorial:
 * access log off was measured twice in the first ten, both on the plateau, and the search stayed with
 * access log on for 20 more evaluations while the fast corner needs it off). Not on wide spaces.
 */
const FEW_VALUES = 8;
const MIN_TRIES = 3;
/** A landscape is flat while the best measured is within this of the median (log scale: 15%). */
const FLAT = 0.15;
/** Random configurations a space-filling pick chooses from. */
const SPREAD_DRAWS = 1_000;
/**
 * Warm start: how many of an earlier experiment's strongest parameters carry over, each weighted on
 * its own. Its other effects do not: on the recorded Linux pools, they were another workload's
 * noise that the weights took up by chance at first, and the search then kept away from the best
 * rows of the right region (on HPC, development seeds, 1.1% of its picks there among the region's
 * top 2%, random search's 2.5%; with the strongest alone, 3.9%).
 */
const PRIOR_PARTS = 1;
const GP_MAX_POINTS = 150;
const GP_MAX_DIMS = 30;

interface Measured {
  feat: Float64Array;
  ok: number[];
  failed: number;
  /**
   * Stopped early: [bound, estimate] per stop: below the bound (the best's objective then), with
   * the median of its few iterations when told (else null). Fitted at stoppedValue, and counted as
   * working, not failed.
   */
  stopped?: [number, number | null][];
}

interface Candidate {
  key: string;
  config: Config;
  feat: Float64Array;
}

/** Every configuration of a small space, per space (see allCandidates). */
const ALL_CANDIDATES = new WeakMap<SearchSpace, Candidate[]>();

/**
 * Scored points of the space as rows of one buffer kept across asks, so an ask allocates no object
 * per candidate; `cand` holds the configurations already made (conditional spaces only).
 */
class Points {
  feat = new Float64Array(0);
  score = new Float64Array(0);
  cand: (Candidate | undefined)[] = [];
  count = 0;

  constructor(private readonly dims: number) {}

  clear(): void {
    this.count = 0;
    this.cand.length = 0;
  }

  /** Offset of a new row (its score to be set). */
  add(): number {
    if (this.count === this.score.length) {
      const rows = Math.max(1024, 2 * this.count);
      const feat = new Float64Array(rows * this.dims);
      feat.set(this.feat);
      const score = new Float64Array(rows);
      score.set(this.score);
      this.feat = feat;
      this.score = score;
    }
    return this.count++ * this.dims;
  }

  /** Row indices from..to by score, best first (ties by row). */
  ranked(from: number, to: number): number[] {
    const rows = Array.from({ length: to - from }, (_, i) => from + i);
    const sc = this.score;
    return rows.sort((a, b) => sc[b]! - sc[a]! || a - b);
  }
}

type Score = (v: Float64Array, off: number) => number;

interface Surrogate {
  predict(v: ArrayLike<number>, off?: number): { mean: number; variance: number };
}

interface Model {
  forest: Surrogate;
  additive: AdditiveModel | null;
  /** Weight of the additive model's mean beside the forest's. */
  w: number;
  /** The additive model's strongest features, open to local search. */
  addMoves: number[];
  best: number;
  /**
   * Workload dimensions declared: the incumbent (best standardised measurement) of each workload
   * point, so that expected improvement at (configuration, workload) is measured against that
   * workload's own best, never against another workload's.
   */
  incumbents: Float64Array | null;
  works: Forest | null;
  /** Wide spaces: P(works) as a base rate plus screened main effects (null: no parameter explains failures). */
  worksAdditive: WorksAdditive | null;
  /** Warm start: the earlier experiments' effects on P(works), added to the forest's (works) or within worksAdditive. */
  worksPrior: PriorMix | null;
  /** Warm start: the earlier experiments' main effects, added to every mean (the rest is fitted on what they leave). */
  prior: PriorMix | null;
}

export class BayesianStrategy extends BaseStrategy {
  private readonly enc: Encoder;
  private readonly categories: Int32Array;
  private readonly sizes: number[];
  /** Ordinals of more than two values: neighbouring values' effects are pulled together. */
  private readonly smoothable: boolean[];
  private readonly data = new Map<string, Measured>();
  private all: Candidate[] | null = null;
  private readonly points: Points;
  private readonly moveBuf = new Int32Array(8);
  private xbuf = new Float64Array(0);
  readonly initial: number;
  /** Some parameter has a condition: points must be normalised before they are scored. */
  private readonly conditional: boolean;
  /**
   * The workload points, when the space declares workload dimensions: the search then looks for the
   * best configuration at every one of them (one model over configuration x workload, expected
   * improvement against each point's own incumbent) instead of the one best pair.
   */
  readonly workloads: WorkloadGrid | null;
  /** Warm start (StrategyOptions.prior): each earlier experiment's screened main effects, on the standardized scale. */
  private readonly priors: Effects[] = [];
  /** The prior's strongest features, open to local search. */
  private readonly priorMoves: number[] = [];
  /** Warm start: each earlier experiment's screened main effects on whether a configuration works. */
  private readonly worksPriors: Effects[] = [];
  /** Workload point of a configuration key (a cache; derived from the keys alone). */
  private readonly pointOfKey = new Map<string, number>();

  constructor(space: SearchSpace, opts: StrategyOptions) {
    super('bayesian', space, opts);
    this.enc = new Encoder(space.params);
    this.points = new Points(this.enc.dims);
    this.sizes = this.enc.codecs.map((c) => c.size);
    this.smoothable = this.enc.codecs.map((c) => !c.categorical && c.size > 2);
    this.categories = Int32Array.from(this.enc.codecs.map((c) => (c.categorical ? c.size : 0)));
    this.conditional = space.params.some((p) => p.if !== undefined) || space.contains !== undefined;
    this.workloads = WorkloadGrid.of(this.enc);
    if (opts.prior && opts.prior.length > 0) {
      // One model per earlier experiment: each is weighted by its agreement with this one (PriorMix).
      const features = (c: Config): Float64Array => {
        const f = new Float64Array(this.enc.dims);
        this.enc.features(this.enc.indices(this.space.normalize(c), true), f);
        return f;
      };
      for (const rows of priorRows(opts.prior, features)) {
        if (rows.y.length > 0) this.addPrior(this.priors, rows.feats, rows.y);
        const failed = rows.works.filter((w) => w === 0).length;
        if (failed > 0 && failed < rows.works.length) {
          const base = (rows.works.length - failed) / rows.works.length;
          this.addPrior(
            this.worksPriors,
            rows.tried,
            rows.works.map((w) => w - base),
          );
        }
      }
    }
    // Every workload point needs a measurement before its incumbent means anything.
    this.initial = Math.max(5, Math.min(10, Math.ceil(Math.sqrt(space.params.length))), this.workloads?.count ?? 0);
    if (space.size === 0n) this.spaceDone = true;
    const saved = opts.state?.extra as { data: [string, number[], number, [number, number | null][]?][] } | undefined;
    for (const [key, ok, failed, stopped] of saved?.data ?? []) {
      const config = configOfKey(space.params, key);
      this.data.set(key, { feat: this.features(config), ok: [...ok], failed, ...(stopped ? { stopped: stopped.map(([b, e]) => [b, e] as [number, number | null]) } : {}) });
    }
  }

  /**
   * One earlier experiment's screened main effects on (feats, y): its strongest parameter, as a part
   * weighted apart (what matters most in one workload is what most often matters in another), and
   * its strongest parameters open to local search.
   */
  private addPrior(to: Effects[], feats: Float64Array[], y: number[]): void {
    const m = new AdditiveModel(feats, y, this.sizes, this.smoothable, ADDITIVE_LAMBDA, ADDITIVE_SMOOTH, ADDITIVE_CURVE, 4, true);
    // Only an effect that is no chance there: among hundreds of parameters and an earlier
    // experiment's thousand rows, the strongest of chance effects (failures at random) would
    // otherwise become a prior that this experiment's few measurements agree with by chance.
    const top = m.strongest(PRIOR_PARTS).filter((f) => m.significant.includes(f));
    if (top.length === 0) return;
    for (const f of top) to.push(m.part([f]));
    for (const f of m.strongest(ADDITIVE_MOVES)) if (!this.priorMoves.includes(f)) this.priorMoves.push(f);
  }

  protected override saveExtra(): Json {
    return { data: [...this.data].map(([k, m]) => (m.stopped ? [k, [...m.ok], m.failed, m.stopped.map(([b, e]) => [b, e])] : [k, [...m.ok], m.failed])) };
  }

  protected override observe(o: Observation, key: string, normalized: Config): void {
    let m = this.data.get(key);
    if (!m) {
      m = { feat: this.features(normalized), ok: [], failed: 0 };
      this.data.set(key, m);
    }
    if (o.failure === 'stopped' && o.below !== undefined) {
      const s = (o.samples ?? []).filter((x) => Number.isFinite(x));
      (m.stopped ??= []).push([o.below, s.length > 0 ? measuredValue({ ...o, status: 'ok', samples: s }) ?? null : null]);
      return;
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
      const start = this.seen.size + out.length < this.initial || okCount < 2;
      const c = start ? (this.workloads ? this.randomAtLeastCovered(out, taken) : this.randomUnseen(taken)) : this.modelPick(out, taken);
      if (!c) break;
      taken.add(c.key);
      out.push(c);
    }
    // Copies: the candidates of a small space are shared between searches.
    return out.map((c) => ({ ...c.config }));
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

  /**
   * A random configuration at the workload point with the fewest configurations measured or in
   * flight (ties drawn at random), so the start covers every workload point evenly.
   */
  private randomAtLeastCovered(chosen: Candidate[], taken: Set<string>): Candidate | null {
    const grid = this.workloads!;
    const counts = new Int32Array(grid.count);
    for (const k of this.seen) counts[this.pointOf(k)]!++;
    for (const c of chosen) counts[grid.index(c.feat)]!++;
    const order = Array.from({ length: grid.count }, (_, w) => w);
    // A random order first, then a stable sort by count: ties stay in random order.
    for (let i = order.length - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    order.sort((a, b) => counts[a]! - counts[b]!);
    for (const w of order) {
      for (let i = 0; i < 64; i++) {
        const c = this.candidate(grid.assign(this.space.sample(this.rng), w));
        if (this.fresh(c, taken) && (!this.space.contains || this.space.contains(c.config))) return c;
      }
    }
    return this.randomUnseen(taken);
  }

  private pointOf(key: string): number {
    let w = this.pointOfKey.get(key);
    if (w === undefined) {
      w = this.workloads!.index(this.features(this.space.normalize(configOfKey(this.space.params, key))));
      this.pointOfKey.set(key, w);
    }
    return w;
  }

  private allCandidates(): Candidate[] {
    if (!this.all) {
      // Shared by every search of the same space (a replay runs one per seed): listing a 2,000-row
      // pool of 259 parameters took a third of a search's time. Candidates are never modified.
      const cached = ALL_CANDIDATES.get(this.space);
      if (cached) {
        this.all = cached;
        return cached;
      }
      const byKey = new Map<string, Candidate>();
      for (let i = 0n; i < this.space.size; i++) {
        const c = this.candidate(this.space.at(i));
        if (!byKey.has(c.key) && (!this.space.contains || this.space.contains(c.config))) byKey.set(c.key, c);
      }
      this.all = [...byKey.values()];
      ALL_CANDIDATES.set(this.space, this.all);
    }
    return this.all;
  }

  /** Fit on measured values plus fantasies for everything in flight, then maximise EI x P(works). */
  private modelPick(chosen: Candidate[], taken: Set<string>): Candidate | null {
    const model = this.fit(chosen);
    const grid = this.workloads;
    const works: Score = (feat, off) => {
      if (model.worksAdditive) return worksProbability(model.worksAdditive, feat, off);
      return model.works ? forestWorks(model.works.predict(feat, off).mean, model.worksPrior, feat, off) : 1;
    };
    const score: Score = (feat, off) => {
      const p = model.forest.predict(feat, off);
      const mean =
        (model.additive ? (1 - model.w) * p.mean + model.w * model.additive.predict(feat, off) : p.mean) + (model.prior ? model.prior.predict(feat, off) : 0);
      const best = model.incumbents && grid ? model.incumbents[grid.index(feat, off)]! : model.best;
      const ei = expectedImprovement(mean, Math.sqrt(p.variance), best);
      return ei * works(feat, off);
    };
    if (this.flat()) {
      // Cold, the fully grown trees' P(works) is zero next to every failure: as a bar it kept the
      // spread away from a failing region's edge, where failing-576's best lie (0.931 of the best at
      // 20 evaluations against 0.956 without, development seeds 5000-5099). A failure prior from an
      // earlier experiment's thousand rows is no such guess.
      const c = this.spreadPick(chosen, taken, score, model.worksPrior ? works : null);
      if (c) return c;
    }
    let best: Candidate | null = null;
    let bestScore = -Infinity;
    const under = this.underTried(chosen);
    // allCandidates() holds only configurations the space contains.
    const consider = (c: Candidate): void => {
      if (!this.fresh(c, taken)) return;
      if (under && !this.hasUnderTried(c.feat, 0, under)) return;
      const s = score(c.feat, 0);
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
      const pts = this.points;
      pts.clear();
      for (let i = 0, k = RANDOM_CANDIDATES(this.enc.dims); i < k; i++) this.randomPoint(pts, score);
      if (!this.conditional) this.recombined(pts, score);
      const pool = pts.count;
      const inc = model.forest instanceof Forest ? new IncrementalForest(model.forest, this.enc.dims) : null;
      const works = inc && model.works ? new IncrementalForest(model.works, this.enc.dims) : null;
      if (inc) for (const s of this.localStarts(pts, pool)) this.localSearch(s, model, inc, works, pts, grid);
      else for (const s of this.localStarts(pts, pool)) this.plainLocalSearch(s, score, pts);
      const pos = new Int32Array(this.enc.dims);
      const ranked = pts.ranked(0, pts.count);
      if (under) {
        // Rows with a value not measured enough first, in the order of their scores.
        const d = this.enc.dims;
        const first = ranked.filter((r) => this.hasUnderTried(pts.feat, r * d, under));
        if (first.length > 0) ranked.unshift(...first);
      }
      for (const r of ranked) {
        let c = pts.cand[r];
        if (!c) {
          for (let f = 0, o = r * this.enc.dims; f < pos.length; f++) pos[f] = this.enc.positionOf(f, pts.feat[o + f]!);
          c = this.candidate(this.enc.config(pos));
        }
        if (!this.fresh(c, taken) || (this.space.contains && !this.space.contains(c.config))) continue;
        return c;
      }
    }
    if (!best && under) {
      // Nothing unseen has an under-tried value: the model alone decides.
      this.noUnder = true;
      try {
        return this.modelPick(chosen, taken);
      } finally {
        this.noUnder = false;
      }
    }
    if (!best) return this.randomUnseen(taken);
    return best;
  }

  private noUnder = false;

  /**
   * Nothing stands out yet: on a space that is not wide, the best configuration measured is within
   * FLAT of the median (log scale; relative when some value is not positive). The model then has
   * only small effects to go by, and a configuration that is much better would be a combination
   * nobody has tried; see spreadPick.
   */
  private flat(): boolean {
    if (this.enc.dims > WIDE || this.workloads) return false;
    const v = [...this.data.values()].filter((m) => m.ok.length > 0).map((m) => avg(m.ok));
    if (v.length < this.initial) return false;
    const sign = this.opts.direction === 'maximize' ? 1 : -1;
    const positive = v.every((x) => x > 0);
    const t = v.map((x) => sign * (positive ? Math.log(x) : x)).sort((a, b) => a - b);
    const med = t[t.length >> 1]!;
    const gap = t[t.length - 1]! - med;
    return positive ? gap < FLAT : gap < FLAT * Math.abs(sign * med);
  }

  /**
   * A space-filling pick for a flat landscape: of SPREAD_DRAWS random unseen configurations, those
   * sharing the fewest parameter values with any configuration measured or in flight (the largest
   * smallest Hamming distance, then the fewest configurations that close), and of those the best by
   * the acquisition. A combination of values that lifts the objective is found only by a
   * configuration that holds it, and one that repeats most values of a measured configuration tries
   * few new combinations. On plateau-65k (one configuration in 256, four parameters at the right
   * values together, 40-80% above a plateau of 1% effects) the model's picks beside the best plateau
   * points found such a peak less often than random search did. Given `works` (a warm start's
   * failure prior is part of it), only draws at least half as likely to work as the likeliest one
   * compete: spreading into what is known to fail tries nothing (on a flat landscape whose failures
   * an earlier experiment showed, test/strategies/warm-start.test.ts, 37% of picks 11-30 failed
   * before, as many as a cold search's 38%; 7.5% after).
   */
  private spreadPick(chosen: Candidate[], taken: Set<string>, score: Score, works: Score | null): Candidate | null {
    const d = this.enc.dims;
    const near: Float64Array[] = [...this.data.values()].map((m) => m.feat);
    for (const k of this.pending.keys()) if (!this.data.has(k)) near.push(this.features(this.space.normalize(configOfKey(this.space.params, k))));
    for (const c of chosen) near.push(c.feat);
    const draws: { c: Candidate; p: number }[] = [];
    let likeliest = 0;
    for (let i = 0; i < SPREAD_DRAWS; i++) {
      const c = this.candidate(this.space.sample(this.rng));
      if (!this.fresh(c, taken) || (this.space.contains && !this.space.contains(c.config))) continue;
      const p = works ? works(c.feat, 0) : 1;
      draws.push({ c, p });
      likeliest = Math.max(likeliest, p);
    }
    let best: Candidate | null = null;
    let bestShared = Infinity;
    let bestCount = Infinity;
    let bestScore = -Infinity;
    for (const { c, p } of draws) {
      if (p < likeliest / 2) continue;
      let shared = 0;
      let count = 0;
      for (const f of near) {
        let same = 0;
        for (let j = 0; j < d; j++) if (f[j] === c.feat[j]) same++;
        if (same > shared) {
          shared = same;
          count = 1;
        } else if (same === shared) count++;
      }
      if (shared > bestShared || (shared === bestShared && count > bestCount)) continue;
      const s = score(c.feat, 0);
      if (shared < bestShared || count < bestCount || s > bestScore) {
        best = c;
        bestShared = shared;
        bestCount = count;
        bestScore = s;
      }
    }
    return best;
  }

  /**
   * Per feature, per value position, whether the value has been measured (or is in flight) fewer
   * times than it must be (see FEW_VALUES); null when none is, or the space is wide.
   */
  private underTried(chosen: Candidate[]): Uint8Array[] | null {
    if (this.noUnder || this.enc.dims > WIDE) return null;
    const d = this.enc.dims;
    const counts = this.enc.codecs.map((c) => new Int32Array(c.size <= FEW_VALUES ? c.size : 0));
    let measured = 0;
    const count = (feat: Float64Array): void => {
      for (let f = 0; f < d; f++) {
        const cnt = counts[f]!;
        if (cnt.length === 0 || feat[f]! < 0) continue;
        cnt[this.enc.positionOf(f, feat[f]!)]!++;
      }
    };
    for (const m of this.data.values()) {
      measured++;
      count(m.feat);
    }
    for (const k of this.pending.keys()) if (!this.data.has(k)) count(this.features(this.space.normalize(configOfKey(this.space.params, k))));
    for (const c of chosen) count(c.feat);
    let any = false;
    const out = counts.map((cnt) => {
      const need = Math.min(MIN_TRIES, Math.floor(measured / (2 * Math.max(1, cnt.length))));
      const u = new Uint8Array(cnt.length);
      for (let i = 0; i < cnt.length; i++) {
        if (cnt[i]! < need) {
          u[i] = 1;
          any = true;
        }
      }
      return u;
    });
    return any ? out : null;
  }

  private hasUnderTried(feat: Float64Array, off: number, under: Uint8Array[]): boolean {
    for (let f = 0; f < under.length; f++) {
      const u = under[f]!;
      if (u.length > 0 && feat[off + f]! >= 0 && u[this.enc.positionOf(f, feat[off + f]!)] === 1) return true;
    }
    return false;
  }

  private fit(chosen: Candidate[]): Model {
    const measured = [...this.data.values()].filter((m) => m.ok.length > 0 || (m.stopped?.length ?? 0) > 0);
    const okMeans = measured.filter((m) => m.ok.length > 0).map((m) => avg(m.ok));
    const raw = measured.map((m) => (m.ok.length > 0 ? avg(m.ok) : stoppedValue(m.stopped!, okMeans, this.opts.direction)));
    // Across workload points, always on a log scale when it can be: expected improvement is then
    // relative, so a workload whose values are ten times smaller weighs as much as the others.
    const z = standardize(raw, this.opts.direction, this.workloads ? 0 : 100);
    const feats = measured.map((m) => m.feat);
    const best = Math.min(...z);
    // A warm start: the surrogates model what the earlier experiments' main effects do not explain.
    const prior = this.priors.length > 0 ? PriorMix.fit(this.priors, feats, z) : null;
    const y = prior ? z.map((v, i) => v - prior.predict(feats[i]!, 0)) : z;
    let incumbents: Float64Array | null = null;
    if (this.workloads) {
      // A point with nothing measured successfully yet is held to the worst value measured anywhere.
      const worst = Math.max(...z);
      incumbents = new Float64Array(this.workloads.count).fill(Infinity);
      feats.forEach((f, i) => {
        const w = this.workloads!.index(f);
        if (z[i]! < incumbents![w]!) incumbents![w] = z[i]!;
      });
      for (let w = 0; w < incumbents.length; w++) if (incumbents[w] === Infinity) incumbents[w] = worst;
    }

    // Small spaces scored exhaustively, few observations: a GP (see gp.ts); else extra-trees.
    // Large spaces too, when not wide and without conditions (the local search then scores every
    // move afresh, see plainLocalSearch): on dominant-1.4M (three ordinal knobs of ten with a sweet
    // spot) the forest's steps between values found 95% of the best by 40 evaluations in 30% of
    // development runs, the GP's distance in rank in 100%.
    const useGp = (this.space.size <= EXHAUSTIVE_LIMIT || !this.conditional) && feats.length <= GP_MAX_POINTS && this.enc.dims <= GP_MAX_DIMS;
    const gpDims = {
      categorical: this.enc.codecs.map((c) => c.categorical),
      range: this.enc.codecs.map((c) => c.size - 1),
    };
    const gp = useGp ? new GaussianProcess(feats, Float64Array.from(y), gpDims) : null;
    // Wide spaces: per-value main effects beside the trees (see additive.ts), screened, and the trees
    // split only on the parameters that survived the screening once some have: among 259 sysctls of
    // which one or two matter, trees splitting on chance effects spread the search over the whole
    // pool (a third of the picks on the wrong side of the one that matters). Fitted on measured
    // values only: a fantasy sits at the prediction and would hardly move them.
    const wide = !gp && this.enc.dims > WIDE;
    const additive = wide ? new AdditiveModel(feats, y, this.sizes, this.smoothable, ADDITIVE_LAMBDA, ADDITIVE_SMOOTH, ADDITIVE_CURVE, 4, true) : null;
    const split = additive && additive.kept.length > 0 ? Int32Array.from(additive.kept) : undefined;
    let forest: Surrogate = gp ?? this.forest(feats, y, false, split);
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
        : this.forest([...feats, ...inFlight], fy, false, split);
    }

    let works: Forest | null = null;
    let worksAdditive: WorksAdditive | null = null;
    let worksPrior: PriorMix | null = null;
    const all = [...this.data.values()];
    if (all.some((m) => m.failed > 0)) {
      const tried = all.map((m) => m.feat);
      const w = all.map(worksShare);
      // A warm start: the earlier experiments' effects on failures, weighted by how well they
      // predict this one's; the models here fit what they leave.
      worksPrior = this.worksPriors.length > 0 ? PriorMix.fit(this.worksPriors, tried, w) : null;
      const left = worksPrior ? w.map((v, i) => v - worksPrior!.predict(tried[i]!, 0)) : w;
      if (wide) {
        // Wide spaces: failures from screened main effects. On the recorded Linux pools failures hit
        // a third of the rows, and the few measurements of one search show no parameter explaining
        // them; fully grown trees then score every row's P(works) by chance, which scatters the
        // search as much as the regression's trees did.
        const base = left.reduce((a, b) => a + b, 0) / left.length;
        const model = new AdditiveModel(
          tried,
          left.map((v) => v - base),
          this.sizes,
          this.smoothable,
          ADDITIVE_LAMBDA,
          ADDITIVE_SMOOTH,
          ADDITIVE_CURVE,
          4,
          true,
        );
        const own = model.kept.length > 0 ? model : null;
        if (own || worksPrior) worksAdditive = { model: own, base, prior: worksPrior };
      } else works = this.forest(tried, left, true);
    }
    const addMoves = additive?.strongest(ADDITIVE_MOVES) ?? [];
    if (prior || worksPrior) for (const f of this.priorMoves) if (!addMoves.includes(f)) addMoves.push(f);
    // Wide spaces carry the failure prior within worksAdditive; narrow ones add it to the forest's.
    return { forest, best, incumbents, works, worksAdditive, worksPrior: works ? worksPrior : null, additive, w: additive ? ADDITIVE_WEIGHT : 0, addMoves, prior };
  }

  private forest(feats: Float64Array[], y: number[], classify = false, features?: Int32Array): Forest {
    const n = feats.length;
    const d = this.enc.dims;
    // One buffer for every fit (the trees keep nothing of it): 1,000 x 300 features are 2.4 MB.
    if (this.xbuf.length < n * d) this.xbuf = new Float64Array(2 * n * d);
    columnMajor(feats, d, this.xbuf);
    const x = this.xbuf.subarray(0, n * d);
    const data: TrainingSet = { n, dims: d, x, y: Float64Array.from(y), categories: this.categories };
    const opts = classify ? classifierOptions(d) : forestOptions(d);
    return new Forest(data, features ? { ...opts, features, mtry: Math.min(opts.mtry, features.length) } : opts, this.rng);
  }

  /** A random point of the space, scored; normalised (a configuration) only where conditions apply. */
  private randomPoint(pts: Points, score: Score): void {
    const o = pts.add();
    const row = pts.count - 1;
    if (this.conditional) {
      const cand = this.candidate(this.space.sample(this.rng));
      pts.feat.set(cand.feat, o);
      pts.cand[row] = cand;
    } else {
      const feat = pts.feat;
      for (let f = 0; f < this.enc.dims; f++) feat[o + f] = this.enc.rankAt(f, this.rng.int(this.enc.codecs[f]!.size));
    }
    pts.score[row] = score(pts.feat, o);
  }

  /**
   * Candidates that take each parameter's value from one of the best measured configurations (and
   * now and then a random value): where effects mostly add up, the best values of different good
   * configurations combine, and uniform random points in a space of millions are far from all of
   * them. On wide spaces a fifth of the values are redrawn, so candidates also try the good
   * configurations with several parameters changed at once.
   */
  private recombined(pts: Points, score: Score): void {
    const parents = this.bestMeasured(Math.min(10, Math.max(2, Math.ceil(0.2 * this.okCount())))).map((m) =>
      // Values outside the domain (rank -1) stand for its first value.
      Float64Array.from(m.feat, (r, f) => (r < 0 ? this.enc.rankAt(f, 0) : r)),
    );
    const wide = this.enc.dims > WIDE;
    const mutate = wide ? WIDE_MUTATION : 1 / this.enc.dims;
    const codecs = this.enc.codecs;
    for (let i = 0, k = RECOMBINED(this.enc.dims); i < k; i++) {
      const o = pts.add();
      const feat = pts.feat;
      for (let f = 0; f < this.enc.dims; f++) {
        if (wide) {
          // One draw decides both whether to mutate and which value or parent (half the draws on 300 parameters).
          const u = this.rng.next();
          feat[o + f] =
            u < mutate
              ? this.enc.rankAt(f, Math.floor((u / mutate) * codecs[f]!.size))
              : parents[Math.floor(((u - mutate) / (1 - mutate)) * parents.length)]![f]!;
        } else {
          feat[o + f] = this.rng.next() < mutate ? this.enc.rankAt(f, this.rng.int(codecs[f]!.size)) : parents[this.rng.int(parents.length)]![f]!;
        }
      }
      pts.score[pts.count - 1] = score(feat, o);
    }
  }

  private okCount(): number {
    let n = 0;
    for (const m of this.data.values()) if (m.ok.length > 0) n++;
    return n;
  }

  /** The k best measured configurations, best first. */
  private bestMeasured(k: number): Measured[] {
    const measured = [...this.data.values()].filter((m) => m.ok.length > 0);
    const sign = this.opts.direction === 'maximize' ? -1 : 1;
    measured.sort((a, b) => sign * (avg(a.ok) - avg(b.ok)));
    return measured.slice(0, k);
  }

  /** The best measured points and the best-scoring candidates of the pool (rows below `pool`). */
  private localStarts(pts: Points, pool: number): Float64Array[] {
    const k = LOCAL_STARTS(this.enc.dims);
    const starts = this.bestMeasured(k - 2).map((m) => m.feat);
    const d = this.enc.dims;
    for (const r of pts.ranked(0, pool).slice(0, k - starts.length)) starts.push(pts.feat.slice(r * d, r * d + d));
    return starts;
  }

  /**
   * Hill-climb on the acquisition by one-parameter moves, every move scored afresh (the GP on a
   * large space, where no incremental scoring applies); the points visited are added to pts.
   */
  private plainLocalSearch(start: Float64Array, score: Score, pts: Points): void {
    const d = this.enc.dims;
    const codecs = this.enc.codecs;
    const feat = Float64Array.from(start, (r, f) => (r < 0 ? this.enc.rankAt(f, 0) : r));
    const mv = this.moveBuf;
    let cur = score(feat, 0);
    for (let step = 0, steps = LOCAL_STEPS(d); step < steps; step++) {
      let bestF = -1;
      let bestPos = -1;
      let bestS = cur;
      for (let f = 0; f < d; f++) {
        const c = codecs[f]!;
        const old = feat[f]!;
        const m = moves(c.size, this.enc.positionOf(f, old), c.categorical, this.rng, mv);
        for (let j = 0; j < m; j++) {
          feat[f] = this.enc.rankAt(f, mv[j]!);
          const s = score(feat, 0);
          if (s > bestS) {
            bestS = s;
            bestF = f;
            bestPos = mv[j]!;
          }
        }
        feat[f] = old;
      }
      if (bestF < 0) break;
      cur = bestS;
      feat[bestF] = this.enc.rankAt(bestF, bestPos);
      const o = pts.add();
      pts.score[pts.count - 1] = bestS;
      pts.feat.set(feat, o);
    }
  }

  /**
   * Hill-climb on the acquisition by one-parameter moves. Only features on some tree's path to the
   * current point can change the score, so only those are moved (scored incrementally). Returns the
   * points visited.
   */
  private localSearch(start: Float64Array, model: Model, reg: IncrementalForest, works: IncrementalForest | null, pts: Points, grid: WorkloadGrid | null): void {
    const add = model.additive;
    const addMoves = model.addMoves;
    const prior = model.prior;
    let addCur = 0;
    let priorCur = 0;
    const d = this.enc.dims;
    const codecs = this.enc.codecs;
    const feat = Float64Array.from(start);
    // Features whose moves are tried this step, without duplicates (stamped per step).
    const movable = new Int32Array(d);
    const mark = new Int32Array(d);
    const mv = this.moveBuf;
    let cur = -Infinity;
    for (let step = 0, steps = LOCAL_STEPS(this.enc.dims); step < steps; step++) {
      reg.reset(feat);
      works?.reset(feat);
      if (add) addCur = add.predict(feat, 0);
      if (prior) priorCur = prior.predict(feat, 0);
      if (step === 0) cur = moveScore(model, reg, works, feat, -1, addCur, priorCur, grid);
      const stamp = step + 1;
      let nm = takeNew(reg.features, reg.count, mark, stamp, movable, 0);
      if (works) nm = takeNew(works.features, works.count, mark, stamp, movable, nm);
      nm = takeNew(addMoves, addMoves.length, mark, stamp, movable, nm);
      let bestF = -1;
      let bestPos = -1;
      let bestS = cur;
      for (let k = 0; k < nm; k++) {
        const f = movable[k]!;
        const c = codecs[f]!;
        const old = feat[f]!;
        // Features are ranks; moves are made between domain positions.
        const m = moves(c.size, this.enc.positionOf(f, old), c.categorical, this.rng, mv);
        for (let j = 0; j < m; j++) {
          const pos = mv[j]!;
          feat[f] = this.enc.rankAt(f, pos);
          const s = moveScore(model, reg, works, feat, f, add ? addCur + add.delta(f, old, feat[f]!) : 0, prior ? priorCur + prior.delta(f, old, feat[f]!) : 0, grid);
          if (s > bestS) {
            bestS = s;
            bestF = f;
            bestPos = pos;
          }
        }
        feat[f] = old;
      }
      if (bestF < 0) break;
      cur = bestS;
      feat[bestF] = this.enc.rankAt(bestF, bestPos);
      const o = pts.add();
      const row = pts.count - 1;
      pts.score[row] = bestS;
      if (this.conditional) {
        // Conditions may have reset other parameters: continue from the normalised point.
        const pos = new Int32Array(d);
        for (let f = 0; f < d; f++) pos[f] = this.enc.positionOf(f, feat[f]!);
        const cand = this.candidate(this.enc.config(pos));
        feat.set(cand.feat);
        pts.cand[row] = cand;
      }
      pts.feat.set(feat, o);
    }
  }
}

/**
 * Rows as columns, into the front of out. A function of its own with nothing after the loop: code
 * after a long loop was compiled on the fly (on-stack replacement) without type feedback and fell
 * back to the interpreter on every ask.
 */
function columnMajor(rows: readonly Float64Array[], d: number, out: Float64Array): void {
  const n = rows.length;
  for (let i = 0; i < n; i++) {
    const v = rows[i]!;
    for (let f = 0; f < d; f++) out[f * n + i] = v[f]!;
  }
}

/** Appends to out (holding n) the first `count` of features not stamped yet; returns the new n. */
function takeNew(features: ArrayLike<number>, count: number, mark: Int32Array, stamp: number, out: Int32Array, n: number): number {
  for (let k = 0; k < count; k++) {
    const f = features[k]!;
    if (mark[f] !== stamp) {
      mark[f] = stamp;
      out[n++] = f;
    }
  }
  return n;
}

/** The acquisition at feat, which differs from the current point of reg and works in feature f only (f < 0: none). */
function moveScore(
  model: Model,
  reg: IncrementalForest,
  works: IncrementalForest | null,
  feat: Float64Array,
  f: number,
  addMean: number,
  priorMean: number,
  grid: WorkloadGrid | null,
): number {
  reg.predictChanged(feat, f);
  const mean = (model.additive ? (1 - model.w) * reg.mean + model.w * addMean : reg.mean) + priorMean;
  const ei = expectedImprovement(mean, Math.sqrt(reg.variance), model.incumbents && grid ? model.incumbents[grid.index(feat)]! : model.best);
  if (model.worksAdditive) return ei * worksProbability(model.worksAdditive, feat, 0);
  if (!works) return ei;
  works.predictChanged(feat, f);
  return ei * forestWorks(works.mean, model.worksPrior, feat, 0);
}

/** Wide spaces' P(works): a base rate, the warm start's effects and this experiment's own. */
interface WorksAdditive {
  base: number;
  /** Null when no parameter's effect on failures survives the screening here. */
  model: AdditiveModel | null;
  prior: PriorMix | null;
}

function worksProbability(w: WorksAdditive, feat: Float64Array, off: number): number {
  return clampWorks(w.base + (w.model ? w.model.predict(feat, off) : 0) + (w.prior ? w.prior.predict(feat, off) : 0));
}

/** A probability of working kept within [0.02, 1]: no configuration is ruled out for good. */
function clampWorks(p: number): number {
  return Math.min(1, Math.max(0.02, p));
}

/**
 * Narrow spaces' P(works): the forest's (fitted on what a warm start's prior leaves) plus the prior,
 * within [0, 1]. No floor here: the fully grown trees' zero next to a failure is what keeps the
 * search out of a failing region.
 */
function forestWorks(forest: number, prior: PriorMix | null, feat: Float64Array, off: number): number {
  return prior ? Math.min(1, Math.max(0, forest + prior.predict(feat, off))) : forest;
}

function forestOptions(dims: number): ForestOptions {
  // Bootstrap resamples and minSplit 3 widen the spread between trees: better-calibrated uncertainty
  // in the factorial benchmark than interpolating trees.
  // Many dimensions: at most 300 draws per tree and, on wide spaces (where the additive model carries
  // much of the mean), about sqrt(dims) features per split keep a fit of 1,000 points x 300
  // parameters within milliseconds; 12 to 40 features per split made no difference on wide-120.
  return {
    trees: dims <= 24 ? 32 : 10,
    mtry: dims <= 24 ? dims : dims <= WIDE ? 24 : Math.max(12, Math.ceil(Math.sqrt(dims))),
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

/** The share of a configuration's measurements that worked (one stopped early worked: it was only slow). */
function worksShare(m: Measured): number {
  const ok = m.ok.length + (m.stopped?.length ?? 0);
  return ok / (ok + m.failed);
}

/**
 * What a configuration stopped early is fitted at: the estimate from its few iterations, capped at
 * its bound (it was shown to be below it), when it was told one; else the rank-based censoredValue.
 * On the recorded NGINX factorial with every iteration (bench/tables/linux-nginx-iterations.csv),
 * fitting every stop at the rank-based value alone flattened the model (nine in ten configurations
 * are stopped there, all at one value) and lost quality at 40 evaluations; see docs/strategies.md.
 */
function stoppedValue(stops: [number, number | null][], okMeans: number[], direction: 'maximize' | 'minimize'): number {
  const better = (a: number, b: number): boolean => (direction === 'maximize' ? a > b : a < b);
  const bounds = stops.map(([b]) => b);
  const bound = bounds.reduce((a, b) => (better(a, b) ? b : a));
  const est = stops.map(([, e]) => e).filter((e): e is number => e !== null);
  if (est.length === 0) return censoredValue(bounds, okMeans, direction);
  const e = avg(est);
  return better(e, bound) ? bound : e;
}

/**
 * The rank-based value of a configuration stopped early without an estimate: the median of the measured configurations worse
 * than its bound (the best's objective when it was stopped), else the bound. Its own partial mean
 * is never used: a stop says "worse than the best", and taking the few noisy iterations at face
 * value would tell the model by how much. A typical worse configuration keeps the model's ranking
 * right (it is below the best) without pulling its neighbourhood down further than the data does.
 */
export function censoredValue(bounds: number[], okMeans: number[], direction: 'maximize' | 'minimize'): number {
  const bound = direction === 'maximize' ? Math.min(...bounds) : Math.max(...bounds);
  const worse = okMeans.filter((v) => (direction === 'maximize' ? v < bound : v > bound)).sort((a, b) => a - b);
  if (worse.length === 0) return bound;
  const mid = worse.length >> 1;
  return worse.length % 2 ? worse[mid]! : (worse[mid - 1]! + worse[mid]!) / 2;
}

function avg(v: number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

/** Neighbouring positions, written into out (returns how many): the adjacent values of an ordinal, a few other values of a category. */
function moves(size: number, here: number, categorical: boolean, rng: Rng, out: Int32Array): number {
  if (size <= 1) return 0;
  let n = 0;
  if (categorical || size <= 5) {
    if (size <= 7) {
      for (let i = 0; i < size && n < 6; i++) if (i !== here) out[n++] = i;
      return n;
    }
    for (let k = 0; k < 3; k++) {
      const i = rng.int(size);
      if (i !== here) out[n++] = i;
    }
    return n;
  }
  if (here > 0) out[n++] = here - 1;
  if (here < size - 1) out[n++] = here + 1;
  const far = rng.int(size);
  if (far !== here) out[n++] = far;
  return n;
}
