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

/** Round tick steps (1, 2, 5 times a power of ten, at least minStep) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5, minStep = 0): number[] {
  if (!(hi > lo)) return [lo];
  const raw = Math.max((hi - lo) / count, minStep);
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw * (1 - 1e-9)) ?? 10 * p;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

/** A linear or log scale from a data range onto pixels [p0, p1], padded to round ticks. */
export function scale(values: number[], p0: number, p1: number, opts: { log?: boolean; zero?: boolean; integer?: boolean } = {}): Scale {
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
  const ticks = niceTicks(lo, hi, 5, opts.integer ? 1 : 0);
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

export function fmtTick(v: number, step?: number): string {
  if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3)) return v.toExponential(0).replace('e+', 'e');
  // Below 1000, every tick of an axis with as many decimals as its step needs (0.4, 0.6, not 0.400).
  if (step !== undefined && step > 0 && Math.abs(v) < 1000) return v.toFixed(Math.max(0, Math.ceil(-Math.log10(step) - 1e-9)));
  // Log-axis ticks (1, 2, 5 times a power of ten) without trailing zeros.
  if (Math.abs(v) < 1000) return String(Number(v.toPrecision(4)));
  return fmtNum(v);
}

export function open(width: number, height: number, title?: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...(title ? [`<text x="12" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`] : []),
  ];
}

/** Whole numbers from 1 to n at round steps, 1 and n included: ranks and evaluation counts. */
export function countTicks(n: number, count = 8): number[] {
  if (n <= 1) return [1];
  const inner = niceTicks(0, n, count, 1).filter((t) => t > 1 && t < n);
  // A tick too close to n (under half a step) would print over it.
  const step = inner.length > 1 ? inner[1]! - inner[0]! : n;
  return [1, ...inner.filter((t) => n - t >= step / 2), n];
}

/** Horizontal grid lines, tick marks and labels of a value axis on the left of [x0, x1]. */
export function yAxis(out: string[], y: Scale, x0: number, x1: number, label?: string, top?: number, bottom?: number): void {
  out.push('<g class="axis y">');
  const step = !y.log && y.ticks.length > 1 ? y.ticks[1]! - y.ticks[0]! : undefined;
  for (const t of y.ticks) {
    const py = y(t).toFixed(1);
    out.push(`<line x1="${x0}" x2="${x1}" y1="${py}" y2="${py}" stroke="#e4e4e4"/>`);
    out.push(`<line class="tick" x1="${x0 - 4}" x2="${x0}" y1="${py}" y2="${py}" stroke="black"/>`);
    out.push(`<text x="${x0 - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${esc(fmtTick(t, step))}</text>`);
  }
  out.push(`<line x1="${x0}" x2="${x0}" y1="${top ?? y(y.ticks[y.ticks.length - 1]!)}" y2="${bottom ?? y(y.ticks[0]!)}" stroke="black"/>`);
  if (label) {
    const mid = ((top ?? y(y.ticks[y.ticks.length - 1]!)) + (bottom ?? y(y.ticks[0]!))) / 2;
    out.push(`<text class="axis-title" transform="translate(14 ${mid.toFixed(1)}) rotate(-90)" text-anchor="middle">${esc(label)}</text>`);
  }
  out.push('</g>');
}

/** A horizontal axis at y0 from x0 to x1: the line, a tick mark and a label at each (position, text). */
export function xAxis(out: string[], ticks: { at: number; text: string }[], x0: number, x1: number, y0: number, label?: string): void {
  out.push('<g class="axis x">');
  out.push(`<line x1="${x0}" x2="${x1}" y1="${y0}" y2="${y0}" stroke="black"/>`);
  for (const t of ticks) {
    const px = t.at.toFixed(1);
    out.push(`<line class="tick" x1="${px}" x2="${px}" y1="${y0}" y2="${y0 + 4}" stroke="black"/>`);
    out.push(`<text x="${px}" y="${y0 + 16}" text-anchor="middle">${esc(t.text)}</text>`);
  }
  if (label) out.push(`<text class="axis-title" x="${((x0 + x1) / 2).toFixed(1)}" y="${y0 + 34}" text-anchor="middle">${esc(label)}</text>`);
  out.push('</g>');
}

/** Text cut to at most max characters, with an ellipsis when cut. */
export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(1, max - 1))}…`;
}

/** Words folded into lines of at most max characters (a longer word is a line of its own, clipped). */
export function wrap(s: string, max: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const w of s.split(/\s+/).filter(Boolean)) {
    if (cur && cur.length + 1 + w.length > max) {
      lines.push(cur);
      cur = '';
    }
    cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines.map((l) => clip(l, max));
}

/** Width in pixels that a 12px sans-serif label of this many characters takes at most (capitals and underscores included). */
export function textWidth(chars: number, fontSize = 12): number {
  return Math.ceil(chars * fontSize * 0.72);
}
