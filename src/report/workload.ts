// The report's "by workload" section, for experiments with workload dimensions: the best
// configuration per workload point, what the best static configuration loses there, and the policy
// tree `wayfinder learn` would write (src/policy), drawn.

import type { ExperimentRow, Store } from '../store/store.js';
import { learn, type KnobAdaptation, type PointRow } from '../policy/learn.js';
import type { Policy, PolicyNode } from '../policy/policy.js';
import { workloadFromExperiment } from '../policy/sources.js';
import type { Config } from '../types.js';
import { fmtNum } from '../util/format.js';
import { esc, open, textWidth } from './chart.js';

export interface ByWorkload {
  features: string[];
  knobs: string[];
  perPoint: PointRow[];
  static: { params: Config; mean: number; max: number };
  adaptation: KnobAdaptation[];
  policy: Policy;
}

/** The section's numbers, a note saying why there are none, or nothing when the experiment has no workload dimension. */
export function byWorkload(store: Store, exp: ExperimentRow, hasWorkload: boolean): { byWorkload: ByWorkload } | { byWorkloadNote: string } | Record<string, never> {
  if (!hasWorkload) return {};
  try {
    const r = learn(workloadFromExperiment(store, exp), { maxDepth: 4, tolerance: 0.01 });
    return { byWorkload: { features: r.features, knobs: r.knobs, perPoint: r.perPoint, static: r.static, adaptation: r.adaptation, policy: r.policy } };
  } catch (e) {
    // Too little measured yet (or a single workload value): the section says so instead.
    return { byWorkloadNote: (e instanceof Error ? e.message : String(e)).replace(/^--[\w-]+: /, '') };
  }
}

function pct(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '' : `${(100 * v).toFixed(1)}%`;
}

function cfg(c: Config, only?: string[]): string {
  return Object.entries(c)
    .filter(([k]) => !only || only.includes(k))
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}

export function workloadHtml(w: ByWorkload | undefined, note: string | undefined, metric: string, fig: (name: string, caption: string) => string): string {
  if (!w) return note ? `<h2>By workload</h2><p class="note">No policy: ${esc(note)}.</p>` : '';
  const p = w.policy;
  const parts = ['<h2>By workload</h2>'];
  parts.push(
    `<p>The best measured configuration at each workload point (${esc(w.features.join(', '))}), against the best single static configuration <code>${esc(cfg(w.static.params))}</code>, which loses <b>${pct(w.static.mean)}</b> on average and <b>${pct(w.static.max)}</b> at worst: the value of adapting. Regret is the share below each point's best.</p>`,
  );
  parts.push(`<div class="scroll"><table><thead><tr>${w.features.map((f) => `<th>${esc(f)}</th>`).join('')}<th>best configuration</th><th>${esc(metric)}</th><th>static</th><th>static loss</th><th>policy leaf</th><th>policy regret</th></tr></thead><tbody>`);
  for (const r of w.perPoint) {
    parts.push(
      `<tr>${w.features.map((f) => `<td class="num">${esc(String(r.point[f]))}</td>`).join('')}<td>${esc(r.best ? cfg(r.best.params) : 'every configuration failed')}</td><td class="num">${esc(r.best ? fmtNum(r.best.value) : '')}</td><td class="num">${esc(r.static.value === undefined ? 'not measured' : r.static.value === null ? 'failed' : fmtNum(r.static.value))}</td><td class="num">${pct(r.static.regret)}</td><td class="num">${r.policy.leaf}</td><td class="num">${pct(r.policy.regret)}</td></tr>`,
    );
  }
  parts.push('</tbody></table></div>');
  parts.push('<div class="scroll"><table><thead><tr><th>knob</th><th>follows the workload</th><th>loss if held at one value</th><th>worst point</th><th>interaction with the workload</th></tr></thead><tbody>');
  for (const a of w.adaptation) {
    parts.push(`<tr><td>${esc(a.name)}</td><td>${a.adapt ? 'yes' : 'no'}</td><td class="num">${pct(a.lossIfFixed)}</td><td class="num">${pct(a.maxLossIfFixed)}</td><td class="num">${pct(a.interaction)}</td></tr>`);
  }
  parts.push('</tbody></table></div>');
  const est = (name: string, f: Policy['regret']['trained'] | undefined): string => (f ? `${name}: mean ${pct(f.mean)}, worst ${pct(f.max)} over ${f.points} points` : `${name}: none to leave out`);
  parts.push(
    fig(
      'policy-tree',
      `The policy (wayfinder learn): a tree over the workload features whose leaves are configurations (only the knobs that differ between leaves are shown); outside the range trained on, the fallback. Regret ${esc(est('on the trained points', p.regret.trained))}; ${esc(est('interpolating (each interior workload value left out)', p.regret.interpolation))}; ${esc(est('extrapolating (the extreme values left out, answered by the fallback)', p.regret.extrapolation))}.`,
    ),
  );
  return parts.join('\n');
}

