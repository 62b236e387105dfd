// Regret: how far below a workload point's best a configuration is, as a share of that best
// (0 = the best measured there). Every choice a policy makes is judged by it.

import type { WorkloadData } from './data.js';

/**
 * What a configuration never measured at a point costs when choosing among configurations: as much
 * as a failure there, so that a choice rests on measurements.
 */
export const UNMEASURED = 1;

export interface RegretMatrix {
  /** r[c][p]: regret of configuration c at point p; undefined when that pair was not measured. */
  r: (number | undefined)[][];
  /** Best measured value at each point (undefined when every configuration failed there). */
  best: (number | undefined)[];
  /** Index of the best configuration at each point (-1 when none succeeded). */
  bestConfig: number[];
}

export function regretMatrix(d: WorkloadData): RegretMatrix {
  const P = d.points.length;
  const best: (number | undefined)[] = new Array<number | undefined>(P).fill(undefined);
  const bestConfig = new Array<number>(P).fill(-1);
  d.value.forEach((row, c) =>
    row.forEach((v, p) => {
      if (typeof v !== 'number') return;
      const b = best[p];
      if (b === undefined || (d.minimize ? v < b : v > b)) {
        best[p] = v;
        bestConfig[p] = c;
      }
    }),
  );
  const rel = (v: number, b: number): number => {
    const gap = d.minimize ? v - b : b - v;
    // A best of zero has no scale: the gap itself, in the objective's units.
    return b === 0 ? gap : gap / Math.abs(b);
  };
  // A failure costs at least a total loss, and never less than the worst success at that point.
  const worst = best.map((b, p) => {
    if (b === undefined) return 1;
    let w = 1;
    for (const row of d.value) {
      const v = row[p];
      if (typeof v === 'number') w = Math.max(w, rel(v, b));
    }
    return w;
  });
  const r = d.value.map((row) =>
    row.map((v, p) => {
      if (v === undefined) return undefined;
      const b = best[p];
      if (v === null || b === undefined) return worst[p]!;
      return rel(v, b);
    }),
  );
  return { r, best, bestConfig };
}

/** Total regret of configuration c over the points (unmeasured pairs at UNMEASURED each). */
export function cost(m: RegretMatrix, c: number, points: readonly number[]): number {
  const row = m.r[c]!;
  let s = 0;
  for (const p of points) s += row[p] ?? UNMEASURED;
  return s;
}

/** The configuration (of the candidates, default all) with the least total regret over the points (the first on ties). */
export function bestOver(m: RegretMatrix, points: readonly number[], candidates?: readonly number[]): { config: number; cost: number } {
  let config = candidates?.[0] ?? 0;
  let least = Infinity;
  for (let k = 0; k < (candidates ?? m.r).length; k++) {
    const c = candidates ? candidates[k]! : k;
    const s = cost(m, c, points);
    if (s < least - 1e-12) {
      least = s;
      config = c;
    }
  }
  return { config, cost: least };
}
