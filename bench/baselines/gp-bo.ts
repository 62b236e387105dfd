// Baseline: Gaussian-process Bayesian optimisation as a BoTorch user would set it up on a mixed
// discrete space: categories one-hot, numbers scaled to [0, 1] by the position of their value
// (booleans are 0/1, the same as one-hot for two values), a Matern 5/2 kernel with one length-scale
// per input column (ARD), outcomes standardised, the current default priors of BoTorch's
// SingleTaskGP (length-scales log-normal around sqrt(2) + log(dims)/2 with spread sqrt(3), noise
// log-normal around e^-4), hyper-parameters at their maximum a posteriori, expected improvement.
// Start: 10 random configurations (BoTorch examples use Sobol points). Failed runs are imputed at
// the worst value seen (a GP has no notion of failure). Differences, stated so the comparison is
// fair: the posterior is maximised by Adam on the log hyper-parameters (BoTorch: L-BFGS-B), warm
// started from the previous fit (4 steps per ask on inputs of more than 60 columns); spaces up to
// 20,000 configurations are scored exhaustively (the exact maximum of the acquisition:
// optimize_acqf_discrete) except pools of recorded rows, where 500 random rows are scored per ask;
// larger spaces over 2,000 random points; no configuration is evaluated twice.

import type { Config, Observation } from '../../src/types.js';
import { expectedImprovement } from '../../src/strategies/acquisition.js';
import { codecFor, keyOfNormalized, type ParamCodec } from '../../src/strategies/encoding.js';
import type { SearchSpace } from '../../src/strategies/space.js';
import type { SearchFactory } from '../../src/strategies/simulate.js';
import { Rng } from '../../src/util/random.js';
import { cholesky } from '../../src/strategies/gp.js';

const N_INITIAL = 10;
const EXHAUSTIVE = 20_000n;
const RANDOM_CANDIDATES = 2_000;
/** Unseen rows scored per ask on a pool of more than this many rows (a random subset: scoring all was too slow for 30 seeds). */
const POOL_CANDIDATES = 500;
const FIRST_STEPS = 60;
const WARM_STEPS = 10;
/** Wide inputs (pools of ~300 columns): fewer warm steps per ask, or the benchmark takes an hour. */
const WIDE_WARM_STEPS = 4;
const LR = 0.1;
const SQRT5 = Math.sqrt(5);

interface Cand {
  config: Config;
  key: string;
  x: Float64Array;
}

class GpBoSearch {
  private readonly codecs: ParamCodec[];
  private readonly dims: number;
  private readonly rng: Rng;
  private readonly seen = new Set<string>();
  private readonly data: { x: Float64Array; value: number | undefined }[] = [];
  private all: Cand[] | null = null;
  /** Log length-scales per column, then the log noise variance. */
  private hyper: Float64Array | null = null;
  private readonly priorMu: number;
  private readonly priorSd = Math.sqrt(3);

  constructor(
    private readonly space: SearchSpace,
    private readonly opts: { seed: number; direction: 'maximize' | 'minimize' },
  ) {
    this.codecs = space.params.map(codecFor);
    this.dims = this.codecs.reduce((a, c) => a + (c.categorical ? c.size : 1), 0);
    this.rng = new Rng(opts.seed ^ 0x6b0);
    this.priorMu = Math.SQRT2 + 0.5 * Math.log(this.dims);
  }

  ask(n: number): Config[] {
    const out: Config[] = [];
    for (let k = 0; k < n; k++) {
      const c = this.data.length < N_INITIAL ? this.randomUnseen() : this.modelPick();
      if (!c) break;
      this.seen.add(keyOfNormalized(this.space.params, c));
      out.push(c);
    }
    return out;
  }

  tell(observations: Observation[]): void {
    for (const o of observations) {
      const config = this.space.normalize(o.config);
      this.seen.add(keyOfNormalized(this.space.params, config));
      this.data.push({ x: this.encode(config), value: o.status === 'ok' ? o.value : undefined });
    }
  }

  private encode(config: Config): Float64Array {
    const x = new Float64Array(this.dims);
    let o = 0;
    for (const c of this.codecs) {
      const v = config[c.name];
      const i = v === undefined ? -1 : c.indexOf(v);
      if (c.categorical) {
        if (i >= 0) x[o + i] = 1;
        o += c.size;
      } else x[o++] = i < 0 ? 0 : c.rank(i) / Math.max(1, c.size - 1);
    }
    return x;
  }

  private cand(config: Config): Cand {
    return { config, key: keyOfNormalized(this.space.params, config), x: this.encode(config) };
  }

