// The report's figures, each a standalone SVG built from ReportData alone: every configuration's
// objective sorted (the paper's Figure 2), best-so-far per strategy (Figure 3), parameter
// importance, main effects and run statistics.

import { fmtDuration, fmtNum } from '../util/format.js';
import { ratioTo } from '../strategies/ratio.js';
import { COLOURS, staircase } from '../strategies/svg.js';
import { warningShort } from './aliasing.js';
import { clip, countTicks, esc, fmtTick, open, scale, textWidth, wantsLog, wrap, xAxis, yAxis } from './chart.js';
import type { MainEffect, ReportData, RunStats } from './data.js';
import type { Importance } from './importance.js';
import { policyTreeSvg } from './workload.js';

export interface Figure {
  /** File name without extension. */
  name: string;
  title: string;
  svg: string;
}

const BLUE = COLOURS[0]!;
const RED = COLOURS[1]!;
const GREEN = COLOURS[2]!;
const ORANGE = COLOURS[4]!;

export function figures(d: ReportData): Figure[] {
  const out: Figure[] = [{ name: 'objective', title: `Every configuration's ${d.objective.metric}, sorted`, svg: objectiveFigure(d) }];
  const bsf = bestSoFarFigure(d);
  if (bsf) out.push({ name: 'best-so-far', title: 'Best so far against evaluations', svg: bsf });
  if (d.importance) out.push({ name: 'importance', title: 'Parameter importance', svg: importanceFigure(d.importance) });
  if (d.mainEffects.length > 0) out.push({ name: 'main-effects', title: 'Main effects', svg: mainEffectsFigure(d.mainEffects, d) });
  out.push({ name: 'run-stats', title: 'Run statistics', svg: runStatsFigure(d.runStats) });
  if (d.byWorkload) out.push({ name: 'policy-tree', title: 'Policy by workload', svg: policyTreeSvg(d.byWorkload.policy) });
  return out;
}

