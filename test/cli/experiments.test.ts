// A work directory holding an exploration and a later regress measurement, read as a user would:
// `wayfinder experiments` lists both; `results` and `report` without an argument take the
// exploration (the last one run), not the measurement; the exports carry every raw sample.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, wayfinder, writeFile } from '../helpers.js';

const EXP = `name: listed
params:
  - { name: A, type: integer, min: 1, max: 4, default: 2 }
  - { name: B, type: boolean, default: true }
  - { name: C, type: string, only: [x, y], default: x, if: "B == true" }
test:
  run: 'echo "v=$(( A * 10 + $WAYFINDER_ITERATION ))"'
  iterations: 3
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: minimize }
exploration: { strategy: grid, budget: 6 }
`;

let dir = '';
let cleanup = () => {};
let workdir = '';
let exploration = '';

beforeAll(async () => {
  ({ dir, cleanup } = tempDir());
  workdir = join(dir, '.wayfinder');
  const file = writeFile(dir, 'listed.yaml', EXP);
  const run = await wayfinder(['run', file, '--workdir', workdir, '--json', '--no-confirm', '--no-early-stop']);
  expect(run.status, run.stderr).toBe(0);
  exploration = (JSON.parse(run.stdout) as { experiment: string }).experiment;
  const regress = await wayfinder(['regress', file, '--workdir', workdir, '--iterations', '3', '--json']);
  expect(regress.status, regress.stderr).toBe(0);
}, 120_000);
afterAll(() => cleanup());

describe('a work directory with an exploration and a regress measurement', () => {
  it('`experiments` lists both, the last run last, with what each is and its best', async () => {
    const r = await wayfinder(['experiments', '--workdir', workdir, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const list = (JSON.parse(r.stdout) as { experiments: { id: string; kind: string; state: string; done: number; failed: number; best: { value: number } | null }[] }).experiments;
    expect(list.map((e) => e.kind)).toEqual(['exploration', 'regress']);
    expect(list[0]).toMatchObject({ id: exploration, state: 'done', done: 6, failed: 0, stopped: 0, best: { value: 11 } });
    expect(list[1]).toMatchObject({ state: 'done', done: 1, best: { value: 21 } });
    const text = await wayfinder(['experiments', '--workdir', workdir]);
    // The objective both share is said once, above the table.
    expect(text.stdout.split('\n')[0]).toBe('objective: min v');
    expect(text.stdout).toMatch(new RegExp(`^${exploration}\\s+grid\\s+done\\s+6\\s+0\\s+0\\s+11\\.00\\s+\\d\\d:\\d\\d$`, 'm'));
    expect(text.stdout).toMatch(/^listed-[0-9a-f]+-regress-\S+\s+regress\s+done\s+1\s+0\s+0\s+21\.00\s+\d\d:\d\d$/m);
    expect(text.stdout).toContain(`without an argument take ${exploration}`);
  });

  it('`results` and `report` without an argument take the exploration, sorted best first', async () => {
    const json = JSON.parse((await wayfinder(['results', '--workdir', workdir, '--format', 'json'])).stdout) as {
      experiment: string; configurations: { objective: number; runs: { iteration: number; metrics: { v: number }; placement: { cpus: number[] } }[] }[];
    };
    expect(json.experiment).toBe(exploration);
    expect(json.configurations.map((c) => c.objective)).toEqual([...json.configurations.map((c) => c.objective)].sort((a, b) => a - b));
    for (const c of json.configurations) {
      expect(c.runs.map((s) => s.iteration)).toEqual([0, 1, 2]);
      expect(c.runs.map((s) => s.metrics.v - c.runs[0]!.metrics.v)).toEqual([0, 1, 2]);
      for (const s of c.runs) expect(s.placement.cpus.length).toBeGreaterThan(0);
    }
    const report = await wayfinder(['report', '--workdir', workdir, '--json', '--no-png', '--out', join(dir, 'report')]);
    expect(report.status, report.stderr).toBe(0);
    expect((JSON.parse(report.stdout) as { experiment: { id: string } }).experiment.id).toBe(exploration);

    const table = await wayfinder(['results', '--workdir', workdir]);
    const lines = table.stdout.trimEnd().split('\n');
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(100);
    const data = lines.filter((l) => /^[0-9a-f]{8}/.test(l));
    expect(data).toHaveLength(6);
    // B=false rows leave C blank: the value column after B is empty.
    expect(data.filter((l) => /\sfalse\s{2,}\d/.test(l)).length).toBeGreaterThan(0);
    expect(table.stdout).toContain('a blank parameter is inactive');

    const csv = (await wayfinder(['results', '--workdir', workdir, '--format', 'csv'])).stdout.trim().split('\n');
    const head = csv[0]!.split(',');
    expect(head).toEqual(expect.arrayContaining(['samples.iteration', 'samples.v', 'samples.cpus', 'samples.host']));
    expect(csv[1]!.split(',')[head.indexOf('samples.iteration')]).toBe('0 1 2');
  });

  it('a regress measurement is still read when named', async () => {
    const list = (JSON.parse((await wayfinder(['experiments', '--workdir', workdir, '--json'])).stdout) as { experiments: { id: string }[] }).experiments;
    const m = await wayfinder(['results', list[1]!.id, '--workdir', workdir, '--format', 'json']);
    expect((JSON.parse(m.stdout) as { experiment: string }).experiment).toBe(list[1]!.id);
  });
});
