// A plain SVG line chart of best-so-far against evaluations: one line per strategy, the mean over
// seeds of the ratio to the best value (1 = optimal), so tables of any unit read the same.

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
  const x = (i: number): number => m.l + ((W - m.l - m.r) * (i + 1)) / n;
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
    const i = Math.round((n * k) / ticks) - 1;
    out.push(`<text x="${x(i).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle">${i + 1}</text>`);
  }
  out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="black"/>`);
  out.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="black"/>`);
  out.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 8}" text-anchor="middle">evaluations</text>`);
  out.push(`<text transform="translate(14 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel ?? 'best so far / best in table')}</text>`);
  curves.forEach((c, s) => {
    const colour = COLOURS[s % COLOURS.length]!;
    const pts = c.map((v, i) => `${x(i).toFixed(1)},${y(Math.max(yMin, v)).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${pts}"/>`);
    out.push(`<text x="${W - m.r + 8}" y="${m.t + 16 + 18 * s}" fill="${colour}">${esc(series[s]!.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
