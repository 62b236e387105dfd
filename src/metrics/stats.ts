// Summaries of a configuration's measured iterations. The aggregate is the median (robust to the odd
// disturbed run), so its interval is one for the median: distribution-free, from order statistics
// (the binomial argument: each sample falls below the true median with probability 1/2). Such an
// interval never leaves the sample's range, so it never claims a value the metric cannot take (a
// negative latency). With too few samples for the requested confidence (fewer than 6 at 95%) the
// widest one, the sample's range, is given with the confidence it really has (75% for 3 samples),
// and `ciLevel` says so; one sample has no interval at all.

import { gammaln, mean as ssMean, median as ssMedian, quantileSorted, sampleStandardDeviation } from 'simple-statistics';

export interface Summary {
  n: number;
  median: number;
  mean: number;
  /** Sample standard deviation (n - 1 in the denominator); 0 for one sample. */
  stdev: number;
  /** stdev / |mean|; 0 when every sample is equal, Infinity when the mean is 0 but not the spread. */
  cv: number;
  min: number;
  max: number;
  /** Interval for the median; [x, x] for a single sample (no interval: see ciMethod). */
  ci: [number, number];
  /** 'order-statistic' (an interval for the median) or 'single-sample' (none: ci = [x, x]). */
  ciMethod: string;
  /** The interval's real confidence (at least the requested one when there are enough samples); 0 for one sample. */
  ciLevel: number;
  /** Samples beyond Tukey's fences (1.5 IQR past the quartiles); checked from 4 samples on. */
  outliers: number[];
  /** cv above the threshold: the measurements are too noisy to compare closely. */
  highCv: boolean;
}

export interface SummaryOptions {
  /** Confidence level of the interval, in (0, 1); default 0.95. */
  confidence?: number;
  /** cv above which highCv is set; default 0.05. */
  cvThreshold?: number;
}

/** P(B = i) for B ~ Binomial(n, 1/2), in log space so that large n does not underflow. */
function binomialHalfPmf(n: number, i: number): number {
  return Math.exp(gammaln(n + 1) - gammaln(i + 1) - gammaln(n - i + 1) + n * Math.log(0.5));
}

/** P(B <= k) for B ~ Binomial(n, 1/2). */
export function binomialHalfCdf(n: number, k: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  let sum = 0;
  for (let i = 0; i <= k; i++) sum += binomialHalfPmf(n, i);
  return Math.min(sum, 1);
}

/**
 * The 1-based rank k such that [x(k), x(n-k+1)] covers the median with probability at least
 * `confidence`, as narrow as possible; undefined when even [x(1), x(n)] falls short.
 * Coverage of that interval is 1 - 2 P(B <= k-1), B ~ Binomial(n, 1/2).
 */
export function medianRank(n: number, confidence: number): number | undefined {
  const tail = (1 - confidence) / 2;
  let k: number | undefined;
  // The tail P(B <= cand-1) only grows with cand, so the last cand whose tail fits gives the
  // narrowest interval; it is accumulated term by term to stay linear in n.
  let cdf = 0;
  for (let cand = 1; 2 * cand <= n + 1; cand++) {
    cdf += binomialHalfPmf(n, cand - 1);
    if (cdf <= tail) k = cand;
    else break;
  }
  return k;
}

/** The confidence of [x(k), x(n-k+1)] as an interval for the median: 1 - 2 P(B <= k-1), B ~ Binomial(n, 1/2). */
export function medianCoverage(n: number, k: number): number {
  return Math.max(0, 1 - 2 * binomialHalfCdf(n, k - 1));
}

/** P(|T| <= t) for Student's t with `df` (a positive integer) degrees of freedom, by the finite series for integer df. */
export function studentTCentral(t: number, df: number): number {
  const theta = Math.atan(Math.abs(t) / Math.sqrt(df));
  const c2 = Math.cos(theta) ** 2;
  const s = Math.sin(theta);
  if (df % 2 === 1) {
    // (2/pi) [theta + sin cos (1 + 2/3 cos^2 + 2*4/(3*5) cos^4 + ...)], the series up to cos^(df-3);
    // for df = 1 (Cauchy) the series is empty.
    let term = 1;
    let series = df > 1 ? 1 : 0;
    for (let j = 1; 2 * j <= df - 3; j++) {
      term *= ((2 * j) / (2 * j + 1)) * c2;
      series += term;
    }
    return (2 / Math.PI) * (theta + s * Math.cos(theta) * series);
  }
  // sin [1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ...], terms up to cos^(df-2).
  let term = 1;
  let series = 1;
  for (let j = 1; 2 * j <= df - 2; j++) {
    term *= ((2 * j - 1) / (2 * j)) * c2;
    series += term;
  }
  return s * series;
}

