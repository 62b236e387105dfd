// What a search fits: the value a measurement stands for, on the scale the model works on.

import type { Observation } from '../types.js';

/** The value a measurement stands for: the median of its samples, else its aggregate; undefined = failed. */
export function measuredValue(o: Observation): number | undefined {
  if (o.status !== 'ok') return undefined;
  const s = (o.samples ?? []).filter((x) => Number.isFinite(x));
  if (s.length > 0) {
    const sorted = [...s].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  }
  return o.value !== undefined && Number.isFinite(o.value) ? o.value : undefined;
}

/**
 * Values on the scale the search models them: lower is better, on a log scale when every value is
 * positive and they span more than `logSpan` (or always, with logSpan 0), centred and divided by
 * their standard deviation.
 */
export function standardize(raw: readonly number[], direction: 'maximize' | 'minimize', logSpan = 100): number[] {
  const positive = raw.every((v) => v > 0);
  const logScale = positive && (logSpan === 0 || Math.max(...raw) / Math.min(...raw) > logSpan);
  const sign = direction === 'maximize' ? -1 : 1;
  const ys = raw.map((v) => sign * (logScale ? Math.log(v) : v));
  const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
  const sd = Math.sqrt(ys.reduce((a, b) => a + (b - mean) ** 2, 0) / ys.length) || 1;
  return ys.map((v) => (v - mean) / sd);
}
