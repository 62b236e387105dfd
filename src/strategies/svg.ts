// A plain SVG chart of best-so-far against evaluations: one staircase per strategy, the mean over
// seeds of the ratio to the best value (1 = optimal), so tables of any unit read the same. The
// staircase itself is shared with the report's best-so-far figure (report/figures.ts).

import { ratioTo } from './ratio.js';

export interface SvgSeries {
  label: string;
  /** One best-so-far trace per seed. */
  bestSoFar: number[][];
}

export interface SvgOptions {
  optimum: number;
  direction: 'maximize' | 'minimize';
  title?: string;
  /** Defaults to the replay's wording (ratio to the best value in the table). */
  yLabel?: string;
  width?: number;
  height?: number;
}

export const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * A best-so-far trace as a staircase: the best only changes when an evaluation finds a better
 * value and holds until then, so it moves only horizontally and vertically (a sloping line would
 * claim values in between that were never found). `values[i]` is the value after evaluation i + 1
 * (null before the first); `x` places evaluation k (1-based), `y` a value. Returns the path's `d`
 * and the evaluations where the value changed (the first included), for a dot each; undefined
 * when the trace has no value.
 */
export function staircase(values: readonly (number | null)[], x: (k: number) => number, y: (v: number) => number): { d: string; marks: [number, number][] } | undefined {
  const first = values.findIndex((v) => v !== null);
  if (first < 0) return undefined;
  let cur = values[first]!;
  const d = [`M${x(first + 1).toFixed(1)} ${y(cur).toFixed(1)}`];
  const marks: [number, number][] = [[first + 1, cur]];
  for (let i = first + 1; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || v === cur) continue;
    d.push(`H${x(i + 1).toFixed(1)}`, `V${y(v).toFixed(1)}`);
    marks.push([i + 1, v]);
    cur = v;
  }
  d.push(`H${x(values.length).toFixed(1)}`);
  return { d: d.join(' '), marks };
}

export function bestSoFarSvg(series: SvgSeries[], opts: SvgOptions): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 400;
  const m = { l: 56, r: 120, t: 32, b: 44 };
  const curves = series.map((s) => {
    const len = Math.max(0, ...s.bestSoFar.map((t) => t.length));
    return Array.from({ length: len }, (_, i) => {
      // A run that stopped early (small table) keeps its last value.
      const r = s.bestSoFar.map((t) => ratioTo(opts.optimum, t[Math.min(i, t.length - 1)] ?? NaN, opts.direction));
      return r.reduce((a, b) => a + b, 0) / Math.max(1, r.length);
    });
  });
  const n = Math.max(1, ...curves.map((c) => c.length));
  const lo = Math.max(0, Math.min(1, ...curves.flat()));
  const yMin = Math.floor(lo * 10) / 10;
  // Evaluation k (1-based) sits at x(k).
  const x = (k: number): number => m.l + ((W - m.l - m.r) * k) / n;
  const y = (v: number): number => m.t + (H - m.t - m.b) * (1 - (v - yMin) / Math.max(1e-9, 1 - yMin));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  if (opts.title) out.push(`<text x="${m.l}" y="20" font-size="14">${esc(opts.title)}</text>`);
  for (let k = 0; k <= 5; k++) {
    const v = yMin + ((1 - yMin) * k) / 5;
    out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${m.l - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v.toFixed(2)}</text>`);
  }
  const ticks = Math.min(n, 10);
  for (let k = 1; k <= ticks; k++) {
    const e = Math.round((n * k) / ticks);
    out.push(`<text x="${x(e).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle">${e}</text>`);
  }
  out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="black"/>`);
  out.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="black"/>`);
  out.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 8}" text-anchor="middle">evaluations</text>`);
  out.push(`<text transform="translate(14 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel ?? 'best so far / best in table')}</text>`);
  curves.forEach((c, s) => {
    const colour = COLOURS[s % COLOURS.length]!;
    // The mean of step functions over seeds changes only at evaluations too: steps as well.
    const steps = staircase(c.map((v) => Math.max(yMin, v)), x, y);
    if (steps) {
      out.push(`<path class="best-so-far" d="${steps.d}" fill="none" stroke="${colour}" stroke-width="2"/>`);
      for (const [e, v] of steps.marks) out.push(`<circle class="improvement" cx="${x(e).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${colour}"><title>${esc(`evaluation ${e}: ${v.toFixed(3)}`)}</title></circle>`);
    }
    out.push(`<text x="${W - m.r + 8}" y="${m.t + 16 + 18 * s}" fill="${colour}">${esc(series[s]!.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
