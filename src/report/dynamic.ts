// The dynamic experiment's figure (wayfinder dynamic): the objective per time window over a
// schedule, one line per variant (static configurations and controllers), the schedule's phases as
// bands, and the knob values a controller set overlaid as steps on an axis of their own; and a page
// with it and the table of each variant's figures over the whole run.

import { esc, fmtTick, open, scale, textWidth, xAxis, yAxis } from './chart.js';

export interface DynamicSeries {
  label: string;
  kind: 'static' | 'controller';
  /** Per window: its start (µs from the schedule's start), the objective (null: no request), the knob. */
  points: { tUs: number; value: number | null; knob: number | null }[];
}

export interface DynamicPhase {
  startUs: number;
  endUs: number;
  text: string;
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];
const CONTROLLER_COLORS = ['#d62728', '#17becf', '#000000'];

/** Each series' colour: statics from one palette, controllers from a bolder one. */
export function seriesColors(series: readonly DynamicSeries[]): string[] {
  let s = 0;
  let c = 0;
  return series.map((x) => (x.kind === 'controller' ? CONTROLLER_COLORS[c++ % CONTROLLER_COLORS.length]! : COLORS[s++ % COLORS.length]!));
}

export function dynamicFigure(series: readonly DynamicSeries[], phases: readonly DynamicPhase[], o: { objective: string; knob: string; windowUs: number }): string {
  const W = 900;
  const H = 460;
  const x0 = 70;
  const x1 = W - 70;
  const top = 60;
  const bottom = H - 110;
  const end = Math.max(...phases.map((p) => p.endUs), ...series.flatMap((s) => s.points.map((p) => p.tUs + o.windowUs)));
  const X = (us: number): number => x0 + (us / (end || 1)) * (x1 - x0);
  const values = series.flatMap((s) => s.points.map((p) => p.value).filter((v): v is number => v !== null && v > 0));
  const y = scale(values.length ? values : [1, 10], bottom, top, { log: true });
  const knobs = series.flatMap((s) => s.points.map((p) => p.knob).filter((v): v is number => v !== null && v > 0));
  const k = knobs.length ? scale([...knobs, 1], bottom, top, { log: Math.max(...knobs) / Math.min(...knobs) >= 8 }) : undefined;
  const colors = seriesColors(series);
  const win = (us: number): string => (us >= 1000 ? `${us / 1000} ms` : `${us} µs`);
  const SMOOTH = Math.max(1, Math.round(25_000 / o.windowUs));
  const out = open(W, H, `${o.objective} per ${win(o.windowUs)} window (faint), its running median over ${win(SMOOTH * o.windowUs)} (bold), ${o.knob} overlaid`);
  // The schedule's phases: alternate bands, each labelled above the plot.
  phases.forEach((p, i) => {
    const a = X(p.startUs);
    const b = X(p.endUs);
    if (i % 2) out.push(`<rect x="${a.toFixed(1)}" y="${top}" width="${(b - a).toFixed(1)}" height="${bottom - top}" fill="#f4f4f4"/>`);
    out.push(`<text x="${((a + b) / 2).toFixed(1)}" y="${top - 6}" text-anchor="middle" font-size="10" fill="#555">${esc(p.text)}</text>`);
  });
  yAxis(out, y, x0, x1, `${o.objective} (µs, log scale)`, top, bottom);
  const secs = end / 1e6;
  const step = secs > 20 ? 5 : secs > 8 ? 2 : secs > 4 ? 1 : secs > 2 ? 0.5 : 0.2;
  const ticks: { at: number; text: string }[] = [];
  for (let t = 0; t <= secs + 1e-9; t += step) ticks.push({ at: X(t * 1e6), text: fmtTick(Number(t.toFixed(3)), step) });
  xAxis(out, ticks, x0, x1, bottom, 'time since the schedule started (s)');
  // The objective: each window thin and faint (broken where a window had no request), and over it
  // the running median of SMOOTH windows, bold: at 1 ms a machine's scheduling noise is in every
  // window, and the trend is what tells the variants apart.
  series.forEach((s, i) => {
    const segs: string[][] = [[]];
    for (const p of s.points) {
      if (p.value === null || p.value <= 0) {
        if (segs[segs.length - 1]!.length) segs.push([]);
        continue;
      }
      segs[segs.length - 1]!.push(`${X(p.tUs + o.windowUs / 2).toFixed(1)},${y(p.value).toFixed(1)}`);
    }
    for (const seg of segs.filter((g) => g.length > 1))
      out.push(`<polyline class="window" points="${seg.join(' ')}" fill="none" stroke="${colors[i]}" stroke-width="0.6" stroke-opacity="0.25"/>`);
    const smooth: string[] = [];
    for (let j = 0; j < s.points.length; j += Math.max(1, Math.floor(SMOOTH / 5))) {
      const vals = s.points
        .slice(Math.max(0, j - Math.floor(SMOOTH / 2)), j + Math.ceil(SMOOTH / 2))
        .map((p) => p.value)
        .filter((v): v is number => v !== null && v > 0)
        .sort((a, b) => a - b);
      if (vals.length) smooth.push(`${X(s.points[j]!.tUs + o.windowUs / 2).toFixed(1)},${y(vals[Math.floor(vals.length / 2)]!).toFixed(1)}`);
    }
    if (smooth.length > 1) out.push(`<polyline class="series" points="${smooth.join(' ')}" fill="none" stroke="${colors[i]}" stroke-width="${s.kind === 'controller' ? 2.6 : 1.8}"/>`);
  });
  // The knob a controller set: steps on the right-hand axis.
  if (k) {
    out.push('<g class="axis knob">');
    for (const t of k.ticks) {
      out.push(`<line class="tick" x1="${x1}" x2="${x1 + 4}" y1="${k(t).toFixed(1)}" y2="${k(t).toFixed(1)}" stroke="black"/>`);
      out.push(`<text x="${x1 + 6}" y="${(k(t) + 4).toFixed(1)}">${esc(fmtTick(t))}</text>`);
    }
    out.push(`<line x1="${x1}" x2="${x1}" y1="${top}" y2="${bottom}" stroke="black"/>`);
    out.push(`<text class="axis-title" transform="translate(${W - 14} ${((top + bottom) / 2).toFixed(1)}) rotate(90)" text-anchor="middle">${esc(o.knob)} (steps, dashed)</text>`);
    out.push('</g>');
    series.forEach((s, i) => {
      if (s.kind !== 'controller') return;
      const pts: string[] = [];
      let last: number | null = null;
      for (const p of s.points) {
        if (p.knob === null || p.knob <= 0) continue;
        const px = X(p.tUs).toFixed(1);
        if (last !== null && last !== p.knob) pts.push(`${px},${k(last).toFixed(1)}`);
        pts.push(`${px},${k(p.knob).toFixed(1)}`);
        last = p.knob;
      }
      if (last !== null) pts.push(`${X(end).toFixed(1)},${k(last).toFixed(1)}`);
      if (pts.length) out.push(`<polyline class="knob" points="${pts.join(' ')}" fill="none" stroke="${colors[i]}" stroke-width="2" stroke-dasharray="5 3"/>`);
    });
  }
  // The legend, below the axis title, wrapping into rows.
  let lx = x0;
  let ly = H - 44;
  series.forEach((s, i) => {
    const w = 27 + textWidth(s.label.length) + 18;
    if (lx + w > x1 && lx > x0) {
      lx = x0;
      ly += 18;
    }
    out.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly - 4}" y2="${ly - 4}" stroke="${colors[i]}" stroke-width="${s.kind === 'controller' ? 2.5 : 1.5}"/>`);
    out.push(`<text class="legend" x="${lx + 27}" y="${ly}">${esc(s.label)}</text>`);
    lx += w;
  });
  out.push('</svg>');
  return out.join('\n');
}

export interface DynamicRow {
  label: string;
  runs: number;
  cells: string[];
}

/** A standalone page: the figure and the variants' table. */
export function dynamicHtml(title: string, intro: string, svg: string, head: string[], rows: readonly DynamicRow[], notes: readonly string[]): string {
  const th = ['variant', 'runs', ...head].map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr><td>${esc(r.label)}</td><td>${r.runs}</td>${r.cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body { font-family: sans-serif; max-width: 940px; margin: 1em auto; padding: 0 10px; color: #222; }
figure { margin: 0; } svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 1em 0; } td, th { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: right; }
td:first-child, th:first-child { text-align: left; }
</style></head><body>
<h1>${esc(title)}</h1>
<p>${esc(intro)}</p>
<figure>${svg}</figure>
<table><thead><tr>${th}</tr></thead><tbody>
${body}
</tbody></table>
${notes.map((n) => `<p>${esc(n)}</p>`).join('\n')}
</body></html>
`;
}