/** The policy tree drawn: splits as boxes with their test, leaves with the knobs that differ between leaves. */
export function policyTreeSvg(p: Policy): string {
  const shown = p.knobs.map((k) => k.name).filter((k) => new Set([...p.leaves, p.fallback].map((l) => String(l.params[k]))).size > 1);
  const keys = shown.length ? shown : p.knobs.map((k) => k.name);
  // Columns as wide as the widest text in a box (a leaf's knob=value, a split's test, a feature's
  // range under the fallback), so long parameter names stay inside their boxes and the figure.
  const splits: string[] = [];
  const walk = (n: PolicyNode): void => {
    if ('leaf' in n) return;
    splits.push(n.feature, `≤ ${n.le}`);
    walk(n.left);
    walk(n.right);
  };
  walk(p.tree);
  const ranges = p.features.flatMap((f) => [f.name, `${f.min}..${f.max}`]);
  const leafLines = [...p.leaves, p.fallback].flatMap((l) => keys.map((k) => `${k}=${String(l.params[k])}`));
  const colW = Math.max(150, ...[...leafLines, ...ranges].map((t) => textWidth(t.length) + 24), ...splits.map((t) => textWidth(t.length) + 30));
  const rowH = 78;
  const top = 50;
  type Placed = { x: number; y: number; node: PolicyNode };
  const placed: Placed[] = [];
  const edges: { from: Placed; to: Placed; label: string }[] = [];
  let col = 0;
  const place = (n: PolicyNode, level: number): Placed => {
    if ('leaf' in n) {
      const me = { x: 20 + colW * col++ + colW / 2, y: top + level * rowH, node: n };
      placed.push(me);
      return me;
    }
    const l = place(n.left, level + 1);
    const r = place(n.right, level + 1);
    const me = { x: (l.x + r.x) / 2, y: top + level * rowH, node: n };
    placed.push(me);
    edges.push({ from: me, to: l, label: 'yes' }, { from: me, to: r, label: 'no' });
    return me;
  };
  place(p.tree, 0);
  const levels = Math.max(...placed.map((q) => q.y));
  const W = Math.max(520, 40 + colW * (col + 1));
  // The lowest leaf box, or the fallback's lines under it, whichever ends lower.
  const H = Math.max(levels + 10 + 15 * keys.length, top + 30 + 15 * keys.length + 16 * ranges.length) + 16;
  const out = open(W, H, `Policy for ${p.objective.name}: ${p.leaves.length} leaves over ${p.features.map((f) => f.name).join(', ')}`);
  for (const e of edges) {
    out.push(`<line x1="${e.from.x}" y1="${e.from.y + 17}" x2="${e.to.x}" y2="${e.to.y - ('leaf' in e.to.node ? 12 : 17)}" stroke="#888"/>`);
    out.push(`<text x="${(e.from.x + e.to.x) / 2 + (e.label === 'yes' ? -6 : 6)}" y="${(e.from.y + e.to.y) / 2}" text-anchor="${e.label === 'yes' ? 'end' : 'start'}" fill="#777">${e.label}</text>`);
  }
  const leafBox = (x: number, y: number, title: string, params: Config, colour: string): void => {
    const h = 22 + 15 * keys.length;
    out.push(`<rect x="${x - colW / 2 + 6}" y="${y - 12}" width="${colW - 12}" height="${h}" rx="4" fill="${colour}" stroke="#6a8"/>`);
    out.push(`<text x="${x}" y="${y + 3}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
    keys.forEach((k, i) => out.push(`<text x="${x}" y="${y + 19 + 15 * i}" text-anchor="middle">${esc(`${k}=${String(params[k])}`)}</text>`));
  };
  for (const q of placed) {
    const n = q.node;
    if ('leaf' in n) leafBox(q.x, q.y, `leaf ${n.leaf}`, p.leaves[n.leaf]!.params, '#eef7ee');
    else {
      // The test on two lines (the feature, then the threshold) keeps the box as narrow as a column.
      const w = textWidth(Math.max(n.feature.length, `≤ ${n.le}`.length)) + 24;
      out.push(`<rect x="${q.x - w / 2}" y="${q.y - 17}" width="${w}" height="34" rx="12" fill="#eef3fa" stroke="#68a"/>`);
      out.push(`<text x="${q.x}" y="${q.y - 2}" text-anchor="middle">${esc(n.feature)}</text>`);
      out.push(`<text x="${q.x}" y="${q.y + 13}" text-anchor="middle">${esc(`≤ ${n.le}`)}</text>`);
    }
  }
  leafBox(20 + colW * col + colW / 2, top, 'fallback', p.fallback.params, '#fbf0e6');
  ['outside', ...ranges].forEach((t, i) => out.push(`<text x="${20 + colW * col + colW / 2}" y="${top + 26 + 15 * keys.length + 16 * i}" text-anchor="middle" fill="#777">${esc(t)}</text>`));
  out.push('</svg>');
  return out.join('\n');
}
