import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chromiumPath, launchChromium } from '../../src/report/browser.js';
import { summarize } from '../../src/metrics/stats.js';
import { renderReport, type ReportData } from '../../src/report/index.js';
import { ROOT, requireTool, tempDir, wayfinder, writeFile } from '../helpers.js';
import { measure, openExperiment } from './fill.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

function temp(): string {
  const { dir, cleanup } = tempDir('wf-report-');
  cleanups.push(cleanup);
  return dir;
}

// A, B, C and NOISE; the score rewards A and, much more, B xor C; NOISE does nothing, but A=4 with
// NOISE=z fails. Each iteration adds its number, so repeated runs vary a little.
const EXPERIMENT = `
name: report-cli
params:
  - { name: A, type: integer, only: [1, 2, 3, 4], default: 1, when: test }
  - { name: B, type: integer, only: [0, 1], default: 0, when: test }
  - { name: C, type: integer, only: [0, 1], default: 0, when: test }
  - { name: NOISE, type: string, only: [x, y, z], default: x, when: test }
test:
  name: t
  run: 'if [ "$A" = 4 ] && [ "$NOISE" = z ]; then echo "refused" >&2; exit 3; fi; echo "score: $(( 100 + A * 20 + (B ^ C) * 300 + WAYFINDER_ITERATION ))"'
  iterations: 3
metrics:
  - { name: score, parser: regex, pattern: 'score: (\\d+)' }
objective: { metric: score, direction: maximize }
exploration: { strategy: random, budget: 48, parallel: 2, seed: 3 }
`;