export function objectiveFigure(d: ReportData): string {
  const W = 820;
  const H = 436;
  const m = { l: 76, r: 190, t: 60, b: 48 };
  const metric = d.objective.metric;
  const done = d.configurations
    .filter((c) => c.status === 'done' && c.objective !== undefined && Number.isFinite(c.objective))
    .sort((a, b) => (a.objective as number) - (b.objective as number));
  const failed = d.configurations.filter((c) => c.status === 'failed');
  const running = d.configurations.filter((c) => c.status === 'running').length;
  const vals = done.map((c) => c.objective as number);
  const log = wantsLog(vals);
  const whiskers = done.length <= 400;
  const range = [...vals, ...(whiskers ? done.flatMap((c) => c.ci ?? []) : [])].filter((v) => !log || v > 0);
  const out = open(W, H, `${metric} of every configuration, sorted (${done.length} measured${log ? ', log scale' : ''})`);
  out.push(
    `<text x="12" y="36" fill="#555">${esc(d.objective.direction === 'maximize' ? 'higher is better' : 'lower is better')}; whiskers: ${esc('interval of the median over repeated runs (order statistics; 95% from 6 runs, less below)')}</text>`,
  );
  const x0 = m.l;
  const x1 = W - m.r;
  if (done.length === 0) {
    out.push(`<text x="${(x0 + x1) / 2}" y="${H / 2}" text-anchor="middle" fill="#777">no configuration measured yet</text>`);
  } else {
    // Room beyond the best point for its label: above it when maximizing, below when minimizing
    // (never below zero for a metric that has none).
    const lo = Math.min(...range);
    const hi = Math.max(...range);
    const maxi = d.objective.direction === 'maximize';
    const pad = log ? (maxi ? hi * 1.6 : lo / 1.6) : maxi ? hi + 0.12 * (hi - lo) : lo >= 0 ? Math.max(0, lo - 0.12 * (hi - lo)) : lo - 0.12 * (hi - lo);
    const y = scale(range.length ? [...range, pad] : [0, 1], H - m.b, m.t, { log });
    yAxis(out, y, x0, x1, metric, m.t, H - m.b);
    // A few pixels between the axis and the first point, so the default's diamond there stays clear of it.
    const bw = (x1 - x0 - 8) / done.length;
    const px = (i: number): number => x0 + 8 + (i + 0.5) * bw;
    xAxis(out, countTicks(done.length).map((r) => ({ at: px(r - 1), text: String(r) })), x0, x1, H - m.b, `configurations, sorted by ${metric} (rank)`);
    const r = done.length > 200 ? 1.8 : 3;
    const bestIdx = d.objective.direction === 'maximize' ? done.length - 1 : 0;
    done.forEach((c, i) => {
      const cx = px(i).toFixed(1);
      if (whiskers && c.ci && c.ci[0] !== c.ci[1] && (!log || c.ci[0] > 0)) {
        out.push(`<line x1="${cx}" x2="${cx}" y1="${y(c.ci[0]).toFixed(1)}" y2="${y(c.ci[1]).toFixed(1)}" stroke="#9dbbd6"/>`);
      }
      out.push(`<circle class="config" cx="${cx}" cy="${y(c.objective as number).toFixed(1)}" r="${r}" fill="${BLUE}"><title>${esc(tip(c.configId, c.params, c.objective))}</title></circle>`);
    });
    const di = done.findIndex((c) => c.isDefault);
    if (di >= 0) {
      const cx = px(di);
      const cy = y(done[di]!.objective as number);
      out.push(`<path class="default" d="M${cx.toFixed(1)} ${(cy - 7).toFixed(1)} l7 7 l-7 7 l-7 -7 z" fill="${RED}" stroke="white"/>`);
      // A dashed line through the default, labelled at the top, stays clear of the points around it.
      out.push(`<line x1="${cx.toFixed(1)}" x2="${cx.toFixed(1)}" y1="${m.t}" y2="${(cy - 8).toFixed(1)}" stroke="${RED}" stroke-dasharray="3 3"/>`);
      out.push(`<text x="${(cx + (di > done.length / 2 ? -4 : 4)).toFixed(1)}" y="${m.t - 6}" text-anchor="${di > done.length / 2 ? 'end' : 'start'}" fill="${RED}">default ${esc(fmtNum(done[di]!.objective))}</text>`);
    }
    const b = done[bestIdx]!;
    if (!b.isDefault) {
      const cx = px(bestIdx);
      const cy = y(b.objective as number);
      out.push(`<circle class="best" cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="${r + 3}" fill="none" stroke="${GREEN}" stroke-width="2"/>`);
      // The best is the highest and last point when maximizing (label above it, to its left); the
      // lowest and first when minimizing (label below it): the other points are on the other side.
      // Below the lowest point there may be no room (a best of 0 on the axis): then to its right.
      const below = !maxi && H - m.b - cy >= 22;
      const [tx, ty, anchor] = maxi ? [cx + 4, cy - 12, 'end'] : below ? [cx - 4, cy + 20, 'start'] : [cx + r + 8, cy + 4, 'start'];
      out.push(`<text x="${tx.toFixed(1)}" y="${ty.toFixed(1)}" text-anchor="${anchor}" fill="${GREEN}">best ${esc(fmtNum(b.objective))}</text>`);
    }
  }
  // Failures apart: they have no objective to sort by.
  const fx = W - m.r + 28;
  out.push(`<line x1="${fx - 12}" x2="${fx - 12}" y1="${m.t}" y2="${H - m.b}" stroke="#bbb" stroke-dasharray="4 3"/>`);
  out.push(`<text x="${fx}" y="${m.t + 4}" font-weight="bold" fill="${failed.length ? RED : '#555'}">failed: ${failed.length}</text>`);
  const causes = new Map<string, number>();
  for (const f of failed) causes.set(f.failure ?? 'unknown', (causes.get(f.failure ?? 'unknown') ?? 0) + 1);
  let row = 0;
  for (const [cause, n] of [...causes].sort((a, b) => b[1] - a[1])) {
    const yy = m.t + 26 + row * 22;
    const marks = Math.min(n, 8);
    for (let k = 0; k < marks; k++) {
      const cx = fx + 4 + k * 9;
      out.push(`<path class="failed" d="M${cx - 3} ${yy - 3} l6 6 M${cx + 3} ${yy - 3} l-6 6" stroke="${RED}" stroke-width="1.6"/>`);
    }
    out.push(`<text x="${fx + 4 + marks * 9 + 4}" y="${yy + 4}">${esc(cause)} ${n}</text>`);
    row++;
  }
  if (d.default?.status === 'failed') out.push(`<text x="${fx}" y="${m.t + 30 + row++ * 22}" fill="${RED}">the default failed</text>`);
  if (running > 0) out.push(`<text x="${fx}" y="${m.t + 30 + row * 22}" fill="#777">running: ${running}</text>`);
  out.push('</svg>');
  return out.join('\n');
}

