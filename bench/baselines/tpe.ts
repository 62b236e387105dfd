// Baseline: the tree-structured Parzen estimator as Optuna's TPESampler runs it by default, written
// here from its documented behaviour (PyPI is out of reach on this machine, so Optuna itself cannot
// run): independent (univariate) sampling, 10 random start-up trials, gamma(n) = min(ceil(0.1 n), 25)
// trials in the "good" group, Optuna's default weights (older trials ramp down once more than 25),
// Parzen estimators with a prior component of weight 1, magic clipping of the bandwidths, and 24
// candidates drawn from l(x) ranked by log l(x) - log g(x).
//
// Parameter kinds as an Optuna user would declare them: strings and booleans suggest_categorical;
// numbers suggest_int over the positions of their values (0..k-1, step 1: an ordinal with its order
// kept, which for powers of two is suggest_int(log=True) of the exponent).
// On a pool of recorded rows, each sample is moved to the recorded row nearest to it.
// Like Optuna, it ignores failed trials and may propose a configuration already evaluated: "tpe"
// pays a measurement for each such repeat, as a plain Optuna study does. "tpe-dedup" follows the
// recipe of Optuna's FAQ for duplicated samples instead: the objective returns the recorded value of
// a configuration seen before, so a repeat becomes a (free) trial and sampling goes on.

import type { Config, Observation } from '../../src/types.js';
import { codecFor, keyOfNormalized, type ParamCodec } from '../../src/strategies/encoding.js';
import type { SearchSpace } from '../../src/strategies/space.js';
import type { SearchFactory } from '../../src/strategies/simulate.js';
import { Rng } from '../../src/util/random.js';

const N_STARTUP = 10;
const N_EI_CANDIDATES = 24;
const PRIOR_WEIGHT = 1;

