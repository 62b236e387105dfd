// Main effects per parameter value (an additive model): ridge regression on each parameter's values
// taken as categories, fitted by backfitting (one exact block update per parameter and sweep).
// Where many parameters and few measurements meet and effects mostly add up, trees need many points
// before their splits find the few parameters that matter, while per-value means already point the
// right way after a dozen (as a tree-Parzen estimator's do).

import type { Effects } from './prior.js';

/** Ordinal parameters with more values than this share bins of neighbouring values. */
const MAX_BINS = 16;
/**
 * Categories keep a bin each up to this many: neighbours in a list of categories are unrelated, so
 * sharing bins would merge effects at random (a 20-value category had its 1st and 2nd values, and
 * its 11th and 12th, fitted as one). Past it (rare), they share bins as ordinals do.
 */
const MAX_CATEGORIES = 1_024;

export class AdditiveModel {
  /** Effects of all bins, feature after feature: feature f's bins start at offset[f]; bin 0 holds unknown values. */
  private readonly effect: Float64Array;
  private readonly offset: Int32Array;
  /** Values per bin for features with more values than bins, else 0 (a bin per value). */
  private readonly width: Float64Array;
  /** Bins per feature for known values (MAX_BINS for ordinals, MAX_CATEGORIES for the others). */
  private readonly cap: Int32Array;
  private readonly sol: Float64Array;
  /** With screening: the features whose effects survived it, in order. */
  readonly kept: number[] = [];
  /** With screening: the features whose effects passed the bound itself (kept: a third of it), in order. */
  readonly significant: number[] = [];

