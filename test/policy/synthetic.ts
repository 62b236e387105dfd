// A synthetic landscape for learning policies: the best BATCH equals FLOWS (the workload), the
// objective falls off smoothly with the distance in powers of two, and the knobs X and Y change
// nothing beyond a small seeded noise.

import { Rng } from '../../src/util/random.js';

export const POWERS = [1, 2, 4, 8, 16, 32, 64];
/** Objective lost per squared power-of-two step away from the best BATCH. */
export const FALLOFF = 0.02;
export const NOISE = 0.002;

export function syntheticObjective(batch: number, flows: number): number {
  return 1000 / (1 + FALLOFF * (Math.log2(batch) - Math.log2(flows)) ** 2);
}

/** The table as CSV: BATCH, X, Y, FLOWS, throughput. */
export function syntheticCsv(seed = 1, flows = POWERS): string {
  const rng = new Rng(seed);
  const lines = ['BATCH,X,Y,FLOWS,throughput'];
  for (const f of flows) {
    for (const b of POWERS) {
      for (const x of ['a', 'b']) {
        for (const y of [0, 1]) {
          const v = syntheticObjective(b, f) * (1 + NOISE * (2 * rng.next() - 1));
          lines.push(`${b},${x},${y},${f},${v.toFixed(4)}`);
        }
      }
    }
  }
  return `${lines.join('\n')}\n`;
}
