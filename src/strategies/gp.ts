// A Gaussian process for few observations over small spaces: product kernel exp(-sum_j theta_j d_j)
// with d_j the mismatch (categorical) or scaled rank distance (ordinal) in parameter j, one
// length-scale per parameter (ARD) chosen by marginal likelihood, so that the few parameters that
// matter get short length-scales and the rest are smoothed over. Cost O(n^3) per fit: used only while
// n is small (see bayesian.ts).

export interface GpDims {
  categorical: boolean[];
  /** Rank range of each ordinal dimension (distances are divided by it). */
  range: number[];
}

const THETA_MIN = 1e-3;
const THETA_MAX = 30;

export class GaussianProcess {
  private readonly n: number;
  private readonly d: number;
  private theta: Float64Array;
  private noise = 1e-4;
  private chol: Float64Array = new Float64Array(0);
  private alpha: Float64Array = new Float64Array(0);
  private signal = 1;

  constructor(
    private readonly x: Float64Array[],
    private readonly y: Float64Array,
    private readonly dims: GpDims,
    theta?: Float64Array,
    noise?: number,
  ) {
    this.n = x.length;
    this.d = dims.categorical.length;
    const dist = this.distances();
    if (theta) {
      this.theta = Float64Array.from(theta);
      this.noise = noise ?? this.noise;
    } else {
      this.theta = new Float64Array(this.d);
      this.selectHyper(dist);
    }
    if (!Number.isFinite(this.logml(dist, this.theta, this.noise, true))) throw new Error('GP fit failed');
  }

  get hyper(): { theta: Float64Array; noise: number } {
    return { theta: this.theta, noise: this.noise };
  }

  private dist1(j: number, a: number, b: number): number {
    if (this.dims.categorical[j]) return a === b ? 0 : 1;
    return Math.abs(a - b) / Math.max(1, this.dims.range[j]!);
  }

  /** Per-dimension distance matrices, upper triangles packed per dimension. */
  private distances(): Float64Array[] {
    const n = this.n;
    return Array.from({ length: this.d }, (_, j) => {
      const m = new Float64Array(n * n);
      for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) m[a * n + b] = this.dist1(j, this.x[a]![j]!, this.x[b]![j]!);
      return m;
    });
  }

  /** Shared scale on a grid first, then per-dimension moves while the likelihood improves. */
  private selectHyper(dist: Float64Array[]): void {
    let best = -Infinity;
    for (const t of [0.1, 0.3, 1, 3]) {
      for (const noise of [1e-4, 1e-2, 0.1]) {
        const theta = new Float64Array(this.d).fill(t);
        const l = this.logml(dist, theta, noise, false);
        if (l > best) {
          best = l;
          this.theta = theta;
          this.noise = noise;
        }
      }
    }
    for (let sweep = 0; sweep < 2; sweep++) {
      for (let j = 0; j < this.d; j++) {
        for (const f of [4, 0.25]) {
          const old = this.theta[j]!;
          const next = Math.min(THETA_MAX, Math.max(THETA_MIN, old * f));
          if (next === old) continue;
          this.theta[j] = next;
          const l = this.logml(dist, this.theta, this.noise, false);
          if (l > best + 1e-9) best = l;
          else this.theta[j] = old;
        }
      }
    }
  }

  /** Profiled log marginal likelihood (signal variance at its maximum); keep = store the factorisation. */
  private logml(dist: Float64Array[], theta: Float64Array, noise: number, keep: boolean): number {
    const n = this.n;
    const K = new Float64Array(n * n);
    for (let a = 0; a < n; a++) {
      K[a * n + a] = 1 + noise;
      for (let b = a + 1; b < n; b++) {
        let s = 0;
        for (let j = 0; j < this.d; j++) s += theta[j]! * dist[j]![a * n + b]!;
        const k = Math.exp(-s);
        K[a * n + b] = k;
        K[b * n + a] = k;
      }
    }
    const L = cholesky(K, n);
    if (!L) return -Infinity;
    const alpha = solveChol(L, n, this.y);
    let yAy = 0;
    for (let i = 0; i < n; i++) yAy += this.y[i]! * alpha[i]!;
    const signal = Math.max(yAy / n, 1e-12);
    let logDet = 0;
    for (let i = 0; i < n; i++) logDet += Math.log(L[i * n + i]!);
    if (keep) {
      this.chol = L;
      this.alpha = alpha;
      this.signal = signal;
    }
    return -0.5 * n * Math.log(signal) - logDet;
  }

  predict(v: ArrayLike<number>, off = 0): { mean: number; variance: number } {
    const n = this.n;
    const k = new Float64Array(n);
    let mean = 0;
    for (let i = 0; i < n; i++) {
      const xi = this.x[i]!;
      let s = 0;
      for (let j = 0; j < this.d; j++) s += this.theta[j]! * this.dist1(j, v[off + j]!, xi[j]!);
      k[i] = Math.exp(-s);
      mean += k[i]! * this.alpha[i]!;
    }
    // v = L^-1 k; variance = signal * (1 - |v|^2)
    const L = this.chol;
    let vv = 0;
    for (let i = 0; i < n; i++) {
      let s = k[i]!;
      for (let j = 0; j < i; j++) s -= L[i * n + j]! * k[j]!;
      k[i] = s / L[i * n + i]!;
      vv += k[i]! * k[i]!;
    }
    return { mean, variance: Math.max(0, this.signal * (1 - vv)) };
  }
}

/** Lower-triangular L with L·Lᵀ = A (row-major n×n), or null when A is not positive definite. */
export function cholesky(A: Float64Array, n: number): Float64Array | null {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j]!;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      if (i === j) {
        if (s <= 0) return null;
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j]!;
    }
  }
  return L;
}

function solveChol(L: Float64Array, n: number, b: Float64Array): Float64Array {
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