describe('wayfinder report', () => {
  it('reports a real run: HTML, JSON, SVG and PNG figures; the page draws its figures in Chromium without errors or network', async () => {
    requireTool(chromiumPath(), 'chromium');
    const dir = temp();
    const file = writeFile(dir, 'exp.yaml', EXPERIMENT);
    const workdir = join(dir, '.wayfinder');
    const run = await wayfinder(['run', '--no-confirm', '--no-early-stop', file, '--workdir', workdir, '--quiet'], { cwd: dir, timeoutMs: 180_000 });
    expect(run.status, run.stderr).toBe(0);

    const out = join(dir, 'report');
    const r = await wayfinder(['report', '--workdir', workdir, '--out', out], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(join(out, 'report.html'));
    const figs = readdirSync(join(out, 'figures')).sort();
    const names = ['best-so-far', 'importance', 'main-effects', 'objective', 'run-stats'];
    expect(figs).toEqual(names.flatMap((n) => [`${n}.png`, `${n}.svg`]));
    for (const n of names) {
      expect(readFileSync(join(out, 'figures', `${n}.png`)).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      expect(readFileSync(join(out, 'figures', `${n}.svg`), 'utf8')).toMatch(/^<\?xml[^>]*>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    }

    // --json prints the same numbers report.json holds.
    const j = await wayfinder(['report', '--workdir', workdir, '--out', join(dir, 'again'), '--json', '--no-png'], { cwd: dir });
    expect(j.status, j.stderr).toBe(0);
    const data = JSON.parse(j.stdout) as ReportData;
    const saved = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ReportData;
    expect({ ...data, generatedAt: '' }).toEqual({ ...saved, generatedAt: '' });
    expect(readdirSync(join(dir, 'again', 'figures')).every((f) => f.endsWith('.svg'))).toBe(true);

    // The numbers agree with what was measured: 48 configurations, the 4 with A=4 and NOISE=z failed.
    expect(data.counts).toEqual({ total: 48, done: 44, failed: 4, stopped: 0, running: 0, duplicates: 0 });
    expect(data.runStats.failuresByCause).toEqual({ exit: 4 });
    expect(data.runStats.time.runs).toBe(44 * 3 + 4);
    expect(data.runStats.cv.configurations).toBe(44);
    // Iterations 0, 1, 2 add their number: the median adds 1.
    expect(data.default?.objective).toBe(121);
    expect(data.best[0]!.objective).toBe(481);
    expect(data.best[0]!.ratio).toBeCloseTo(481 / 121, 9);
    expect(data.best[0]!.differing.A).toEqual([1, 4]);
    expect([...data.importance!.pairs[0]!.names].sort()).toEqual(['B', 'C']);
    expect(data.importance!.params[data.importance!.params.length - 1]!.name).toBe('NOISE');
    expect(data.bestSoFar.map((s) => s.strategy)).toEqual(['random']);
    expect(data.bestSoFar[0]!.values).toHaveLength(48);

    // Open it as a person would, with every request outside the file refused and recorded.
    const browser = await launchChromium({ scale: 1 });
    try {
      const errors: string[] = [];
      const remote: string[] = [];
      await browser.context.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
        remote.push(url);
        return route.abort();
      });
      const page = await browser.context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => errors.push(e.message));
      await page.setViewportSize({ width: 1100, height: 900 });
      await page.goto(`file://${join(out, 'report.html')}`);
      expect(await page.locator('#fig-objective svg circle.config').count()).toBe(44);
      expect(await page.locator('#fig-objective svg path.default').count()).toBe(1);
      expect(await page.locator('#fig-objective svg path.failed').count()).toBe(4);
      expect(await page.locator('#fig-best-so-far svg path.best-so-far').count()).toBe(1);
      expect(await page.locator('#fig-importance svg rect.param').count()).toBe(4);
      expect(await page.locator('#fig-importance svg rect.pair').count()).toBe(5);
      expect(await page.locator('#fig-importance svg').textContent()).toContain('functional ANOVA');
      expect(await page.locator('#fig-main-effects svg circle.effect').count()).toBeGreaterThan(4);
      expect(await page.locator('#fig-run-stats svg rect.stat').count()).toBeGreaterThan(2);
      // Figures are laid out with a real size, not collapsed.
      const box = await page.locator('#fig-objective svg').boundingBox();
      expect(box!.width).toBeGreaterThan(400);
      expect(box!.height).toBeGreaterThan(200);
      expect(await page.locator('#experiment-file').textContent()).toContain('name: report-cli');
      expect(await page.locator('h2', { hasText: 'Host' }).count()).toBe(1);
      expect(await page.textContent('body')).toContain('cpu.cores');
      // The inline script sorts the configurations table by a column.
      await page.locator('details summary').click();
      await page.locator('table.sortable th', { hasText: 'score' }).click();
      const first = await page.locator('table.sortable tbody tr').first().locator('td').nth(7).textContent();
      expect(Number(first)).toBe(Math.min(...data.configurations.filter((c) => c.objective !== undefined).map((c) => c.objective!)));
      // Embedded data is the report's JSON.
      const embedded = JSON.parse((await page.locator('#report-data').textContent())!) as ReportData;
      expect(embedded.counts).toEqual(data.counts);
      mkdirSync(join(ROOT, 'tmp'), { recursive: true });
      await page.screenshot({ path: join(ROOT, 'tmp', 'report-screenshot.png'), fullPage: true });
      expect(errors).toEqual([]);
      expect(remote).toEqual([]);
    } finally {
      await browser.close();
    }
    expect(existsSync(join(ROOT, 'tmp', 'report-screenshot.png'))).toBe(true);
  }, 240_000);

  it('refuses bad input with status 2 and a message naming it', async () => {
    const dir = temp();
    const none = await wayfinder(['report', '--workdir', join(dir, 'nowhere')]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/no results in .*nowhere.*wayfinder\.db/);
    expect(none.stderr).not.toMatch(/at .*\.js:\d+/);
    const f = openExperiment(dir, 'name: tiny\nparams:\n  - { name: A, type: integer, only: [0, 1], default: 0 }\ntest:\n  run: "true"\nmetrics:\n  - { name: score, parser: regex, pattern: "(\\\\d+)" }\nobjective: { metric: score, direction: maximize }\n');
    f.store.close();
    const unknown = await wayfinder(['report', 'nosuch', '--workdir', dir]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('no experiment "nosuch"');
    const top = await wayfinder(['report', '--workdir', dir, '--top', '0', '--no-png']);
    expect(top.status).toBe(2);
    expect(top.stderr).toContain('--top');
    const chrome = await wayfinder(['report', '--workdir', dir, '--out', join(dir, 'out')], { env: { WAYFINDER_CHROMIUM: join(dir, 'no-chromium') } });
    expect(chrome.status).toBe(2);
    expect(chrome.stderr).toMatch(/no Chromium at .*no-chromium.*--no-png/);
    // Everything but the PNGs was written before the browser was needed.
    expect(existsSync(join(dir, 'out', 'report.html'))).toBe(true);
  });
});

describe('renderReport', () => {
  it('reports a running experiment (for the daemon): running configurations counted, page refreshes, strategies drawn apart', () => {
    const dir = temp();
    const f = openExperiment(
      dir,
      `name: live
params:
  - { name: A, type: integer, only: [1, 10, 100, 1000], default: 1 }
  - { name: B, type: string, only: [u, v], default: u }
test:
  run: 'true'
metrics:
  - { name: latency, parser: regex, pattern: '(\\d+)' }
objective: { metric: latency, direction: minimize }
`,
    );
    cleanups.push(() => f.store.close());
    measure(f, { A: 1000, B: 'u' }, [5000, 5100, 4900], { isDefault: true, strategy: 'grid' });
    measure(f, { A: 100, B: 'u' }, [500, 520, 480], { strategy: 'grid' });
    measure(f, { A: 10, B: 'v' }, { failure: 'timeout' }, { strategy: 'bayesian' });
    measure(f, { A: 1, B: 'v' }, [5, 6, 4], { strategy: 'bayesian' });
    measure(f, { A: 10, B: 'u' }, [50, 52, 49], { strategy: 'bayesian' });
    // Asked for, not finished yet.
    f.store.addConfiguration({ experimentId: f.id, configId: 'inflight', buildId: 'b', params: { A: 1, B: 'u' }, isDefault: false, strategy: 'bayesian' });

    const r = renderReport(f.store, f.id, { refreshSeconds: 5 });
    expect(r.html).toContain('<meta http-equiv="refresh" content="5">');
    expect(r.json.counts).toEqual({ total: 6, done: 4, failed: 1, stopped: 0, running: 1, duplicates: 0 });
    // Minimizing: the best is the lowest, and the ratio says how many times better than the default.
    expect(r.json.best[0]!.objective).toBe(5);
    expect(r.json.best[0]!.ratio).toBeCloseTo(5000 / 5, 9);
    expect(r.json.best[0]!.ci).toEqual(summarize([5, 6, 4]).ci);
    expect(r.json.best[0]!.differing).toEqual({ A: [1000, 1], B: ['u', 'v'] });
    expect(r.json.bestSoFar).toEqual([
      { strategy: 'grid', values: [5000, 500] },
      { strategy: 'bayesian', values: [null, 5, 5] },
    ]);
    const objective = r.figures.find((x) => x.name === 'objective')!.svg;
    // 5 to 5000 spans three orders of magnitude: a log axis.
    expect(objective).toContain('log scale');
    expect(objective).toContain('running: 1');
    expect(objective).toMatch(/timeout 1/);
    expect(r.figures.find((x) => x.name === 'best-so-far')!.svg.match(/class="best-so-far"/g)).toHaveLength(2);
    expect(r.json.importance).toBeUndefined();
    expect(r.json.runStats.failuresByCause).toEqual({ timeout: 1 });
    expect(r.json.runStats.runFailuresByCause).toEqual({ timeout: 1 });
    expect(r.json.runStats.cv.configurations).toBe(4);
    expect(r.json.host).toMatchObject({ hostname: 'test-host' });
  });

  it('renders an experiment with nothing measured yet, with only failures, and with a best of zero', () => {
    const yaml = (direction: string): string =>
      `name: edge\nparams:\n  - { name: A, type: integer, only: [0, 1], default: 0 }\ntest:\n  run: 'true'\nmetrics:\n  - { name: errors, parser: regex, pattern: '(\\d+)' }\nobjective: { metric: errors, direction: ${direction} }\n`;
    const open = (direction: string) => {
      const f = openExperiment(temp(), yaml(direction));
      cleanups.push(() => f.store.close());
      return f;
    };
    const empty = open('maximize');
    let r = renderReport(empty.store, empty.id);
    expect(r.json.counts.total).toBe(0);
    expect(r.figures.map((x) => x.name)).toEqual(['objective', 'run-stats']);
    expect(r.figures[0]!.svg).toContain('no configuration measured yet');
    expect(r.html).toContain('No configuration measured yet');

    measure(empty, { A: 0 }, { failure: 'build' }, { isDefault: true });
    measure(empty, { A: 1 }, { failure: 'exit' });
    r = renderReport(empty.store, empty.id);
    expect(r.json.runStats.failuresByCause).toEqual({ build: 1, exit: 1 });
    expect(r.figures[0]!.svg).toContain('the default failed');
    expect(r.json.best).toEqual([]);

    // Minimizing a count of errors down to 0: no ratio to the best exists, the values are drawn instead.
    const zero = open('minimize');
    measure(zero, { A: 0 }, [4, 4], { isDefault: true });
    measure(zero, { A: 1 }, [0, 0]);
    r = renderReport(zero.store, zero.id);
    expect(r.json.best.map((b) => b.objective)).toEqual([0, 4]);
    expect(r.json.best[0]!.ratio).toBeUndefined();
    const bsf = r.figures.find((x) => x.name === 'best-so-far')!.svg;
    // In steps, in the objective's units: 4 after the first evaluation, 0 from the second.
    expect(bsf).toMatch(/<path class="best-so-far" d="M[\d.]+ [\d.]+ H[\d.]+ V[\d.]+ H[\d.]+"/);
    expect(bsf).toContain('best errors so far');
    expect(bsf).toContain('evaluations (2,');
  });

  it('best over default: the stored confirmation (ratio, 95% CI, p, n, or no significant difference), else provisional; the same in results', async () => {
    const dir = temp();
    const f = openExperiment(
      dir,
      `name: verdict\nparams:\n  - { name: A, type: integer, only: [0, 1, 2], default: 0 }\ntest:\n  run: 'true'\nmetrics:\n  - { name: rps, parser: regex, pattern: '(\\d+)' }\nobjective: { metric: rps, direction: maximize }\n`,
    );
    cleanups.push(() => f.store.close());
    const dflt = measure(f, { A: 0 }, [100, 104, 98], { isDefault: true });
    const best = measure(f, { A: 1 }, [130, 126, 129]);
    const tile = (html: string): string => /<div class="verdict" id="best-over-default">(.*?)<\/div>/.exec(html)?.[1] ?? '';
    const text = (html: string): string => tile(html).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();

    // Nothing confirmed: the exploration's ratio, said to be provisional, in the tile and the column.
    let r = renderReport(f.store, f.id);
    expect(r.json.bestAgainstDefault).toEqual({ confirmed: false, ratio: 1.29, text: 'Best is 1.290× the default: provisional (not confirmed).' });
    expect(text(r.html)).toBe('1.290× best over default provisional (not confirmed)');
    expect(r.html).toContain('1.290 <span class="note">provisional</span>');

    // Confirmed and significant: the confirmed ratio with its interval, p and n, not the exploration's.
    const confirmed = {
      bestConfigId: best, defaultConfigId: dflt, metric: 'rps', direction: 'maximize' as const,
      ratio: 1.21, ci: [1.08, 1.59] as [number, number], pValue: 0.003, significant: true, n: 8,
      confidence: 0.95, looks: 5, alphaPerLook: 0.01, stopped: 'decided' as const, samples: { best: [121, 125, 119], default: [100, 102, 99] }, measuredAt: 1_700_000_000_000,
    };
    f.store.recordComparison(f.id, confirmed);
    r = renderReport(f.store, f.id);
    expect(r.json.bestAgainstDefault.confirmed).toBe(true);
    expect(r.json.bestAgainstDefault.text).toBe('Confirmed: the best is 1.21× (95% CI 1.08–1.59, p=0.003) faster than the default (8 interleaved runs each of rps).');
    expect(text(r.html)).toBe('1.21× best over default, confirmed 95% CI 1.08–1.59, p=0.003, n=8 interleaved runs each');
    expect(r.html).not.toContain('1.290');
    expect(r.json.best[0]!.confirmed).toEqual(confirmed);

    // The table and the JSON of `results` say the same.
    let out = await wayfinder(['results', '--workdir', dir]);
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout.replace(/\n\s*/g, ' ')).toContain('Confirmed: the best is 1.21× (95% CI 1.08–1.59, p=0.003) faster than the default (8 interleaved runs each of rps).');
    out = await wayfinder(['results', '--workdir', dir, '--format', 'json']);
    const json = JSON.parse(out.stdout) as { ratio: number; comparison: Record<string, unknown> };
    expect(json.ratio).toBeCloseTo(1.29, 6);
    expect(json.comparison).toMatchObject({ best: best, default: dflt, ratio: 1.21, ci: [1.08, 1.59], pValue: 0.003, significant: true, n: 8 });

    // A later confirmation that found no difference: said so, with what it rests on.
    f.store.recordComparison(f.id, { ...confirmed, ratio: 1.02, ci: [0.95, 1.1], pValue: 0.41, significant: false, n: 15, stopped: 'cap', measuredAt: confirmed.measuredAt + 1 });
    r = renderReport(f.store, f.id);
    expect(text(r.html)).toBe('no significant difference best against default, confirmed runs 1.02×, 95% CI 0.95–1.10, p=0.41, n=15 interleaved runs each');
    out = await wayfinder(['results', '--workdir', dir]);
    expect(out.stdout.replace(/\n\s*/g, ' ')).toContain('Not confirmed: no significant difference from the default (1.02×, 95% CI 0.95–1.10, p=0.41, 15 interleaved runs each of rps;');

    // A resumed run found another best since: the verdict was of another configuration, so the
    // headline is the exploration's again, provisional.
    measure(f, { A: 2 }, [150, 151, 149]);
    r = renderReport(f.store, f.id);
    expect(r.json.bestAgainstDefault.confirmed).toBe(false);
    expect(text(r.html)).toBe('1.500× best over default provisional (not confirmed)');
    // ...while the row of the configuration that was confirmed keeps its own verdict.
    expect(r.json.best.map((b) => b.confirmed !== undefined)).toEqual([false, true, false]);
  });
});