  private randomUnseen(): Config | null {
    for (let i = 0; i < 1000; i++) {
      const c = this.space.normalize(this.space.sample(this.rng));
      if (!this.seen.has(keyOfNormalized(this.space.params, c))) return c;
    }
    const left = this.space.size <= EXHAUSTIVE ? this.candidates().filter((c) => !this.seen.has(c.key)) : [];
    return left.length > 0 ? left[this.rng.int(left.length)]!.config : null;
  }

  private candidates(): Cand[] {
    if (!this.all) {
      this.all = [];
      for (let i = 0n; i < this.space.size; i++) {
        const c = this.cand(this.space.normalize(this.space.at(i)));
        if (!this.space.contains || this.space.contains(c.config)) this.all.push(c);
      }
    }
    return this.all;
  }

  private modelPick(): Config | null {
    const ok = this.data.filter((d) => d.value !== undefined).map((d) => d.value!);
    if (ok.length < 2) return this.randomUnseen();
    // Minimise: negate a maximised objective; failures at the worst value seen; standardise.
    const sign = this.opts.direction === 'maximize' ? -1 : 1;
    const worst = Math.max(...ok.map((v) => sign * v));
    const raw = this.data.map((d) => (d.value === undefined ? worst : sign * d.value));
    const mean = raw.reduce((a, b) => a + b, 0) / raw.length;
    const sd = Math.sqrt(raw.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, raw.length - 1)) || 1;
    const y = Float64Array.from(raw, (v) => (v - mean) / sd);
    const xs = this.data.map((d) => d.x);
    const first = this.hyper === null;
    if (!this.hyper) {
      this.hyper = new Float64Array(this.dims + 1).fill(this.priorMu);
      this.hyper[this.dims] = -4;
    }
    this.fitHyper(xs, y, first ? FIRST_STEPS : this.dims > 60 ? WIDE_WARM_STEPS : WARM_STEPS);
    const post = this.posterior(xs, y);
    if (!post) return this.randomUnseen();
    const best = Math.min(...y);
    const ls = this.hyper.subarray(0, this.dims).map(Math.exp);
    let pick: Config | null = null;
    let top = -Infinity;
    const kbuf = new Float64Array(xs.length);
    // Listed candidates are all in the space; sampled ones are checked.
    const consider = (c: Cand, listed = false): void => {
      if (this.seen.has(c.key)) return;
      if (!listed && this.space.contains && !this.space.contains(c.config)) return;
      const p = predict(c.x, xs, ls, post, kbuf);
      const s = expectedImprovement(p.mean, Math.sqrt(p.variance), best);
      if (s > top) {
        top = s;
        pick = c.config;
      }
    };
    if (this.space.size <= EXHAUSTIVE) {
      const all = this.candidates();
      if (this.space.contains && all.length > POOL_CANDIDATES) for (let i = 0; i < POOL_CANDIDATES; i++) consider(all[this.rng.int(all.length)]!, true);
      else for (const c of all) consider(c, true);
    }
    else for (let i = 0; i < RANDOM_CANDIDATES; i++) consider(this.cand(this.space.normalize(this.space.sample(this.rng))));
    return pick ?? this.randomUnseen();
  }

  /** Adam on the log posterior of the log hyper-parameters (warm started from the last fit). */
  private fitHyper(xs: Float64Array[], y: Float64Array, steps: number): void {
    const h = this.hyper!;
    const m = new Float64Array(h.length);
    const v = new Float64Array(h.length);
    for (let t = 1; t <= steps; t++) {
      const g = gradient(xs, y, h, this.priorMu, this.priorSd);
      if (!g) break;
      for (let i = 0; i < h.length; i++) {
        m[i] = 0.9 * m[i]! + 0.1 * g[i]!;
        v[i] = 0.999 * v[i]! + 0.001 * g[i]! * g[i]!;
        const step = (LR * (m[i]! / (1 - 0.9 ** t))) / (Math.sqrt(v[i]! / (1 - 0.999 ** t)) + 1e-8);
        h[i] = h[i]! + step;
      }
      // Noise variance kept within BoTorch's constraint (>= 1e-4) and below the signal.
      h[h.length - 1] = Math.min(0, Math.max(Math.log(1e-4), h[h.length - 1]!));
    }
  }

  private posterior(xs: Float64Array[], y: Float64Array): { L: Float64Array; alpha: Float64Array } | null {
    const h = this.hyper!;
    const ls = h.subarray(0, this.dims).map(Math.exp);
    const n = xs.length;
    const K = kernelMatrix(xs, ls, Math.exp(h[this.dims]!)).K;
    const L = cholesky(K, n);
    if (!L) return null;
    return { L, alpha: solve(L, n, y) };
  }
}

