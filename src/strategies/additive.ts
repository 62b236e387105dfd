// Main effects per parameter value (an additive model): ridge regression on each parameter's values
// taken as categories, fitted by backfitting (one exact block update per parameter and sweep).
// Where many parameters and few measurements meet and effects mostly add up, trees need many points
// before their splits find the few parameters that matter, while per-value means already point the
// right way after a dozen (as a tree-Parzen estimator's do).

/** Ordinal parameters with more values than this share bins of neighbouring values. */
const MAX_BINS = 16;

export class AdditiveModel {
  /** Per feature: effect of each bin (bin 0 holds unknown/inactive values). */
  readonly effect: Float64Array[];
  private readonly binOf: ((rank: number) => number)[];

  /**
   * feats: row vectors of ranks (-1 unknown); sizes: values per feature; y: centred targets;
   * lambda: ridge penalty per coefficient (in units of one observation).
   */
  constructor(
    feats: readonly Float64Array[],
    y: ArrayLike<number>,
    sizes: readonly number[],
    ordinal: readonly boolean[],
    lambda: number,
    smooth: number,
    sweeps = 4,
  ) {
    const d = sizes.length;
    const n = feats.length;
    this.binOf = sizes.map((s) => {
      if (s <= MAX_BINS) return (r: number) => (r < 0 ? 0 : r + 1);
      const w = s / MAX_BINS;
      return (r: number) => (r < 0 ? 0 : 1 + Math.min(MAX_BINS - 1, Math.floor(r / w)));
    });
    this.effect = sizes.map((s) => new Float64Array(Math.min(s, MAX_BINS) + 1));
    const bins = new Int32Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) bins[j * n + i] = this.binOf[j]!(feats[i]![j]!);
    const r = Float64Array.from(y);
    const sum = new Float64Array(MAX_BINS + 1);
    const count = new Float64Array(MAX_BINS + 1);
    for (let sweep = 0; sweep < sweeps; sweep++) {
      for (let j = 0; j < d; j++) {
        const e = this.effect[j]!;
        const col = j * n;
        sum.fill(0);
        count.fill(0);
        for (let i = 0; i < n; i++) {
          const b = bins[col + i]!;
          sum[b] = sum[b]! + r[i]! + e[b]!;
          count[b] = count[b]! + 1;
        }
        const next = this.solve(sum, count, e.length, lambda, ordinal[j] ? smooth : 0);
        for (let b = 0; b < e.length; b++) {
          // Residuals of the points in bin b move by the change of its effect.
          sum[b] = next[b]! - e[b]!;
          e[b] = next[b]!;
        }
        for (let i = 0; i < n; i++) r[i] = r[i]! - sum[bins[col + i]!]!;
      }
    }
  }

  private readonly diag = new Float64Array(MAX_BINS + 1);
  private readonly sol = new Float64Array(MAX_BINS + 1);

  /**
   * Effects of one parameter's bins given the sums and counts of its partial residuals: ridge
   * (lambda) plus, for ordinals, a penalty on differences between neighbouring values (smooth), a
   * tridiagonal system solved by elimination. Bin 0 (unknown) stands apart.
   */
  private solve(sum: Float64Array, count: Float64Array, k: number, lambda: number, smooth: number): Float64Array {
    const x = this.sol;
    x[0] = sum[0]! / (count[0]! + lambda);
    const m = k - 1;
    if (m <= 0) return x;
    const c = this.diag;
    // Forward sweep over bins 1..m: a_b x_{b-1} + d_b x_b + a_b x_{b+1} = sum_b with a = -smooth.
    let prevC = 0;
    let prevX = 0;
    for (let b = 1; b <= m; b++) {
      const links = (b > 1 ? 1 : 0) + (b < m ? 1 : 0);
      const d = count[b]! + lambda + smooth * links - (b > 1 ? smooth * prevC : 0);
      c[b] = b < m ? smooth / d : 0;
      x[b] = (sum[b]! + (b > 1 ? smooth * prevX : 0)) / d;
      prevC = c[b]!;
      prevX = x[b]!;
    }
    for (let b = m - 1; b >= 1; b--) x[b] = x[b]! + c[b]! * x[b + 1]!;
    return x;
  }

  predict(v: ArrayLike<number>, off = 0): number {
    let s = 0;
    for (let j = 0; j < this.effect.length; j++) s += this.effect[j]![this.binOf[j]!(v[off + j]!)]!;
    return s;
  }

  /** The n features whose values' effects differ most. */
  strongest(n: number): number[] {
    const spread = this.effect.map((e) => Math.max(...e) - Math.min(...e));
    return spread
      .map((_, f) => f)
      .sort((a, b) => spread[b]! - spread[a]! || a - b)
      .slice(0, n);
  }

  /** Change of the prediction when feature f goes from rank a to rank b. */
  delta(f: number, a: number, b: number): number {
    const e = this.effect[f]!;
    const bin = this.binOf[f]!;
    return e[bin(b)]! - e[bin(a)]!;
  }
}
