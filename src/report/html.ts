// One self-contained HTML page: styles, figures (inline SVG), tables, the data as JSON and a few
// lines of script, with no reference outside the file, so it opens offline and can be mailed.

import { intervalCell, MEDIAN_INTERVAL_HEADING } from '../metrics/stats.js';
import { fmtDuration, fmtNum } from '../util/format.js';
import { warningText } from './aliasing.js';
import { esc } from './chart.js';
import type { BestRow, ConfigPoint, ReportData } from './data.js';
import { fmtP } from '../study/confirm.js';
import type { StoredComparison } from '../store/store.js';
import type { Figure } from './figures.js';
import { workloadHtml } from './workload.js';
import { EARLY_STOP_ALPHA, statusCell } from '../strategies/early-stop.js';

export interface HtmlOptions {
  /** Reload the page every so many seconds (for a running experiment served by the daemon). */
  refreshSeconds?: number;
}

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1000px; padding: 1em 1.5em 4em; color: #111; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
.sub { color: #555; margin-top: 0; } figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: .9em; } table { border-collapse: collapse; font-size: .9em; margin: .5em 0; }
.scroll { max-width: 100%; overflow-x: auto; margin: .5em 0; } .scroll table { margin: 0; } .nowrap { white-space: nowrap; }
p.warning { color: #8a5300; background: #fff6e5; border-left: 3px solid #e8a33d; padding: .4em .7em; margin: .4em 0; }
th, td { border-bottom: 1px solid #e4e4e4; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f6f6f6; cursor: default; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: .8em; overflow: auto; font-size: .85em; } .note { color: #8a5300; }
.kpi { display: flex; gap: 2em; flex-wrap: wrap; margin: 1em 0; } .kpi div { min-width: 8em; }
.kpi b { display: block; font-size: 1.4em; } .kpi small { display: block; color: #555; max-width: 18em; }
.kpi small.note { color: #8a5300; } code { font-size: .95em; } table.sortable th { cursor: pointer; }
`;

// Click a column heading of the configurations table to sort by it (empty cells, as a failed
// configuration's objective, stay last).
const SCRIPT = `
document.querySelectorAll('table.sortable').forEach(function (t) {
  t.querySelectorAll('th').forEach(function (th, col) {
    th.addEventListener('click', function () {
      var body = t.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var dir = th.dataset.dir === 'asc' ? -1 : 1; th.dataset.dir = dir === 1 ? 'asc' : 'desc';
      rows.sort(function (a, b) {
        var x = a.cells[col].textContent, y = b.cells[col].textContent;
        if ((x === '') !== (y === '')) return x === '' ? 1 : -1;
        var nx = parseFloat(x.replace(/,/g, '')), ny = parseFloat(y.replace(/,/g, ''));
        return dir * (isNaN(nx) || isNaN(ny) ? x.localeCompare(y) : nx - ny);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
`;

/** The confirmed comparison's evidence: "95% CI 1.19–2.13, p=0.003, n=8 interleaved runs each". */
function evidence(c: StoredComparison): string {
  return [c.ci ? `${Math.round(c.confidence * 100)}% CI ${c.ci[0].toFixed(2)}–${c.ci[1].toFixed(2)}` : '', fmtP(c.pValue), `n=${c.n} interleaved runs each`].filter(Boolean).join(', ');
}

/**
 * The headline tile: the confirmed comparison when one is stored for the current best (ratio,
 * interval, p, n, or "no significant difference"), else the exploration's ratio marked provisional.
 */
function againstTile(d: ReportData): string {
  const a = d.bestAgainstDefault;
  const best = d.best[0];
  const c = a.comparison;
  if (c) {
    const worse = c.ratio !== undefined && c.ratio < 1;
    const head = !c.significant ? 'no significant difference' : c.ratio !== undefined ? `${c.ratio.toFixed(2)}×` : 'different';
    const what = !c.significant ? 'best against default, confirmed runs' : worse ? 'best over default, confirmed: worse than the default' : 'best over default, confirmed';
    const ratio = !c.significant && c.ratio !== undefined ? `${c.ratio.toFixed(2)}×, ` : '';
    return `<div class="verdict" id="best-over-default"><b>${esc(head)}</b>${esc(what)}<small>${esc(ratio + evidence(c))}</small></div>`;
  }
  if (best?.ratio === undefined) return '';
  if (d.default && best.configId === d.default.configId) return `<div id="best-over-default"><b>1×</b>best over default<small>the default is the best configuration measured</small></div>`;
  return `<div class="verdict" id="best-over-default"><b>${best.ratio.toFixed(3)}×</b>best over default<small class="note">provisional (not confirmed)</small></div>`;
}

/** A best configuration's "× default" cell: confirmed with its evidence, or the exploration's ratio marked provisional. */
function againstCell(b: BestRow): string {
  const c = b.confirmed;
  if (c) {
    const head = c.significant ? `${c.ratio !== undefined ? c.ratio.toFixed(2) : ''} confirmed` : 'no significant difference';
    const ratio = !c.significant && c.ratio !== undefined ? `${c.ratio.toFixed(2)}, ` : '';
    return `<b>${esc(head)}</b><br><span class="sub">${esc(ratio + evidence(c))}</span>`;
  }
  return b.ratio !== undefined ? `${b.ratio.toFixed(3)} <span class="note">provisional</span>` : '';
}

export function reportHtml(d: ReportData, figs: Figure[], opts: HtmlOptions = {}): string {
  const fig = (name: string, caption: string): string => {
    const f = figs.find((x) => x.name === name);
    return f ? `<figure id="fig-${name}">${f.svg}<figcaption>${caption}</figcaption></figure>` : '';
  };
  const e = d.experiment;
  const best = d.best[0];
  const parts: string[] = [];
  parts.push(`<h1>${esc(e.name)}</h1>`);
  parts.push(
    `<p class="sub">experiment <code>${esc(e.id)}</code> · ${esc(e.state)} · strategy ${esc(e.strategy)} · space of ${esc(e.spaceSize)} configurations · report of ${esc(d.generatedAt)}</p>`,
  );
  parts.push('<div class="kpi">');
  parts.push(`<div><b>${d.counts.total}</b>configurations</div><div><b>${d.counts.done}</b>measured</div><div><b>${d.counts.failed}</b>failed</div>`);
  if (d.counts.stopped) parts.push(`<div><b>${d.counts.stopped}</b>stopped early (below the best)</div>`);
  if (d.counts.running) parts.push(`<div><b>${d.counts.running}</b>running</div>`);
  if (d.counts.duplicates) parts.push(`<div><b>${d.counts.duplicates}</b>duplicates (resolved like one measured)</div>`);
  if (best) parts.push(`<div><b>${esc(fmtNum(best.objective))}</b>best ${esc(d.objective.metric)}</div>`);
  if (d.default?.objective !== undefined) parts.push(`<div><b>${esc(fmtNum(d.default.objective))}</b>default</div>`);
  parts.push(againstTile(d));
  parts.push('</div>');

  parts.push('<h2>Every configuration</h2>');
  parts.push(fig('objective', `The objective (${esc(d.objective.metric)}, ${d.objective.direction === 'maximize' ? 'higher is better' : 'lower is better'}) of every measured configuration, sorted; the default is the red diamond, the best circled in green; failed configurations, which have no objective, are counted apart by cause.`));
  parts.push(fig('best-so-far', 'The best objective found after each evaluation (in the order results arrived), as a fraction of the best found (in the objective\'s units when the best is zero or negative), one staircase per strategy that asked for configurations: it holds until an evaluation finds a better configuration (a dot), so it is drawn in steps.'));

  parts.push('<h2>Which parameters matter</h2>');
  if (d.importance) {
    const imp = d.importance;
    parts.push(
      `<p>Method: <b>${esc(imp.method)}</b>. A random forest (${imp.trees} extremely randomised trees) is fitted to the ${imp.samples} measured configurations${imp.scale === 'log10' ? ' (to log10 of the objective, which spans orders of magnitude: shares measure multiplicative effects)' : ''}; the variance of each tree's prediction over the whole space (every parameter uniform over its values) is split exactly into the part each parameter explains alone (main effect), the part each pair explains beyond that (interaction), and the rest. Shares are averaged over the trees; ± is their standard deviation across trees.${imp.cvR2 !== undefined ? ` The surrogate predicts held-out configurations with R² = ${imp.cvR2.toFixed(2)} (${imp.folds}-fold cross-validation)${imp.cvR2 < 0.5 ? ' — <span class="note">low: read the shares with caution</span>' : ''}.` : ''} Failed configurations are left out.</p>`,
    );
    for (const w of imp.warnings) parts.push(`<p class="warning">⚠ ${esc(warningText(w))}</p>`);
    parts.push(fig('importance', 'Share of the variance explained by each parameter (main effect, and its part in the pairwise interactions shown) and by the strongest pairs.'));
    const aliasOf = new Map(imp.warnings.flatMap((w) => (w.kind === 'aliased' ? w.params.map((n) => [n, w.params.filter((m) => m !== n)] as const) : [])));
    const flag = (n: string): string => (aliasOf.has(n) ? ` <span class="note">⚠ aliased with ${esc(aliasOf.get(n)!.join(', '))}</span>` : '');
    parts.push('<div class="scroll"><table id="importance-table"><thead><tr><th>parameter or pair</th><th>main effect / interaction</th><th>± sd</th><th>with its interactions</th></tr></thead><tbody>');
    for (const p of imp.params) parts.push(`<tr><td>${esc(p.name)}${flag(p.name)}</td><td class="num">${pct(p.fraction)}</td><td class="num">${pct(p.std)}</td><td class="num">${pct(p.total)}</td></tr>`);
    for (const p of imp.pairs) parts.push(`<tr><td>${esc(p.names.join(' × '))}</td><td class="num">${pct(p.fraction)}</td><td class="num">${pct(p.std)}</td><td></td></tr>`);
    parts.push('</tbody></table></div>');
  } else {
    parts.push(`<p class="note">No importance analysis: ${esc(d.importanceNote ?? '')}.</p>`);
  }
  parts.push(fig('main-effects', 'For each important parameter: the median objective of the measured configurations with each value and its 95% interval (black), and the surrogate\'s marginal prediction averaged over every other parameter, ±1 sd across trees (blue).'));

  parts.push(workloadHtml(d.byWorkload, d.byWorkloadNote, d.objective.metric, fig));

  parts.push('<h2>Best configurations against the default</h2>');
  if (d.best.length === 0) parts.push('<p>No configuration measured yet.</p>');
  else {
    parts.push(`<div class="scroll"><table><thead><tr><th>#</th><th>configuration</th><th>differs from the default in</th><th>${breakable(d.objective.metric)} (median)</th><th>${esc(MEDIAN_INTERVAL_HEADING)}</th><th>× default</th></tr></thead><tbody>`);
    if (d.default) {
      parts.push(
        `<tr><td>default</td><td><code>${esc(d.default.configId.slice(0, 12))}</code></td><td>${lines(Object.entries(d.default.effective ?? d.default.params).map(([k, v]) => `${k}=${v === null ? 'unset' : String(v)}`))}</td><td class="num">${d.default.status === 'done' ? esc(fmtNum(d.default.objective)) : esc(`${d.default.status}${d.default.failure ? `: ${d.default.failure}` : ''}`)}</td><td class="num">${d.default.ci && d.default.n !== undefined ? esc(intervalCell({ n: d.default.n, ci: d.default.ci, ...(d.default.ciLevel !== undefined ? { ciLevel: d.default.ciLevel } : {}) }, fmtNum)) : ''}</td><td class="num">1</td></tr>`,
      );
    }
    for (const b of d.best) {
      const diff = Object.entries(b.differing).map(([k, [a, v]]) => `${k}: ${String(a)} → ${String(v)}`);
      parts.push(
        `<tr><td>${b.rank}</td><td><code>${esc(b.configId.slice(0, 12))}</code></td><td>${diff.length ? lines(diff) : esc(d.default ? 'nothing (it is the default)' : 'no default measured')}</td><td class="num">${esc(fmtNum(b.objective))}</td><td class="num">${b.ci && b.n !== undefined ? esc(intervalCell({ n: b.n, ci: b.ci, ...(b.ciLevel !== undefined ? { ciLevel: b.ciLevel } : {}) }, fmtNum)) : ''}</td><td class="num">${againstCell(b)}</td></tr>`,
      );
    }
    parts.push('</tbody></table></div>');
    parts.push(
      '<p class="sub">× default: oriented so that more than 1 is better than the default, whichever the direction. <i>Confirmed</i>: the configuration and the default measured again, interleaved; the ratio of their medians with its bootstrap interval and the p-value of a rank test. <i>Provisional</i>: from the exploration alone (a few runs each, the default measured early): the best of many noisy configurations is partly the best by luck.</p>',
    );
  }

  parts.push('<h2>Run statistics</h2>');
  parts.push(fig('run-stats', 'Failed configurations by cause; the coefficient of variation (CV) of the objective over each configuration\'s repeated runs (above 5%: too noisy to compare closely); time spent in builds, in measured runs, and waiting (between a configuration being asked for and its result, beyond its own build and runs).'));
  const s = d.runStats;
  parts.push('<div class="scroll"><table><tbody>');
  parts.push(`<tr><th>failed configurations</th><td>${esc(causes(s.failuresByCause))}</td></tr>`);
  parts.push(`<tr><th>failed runs</th><td>${esc(causes(s.runFailuresByCause))}</td></tr>`);
  if (s.stoppedEarly.count > 0) {
    const st = s.stoppedEarly;
    parts.push(
      `<tr><th>stopped early</th><td>${esc(`${st.count} configurations, after ${st.iterations} of their ${st.of} iterations: each below the best by a one-sided t-test at p < ${st.level?.toPrecision(2)} per look (one as good as the best is stopped with probability at most ${EARLY_STOP_ALPHA * 100}%)`)}</td></tr>`,
    );
  }
  parts.push(
    `<tr><th>CV of repeated runs</th><td>${s.cv.configurations ? esc(`median ${pct(s.cv.median!)}, 90th percentile ${pct(s.cv.p90!)}, max ${pct(s.cv.max!)}; ${s.cv.above5pct} of ${s.cv.configurations} configurations above 5%`) : 'no configuration with repeated runs'}</td></tr>`,
  );
  parts.push(`<tr><th>time</th><td>${esc(`builds ${fmtDuration(s.time.buildMs)} (${s.time.builds}), tests ${fmtDuration(s.time.testMs)} (${s.time.runs} runs), waiting ${fmtDuration(s.time.waitingMs)}, wall clock ${fmtDuration(s.time.wallMs)}`)}</td></tr>`);
  parts.push('</tbody></table></div>');

  parts.push('<h2>Host</h2>');
  parts.push(d.host ? `<div class="scroll"><table><tbody>${flatten(d.host).map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</tbody></table></div>` : '<p>No host facts recorded.</p>');
  parts.push('<h2>Experiment file</h2>');
  parts.push(`<p class="sub"><code>${esc(e.file)}</code> (${esc(e.format)} format, sha256 ${esc(e.hash.slice(0, 16))}…)</p>`);
  parts.push(`<pre id="experiment-file">${esc(e.text)}</pre>`);

  parts.push(`<h2>All configurations</h2><details><summary>${d.configurations.length} configurations (click a heading to sort)</summary>`);
  const names = d.params.map((p) => p.name);
  // Many parameters with long names make this table wider than the page: headings break after
  // underscores, and what is still too wide scrolls inside its own box rather than the page.
  parts.push(`<div class="scroll" id="all-configurations"><table class="sortable"><thead><tr><th>#</th><th>configuration</th><th>status</th>${names.map((n) => `<th>${breakable(n)}</th>`).join('')}<th>${breakable(d.objective.metric)}</th><th>CV</th></tr></thead><tbody>`);
  for (const c of d.configurations) {
    parts.push(
      `<tr><td class="num">${c.seq}</td><td class="nowrap"><code>${esc(c.configId.slice(0, 10))}</code>${c.isDefault ? ' (default)' : ''}</td><td>${esc(c.status === 'duplicate' ? `duplicate of ${(c.duplicateOf ?? '').slice(0, 10)}` : statusCell(c))}</td>${names.map((n) => `<td>${esc(shownValue(c, n))}</td>`).join('')}<td class="num">${esc(c.objective !== undefined ? fmtNum(c.objective) : '')}</td><td class="num">${c.cv !== undefined ? pct(c.cv) : ''}</td></tr>`,
    );
  }
  parts.push('</tbody></table></div></details>');

  // The numbers behind the page, for anyone who wants them without the --json run.
  const json = JSON.stringify(d).replace(/</g, '\\u003c');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${opts.refreshSeconds ? `<meta http-equiv="refresh" content="${Math.max(1, Math.round(opts.refreshSeconds))}">\n` : ''}<title>${esc(`${e.name}: wayfinder report`)}</title>
<style>${STYLE}</style></head>
<body>
${parts.join('\n')}
<script type="application/json" id="report-data">${json}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}

/** A name that may break after its underscores, dots and hyphens (long parameter names in headings). */
function breakable(name: string): string {
  return esc(name).replace(/([_.-])/g, '$1<wbr>');
}

/**
 * Items one per line in a cell; an item of the form "name: change" or "name=value" may break only
 * after the name, so a narrow column keeps each change whole.
 */
function lines(items: string[]): string {
  return items
    .map((i) => {
      const m = /^([^:=]+)([:=] ?)(.*)$/.exec(i);
      return m ? `${esc(m[1]!)}${esc(m[2]!)}<wbr><span class="nowrap">${esc(m[3]!)}</span>` : `<span class="nowrap">${esc(i)}</span>`;
    })
    .join('<br>');
}

function pct(v: number): string {
  return Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : String(v);
}

function causes(c: Record<string, number>): string {
  const e = Object.entries(c).sort((a, b) => b[1] - a[1]);
  return e.length ? e.map(([k, v]) => `${k}: ${v}`).join(', ') : 'none';
}

/** A nested object as dotted keys and printable values. */
function flatten(v: unknown, prefix = ''): [string, string][] {
  if (v === null || typeof v !== 'object') return [[prefix || 'value', String(v)]];
  const out: [string, string][] = [];
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (x !== null && typeof x === 'object' && !Array.isArray(x)) out.push(...flatten(x, key));
    else out.push([key, Array.isArray(x) ? x.map(String).join(', ') : key === 'memoryBytes' ? `${(Number(x) / 2 ** 30).toFixed(1)} GiB` : String(x)]);
  }
  return out;
}

/** A parameter as the build had it (its Kconfig symbol resolved), with what was asked where that differs. */
function shownValue(c: ConfigPoint, name: string): string {
  const asked = c.params[name];
  if (!c.effective || !(name in c.effective)) return String(asked ?? '');
  const v = c.effective[name];
  const shown = v === null ? 'unset' : String(v);
  return v === asked ? shown : `${shown} (asked ${String(asked)})`;
}
