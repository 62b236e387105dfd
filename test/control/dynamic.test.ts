/// <reference lib="dom" />
// `wayfinder dynamic`: a schedule run against static batch sizes and a generated controller of the
// reference dataplane, bounded (two phases of 300 ms), every 1 ms window stored with the knob in
// effect, and the report's figure looked at in Chromium. Bad files end with file:line:column.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDynamicSpec } from '../../src/control/dynamic-spec.js';
import { joinWindows } from '../../src/control/dynamic.js';
import { launchChromium } from '../../src/report/browser.js';
import { Store } from '../../src/store/store.js';
import { CLI, requireTool, tempDir } from '../helpers.js';

requireTool('gcc');
requireTool('chromium');
const t = tempDir('wf-dynamic-');
afterAll(() => t.cleanup());

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync('node', [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
}

describe('wayfinder dynamic', () => {
  it('names file:line:column for a bad file, and exits 2', () => {
    const cases: [string, RegExp][] = [
      ['name: x\nschedule:\n  - { duration: 1ms, flows: 1, rate: 10 }\nstatics: { RX_BATCH_SIZE: [1] }\nbogus: 1\n', /bad\.yaml:5:1: unknown key "bogus"/],
      ['name: x\nschedule:\n  - { duration: 5 parsecs, flows: 1, rate: 10 }\nstatics: { RX_BATCH_SIZE: [1] }\n', /bad\.yaml:3:17: duration must be a duration such as 50us/],
      ['name: x\nschedule:\n  - { duration: 1ms, flows: 0, rate: 10 }\nstatics: { RX_BATCH_SIZE: [1] }\n', /bad\.yaml:3:29: flows must be a whole number ≥ 1/],
      ['name: x\nschedule:\n  - { duration: 1ms, flows: 1, rate: 10 }\n', /bad\.yaml:1:1: nothing to run/],
      ['name: x\nobjective: p42\nschedule:\n  - { duration: 1ms, flows: 1, rate: 10 }\nstatics: { RX_BATCH_SIZE: [1] }\n', /bad\.yaml:2:12: objective must be one of/],
    ];
    for (const [text, want] of cases) {
      const f = join(t.dir, 'bad.yaml');
      writeFileSync(f, text);
      const r = cli(['dynamic', f, '-w', join(t.dir, 'bad-wd')]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(want);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    const good = join(t.dir, 'good.yaml');
    writeFileSync(good, 'name: x\nschedule:\n  - { duration: 1ms, flows: 1, rate: 10 }\nstatics: { RX_BATCH_SIZE: [1] }\n');
    for (const [pin, want] of [
      ['1', /--pin: expected DATAPLANE_CPU,OTHER_CPU/],
      ['0,0', /--pin: the dataplane busy-polls: give it a CPU of its own/],
      ['4096,0', /--pin: CPU 4096 does not exist here/],
    ] as const) {
      const r = cli(['dynamic', good, '-w', join(t.dir, 'bad-wd'), '--pin', pin]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(want);
    }
  });

  it('joins each window with the knob value in effect at its end', () => {
    const start = 1_000_000_000n;
    const rows = [0, 1000, 2000, 3000].map((t_us) => ({ t_us, flows: 1, rate: 1, loss: 0, sent: 1, received: 1, lost: 0, dropped: 0, p50_us: 5, p90_us: 5, p99_us: 5, p999_us: 5, max_us: NaN }));
    // Changes at 0.5 ms and 2.5 ms after the start.
    const trace = [
      { tNs: start - 10n, value: 4 },
      { tNs: start + 500_000n, value: 16 },
      { tNs: start + 2_500_000n, value: 64 },
    ];
    const w = joinWindows(start, 1000, rows, trace, 'RX_BATCH_SIZE');
    expect(w.map((x) => x.knobs.RX_BATCH_SIZE)).toEqual([16, 16, 64, 64]);
    expect(w[0]!.maxUs).toBeNull();
    expect(parseDynamicSpec('name: a\nwindow: 500us\nschedule:\n  - { duration: 2s, flows: 3, rate: 7 }\ncontrollers:\n  - { policy: p.json, period: 50us }\n', '/x/a.yaml')).toMatchObject({
      windowUs: 500,
      schedule: [{ durationMs: 2000, flows: 3, rate: 7, loss: 0 }],
      controllers: [{ policy: '/x/p.json', periodUs: 50, wait: 'sleep', label: 'controller 50 µs' }],
    });
  });

  it('runs the schedule against two static batch sizes and a controller, stores every 1 ms window with its knob, and draws it', async () => {
    // The policy: batch 1 up to 2 flows, 16 beyond (a table where the best batch follows the flows).
    const table = join(t.dir, 'peak.csv');
    writeFileSync(table, 'RX_BATCH_SIZE,FLOWS,throughput\n1,1,100\n16,1,50\n1,16,50\n16,16,100\n');
    const learn = cli(['learn', '--table', table, '--objective', 'throughput', '--workload', 'FLOWS', '--out', join(t.dir, 'policy.json')]);
    expect(learn.status, learn.stderr).toBe(0);
    const file = join(t.dir, 'ramp.yaml');
    writeFileSync(
      file,
      `name: ramp-test
window: 1ms
objective: p99_us
dataplane: { batch: 4, controller-timeout-ms: 100 }
schedule:
  - { duration: 300ms, flows: 1, rate: 2000 }
  - { duration: 300ms, flows: 16, rate: 4000 }
statics:
  RX_BATCH_SIZE: [1, 16]
controllers:
  - { policy: policy.json, period: 1ms, label: controller }
`,
    );
    const wd = join(t.dir, 'wd');
    // Pinned where there are two CPUs: the dataplane on CPU 1, the generator and controller on 0.
    const pinned = availableParallelism() >= 2;
    const r = cli(['dynamic', file, '-w', wd, '--json', ...(pinned ? ['--pin', '1,0'] : [])]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { report: string; runs: { id: number; variant: string; windows: number }[] };
    expect(out.runs.map((x) => x.variant)).toEqual(['static RX_BATCH_SIZE=1', 'static RX_BATCH_SIZE=16', 'controller']);

    const store = new Store(join(wd, 'wayfinder.db'));
    try {
      const runs = store.dynamicRuns('ramp-test');
      expect(runs).toHaveLength(3);
      for (const run of runs) expect(run.summary.cpus).toBe(pinned ? 'dataplane 1, controller 0, load generator 0' : undefined);
      for (const run of runs) {
        const w = store.dynamicWindows(run.id);
        expect(w).toHaveLength(600);
        expect(w.map((x) => x.tUs)).toEqual(Array.from({ length: 600 }, (_, i) => i * 1000));
        expect(w[0]!.flows).toBe(1);
        expect(w[599]!.flows).toBe(16);
        expect(run.loadavg).toMatch(/^\d+\.\d+ \d+\.\d+ \d+\.\d+$/);
        const sent = w.reduce((s, x) => s + x.sent, 0);
        expect(sent).toBe(run.summary.requests);
        expect(w.filter((x) => x.sent > 0).every((x) => x.p99Us !== null && x.p99Us > 0)).toBe(true);
        const knobs = new Set(w.map((x) => x.knobs.RX_BATCH_SIZE));
        if (run.kind === 'static') expect([...knobs]).toEqual([run.params.RX_BATCH_SIZE]);
        else {
          // The controller: batch 1 while one flow is seen, 16 by the end of the 16-flow phase.
          expect(w[250]!.knobs.RX_BATCH_SIZE).toBe(1);
          expect(w[599]!.knobs.RX_BATCH_SIZE).toBe(16);
          expect(Number(run.summary.controller_published)).toBeGreaterThanOrEqual(2);
        }
      }
    } finally {
      store.close();
    }

    // The report's figure, looked at: inside the page's column, a line per variant, the knob's steps.
    expect(existsSync(out.report)).toBe(true);
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      await page.setViewportSize({ width: 1000, height: 900 });
      await page.goto(`file://${out.report}`);
      const look = await page.evaluate(() => {
        const svg = document.querySelector('svg')!;
        const box = svg.getBoundingClientRect();
        const body = document.body.getBoundingClientRect();
        const texts = [...svg.querySelectorAll('text')].map((x) => x.getBoundingClientRect());
        return {
          inside: box.left >= body.left - 1 && box.right <= body.right + 1,
          textsInside: texts.every((r) => r.left >= box.left - 1 && r.right <= box.right + 1 && r.top >= box.top - 1 && r.bottom <= box.bottom + 1),
          series: new Set([...svg.querySelectorAll('polyline.series')].map((p) => p.getAttribute('stroke'))).size,
          knobSteps: svg.querySelectorAll('polyline.knob').length,
          legend: [...svg.querySelectorAll('text.legend')].map((x) => x.textContent),
          scrolls: document.documentElement.scrollWidth > document.documentElement.clientWidth,
        };
      });
      expect(look).toMatchObject({ inside: true, textsInside: true, series: 3, knobSteps: 1, scrolls: false });
      expect(look.legend).toEqual(['static RX_BATCH_SIZE=1', 'static RX_BATCH_SIZE=16', 'controller']);
      await page.locator('svg').first().screenshot({ path: join(t.dir, 'dynamic.png') });
      if (process.env.WAYFINDER_LOOK_DIR) writeFileSync(join(process.env.WAYFINDER_LOOK_DIR, 'dynamic.png'), readFileSync(join(t.dir, 'dynamic.png')));
    } finally {
      await browser.close();
    }
  });
});
