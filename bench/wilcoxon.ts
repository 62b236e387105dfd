// Wilcoxon's signed-rank test for paired samples (the benchmark pairs two strategies by seed): exact
// null distribution when there are no ties and at most 25 non-zero differences, else the normal
// approximation with the variance corrected for ties and a continuity correction.

export interface SignedRank {
  /** Non-zero differences (zeros are dropped, Wilcoxon's original rule). */
  n: number;
  /** Sum of the ranks of the positive differences. */
  wPlus: number;
  /** Two-sided p-value; 1 when every difference is zero. */
  p: number;
}

export function signedRank(a: readonly number[], b: readonly number[]): SignedRank {
  if (a.length !== b.length) throw new RangeError(`paired samples differ in length (${a.length} and ${b.length})`);
  const d = a.map((x, i) => x - b[i]!).filter((x) => Math.abs(x) > 1e-12);
  const n = d.length;
  if (n === 0) return { n: 0, wPlus: 0, p: 1 };
  const order = d.map((_, i) => i).sort((i, j) => Math.abs(d[i]!) - Math.abs(d[j]!));
  const rank = new Float64Array(n);
  let ties = 0;
  let tieTerm = 0;
  for (let s = 0; s < n; ) {
    let e = s;
    while (e + 1 < n && Math.abs(Math.abs(d[order[e + 1]!]!) - Math.abs(d[order[s]!]!)) <= 1e-12) e++;
    const t = e - s + 1;
    if (t > 1) {
      ties++;
      tieTerm += t * t * t - t;
    }
    for (let k = s; k <= e; k++) rank[order[k]!] = (s + e) / 2 + 1;
    s = e + 1;
  }
  let wPlus = 0;
  for (let i = 0; i < n; i++) if (d[i]! > 0) wPlus += rank[i]!;
  const total = (n * (n + 1)) / 2;
  if (ties === 0 && n <= 25) {
    // Number of subsets of {1..n} by rank sum.
    const counts = new Float64Array(total + 1);
    counts[0] = 1;
    for (let r = 1; r <= n; r++) for (let s = total; s >= r; s--) counts[s] = counts[s]! + counts[s - r]!;
    const all = 2 ** n;
    const lo = Math.min(wPlus, total - wPlus);
    let tail = 0;
    for (let s = 0; s <= lo; s++) tail += counts[s]!;
    return { n, wPlus, p: Math.min(1, (2 * tail) / all) };
  }
  const mean = total / 2;
  const variance = (n * (n + 1) * (2 * n + 1)) / 24 - tieTerm / 48;
  if (variance <= 0) return { n, wPlus, p: 1 };
  const z = Math.max(0, Math.abs(wPlus - mean) - 0.5) / Math.sqrt(variance);
  return { n, wPlus, p: Math.min(1, 2 * (1 - phi(z))) };
}

/** Standard normal CDF (Abramowitz and Stegun 7.1.26 on erf, absolute error below 1.5e-7). */
function phi(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}