function tip(id: string, params: Record<string, unknown>, objective: number | undefined): string {
  return `${id.slice(0, 10)}: ${fmtNum(objective)}\n${Object.entries(params)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join('\n')}`;
}

/**
 * Best-so-far against evaluations, one staircase per strategy: the best only changes when an
 * evaluation finds a better configuration, and holds until then, so it is drawn as steps (a
 * sloping line would claim values in between that were never found). As a fraction of the best
 * found when that is positive, in the objective's units otherwise.
 */
export function bestSoFarFigure(d: ReportData): string | undefined {
  const done = d.configurations.filter((c) => c.status === 'done' && c.objective !== undefined && Number.isFinite(c.objective)).map((c) => c.objective as number);
  if (done.length === 0 || d.bestSoFar.length === 0) return undefined;
  const optimum = d.objective.direction === 'maximize' ? Math.max(...done) : Math.min(...done);
  const relative = optimum > 0;
  const shown = (v: number): number => (relative ? ratioTo(optimum, v, d.objective.direction) : v);
  const W = 820;
  const H = 380;
  const labelW = Math.max(60, ...d.bestSoFar.map((s) => textWidth(s.strategy.length))) + 16;
  const m = { l: 76, r: Math.min(220, labelW), t: 44, b: 52 };
  const metric = d.objective.metric;
  const out = open(W, H, relative ? `Best ${metric} so far against evaluations (1 = best found)` : `Best ${metric} so far against evaluations`);
  const n = Math.max(1, ...d.bestSoFar.map((s) => s.values.length));
  const vals = d.bestSoFar.flatMap((s) => s.values.filter((v): v is number => v !== null).map(shown));
  const y = scale(vals, H - m.b, m.t);
  yAxis(out, y, m.l, W - m.r, relative ? 'best so far / best found' : `best ${metric} so far`, m.t, H - m.b);
  // Evaluation k (1-based) sits at x(k); the axis runs from 0 so the first step is visible.
  const x = (k: number): number => m.l + ((W - m.l - m.r) * k) / n;
  xAxis(out, countTicks(n).map((k) => ({ at: x(k), text: String(k) })), m.l, W - m.r, H - m.b, `evaluations (${n}, in the order results arrived)`);
  d.bestSoFar.forEach((s, k) => {
    const colour = COLOURS[k % COLOURS.length]!;
    const steps = staircase(s.values.map((v) => (v === null ? null : shown(v))), x, y);
    if (!steps) return;
    out.push(`<path class="best-so-far" d="${steps.d}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const [e, v] of steps.marks) {
      out.push(`<circle class="improvement" cx="${x(e).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${colour}"><title>${esc(`evaluation ${e}: ${relative ? `${fmtTick(v)} of the best` : fmtNum(v)}`)}</title></circle>`);
    }
    out.push(`<text x="${W - m.r + 8}" y="${m.t + 16 + 18 * k}" fill="${colour}">${esc(clip(s.strategy, 24))}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

export function importanceFigure(imp: Importance): string {
  const params = imp.params.slice(0, 15);
  const pairs = imp.pairs;
  const flagged = new Set(imp.warnings.flatMap((w) => (w.kind === 'aliased' ? w.params : [])));
  const MAX_LABEL = 40;
  const mark = (n: string): string => (flagged.has(n) ? `${clip(n, MAX_LABEL - 2)} ⚠` : clip(n, MAX_LABEL));
  // A pair's label is two lines (one name each), so long names fit beside the bars.
  const rows = [
    ...params.map((p) => ({ lines: [mark(p.name)], title: p.name, v: p.fraction, sd: p.std, extra: p.total - p.fraction, pair: false })),
    ...pairs.map((p) => ({ lines: [`${clip(p.names[0], MAX_LABEL - 2)} ×`, clip(p.names[1], MAX_LABEL)], title: p.names.join(' × '), v: p.fraction, sd: p.std, extra: 0, pair: true })),
  ];
  const labelW = 24 + textWidth(Math.max(4, ...rows.flatMap((r) => r.lines.map((l) => l.length))));
  const plotW = 360;
  const valueW = 230;
  const W = Math.max(820, labelW + plotW + valueW);
  const rowH = (r: { pair: boolean }): number => (r.pair ? 34 : 22);
  const notes = imp.warnings.flatMap((w) => wrap(`⚠ ${warningShort(w)}`, Math.floor((W - 24) / (12 * 0.66))));
  const top = 92 + notes.length * 16;
  const gap = pairs.length ? 12 : 0;
  const ys: number[] = [];
  let acc = top;
  rows.forEach((r, i) => {
    if (r.pair && (i === 0 || !rows[i - 1]!.pair)) acc += gap;
    ys.push(acc);
    acc += rowH(r);
  });
  const bottom = acc;
  const H = bottom + 46;
  const x0 = labelW;
  const x1 = labelW + plotW;
  const maxV = Math.max(0.05, ...rows.map((r) => Math.max(r.v + r.sd, r.v + r.extra)));
  const x = scale([0, Math.min(1, maxV)], x0, x1, { zero: true });
  const out = open(W, H, `Parameter importance: ${imp.method}`);
  const r2 = imp.cvR2 !== undefined ? `; the surrogate predicts held-out configurations with R² = ${imp.cvR2.toFixed(2)} (${imp.folds}-fold)` : '';
  out.push(`<text x="12" y="38" fill="#555">share of the surrogate's variance${imp.scale === 'log10' ? ' (of log10 of the objective)' : ''} explained</text>`);
  out.push(`<text x="12" y="56" fill="#555">${imp.trees} trees fitted on ${imp.samples} measured configurations${esc(r2)}</text>`);
  out.push(
    `<text x="12" y="74" fill="#555"><tspan fill="${BLUE}">■ main effect</tspan>  <tspan fill="#a9c8e6">■ in interactions</tspan>  <tspan fill="${ORANGE}">■ pairwise interaction</tspan>  whiskers: ±1 sd across trees</text>`,
  );
  notes.forEach((l, i) => out.push(`<text class="warning" x="12" y="${92 + i * 16}" fill="#8a5300">${esc(l)}</text>`));
  for (const t of x.ticks) {
    const px = x(t).toFixed(1);
    out.push(`<line x1="${px}" x2="${px}" y1="${top - 4}" y2="${bottom}" stroke="#e4e4e4"/>`);
  }
  xAxis(out, x.ticks.map((t) => ({ at: x(t), text: `${Math.round(t * 100)}%` })), x0, x1, bottom, 'fraction of variance');
  rows.forEach((r, i) => {
    const yy = ys[i]!;
    const h = rowH(r);
    const colour = r.pair ? ORANGE : BLUE;
    const ty = r.lines.length > 1 ? [yy + 14, yy + 28] : [yy + 15];
    r.lines.forEach((l, k) => out.push(`<text class="label" x="${x0 - 8}" y="${ty[k]}" text-anchor="end">${esc(l)}<title>${esc(r.title)}</title></text>`));
    const w = Math.max(0, x(Math.min(1, r.v)) - x0);
    const by = yy + (h - 16) / 2;
    out.push(`<rect class="${r.pair ? 'pair' : 'param'}" x="${x0}" y="${by}" width="${w.toFixed(1)}" height="16" fill="${colour}"><title>${esc(`${r.title}: ${(r.v * 100).toFixed(1)}% ± ${(r.sd * 100).toFixed(1)}%`)}</title></rect>`);
    if (r.extra > 0.001) {
      const w2 = Math.max(0, x(Math.min(1, r.v + r.extra)) - x(Math.min(1, r.v)));
      out.push(`<rect x="${(x0 + w).toFixed(1)}" y="${by}" width="${w2.toFixed(1)}" height="16" fill="#a9c8e6"/>`);
    }
    if (r.sd > 0) {
      const a = x(Math.max(0, r.v - r.sd));
      const b = x(Math.min(1, r.v + r.sd));
      out.push(`<line x1="${a.toFixed(1)}" x2="${b.toFixed(1)}" y1="${yy + h / 2}" y2="${yy + h / 2}" stroke="#333"/>`);
    }
    const end = Math.max(x(Math.min(1, r.v + r.sd)), x(Math.min(1, r.v + r.extra)));
    const inPairs = r.extra > 0.001 ? ` (+${(r.extra * 100).toFixed(1)}% in interactions)` : '';
    out.push(`<text x="${(end + 6).toFixed(1)}" y="${yy + h / 2 + 4}" fill="#333">${(r.v * 100).toFixed(1)}%${inPairs}</text>`);
  });
  if (pairs.length) {
    const sep = ys[params.length]! - gap / 2;
    out.push(`<line x1="12" x2="${W - 12}" y1="${sep}" y2="${sep}" stroke="#ccc"/>`);
  }
  out.push(`<line x1="${x0}" x2="${x0}" y1="${top - 4}" y2="${bottom}" stroke="black"/>`);
  out.push('</svg>');
  return out.join('\n');
}

export function mainEffectsFigure(effects: MainEffect[], d: ReportData): string {
  const cols = Math.min(3, effects.length);
  const pw = 300;
  const ph = 230;
  // Wide enough for the legend line even with one panel.
  const W = Math.max(cols * pw + 60, 620);
  const H = 60 + Math.ceil(effects.length / cols) * ph;
  const out = open(W, H, `Main effects on ${d.objective.metric}`);
  const aliased = new Set((d.importance?.warnings ?? []).flatMap((w) => (w.kind === 'aliased' ? w.params : [])));
  out.push(
    `<text x="12" y="38" fill="#555"><tspan fill="#111">● median of measured configurations with that value, 95% interval</tspan>  <tspan fill="${BLUE}">— fANOVA marginal ±1 sd</tspan></text>`,
  );
  effects.forEach((e, k) => {
    const ox = 10 + (k % cols) * pw;
    const oy = 50 + Math.floor(k / cols) * ph;
    const m = { l: 58, r: 10, t: 26, b: 52 };
    const x0 = ox + m.l;
    const x1 = ox + pw - m.r;
    const yTop = oy + m.t;
    const yBot = oy + ph - m.b;
    const all = e.values.flatMap((v) => [
      ...(v.median !== undefined ? [v.median] : []),
      ...(v.ci ?? []),
      ...(v.marginal !== undefined ? [v.marginalLow!, v.marginalHigh!] : []),
    ]);
    const log = d.importance?.scale === 'log10' || wantsLog(e.values.flatMap((v) => (v.median !== undefined ? [v.median] : [])));
    const shown = all.filter((v) => Number.isFinite(v) && (!log || v > 0));
    const y = scale(shown.length ? shown : [1, 10], yBot, yTop, { log });
    // Everything drawn stays inside the axis (an interval reaching below zero on a log axis, say).
    const lo = y.ticks[0]!;
    const hi = y.ticks[y.ticks.length - 1]!;
    const yc = (v: number): string => y(Math.min(hi, Math.max(lo, v))).toFixed(1);
    const share = e.fraction !== undefined ? ` (${(e.fraction * 100).toFixed(1)}%)` : '';
    // Bold capitals are the widest text drawn: the name is cut to the panel's width, in full on hover.
    // An aliased parameter's effect may be its partner's: marked as in the importance figure.
    const flag = aliased.has(e.name) ? ' ⚠' : '';
    const room = Math.floor((pw - 14) / (12 * 0.75)) - share.length - flag.length;
    out.push(`<text class="effect-title" x="${ox + 10}" y="${oy + 14}" font-weight="bold">${esc(clip(e.name, room) + flag + share)}<title>${esc(aliased.has(e.name) ? `${e.name}: aliased, see the importance warnings` : e.name)}</title></text>`);
    yAxis(out, y, x0, x1, undefined, yTop, yBot);
    const n = e.values.length;
    const bw = (x1 - x0) / Math.max(1, n);
    const px = (i: number): number => x0 + (i + 0.5) * bw;
    const every = Math.ceil(n / 10);
    out.push('<g class="axis x">');
    out.push(`<line x1="${x0}" x2="${x1}" y1="${yBot}" y2="${yBot}" stroke="black"/>`);
    e.values.forEach((v, i) => {
      if (i % every !== 0) return;
      const label = clip(String(v.value), 10);
      out.push(`<line class="tick" x1="${px(i).toFixed(1)}" x2="${px(i).toFixed(1)}" y1="${yBot}" y2="${yBot + 4}" stroke="black"/>`);
      out.push(`<text transform="translate(${px(i).toFixed(1)} ${yBot + 14}) rotate(${n > 5 ? 35 : 0})" text-anchor="${n > 5 ? 'start' : 'middle'}" font-size="11">${esc(label)}</text>`);
    });
    out.push('</g>');
    const marg = e.values.map((v, i) => ({ v, i })).filter(({ v }) => v.marginal !== undefined);
    if (marg.length > 0) {
      const upper = marg.map(({ v, i }) => `${px(i).toFixed(1)},${yc(v.marginalHigh!)}`);
      const lower = marg.map(({ v, i }) => `${px(i).toFixed(1)},${yc(v.marginalLow!)}`).reverse();
      out.push(`<polygon points="${[...upper, ...lower].join(' ')}" fill="${BLUE}" fill-opacity="0.15" stroke="none"/>`);
      out.push(`<polyline class="marginal" points="${marg.map(({ v, i }) => `${px(i).toFixed(1)},${yc(v.marginal!)}`).join(' ')}" fill="none" stroke="${BLUE}" stroke-width="2"/>`);
    }
    e.values.forEach((v, i) => {
      if (v.median === undefined || (log && v.median <= 0)) return;
      const cx = px(i).toFixed(1);
      if (v.ci && v.ci[0] !== v.ci[1]) {
        out.push(`<line x1="${cx}" x2="${cx}" y1="${yc(v.ci[0])}" y2="${yc(v.ci[1])}" stroke="#111"/>`);
      }
      out.push(`<circle class="effect" cx="${cx}" cy="${yc(v.median)}" r="3.5" fill="#111"><title>${esc(`${e.name}=${v.bin ? `${String(v.bin[0])}…${String(v.bin[1])}` : String(v.value)}: median ${fmtNum(v.median)} [${fmtNum(v.ci?.[0])}, ${fmtNum(v.ci?.[1])}] over ${v.n}`)}</title></circle>`);
    });
  });
  out.push('</svg>');
  return out.join('\n');
}

export function runStatsFigure(s: RunStats): string {
  const W = 900;
  const H = 250;
  const out = open(W, H, 'Run statistics');
  const panels: { title: string; sub?: string; bars: { label: string; v: number; text: string; colour: string }[]; empty: string }[] = [
    {
      title: 'failed configurations by cause',
      sub: `${Object.values(s.failuresByCause).reduce((a, b) => a + b, 0)} configurations`,
      bars: Object.entries(s.failuresByCause)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => ({ label: k, v, text: String(v), colour: RED })),
      empty: 'no failures',
    },
    {
      title: 'CV of repeated runs',
      sub: `${s.cv.configurations} configurations${s.cv.median !== undefined ? `, median ${(s.cv.median * 100).toFixed(1)}%` : ''}`,
      bars: cvBins(s.cv.values).map((b) => ({ ...b, text: String(b.v), colour: b.label.startsWith('>') || b.label.startsWith('5') ? ORANGE : BLUE })),
      empty: 'no repeated runs',
    },
    {
      title: 'where time went',
      sub: `wall clock ${fmtDuration(s.time.wallMs)}`,
      bars: [
        { label: `builds (${s.time.builds})`, v: s.time.buildMs, text: fmtDuration(s.time.buildMs), colour: COLOURS[3]! },
        { label: `tests (${s.time.runs} runs)`, v: s.time.testMs, text: fmtDuration(s.time.testMs), colour: BLUE },
        { label: 'waiting', v: s.time.waitingMs, text: fmtDuration(s.time.waitingMs), colour: '#999' },
      ],
      empty: 'nothing ran',
    },
  ];
  const pw = W / 3;
  panels.forEach((p, k) => {
    const ox = k * pw;
    out.push(`<text x="${ox + 12}" y="48" font-weight="bold">${esc(p.title)}</text>`);
    if (p.sub) out.push(`<text x="${ox + 12}" y="64" fill="#555">${esc(p.sub)}</text>`);
    const total = p.bars.reduce((a, b) => a + b.v, 0);
    if (p.bars.length === 0 || total === 0) {
      out.push(`<text x="${ox + pw / 2}" y="140" text-anchor="middle" fill="#777">${esc(p.empty)}</text>`);
      return;
    }
    const max = Math.max(...p.bars.map((b) => b.v));
    const lx = ox + 110;
    const rx = ox + pw - 60;
    p.bars.forEach((b, i) => {
      const yy = 80 + i * 30;
      out.push(`<text x="${lx - 8}" y="${yy + 15}" text-anchor="end">${esc(b.label)}</text>`);
      out.push(`<rect class="stat" x="${lx}" y="${yy}" width="${(((rx - lx) * b.v) / max).toFixed(1)}" height="20" fill="${b.colour}"/>`);
      out.push(`<text x="${(lx + ((rx - lx) * b.v) / max + 6).toFixed(1)}" y="${yy + 15}">${esc(b.text)}</text>`);
    });
  });
  out.push('</svg>');
  return out.join('\n');
}

function cvBins(values: number[]): { label: string; v: number }[] {
  const edges: [string, number, number][] = [
    ['< 1%', 0, 0.01],
    ['1–2%', 0.01, 0.02],
    ['2–5%', 0.02, 0.05],
    ['5–10%', 0.05, 0.1],
    ['> 10%', 0.1, Infinity],
  ];
  return edges.map(([label, lo, hi]) => ({ label, v: values.filter((c) => c >= lo && c < hi).length }));
}