function matern(r: number): number {
  return (1 + SQRT5 * r + (5 / 3) * r * r) * Math.exp(-SQRT5 * r);
}

function kernelMatrix(xs: Float64Array[], ls: Float64Array, noise: number): { K: Float64Array; r: Float64Array } {
  const n = xs.length;
  const d = ls.length;
  const K = new Float64Array(n * n);
  const R = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    K[a * n + a] = 1 + noise;
    for (let b = a + 1; b < n; b++) {
      let s = 0;
      const xa = xs[a]!;
      const xb = xs[b]!;
      for (let j = 0; j < d; j++) {
        const t = (xa[j]! - xb[j]!) / ls[j]!;
        s += t * t;
      }
      const r = Math.sqrt(s);
      K[a * n + b] = K[b * n + a] = matern(r);
      R[a * n + b] = R[b * n + a] = r;
    }
  }
  return { K, r: R };
}

/** Gradient of log p(y | h) + log prior(h) with respect to the log hyper-parameters. */
function gradient(xs: Float64Array[], y: Float64Array, h: Float64Array, mu: number, sdev: number): Float64Array | null {
  const n = xs.length;
  const d = h.length - 1;
  const ls = h.subarray(0, d).map(Math.exp);
  const noise = Math.exp(h[d]!);
  const { K, r: R } = kernelMatrix(xs, ls, noise);
  const L = cholesky(K, n);
  if (!L) return null;
  const alpha = solve(L, n, y);
  const Kinv = inverse(L, n);
  const g = new Float64Array(d + 1);
  // W = (alpha alpha^T - K^-1) times dk/d(r^2) factor; dk/dlog l_j = (5/3)(1 + sqrt5 r) e^(-sqrt5 r) (dx_j / l_j)^2.
  for (let a = 0; a < n; a++) {
    const xa = xs[a]!;
    for (let b = a + 1; b < n; b++) {
      const r = R[a * n + b]!;
      const w = (alpha[a]! * alpha[b]! - Kinv[a * n + b]!) * (5 / 3) * (1 + SQRT5 * r) * Math.exp(-SQRT5 * r);
      if (w === 0) continue;
      const xb = xs[b]!;
      // Pairs counted once: the 1/2 of the trace formula cancels the symmetry.
      for (let j = 0; j < d; j++) {
        const t = (xa[j]! - xb[j]!) / ls[j]!;
        if (t !== 0) g[j] = g[j]! + w * t * t;
      }
    }
  }
  let tr = 0;
  for (let a = 0; a < n; a++) tr += alpha[a]! * alpha[a]! - Kinv[a * n + a]!;
  g[d] = 0.5 * tr * noise;
  for (let j = 0; j < d; j++) g[j] = g[j]! - (h[j]! - mu) / (sdev * sdev);
  g[d] = g[d]! - (h[d]! + 4) / 1;
  return g;
}

function predict(
  x: Float64Array,
  xs: Float64Array[],
  ls: Float64Array,
  post: { L: Float64Array; alpha: Float64Array },
  k: Float64Array,
): { mean: number; variance: number } {
  const n = xs.length;
  const d = ls.length;
  let mean = 0;
  for (let i = 0; i < n; i++) {
    const xi = xs[i]!;
    let s = 0;
    for (let j = 0; j < d; j++) {
      const t = (x[j]! - xi[j]!) / ls[j]!;
      s += t * t;
    }
    k[i] = matern(Math.sqrt(s));
    mean += k[i]! * post.alpha[i]!;
  }
  const L = post.L;
  let vv = 0;
  for (let i = 0; i < n; i++) {
    let s = k[i]!;
    for (let j = 0; j < i; j++) s -= L[i * n + j]! * k[j]!;
    k[i] = s / L[i * n + i]!;
    vv += k[i]! * k[i]!;
  }
  return { mean, variance: Math.max(1e-12, 1 - vv) };
}


function solve(L: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i * n + k]! * z[k]!;
    z[i] = s / L[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * z[k]!;
    z[i] = s / L[i * n + i]!;
  }
  return z;
}

/** K^-1 from its Cholesky factor, column by column. */
function inverse(L: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  const e = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    e.fill(0);
    e[c] = 1;
    const col = solve(L, n, e);
    for (let i = 0; i < n; i++) out[i * n + c] = col[i]!;
  }
  return out;
}

export const gpBo: SearchFactory = {
  name: 'gp-bo',
  create: (space, opts) => new GpBoSearch(space, opts),
};
