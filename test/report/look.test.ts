/// <reference lib="dom" />
// The report looked at in Chromium, and measured: nothing wider than the page's column (wide tables
// scroll in their own box), every label inside its figure, best-so-far drawn as steps, ticks on
// every axis, and the importance warnings where the shares are.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { chromiumPath, launchChromium } from '../../src/report/browser.js';
import { renderReport, type ReportData } from '../../src/report/index.js';
import { ROOT, requireTool, tempDir, wayfinder, writeFile } from '../helpers.js';
import { measure, openExperiment } from './fill.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

function temp(): string {
  const { dir, cleanup } = tempDir('wf-report-look-');
  cleanups.push(cleanup);
  return dir;
}

// Eleven knobs with long names (the all-configurations table is far wider than the page), one
// that matters a lot (keep-alive off), one a little (access log off), and noise from /dev/urandom.
const EXPERIMENT = `
name: report-look
params:
  - { name: NGINX_WORKER_PROCESSES, type: string, only: ["auto", "1", "2"], default: "auto", when: test }
  - { name: NGINX_ACCESS_LOG, type: boolean, default: true, when: test }
  - { name: NGINX_SENDFILE, type: boolean, default: true, when: test }
  - { name: NGINX_KEEPALIVE_TIMEOUT, type: integer, only: [0, 5, 75], default: 75, when: test }
  - { name: NGINX_OPEN_FILE_CACHE, type: boolean, default: false, when: test }
  - { name: TCP_CONGESTION_CONTROL, type: string, only: [cubic, reno, bbr], default: cubic, when: test }
  - { name: TCP_AUTOCORKING, type: integer, only: [0, 1], default: 1, when: test }
  - { name: TCP_SLOW_START_AFTER_IDLE, type: integer, only: [0, 1], default: 1, when: test }
  - { name: SOMAXCONN, type: integer, min: 128, max: 4096, step: 32, step_mode: power, default: 4096, when: test }
  - { name: TCP_RMEM_MAX, type: integer, only: [1048576, 6291456, 16777216], default: 6291456, when: test }
  - { name: TCP_WMEM_MAX, type: integer, only: [1048576, 4194304, 16777216], default: 4194304, when: test }
test:
  name: t
  run: 'k=0; [ "$NGINX_KEEPALIVE_TIMEOUT" = 0 ] && k=1; a=0; [ "$NGINX_ACCESS_LOG" = false ] && a=1; echo "requests_per_sec: $(( 40000 - k * 25000 + a * 4000 + $(od -An -N2 -tu2 /dev/urandom) % 3000 ))"'
  iterations: 3
metrics:
  - { name: requests_per_sec, parser: regex, pattern: 'requests_per_sec: (\\d+)' }
objective: { metric: requests_per_sec, direction: maximize }
exploration: { strategy: random, budget: 16, parallel: 2, seed: 1 }
`;

