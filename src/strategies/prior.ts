// Warm start: what earlier experiments over the same parameters measured, turned into training rows
// for a prior mean. The bayesian strategy fits its main effects (additive.ts, screened) once, then
// models only what its own measurements say beyond them: a prior that is right for this workload
// points the first model picks at the right values; one that is wrong is corrected as the search's
// own measurements accumulate, since the surrogate is fitted on what the prior does not explain.

import type { Config, Observation } from '../types.js';
import { measuredValue, standardize } from './measured.js';

/** The measurements of one earlier experiment. */
export interface PriorExperiment {
  /**
   * Its objective's direction: what carries over to a new experiment is which values were better,
   * not the unit (a latency minimised earlier informs a throughput maximised now).
   */
  direction: 'maximize' | 'minimize';
  observations: readonly Observation[];
}

/** One earlier experiment as training rows on the new experiment's features. */
export interface PriorRows {
  /** Its working configurations, and their values standardized on its own (lower better). */
  feats: Float64Array[];
  y: number[];
  /** Every configuration it finished (working, failed or stopped early), and whether it worked (1) or not (0). */
  tried: Float64Array[];
  works: number[];
}

/**
 * Each earlier experiment's measurements as rows: working ones with a value standardized on its own
 * (units and levels of different experiments need not agree), and every finished one with whether
 * it worked. Whether a configuration works is mostly the operating system's business, not the
 * workload's: on the recorded Linux pools one sysctl (ICMP_RATELIMIT, a value that wraps to a
 * negative 32-bit integer never fails) separates the failures the same way for Redis, SQLite and
 * HPC. An early stop worked (it was only slow) but has no value. An experiment with fewer than two
 * working measurements says nothing of values; one with no failure, or nothing else, says nothing
 * of failures.
 */
export function priorRows(sources: readonly PriorExperiment[], features: (c: Config) => Float64Array): PriorRows[] {
  const out: PriorRows[] = [];
  for (const s of sources) {
    const rows: { feat: Float64Array; v: number }[] = [];
    const tried: Float64Array[] = [];
    const works: number[] = [];
    for (const o of s.observations) {
      const feat = features(o.config);
      const v = o.failure === 'stopped' ? undefined : measuredValue(o);
      if (v !== undefined) rows.push({ feat, v });
      tried.push(feat);
      works.push(o.status === 'ok' || o.failure === 'stopped' ? 1 : 0);
    }
    const z = rows.length >= 2 ? standardize(rows.map((r) => r.v), s.direction) : [];
    out.push({ feats: z.length > 0 ? rows.map((r) => r.feat) : [], y: z, tried, works });
  }
  return out;
}

/** What a prior model needs to be: a prediction per point and its change for one feature's move. */
export interface Effects {
  predict(v: ArrayLike<number>, off?: number): number;
  delta(f: number, a: number, b: number): number;
}

/**
 * Shrinkage of a source's weight while the new experiment has few measurements: with n of them,
 * the least-squares weight is scaled by n / (n + SHRINK), so a source must agree over many points
 * before it counts fully.
 */
const SHRINK = 10;

/**
 * The earlier experiments' effects, each weighted by how well it predicts the new experiment's own
 * measurements so far: non-negative least squares of the standardized values on the sources'
 * predictions, shrunk towards zero while there are few (ranking-weighted transfer in the manner of
 * Feurer et al.'s RGPE, on a linear scale). On the recorded Linux pools, Redis's and HPC's effects
 * predict each other (correlation 0.38 and 0.48 over the other's rows) and SQLite's predict neither
 * (0.03, -0.06): weighting every source alike made the warm-started search worse than random search
 * on HPC; an irrelevant source's weight goes to zero with the first measurements that disagree.
 */
export class PriorMix implements Effects {
  private constructor(
    private readonly models: readonly Effects[],
    readonly weights: Float64Array,
  ) {}

  /** Weights fitted on (feats, z): z on the scale the models were fitted on (standardized values, lower better; or whether each worked). Null when every weight is zero. */
  static fit(models: readonly Effects[], feats: readonly Float64Array[], z: readonly number[]): PriorMix | null {
    const n = z.length;
    const k = models.length;
    if (n < 2 || k === 0) return null;
    const p = models.map((m) => feats.map((f) => m.predict(f, 0)));
    const zm = z.reduce((a, b) => a + b, 0) / n;
    // Centred columns: a source's level says nothing, only its ranking of configurations.
    const cols = p.map((c) => {
      const m = c.reduce((a, b) => a + b, 0) / n;
      return c.map((v) => v - m);
    });
    const y = z.map((v) => v - zm);
    const w = new Float64Array(k);
    const r = [...y];
    const norm = cols.map((c) => c.reduce((a, b) => a + b * b, 0));
    // Projected coordinate descent: a handful of sources, a few sweeps settle it.
    for (let sweep = 0; sweep < 20; sweep++) {
      for (let s = 0; s < k; s++) {
        if (!(norm[s]! > 1e-12)) continue;
        const c = cols[s]!;
        let dot = 0;
        for (let i = 0; i < n; i++) dot += c[i]! * (r[i]! + w[s]! * c[i]!);
        const next = Math.max(0, dot / norm[s]!);
        const step = next - w[s]!;
        if (step !== 0) for (let i = 0; i < n; i++) r[i] = r[i]! - step * c[i]!;
        w[s] = next;
      }
    }
    const shrink = n / (n + SHRINK);
    for (let s = 0; s < k; s++) w[s] = w[s]! * shrink;
    return w.some((v) => v > 0) ? new PriorMix(models, w) : null;
  }

  predict(v: ArrayLike<number>, off = 0): number {
    let s = 0;
    for (let i = 0; i < this.models.length; i++) if (this.weights[i]! > 0) s += this.weights[i]! * this.models[i]!.predict(v, off);
    return s;
  }

  delta(f: number, a: number, b: number): number {
    let s = 0;
    for (let i = 0; i < this.models.length; i++) if (this.weights[i]! > 0) s += this.weights[i]! * this.models[i]!.delta(f, a, b);
    return s;
  }
}
