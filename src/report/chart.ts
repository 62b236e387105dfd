// Scales, ticks and the frame of a chart, shared by the report's figures; each figure is a plain,
// standalone SVG string (no script, no external reference) so it can be saved, inlined or rendered.

import { fmtNum } from '../util/format.js';
import { esc } from '../strategies/svg.js';

export { esc };

export interface Scale {
  (v: number): number;
  ticks: number[];
  log: boolean;
}

/** Whether values span enough orders of magnitude to be drawn on a log scale. */
export function wantsLog(values: number[], ratio = 100): boolean {
  const pos = values.filter((v) => Number.isFinite(v));
  if (pos.length < 2 || pos.some((v) => v <= 0)) return false;
  return Math.max(...pos) / Math.min(...pos) >= ratio;
}

/** Round tick steps (1, 2, 5 times a power of ten) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

/** A linear or log scale from a data range onto pixels [p0, p1], padded to round ticks. */
export function scale(values: number[], p0: number, p1: number, opts: { log?: boolean; zero?: boolean } = {}): Scale {
  const finite = values.filter((v) => Number.isFinite(v));
  if (opts.log) {
    const lo = Math.floor(Math.log10(Math.min(...finite)));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...finite))));
    const f = ((v: number) => p0 + ((Math.log10(v) - lo) / (hi - lo)) * (p1 - p0)) as Scale;
    const ticks: number[] = [];
    for (let e = lo; e <= hi; e++) {
      ticks.push(10 ** e);
      if (hi - lo <= 2 && e < hi) ticks.push(2 * 10 ** e, 5 * 10 ** e);
    }
    f.ticks = ticks.sort((a, b) => a - b);
    f.log = true;
    return f;
  }
  let lo = finite.length ? Math.min(...finite) : 0;
  let hi = finite.length ? Math.max(...finite) : 1;
  if (opts.zero) lo = Math.min(0, lo);
  if (hi === lo) {
    const pad = Math.abs(hi) * 0.1 || 1;
    lo -= pad;
    hi += pad;
  }
  const ticks = niceTicks(lo, hi);
  const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : Math.abs(hi - lo) || 1;
  if (ticks[0]! > lo) ticks.unshift(ticks[0]! - step);
  if (ticks[ticks.length - 1]! < hi) ticks.push(ticks[ticks.length - 1]! + step);
  const tlo = ticks[0]!;
  const thi = ticks[ticks.length - 1]!;
  const f = ((v: number) => p0 + ((v - tlo) / (thi - tlo || 1)) * (p1 - p0)) as Scale;
  f.ticks = ticks;
  f.log = false;
  return f;
}

export function fmtTick(v: number): string {
  if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3)) return v.toExponential(0).replace('e+', 'e');
  return fmtNum(v);
}

export function open(width: number, height: number, title?: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...(title ? [`<text x="12" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`] : []),
  ];
}

/** Horizontal grid lines and labels of a value axis on the left of [x0, x1]. */
export function yAxis(out: string[], y: Scale, x0: number, x1: number, label?: string, top?: number, bottom?: number): void {
  for (const t of y.ticks) {
    const py = y(t).toFixed(1);
    out.push(`<line x1="${x0}" x2="${x1}" y1="${py}" y2="${py}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${x0 - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${esc(fmtTick(t))}</text>`);
  }
  out.push(`<line x1="${x0}" x2="${x0}" y1="${top ?? y(y.ticks[y.ticks.length - 1]!)}" y2="${bottom ?? y(y.ticks[0]!)}" stroke="black"/>`);
  if (label) {
    const mid = ((top ?? y(y.ticks[y.ticks.length - 1]!)) + (bottom ?? y(y.ticks[0]!))) / 2;
    out.push(`<text transform="translate(14 ${mid.toFixed(1)}) rotate(-90)" text-anchor="middle">${esc(label)}</text>`);
  }
}
