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

/** A control: the best BATCH is 8 whatever FLOWS is; nothing should follow the workload. */
export function flatCsv(seed = 1): string {
  const rng = new Rng(seed);
  const lines = ['BATCH,X,Y,FLOWS,throughput'];
  for (const f of POWERS) {
    for (const b of POWERS) {
      for (const x of ['a', 'b']) {
        for (const y of [0, 1]) lines.push(`${b},${x},${y},${f},${(syntheticObjective(b, 8) * (1 + NOISE * (2 * rng.next() - 1))).toFixed(4)}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Two workload dimensions: the best BATCH follows FLOWS and the best RETRIES follows LOSS (the
 * lowest power of two at least LOSS / 10); MODE does not matter. Latency, lower is better.
 */
export function twoDimCsv(seed = 2): string {
  const rng = new Rng(seed);
  const lines = ['BATCH,RETRIES,MODE,FLOWS,LOSS,latency_us'];
  for (const f of [1, 4, 16, 64]) {
    for (const loss of [0, 5, 10, 20, 40]) {
      for (const b of POWERS) {
        for (const r of [0, 1, 2, 4]) {
          for (const mode of ['x', 'y']) {
            const want = POWERS.find((p) => p >= loss / 10) ?? 4;
            const lat = (10 / syntheticObjective(b, f)) * (1 + 0.05 * Math.abs(Math.log2(r + 1) - Math.log2(want + 1))) * (1 + NOISE * (2 * rng.next() - 1));
            lines.push(`${b},${r},${mode},${f},${loss},${(1000 * lat).toFixed(3)}`);
          }
        }
      }
    }
  }
  return `${lines.join('\n')}\n`;
}