export function gamma(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

/** Optuna's default_weights: flat for the newest 25, a linear ramp from 1/n up for older ones. */
export function defaultWeights(n: number): number[] {
  if (n === 0) return [];
  if (n < 25) return Array.from({ length: n }, () => 1);
  const ramp = Array.from({ length: n - 25 }, (_, i) => (n - 25 === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (n - 26)));
  return [...ramp, ...Array.from({ length: 25 }, () => 1)];
}

interface Trial {
  idx: number[];
  loss: number;
}

/** A discrete mixture over a parameter's k positions: component probabilities and weights. */
class Parzen {
  /** p[c][v]: probability of position v under component c. */
  readonly p: Float64Array[] = [];
  readonly w: number[] = [];

  constructor(obs: number[], weights: number[], k: number, categorical: boolean) {
    const n = obs.length;
    const total = weights.reduce((a, b) => a + b, 0) + PRIOR_WEIGHT;
    if (categorical) {
      // Each observation: its category plus the prior's mass spread evenly, normalised.
      obs.forEach((o, i) => {
        const row = new Float64Array(k).fill(PRIOR_WEIGHT / (n + 1));
        row[o]! += 1;
        const s = row.reduce((a, b) => a + b, 0);
        for (let v = 0; v < k; v++) row[v]! /= s;
        this.p.push(row);
        this.w.push(weights[i]! / total);
      });
      this.p.push(new Float64Array(k).fill(1 / k));
      this.w.push(PRIOR_WEIGHT / total);
      return;
    }
    // Integer positions 0..k-1, step 1: discretised truncated normals on [-0.5, k-0.5].
    const low = 0;
    const high = k - 1;
    const step = 1;
    const priorMu = 0.5 * (low + high);
    const range = high - low + step;
    const mus = [...obs, priorMu];
    const order = mus.map((_, i) => i).sort((a, b) => mus[a]! - mus[b]!);
    const sorted = order.map((i) => mus[i]!);
    const ext = [low - step / 2, ...sorted, high + step / 2];
    const sortedSigma = sorted.map((_, j) => Math.max(ext[j + 1]! - ext[j]!, ext[j + 2]! - ext[j + 1]!));
    // Without consider_endpoints the outermost take their inner neighbour's gap.
    if (ext.length >= 4) {
      sortedSigma[0] = ext[2]! - ext[1]!;
      sortedSigma[sortedSigma.length - 1] = ext[ext.length - 2]! - ext[ext.length - 3]!;
    }
    const sigma = new Array<number>(mus.length);
    order.forEach((i, j) => (sigma[i] = sortedSigma[j]!));
    const minSigma = range / Math.min(100, 1 + n + 1);
    const maxSigma = range;
    const comps = obs.map((o, i) => ({ mu: o, sigma: Math.min(maxSigma, Math.max(minSigma, sigma[i]!)), w: weights[i]! / total }));
    comps.push({ mu: priorMu, sigma: range, w: PRIOR_WEIGHT / total });
    for (const c of comps) {
      const cdf = (x: number): number => normalCdf((x - c.mu) / c.sigma);
      const z = cdf(high + step / 2) - cdf(low - step / 2);
      const row = new Float64Array(k);
      for (let v = 0; v < k; v++) row[v] = Math.max(1e-300, (cdf(v + step / 2) - cdf(v - step / 2)) / z);
      this.p.push(row);
      this.w.push(c.w);
    }
  }

  pdf(v: number): number {
    let s = 0;
    for (let c = 0; c < this.p.length; c++) s += this.w[c]! * this.p[c]![v]!;
    return s;
  }

  sample(rng: Rng): number {
    let u = rng.next();
    let c = 0;
    while (c < this.w.length - 1 && u >= this.w[c]!) u -= this.w[c++]!;
    const row = this.p[c]!;
    let r = rng.next() * row.reduce((a, b) => a + b, 0);
    for (let v = 0; v < row.length; v++) {
      r -= row[v]!;
      if (r < 0) return v;
    }
    return row.length - 1;
  }
}

function normalCdf(z: number): number {
  // Abramowitz-Stegun 7.1.26 via erf.
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

class TpeSearch {
  private readonly codecs: ParamCodec[];
  private readonly rng: Rng;
  private readonly trials: Trial[] = [];
  /** Key -> what its measurement said, for the dedup recipe (undefined value: it failed). */
  private readonly recorded = new Map<string, Observation>();

  constructor(
    private readonly space: SearchSpace,
    private readonly opts: { seed: number; direction: 'maximize' | 'minimize'; dedup: boolean },
  ) {
    this.codecs = space.params.map(codecFor);
    this.rng = new Rng(opts.seed ^ 0x7e5);
  }

  ask(n: number): Config[] {
    const out: Config[] = [];
    const taken = new Set<string>();
    for (let k = 0; k < n; k++) {
      let c = this.space.normalize(this.sampleOne());
      if (this.opts.dedup) {
        // Seen before: answered from the record (a free trial), then sample again; after many
        // in a row the search has converged, and a random unseen configuration goes next.
        for (let tries = 0; this.seenKey(c, taken) && tries < 40; tries++) {
          const o = this.recorded.get(keyOfNormalized(this.space.params, c));
          if (o) this.tell([o]);
          c = this.space.normalize(tries < 20 ? this.sampleOne() : this.randomConfig());
        }
      }
      taken.add(keyOfNormalized(this.space.params, c));
      out.push(c);
    }
    return out;
  }

  private seenKey(c: Config, taken: Set<string>): boolean {
    const key = keyOfNormalized(this.space.params, c);
    return this.recorded.has(key) || taken.has(key);
  }

  private randomConfig(): Config {
    const config: Config = {};
    for (const c of this.codecs) config[c.name] = c.valueAt(this.rng.int(c.size));
    return config;
  }

  tell(observations: Observation[]): void {
    for (const o of observations) {
      this.recorded.set(keyOfNormalized(this.space.params, this.space.normalize(o.config)), o);
      // Failed trials are not COMPLETE: Optuna's TPE leaves them out.
      if (o.status !== 'ok' || o.value === undefined) continue;
      const config = this.space.normalize(o.config);
      this.trials.push({
        idx: this.codecs.map((c) => c.indexOf(config[c.name]!)),
        loss: this.opts.direction === 'maximize' ? -o.value : o.value,
      });
    }
  }

  /** A pool of recorded rows (a space with contains()): each row's value positions. */
  private rows: Int32Array[] | null = null;

  private sampleOne(): Config {
    if (this.space.contains && this.trials.length < N_STARTUP) return this.space.sample(this.rng);
    const idx = this.trials.length < N_STARTUP ? this.codecs.map((c) => this.rng.int(c.size)) : this.codecs.map((_, j) => this.sampleParam(j));
    if (this.space.contains) return this.nearestRow(idx);
    const config: Config = {};
    this.codecs.forEach((c, j) => (config[c.name] = c.valueAt(idx[j]!)));
    return config;
  }

  /**
   * On a pool only recorded rows can be measured: the sampled configuration is replaced by the row
   * that shares most of its values (ties at random), as a user replaying Optuna on recorded data
   * would have to.
   */
  private nearestRow(idx: number[]): Config {
    if (!this.rows) {
      this.rows = [];
      for (let i = 0n; i < this.space.size; i++) {
        const c = this.space.at(i);
        this.rows.push(Int32Array.from(this.codecs, (k) => k.indexOf(c[k.name]!)));
      }
    }
    let best = -1;
    let pick = 0;
    let ties = 0;
    for (let r = 0; r < this.rows.length; r++) {
      const row = this.rows[r]!;
      let same = 0;
      for (let j = 0; j < idx.length; j++) if (row[j] === idx[j]) same++;
      if (same > best) {
        best = same;
        pick = r;
        ties = 1;
      } else if (same === best && this.rng.int(++ties) === 0) pick = r;
    }
    return this.space.at(BigInt(pick));
  }

  /** The good and bad groups of the trials so far (kept until a trial is added). */
  private groups(): { below: Trial[]; above: Trial[]; estimators: Map<number, { l: Parzen; g: Parzen }> } {
    if (this.cache?.n !== this.trials.length) {
      const nBelow = gamma(this.trials.length);
      // Sorted by loss, ties by trial order; each group keeps chronological order for the weights.
      const ranked = this.trials.map((t, i) => ({ t, i })).sort((a, b) => a.t.loss - b.t.loss || a.i - b.i);
      const below = ranked.slice(0, nBelow).sort((a, b) => a.i - b.i).map((x) => x.t);
      const above = ranked.slice(nBelow).sort((a, b) => a.i - b.i).map((x) => x.t);
      this.cache = { n: this.trials.length, below, above, estimators: new Map() };
    }
    return this.cache;
  }

  private cache: { n: number; below: Trial[]; above: Trial[]; estimators: Map<number, { l: Parzen; g: Parzen }> } | null = null;

  /** Optuna's sample_independent for one parameter. */
  private sampleParam(j: number): number {
    const c = this.codecs[j]!;
    const grp = this.groups();
    let est = grp.estimators.get(j);
    if (!est) {
      const categorical = c.categorical || typeof c.valueAt(0) === 'boolean';
      est = {
        l: new Parzen(grp.below.map((t) => t.idx[j]!), defaultWeights(grp.below.length), c.size, categorical),
        g: new Parzen(grp.above.map((t) => t.idx[j]!), defaultWeights(grp.above.length), c.size, categorical),
      };
      grp.estimators.set(j, est);
    }
    const { l, g } = est;
    let best = -Infinity;
    let pick = 0;
    for (let k = 0; k < N_EI_CANDIDATES; k++) {
      const v = l.sample(this.rng);
      const score = Math.log(l.pdf(v)) - Math.log(g.pdf(v));
      if (score > best) {
        best = score;
        pick = v;
      }
    }
    return pick;
  }
}

export const tpe: SearchFactory = {
  name: 'tpe',
  create: (space, opts) => new TpeSearch(space, { ...opts, dedup: false }),
};

export const tpeDedup: SearchFactory = {
  name: 'tpe-dedup',
  create: (space, opts) => new TpeSearch(space, { ...opts, dedup: true }),
};