/** Everything on the page that sticks out of the body's content box, except inside a box that scrolls. */
async function outsideColumn(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > doc.clientWidth) problems.push(`the page scrolls sideways: ${doc.scrollWidth} > ${doc.clientWidth}`);
    const body = document.body;
    if (body.scrollWidth > body.clientWidth) problems.push(`the main column overflows: ${body.scrollWidth} > ${body.clientWidth}`);
    const cs = getComputedStyle(body);
    const box = body.getBoundingClientRect();
    const left = box.left + parseFloat(cs.paddingLeft) - 1;
    const right = box.right - parseFloat(cs.paddingRight) + 1;
    const name = (el: Element): string => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.getAttribute('class') ? `.${el.getAttribute('class')}` : ''}`;
    for (const el of body.querySelectorAll('*')) {
      if (el.closest('svg') !== null && el.tagName.toLowerCase() !== 'svg') continue;
      const scroller = el.parentElement?.closest('.scroll, pre');
      if (scroller) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.left < left || r.right > right) problems.push(`${name(el)} spans ${Math.round(r.left)}–${Math.round(r.right)}, the column ${Math.round(left)}–${Math.round(right)}`);
    }
    for (const t of body.querySelectorAll('table')) {
      const sc = t.parentElement!;
      if (!sc.classList.contains('scroll') || !['auto', 'scroll'].includes(getComputedStyle(sc).overflowX)) problems.push(`a table (${t.rows[0]?.textContent?.slice(0, 40)}) is not inside a box that scrolls`);
    }
    return problems;
  });
}

/** Text of each figure drawn outside its SVG (the viewBox, as the SVG is scaled uniformly). */
async function outsideFigures(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    for (const fig of document.querySelectorAll('figure')) {
      const svg = fig.querySelector('svg')!;
      const s = svg.getBoundingClientRect();
      for (const t of svg.querySelectorAll('text')) {
        const r = t.getBoundingClientRect();
        if (r.width === 0) continue;
        if (r.left < s.left - 0.5 || r.right > s.right + 0.5 || r.top < s.top - 0.5 || r.bottom > s.bottom + 0.5) {
          problems.push(`${fig.id}: "${t.textContent}" at ${Math.round(r.left - s.left)}–${Math.round(r.right - s.left)} × ${Math.round(r.top - s.top)}–${Math.round(r.bottom - s.top)} in ${Math.round(s.width)} × ${Math.round(s.height)}`);
        }
      }
    }
    return problems;
  });
}

interface AxisInfo {
  figure: string;
  axis: string;
  ticks: number;
  labels: string[];
  overlapping: boolean;
}

/** Each axis of each figure: its tick marks, their labels, and whether two labels overlap. */
async function axes(page: Page): Promise<AxisInfo[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll('figure g.axis')].map((g) => {
      const texts = [...g.querySelectorAll('text:not(.axis-title)')];
      const rects = texts.map((t) => t.getBoundingClientRect());
      let overlapping = false;
      for (let i = 0; i < rects.length; i++) {
        for (let j = i + 1; j < rects.length; j++) {
          const a = rects[i]!;
          const b = rects[j]!;
          if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5) overlapping = true;
        }
      }
      return {
        figure: g.closest('figure')!.id,
        axis: g.getAttribute('class')!,
        ticks: g.querySelectorAll('line.tick').length,
        labels: texts.map((t) => t.textContent ?? ''),
        overlapping,
      };
    }),
  );
}

/** The best-so-far paths as their commands: [command, numbers]. */
async function stepPaths(page: Page): Promise<[string, number[]][][]> {
  const ds = await page.locator('#fig-best-so-far svg path.best-so-far').evaluateAll((ps) => ps.map((p) => p.getAttribute('d') ?? ''));
  return ds.map((d) => [...d.matchAll(/([A-Za-z])([^A-Za-z]*)/g)].map((m) => [m[1]!, m[2]!.trim().split(/[\s,]+/).filter(Boolean).map(Number)]));
}

async function look(page: Page, file: string, widths: number[], shot: string): Promise<void> {
  for (const w of widths) {
    await page.setViewportSize({ width: w, height: 900 });
    await page.goto(`file://${file}`);
    await page.locator('details').evaluateAll((ds) => ds.forEach((d) => ((d as HTMLDetailsElement).open = true)));
    expect(await outsideColumn(page), `at ${w} px`).toEqual([]);
    expect(await outsideFigures(page), `at ${w} px`).toEqual([]);
    mkdirSync(join(ROOT, 'tmp'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'tmp', `${shot}-${w}.png`), fullPage: true });
  }
}