/** The t such that P(|T| <= t) = confidence, by bisection on the central probability. */
export function studentTQuantile(confidence: number, df: number): number {
  let lo = 0;
  let hi = 1;
  while (studentTCentral(hi, df) < confidence) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCentral(mid, df) < confidence) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function tukeyOutliers(sorted: number[]): number[] {
  const q1 = quantileSorted(sorted, 0.25);
  const q3 = quantileSorted(sorted, 0.75);
  const fence = 1.5 * (q3 - q1);
  return sorted.filter((x) => x < q1 - fence || x > q3 + fence);
}

export function summarize(samples: number[], opts: SummaryOptions = {}): Summary {
  const confidence = opts.confidence ?? 0.95;
  const cvThreshold = opts.cvThreshold ?? 0.05;
  if (samples.length === 0) throw new RangeError('summarize needs at least one sample, got none');
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be between 0 and 1, got ${confidence}`);
  if (!(cvThreshold >= 0)) throw new RangeError(`cvThreshold must be 0 or more, got ${cvThreshold}`);
  const bad = samples.find((x) => !Number.isFinite(x));
  if (bad !== undefined) throw new RangeError(`samples must be finite numbers, got ${bad}`);

  const n = samples.length;
  const sorted = [...samples].sort((a, b) => a - b);
  const median = ssMedian(sorted);
  const mean = ssMean(sorted);
  const stdev = n > 1 ? sampleStandardDeviation(sorted) : 0;
  const cv = stdev === 0 ? 0 : mean === 0 ? Infinity : stdev / Math.abs(mean);
  const min = sorted[0]!;
  const max = sorted[n - 1]!;

  let ci: [number, number];
  let ciMethod: string;
  let ciLevel: number;
  if (n === 1) {
    ci = [min, min];
    ciMethod = 'single-sample';
    ciLevel = 0;
  } else {
    // Too few samples for the requested confidence: the range, at the confidence it has.
    const k = medianRank(n, confidence) ?? 1;
    ci = [sorted[k - 1]!, sorted[n - k]!];
    ciMethod = 'order-statistic';
    ciLevel = medianCoverage(n, k);
  }

  return {
    n,
    median,
    mean,
    stdev,
    cv,
    min,
    max,
    ci,
    ciMethod,
    ciLevel,
    outliers: n >= 4 ? tukeyOutliers(sorted) : [],
    highCv: cv > cvThreshold,
  };
}

/**
 * How much better `best` is than `baseline`, as a ratio oriented so that > 1 is better:
 * best / baseline when maximizing, baseline / best when minimizing. Both must be positive.
 */
export function improvement(best: number, baseline: number, direction: 'maximize' | 'minimize'): number {
  for (const [what, v] of [
    ['best', best],
    ['baseline', baseline],
  ] as const) {
    if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`improvement needs a positive finite ${what}, got ${v}`);
  }
  return direction === 'maximize' ? best / baseline : baseline / best;
}

/** What an interval of a metric's median is, for a person: the words every output uses. */
export interface IntervalLike {
  n: number;
  ci: [number, number];
  ciMethod?: string;
  ciLevel?: number;
  mean?: number;
}

const pct = (level: number): string => `${(Math.floor(level * 1000 + 1e-6) / 10).toString()}%`;

/**
 * One interval in words, e.g. "95% CI of the median 10.00 – 17.00", "range 5.00 – 6.00 (a 75% CI
 * of the median: too few runs for 95%)", or "no interval (one run)". Rows stored before `ciLevel`
 * was kept may hold a Student-t interval of the mean: it is named as that.
 */
export function describeInterval(s: IntervalLike, fmt: (v: number) => string, confidence = 0.95): string {
  const range = `${fmt(s.ci[0])} – ${fmt(s.ci[1])}`;
  if (s.n <= 1 || s.ciMethod === 'single-sample') return 'no interval (one run: nothing to estimate the spread from)';
  if (s.ciMethod === 'student-t') return `${pct(confidence)} Student-t CI of the mean${s.mean !== undefined ? ` ${fmt(s.mean)}` : ''}: ${range}`;
  const level = s.ciLevel ?? confidence;
  if (level + 1e-9 < confidence) return `range ${range} (only a ${pct(level)} CI of the median: too few runs for ${pct(confidence)})`;
  return `${pct(confidence)} CI of the median ${range}`;
}

/** One interval in a table cell under MEDIAN_INTERVAL_HEADING: "a – b", "a – b (75%)" below the heading's level, "none (1 run)". */
export function intervalCell(s: IntervalLike, fmt: (v: number) => string, confidence = 0.95): string {
  if (s.n <= 1 || s.ciMethod === 'single-sample') return 'none (1 run)';
  const range = `${fmt(s.ci[0])} – ${fmt(s.ci[1])}`;
  if (s.ciMethod === 'student-t') return `${range} (of the mean)`;
  const level = s.ciLevel ?? confidence;
  return level + 1e-9 < confidence ? `${range} (${pct(level)})` : range;
}

/** The heading of a column of median intervals (tables, the report). */
export const MEDIAN_INTERVAL_HEADING = '95% CI of the median (order statistics; lower level in brackets)';