  /**
   * feats: row vectors of ranks (-1 unknown); y: centred targets; sizes: values per feature;
   * smoothable: features whose neighbouring values' effects are pulled together (ordinals);
   * lambda: ridge penalty per effect, smooth: penalty per difference of neighbours, curve: penalty
   * per second difference (an untried value next to good ones stays near them instead of falling
   * back to zero), all in units of one observation.
   */
  constructor(
    feats: readonly Float64Array[],
    y: ArrayLike<number>,
    sizes: readonly number[],
    smoothable: readonly boolean[],
    lambda: number,
    smooth: number,
    curve: number,
    sweeps = 4,
    screen = false,
  ) {
    const d = sizes.length;
    const n = feats.length;
    this.offset = new Int32Array(d + 1);
    this.width = new Float64Array(d);
    this.cap = new Int32Array(d);
    let widest = 0;
    for (let j = 0; j < d; j++) {
      const s = sizes[j]!;
      const cap = smoothable[j] ? MAX_BINS : MAX_CATEGORIES;
      this.cap[j] = cap;
      this.width[j] = s <= cap ? 0 : s / cap;
      this.offset[j + 1] = this.offset[j]! + Math.min(s, cap) + 1;
      widest = Math.max(widest, this.offset[j + 1]! - this.offset[j]!);
    }
    this.sol = new Float64Array(widest);
    this.effect = new Float64Array(this.offset[d]!);
    const bins = new Uint16Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) bins[j * n + i] = this.bin(j, feats[i]![j]!);
    const r = Float64Array.from(y);
    const count = new Float64Array(this.effect.length);
    for (let j = 0; j < d; j++) {
      const o = this.offset[j]!;
      for (let i = 0; i < n; i++) count[o + bins[j * n + i]!]! += 1;
    }
    const chol = sizes.map((_, j) =>
      smoothable[j] ? this.factor(count, this.offset[j]!, this.offset[j + 1]! - this.offset[j]! - 1, lambda, smooth, curve) : null,
    );
    const sum = new Float64Array(widest);
    const e = this.effect;
    for (let sweep = 0; sweep < sweeps; sweep++) {
      for (let j = 0; j < d; j++) {
        const o = this.offset[j]!;
        const k = this.offset[j + 1]! - o;
        const col = j * n;
        for (let b = 0; b < k; b++) sum[b] = 0;
        for (let i = 0; i < n; i++) sum[bins[col + i]!]! += r[i]!;
        // Partial residuals: this feature's own effects put back.
        for (let b = 0; b < k; b++) sum[b] = sum[b]! + e[o + b]! * count[o + b]!;
        const next = this.solve(sum, count, o, k, lambda, chol[j]!);
        for (let b = 0; b < k; b++) {
          // Residuals of the points in bin b move by the change of its effect.
          sum[b] = next[b]! - e[o + b]!;
          e[o + b] = next[b]!;
        }
        for (let i = 0; i < n; i++) r[i] = r[i]! - sum[bins[col + i]!]!;
      }
    }
    if (screen) this.screen(bins, y, count, n);
  }

  /**
   * Shrinks each feature's effects towards their mean by max(0, 1 - t / F), F being the one-way
   * analysis-of-variance statistic of the feature alone (between-value over within-value variance of
   * the targets' ranks; the joint fit's residuals are no yardstick when there are more effects than
   * measurements) and t a bound that the largest F of d features without any effect rarely passes
   * (chi-square tail at probability 1/d). Among hundreds of parameters of which a few matter (the
   * recorded Linux pools: one to three sysctls of 259 move the objective), the others' chance effects
   * would otherwise add up to more than the real ones.
   */
  private screen(bins: Uint16Array, target: ArrayLike<number>, count: Float64Array, n: number): void {
    const d = this.width.length;
    // On ranks: one crashed-looking outlier must not decide which parameters matter. Ties share
    // their mean rank: a target of works (1) or not (0) is all ties.
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => target[a]! - target[b]!);
    const y = new Float64Array(n);
    for (let a = 0; a < n; ) {
      let b = a + 1;
      while (b < n && target[order[b]!] === target[order[a]!]) b++;
      for (let r = a; r < b; r++) y[order[r]!] = (a + b - 1) / 2;
      a = b;
    }
    let total = 0;
    let total2 = 0;
    for (let i = 0; i < n; i++) {
      total += y[i]!;
      total2 += y[i]! * y[i]!;
    }
    const sst = total2 - (total * total) / n;
    if (!(sst > 0)) return;
    const x = Math.log(Math.max(2, d));
    const e = this.effect;
    const sum = new Float64Array(this.sol.length);
    for (let j = 0; j < d; j++) {
      const o = this.offset[j]!;
      const k = this.offset[j + 1]! - o;
      for (let b = 0; b < k; b++) sum[b] = 0;
      for (let i = 0; i < n; i++) sum[bins[j * n + i]!]! += y[i]!;
      let ssb = 0;
      let used = 0;
      let m = 0;
      for (let b = 0; b < k; b++) {
        const c = count[o + b]!;
        if (c > 0) {
          used++;
          ssb += (sum[b]! * sum[b]!) / c;
        }
        m += c * e[o + b]!;
      }
      m /= n;
      ssb -= (total * total) / n;
      const df = used - 1;
      const dfw = n - used;
      let keep = 0;
      if (df >= 1 && dfw >= 8) {
        const f = ssb / df / (Math.max(1e-12, sst - ssb) / dfw);
        // The chi-square bound per degree of freedom, widened for the within-value variance's own scatter.
        const t = ((df + 2 * Math.sqrt(df * x) + 2 * x) / df) * (dfw / (dfw - 2));
        // Soft: weight (F / t)^2 up to 1, so a real effect not yet past the bound already counts while
        // hundreds of chance effects (F near 1) add up to little; trees split on F > t / 3.
        keep = Math.min(1, (f / t) ** 2);
        if (f > t / 3) this.kept.push(j);
        if (f > t) this.significant.push(j);
      }
      for (let b = 0; b < k; b++) e[o + b] = m + keep * (e[o + b]! - m);
    }
  }

  private bin(j: number, rank: number): number {
    if (rank < 0) return 0;
    const w = this.width[j]!;
    return w === 0 ? rank + 1 : 1 + Math.min(this.cap[j]! - 1, Math.floor(rank / w));
  }

  /**
   * Cholesky factor of one ordinal's system over its value bins (1..m): counts plus ridge on the
   * diagonal, plus the penalties on first differences (smooth) and second differences (curve). The matrix has two bands beside the diagonal,
   * so does its factor: rows of (diagonal, first, second subdiagonal). Factored once per fit.
   */
  private factor(count: Float64Array, o: number, m: number, lambda: number, smooth: number, curve: number): Float64Array {
    const l = new Float64Array(3 * m);
    // The matrix's bands first, in the same layout.
    for (let b = 0; b < m; b++) l[3 * b] = count[o + 1 + b]! + lambda;
    for (let b = 0; b + 1 < m; b++) {
      l[3 * b] = l[3 * b]! + smooth;
      l[3 * (b + 1)] = l[3 * (b + 1)]! + smooth;
      l[3 * (b + 1) + 1] = l[3 * (b + 1) + 1]! - smooth;
    }
    for (let b = 0; b + 2 < m; b++) {
      // (x_b - 2 x_{b+1} + x_{b+2})^2
      l[3 * b] = l[3 * b]! + curve;
      l[3 * (b + 1)] = l[3 * (b + 1)]! + 4 * curve;
      l[3 * (b + 2)] = l[3 * (b + 2)]! + curve;
      l[3 * (b + 1) + 1] = l[3 * (b + 1) + 1]! - 2 * curve;
      l[3 * (b + 2) + 1] = l[3 * (b + 2) + 1]! - 2 * curve;
      l[3 * (b + 2) + 2] = l[3 * (b + 2) + 2]! + curve;
    }
    for (let b = 0; b < m; b++) {
      const l2 = b >= 2 ? l[3 * b + 2]! / l[3 * (b - 2)]! : 0;
      const l1 = b >= 1 ? (l[3 * b + 1]! - l2 * (b >= 2 ? l[3 * (b - 1) + 1]! : 0)) / l[3 * (b - 1)]! : 0;
      l[3 * b + 2] = l2;
      l[3 * b + 1] = l1;
      l[3 * b] = Math.sqrt(l[3 * b]! - l1 * l1 - l2 * l2);
    }
    return l;
  }

  /** Effects of one feature's bins given the sums of its partial residuals (counts from offset o). */
  private solve(sum: Float64Array, count: Float64Array, o: number, k: number, lambda: number, chol: Float64Array | null): Float64Array {
    const x = this.sol;
    if (!chol) {
      for (let b = 0; b < k; b++) x[b] = sum[b]! / (count[o + b]! + lambda);
      return x;
    }
    // Bin 0 (unknown values) stands apart from the ordered bins.
    x[0] = sum[0]! / (count[o]! + lambda);
    const m = k - 1;
    for (let b = 0; b < m; b++) {
      let v = sum[b + 1]!;
      if (b >= 1) v -= chol[3 * b + 1]! * x[b]!;
      if (b >= 2) v -= chol[3 * b + 2]! * x[b - 1]!;
      x[b + 1] = v / chol[3 * b]!;
    }
    for (let b = m - 1; b >= 0; b--) {
      let v = x[b + 1]!;
      if (b + 1 < m) v -= chol[3 * (b + 1) + 1]! * x[b + 2]!;
      if (b + 2 < m) v -= chol[3 * (b + 2) + 2]! * x[b + 3]!;
      x[b + 1] = v / chol[3 * b]!;
    }
    return x;
  }

  predict(v: ArrayLike<number>, off = 0): number {
    let s = 0;
    const e = this.effect;
    const o = this.offset;
    const w = this.width;
    const cap = this.cap;
    for (let j = 0, d = w.length; j < d; j++) {
      const r = v[off + j]!;
      const wj = w[j]!;
      s += e[o[j]! + (r < 0 ? 0 : wj === 0 ? r + 1 : 1 + Math.min(cap[j]! - 1, Math.floor(r / wj)))]!;
    }
    return s;
  }

  /** The n features whose values' effects differ most. */
  strongest(n: number): number[] {
    const d = this.width.length;
    const spread = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let b = this.offset[j]!; b < this.offset[j + 1]!; b++) {
        lo = Math.min(lo, this.effect[b]!);
        hi = Math.max(hi, this.effect[b]!);
      }
      spread[j] = hi - lo;
    }
    return Array.from({ length: d }, (_, f) => f)
      .sort((a, b) => spread[b]! - spread[a]! || a - b)
      .slice(0, n);
  }

  /** The effects of some features only: a part of the model that can be weighted apart from the rest (see PriorMix). */
  part(features: readonly number[]): Effects {
    const inSet = new Uint8Array(this.width.length);
    for (const f of features) inSet[f] = 1;
    const list = [...new Set(features)];
    return {
      predict: (v, off = 0) => {
        let s = 0;
        for (const j of list) s += this.effect[this.offset[j]! + this.bin(j, v[off + j]!)]!;
        return s;
      },
      delta: (f, a, b) => (inSet[f] === 1 ? this.delta(f, a, b) : 0),
    };
  }

  /** Change of the prediction when feature f goes from rank a to rank b. */
  delta(f: number, a: number, b: number): number {
    const o = this.offset[f]!;
    return this.effect[o + this.bin(f, b)]! - this.effect[o + this.bin(f, a)]!;
  }
}