describe('the report, looked at in Chromium', () => {
  it('a real run: fits its column, labels inside figures, best-so-far in steps, ticks on every axis', async () => {
    requireTool(chromiumPath(), 'chromium');
    const dir = temp();
    const file = writeFile(dir, 'exp.yaml', EXPERIMENT);
    const workdir = join(dir, '.wayfinder');
    const run = await wayfinder(['run', '--no-confirm', '--no-early-stop', file, '--workdir', workdir, '--quiet'], { cwd: dir, timeoutMs: 180_000 });
    expect(run.status, run.stderr).toBe(0);
    const out = join(dir, 'report');
    const r = await wayfinder(['report', '--workdir', workdir, '--out', out, '--json', '--no-png'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const data = JSON.parse(r.stdout) as ReportData;

    const browser = await launchChromium({ scale: 1 });
    try {
      const page = await browser.context.newPage();
      await look(page, join(out, 'report.html'), [1280, 760], 'report-look');

      // Without the scrolling box the table of every configuration would be far wider than the column.
      const table = await page.locator('#all-configurations').evaluate((el) => ({ box: el.clientWidth, table: el.querySelector('table')!.scrollWidth }));
      expect(table.table).toBeGreaterThan(table.box);

      // Best-so-far: one staircase; only horizontal and vertical moves, never worse, rising at each improvement.
      const [steps, ...more] = await stepPaths(page);
      expect(more).toEqual([]);
      expect(await page.locator('#fig-best-so-far svg polyline').count()).toBe(0);
      expect(steps![0]![0]).toBe('M');
      expect(steps!.slice(1).every(([c, n]) => (c === 'H' || c === 'V') && n.length === 1)).toBe(true);
      const vs = steps!.filter(([c]) => c === 'V').map(([, n]) => n[0]!);
      const startY = steps![0]![1][1]!;
      // Maximizing: higher is better, drawn upwards (smaller y) at every rise (a rise of a few
      // requests in 46,000 can round to the same pixel); the last is the top of the axis, 1.
      [startY, ...vs].reduce((a, b) => (expect(b).toBeLessThanOrEqual(a), b));
      expect(startY - vs[vs.length - 1]!).toBeGreaterThan(10);
      const values = data.bestSoFar[0]!.values.filter((v): v is number => v !== null);
      const improvements = values.filter((v, i) => i > 0 && v !== values[i - 1]).length;
      expect(vs).toHaveLength(improvements);
      expect(await page.locator('#fig-best-so-far svg circle.improvement').count()).toBe(improvements + 1);

      // Ticks on every axis, each with its label, none printed over another.
      const all = await axes(page);
      const of = (fig: string, axis: string): AxisInfo[] => all.filter((a) => a.figure === fig && a.axis === `axis ${axis}`);
      for (const [fig, axis] of [
        ['fig-objective', 'x'],
        ['fig-objective', 'y'],
        ['fig-best-so-far', 'x'],
        ['fig-best-so-far', 'y'],
        ['fig-importance', 'x'],
      ] as const) {
        expect(of(fig, axis), `${fig} ${axis}`).toHaveLength(1);
      }
      const panels = await page.locator('#fig-main-effects svg text.effect-title').count();
      expect(panels).toBeGreaterThan(0);
      expect(of('fig-main-effects', 'x')).toHaveLength(panels);
      expect(of('fig-main-effects', 'y')).toHaveLength(panels);
      for (const a of all) {
        expect(a.ticks, `${a.figure} ${a.axis}`).toBeGreaterThanOrEqual(2);
        expect(a.labels.length, `${a.figure} ${a.axis}: ${a.labels.join(' ')}`).toBe(a.ticks);
        expect(a.overlapping, `${a.figure} ${a.axis}: ${a.labels.join(' ')}`).toBe(false);
      }
      // The best-so-far's x axis counts evaluations from 1 to the last.
      const bx = of('fig-best-so-far', 'x')[0]!.labels;
      expect([bx[0], bx[bx.length - 1]]).toEqual(['1', String(data.bestSoFar[0]!.values.length)]);

      // Pair labels: both names in full, inside the figure (checked above), none cut on the left.
      // (Each label's first text node: the full name follows in its <title>, shown on hover.)
      const pairLabels = await page.locator('#fig-importance svg text.label').evaluateAll((ts) => ts.map((t) => t.firstChild?.textContent ?? ''));
      for (const p of data.importance!.pairs) expect(pairLabels).toEqual(expect.arrayContaining([`${p.names[0]} ×`, p.names[1]]));

      // Not confirmed (--no-confirm): the headline tile gives the exploration's ratio and says it is provisional.
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.goto(`file://${join(out, 'report.html')}`);
      const tile = page.locator('#best-over-default');
      expect(await tile.innerText()).toMatch(/^\d\.\d{3}×\s+best over default\s+provisional \(not confirmed\)$/);

      // Confirmed on demand (the best and the default measured again, interleaved): the tile now
      // gives the confirmed comparison, with its interval, p and n, or says there is no
      // significant difference; so does the best row's "× default" cell.
      const c = await wayfinder(['confirm', '--workdir', workdir, '--json', '--pairs', '8'], { cwd: dir, timeoutMs: 180_000 });
      expect(c.status, c.stderr).toBe(0);
      const verdict = (JSON.parse(c.stdout) as { comparison: { ratio: number; ci: [number, number]; pValue: number; significant: boolean; n: number } }).comparison;
      const r2 = await wayfinder(['report', '--workdir', workdir, '--out', out, '--no-png'], { cwd: dir });
      expect(r2.status, r2.stderr).toBe(0);
      await look(page, join(out, 'report.html'), [1280, 760], 'report-look-confirmed');
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.goto(`file://${join(out, 'report.html')}`);
      await page.locator('.kpi').screenshot({ path: join(ROOT, 'tmp', 'report-look-confirmed-tile.png') });
      const evidence = `${verdict.ci[0].toFixed(2)}–${verdict.ci[1].toFixed(2)}, p${verdict.pValue < 0.001 ? '<0.001' : `=${verdict.pValue < 0.01 ? verdict.pValue.toFixed(3) : verdict.pValue.toFixed(2)}`}, n=${verdict.n} interleaved runs each`;
      const shown = (await tile.innerText()).replace(/\s+/g, ' ');
      if (verdict.significant) expect(shown).toBe(`${verdict.ratio.toFixed(2)}× best over default, confirmed 95% CI ${evidence}`);
      else expect(shown).toBe(`no significant difference best against default, confirmed runs ${verdict.ratio.toFixed(2)}×, 95% CI ${evidence}`);
      expect(shown).not.toContain('provisional');
      const cell = (await page.locator('table').filter({ hasText: 'differs from the default in' }).locator('tbody tr').nth(1).locator('td').last().innerText()).replace(/\s+/g, ' ');
      expect(cell).toContain(`95% CI ${evidence}`);
    } finally {
      await browser.close();
    }
  }, 240_000);

  it('a run with a workload dimension: the by-workload tables and the policy tree fit too', async () => {
    requireTool(chromiumPath(), 'chromium');
    const dir = temp();
    // The best batch grows with the connections: a policy of three leaves; names as long as real ones.
    const file = writeFile(
      dir,
      'exp.yaml',
      `name: report-look-workload
workload:
  - { name: CONNECTIONS_PER_WORKER_THREAD, type: integer, only: [10, 100, 1000], default: 100 }
params:
  - { name: RECEIVE_BATCH_SIZE, type: integer, only: [1, 8, 64], default: 1, when: test }
  - { name: INTERRUPT_COALESCING_MICROSECONDS, type: integer, only: [0, 50], default: 0, when: test }
test:
  name: t
  run: 'c=$CONNECTIONS_PER_WORKER_THREAD; b=$RECEIVE_BATCH_SIZE; echo "score: $(( 1000 + (c >= 1000 ? b * 20 : (c >= 100 ? (b == 8 ? 300 : 0) : (b == 1 ? 200 : 0))) + INTERRUPT_COALESCING_MICROSECONDS + $(od -An -N2 -tu2 /dev/urandom) % 30 ))"'
  iterations: 3
metrics:
  - { name: score, parser: regex, pattern: 'score: (\\d+)' }
objective: { metric: score, direction: maximize }
exploration: { strategy: grid, budget: 18, parallel: 2, seed: 1 }
`,
    );
    const workdir = join(dir, '.wayfinder');
    const run = await wayfinder(['run', '--no-confirm', '--no-early-stop', file, '--workdir', workdir, '--quiet'], { cwd: dir, timeoutMs: 180_000 });
    expect(run.status, run.stderr).toBe(0);
    const out = join(dir, 'report');
    const r = await wayfinder(['report', '--workdir', workdir, '--out', out, '--no-png'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const browser = await launchChromium({ scale: 1 });
    try {
      const page = await browser.context.newPage();
      await look(page, join(out, 'report.html'), [1280, 760], 'report-look-workload');
      expect(await page.locator('#fig-policy-tree svg text', { hasText: 'leaf 2' }).count()).toBe(1);
    } finally {
      await browser.close();
    }
  }, 240_000);

  it('warns beside the shares when parameters are aliased or the points fewer than the parameters', async () => {
    requireTool(chromiumPath(), 'chromium');
    const dir = temp();
    const names = ['LOG_TO_FILE', 'SENDFILE_FOR_STATIC_FILES_WHEN_POSSIBLE', 'KEEPALIVE', 'CACHE', 'NODELAY', 'NOPUSH', 'REUSEPORT', 'MULTI_ACCEPT'];
    const f = openExperiment(
      dir,
      `name: aliased
params:
${names.map((n) => `  - { name: ${n}, type: boolean, default: false }`).join('\n')}
test:
  run: 'true'
metrics:
  - { name: latency, parser: regex, pattern: '(\\d+)' }
objective: { metric: latency, direction: minimize }
`,
    );
    cleanups.push(() => f.store.close());
    // Seven configurations for eight parameters; the first two always set together; MULTI_ACCEPT never set.
    const rows: [boolean, boolean, boolean, boolean, boolean, boolean, boolean][] = [
      [false, false, false, false, false, false, false],
      [true, true, false, true, false, true, false],
      [true, true, true, false, true, false, false],
      [false, false, true, true, false, false, true],
      [true, true, false, false, true, true, true],
      [false, false, true, true, true, false, false],
      [true, true, true, false, false, true, true],
    ];
    rows.forEach((r, i) => {
      const config = Object.fromEntries(names.map((n, k) => [n, k < 7 ? r[k]! : false]));
      measure(f, config, [200 + (r[0] ? 50 : 0) + (r[2] ? 300 : 0) + i, 201 + i], { isDefault: i === 0 });
    });
    const rep = renderReport(f.store, f.id);
    expect(rep.json.importance!.warnings).toEqual([
      { kind: 'few-points', points: 7, params: 8 },
      { kind: 'constant', params: ['MULTI_ACCEPT'] },
      { kind: 'aliased', params: ['LOG_TO_FILE', 'SENDFILE_FOR_STATIC_FILES_WHEN_POSSIBLE'] },
    ]);
    const file = join(dir, 'report.html');
    writeFileSync(file, rep.html);

    const browser = await launchChromium({ scale: 1 });
    try {
      const page = await browser.context.newPage();
      await look(page, file, [1280, 760], 'report-look-aliased');
      // On the page, right before the importance figure and its table.
      const warnings = await page.locator('p.warning').allTextContents();
      expect(warnings).toHaveLength(3);
      expect(warnings[0]).toContain('Only 7 measured configurations for 8 parameters');
      expect(warnings[1]).toContain('MULTI_ACCEPT was never varied');
      expect(warnings[2]).toContain('LOG_TO_FILE and SENDFILE_FOR_STATIC_FILES_WHEN_POSSIBLE moved together');
      const order = await page.evaluate(() => {
        const w = document.querySelector('p.warning')!;
        const fig = document.querySelector('#fig-importance')!;
        return Boolean(w.compareDocumentPosition(fig) & Node.DOCUMENT_POSITION_FOLLOWING);
      });
      expect(order).toBe(true);
      expect(await page.locator('#importance-table tr', { hasText: 'LOG_TO_FILE' }).first().textContent()).toContain('aliased with SENDFILE_FOR_STATIC_FILES_WHEN_POSSIBLE');
      // In the figure too, so its PNG carries them.
      const inFigure = (await page.locator('#fig-importance svg text.warning').allTextContents()).join(' ');
      expect(inFigure).toContain('aliased');
      expect(inFigure).toContain('7 measured configurations for 8 parameters');
      expect(await page.locator('#fig-importance svg text.label', { hasText: 'LOG_TO_FILE ⚠' }).count()).toBe(1);
    } finally {
      await browser.close();
    }

    // Enough points, nothing aliased, everything varied: no warning.
    const clean = openExperiment(temp(), `name: clean\nparams:\n  - { name: A, type: integer, only: [0, 1, 2], default: 0 }\n  - { name: B, type: integer, only: [0, 1], default: 0 }\ntest:\n  run: 'true'\nmetrics:\n  - { name: score, parser: regex, pattern: '(\\d+)' }\nobjective: { metric: score, direction: maximize }\n`);
    cleanups.push(() => clean.store.close());
    for (const [a, b] of [[0, 0], [1, 0], [2, 0], [0, 1], [1, 1], [2, 1]] as const) measure(clean, { A: a, B: b }, [10 + a + 5 * b], { isDefault: a === 0 && b === 0 });
    const ok = renderReport(clean.store, clean.id);
    expect(ok.json.importance!.warnings).toEqual([]);
    expect(ok.html).not.toContain('class="warning"');
  }, 120_000);
});
