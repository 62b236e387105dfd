// `wayfinder learn` and `wayfinder policy decide` as a person runs them: on a recorded table, on an
// experiment measured through `wayfinder run` in a temporary work directory (a test command whose
// score depends on a knob and a workload parameter), and on bad input (located errors, exit 2).

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, wayfinder, writeFile } from '../helpers.js';
import { syntheticCsv } from '../policy/synthetic.js';

const t = tempDir('wf-learn-');
afterAll(() => t.cleanup());

/** Score = 100 - 10 * |log2 BATCH - log2 FLOWS|: the best BATCH is FLOWS; NOISE changes nothing. */
const EXPERIMENT = `
name: batch-follows-flows
params:
  - { name: BATCH, type: integer, only: [1, 2, 4, 8], default: 1, when: test }
  - { name: NOISE, type: string, only: [on, off], default: off, when: test }
workload:
  - { name: FLOWS, type: integer, only: [1, 2, 4, 8], default: 1 }
test:
  name: t
  run: 'b=0; x=$BATCH; while [ $x -gt 1 ]; do x=$((x/2)); b=$((b+1)); done; f=0; x=$FLOWS; while [ $x -gt 1 ]; do x=$((x/2)); f=$((f+1)); done; d=$((b-f)); [ $d -lt 0 ] && d=$((-d)); echo "score: $((100 - 10*d))"'
  iterations: 1
metrics:
  - { name: score, parser: regex, pattern: 'score: (\\d+)' }
objective: { metric: score, direction: maximize }
`;

function noStack(stderr: string): void {
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('wayfinder learn on an experiment run here', () => {
  const workdir = join(t.dir, '.wayfinder');
  beforeAll(async () => {
    const file = writeFile(t.dir, 'exp.yaml', EXPERIMENT);
    const r = await wayfinder(['run', file, '--workdir', workdir, '--quiet'], { cwd: t.dir, timeoutMs: 240_000 });
    expect(r.status, r.stderr).toBe(0);
  }, 300_000);

  it("uses the experiment's workload dimension, finds BATCH = FLOWS, and writes a policy that decide reads", async () => {
    const policy = join(t.dir, 'policy.json');
    const r = await wayfinder(['learn', '--workdir', workdir, '--json', '--out', policy]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      features: string[];
      knobs: string[];
      measured: number;
      perPoint: { point: { FLOWS: number }; best: { params: { BATCH: number }; value: number } }[];
      adaptation: { name: string; adapt: boolean }[];
      static: { max: number };
    };
    expect(out.features).toEqual(['FLOWS']);
    expect(out.knobs).toEqual(['BATCH', 'NOISE']);
    expect(out.measured).toBe(32);
    for (const p of out.perPoint) {
      expect(p.best.params.BATCH).toBe(p.point.FLOWS);
      expect(p.best.value).toBe(100);
    }
    expect(out.adaptation.filter((a) => a.adapt).map((a) => a.name)).toEqual(['BATCH']);
    // Static best: BATCH 2 or 4, at worst two steps off: 100 against 80.
    expect(out.static.max).toBeCloseTo(0.2, 6);
    for (const flows of [1, 2, 4, 8]) {
      const d = await wayfinder(['policy', 'decide', policy, `FLOWS=${flows}`, '--json']);
      expect(d.status, d.stderr).toBe(0);
      expect(JSON.parse(d.stdout)).toMatchObject({ params: { BATCH: flows }, fallback: false });
    }
    const outside = await wayfinder(['policy', 'decide', policy, 'FLOWS=16']);
    expect(outside.status).toBe(0);
    expect(outside.stdout).toMatch(/fallback: FLOWS=16 is outside the trained 1\.\.8/);
  });

  it('prints the tables for a person, and the report gains a "by workload" section', async () => {
    const r = await wayfinder(['learn', 'batch-follows-flows', '--workdir', workdir]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Learned from experiment batch-follows-flows');
    expect(r.stdout).toMatch(/FLOWS\s+best configuration\s+score\s+static/);
    expect(r.stdout).toMatch(/BATCH\s+yes/);
    expect(r.stdout).toMatch(/NOISE\s+no/);
    expect(r.stdout).toMatch(/Policy: 4 leaves, depth 2, trained on FLOWS 1\.\.8/);
    const out = join(t.dir, 'report');
    const rep = await wayfinder(['report', '--workdir', workdir, '--out', out, '--no-png', '--json']);
    expect(rep.status, rep.stderr).toBe(0);
    const data = JSON.parse(rep.stdout) as { byWorkload?: { features: string[]; perPoint: unknown[]; policy: { leaves: unknown[] } } };
    expect(data.byWorkload?.features).toEqual(['FLOWS']);
    expect(data.byWorkload?.perPoint).toHaveLength(4);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('By workload');
    expect(html).toMatch(/<figure id="fig-policy-tree"><svg/);
    expect(readFileSync(join(out, 'figures', 'policy-tree.svg'), 'utf8')).toContain('BATCH=8');
  });

  it('learns the same from the experiment\'s CSV export as from the store', async () => {
    const csv = await wayfinder(['results', '--workdir', workdir, '--format', 'csv']);
    expect(csv.status, csv.stderr).toBe(0);
    const table = writeFile(t.dir, 'export.csv', csv.stdout);
    const [fromTable, fromStore] = await Promise.all([
      wayfinder(['learn', '--table', table, '--objective', 'objective', '--workload', 'FLOWS', '--json']),
      wayfinder(['learn', '--workdir', workdir, '--json']),
    ]);
    expect(fromTable.status, fromTable.stderr).toBe(0);
    const a = JSON.parse(fromTable.stdout) as { perPoint: unknown; static: unknown; policy: { tree: unknown; leaves: unknown } };
    const b = JSON.parse(fromStore.stdout) as typeof a;
    expect(a.perPoint).toEqual(b.perPoint);
    expect(a.static).toEqual(b.static);
    expect(a.policy.tree).toEqual(b.policy.tree);
    expect(a.policy.leaves).toEqual(b.policy.leaves);
  });

  it('refuses knobs that leave two configurations indistinguishable', async () => {
    const r = await wayfinder(['learn', '--workdir', workdir, '--params', 'BATCH']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/configuration \w+ and configuration \w+ are both BATCH=\d, FLOWS=\d: aggregate repeated measurements into one, or name every parameter that tells them apart with --params/);
    noStack(r.stderr);
  });

  it('refuses a workload dimension the experiment does not have', async () => {
    const r = await wayfinder(['learn', '--workdir', workdir, '--workload', 'LOSS']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--workload: "LOSS" is not a parameter of experiment batch-follows-flows');
    noStack(r.stderr);
  });
});

describe('wayfinder learn on an experiment whose workload never moved', () => {
  it('refuses to learn, and the report says why it has no policy', async () => {
    const dir = join(t.dir, 'still');
    const file = writeFile(t.dir, 'still.yaml', EXPERIMENT.replace('name: batch-follows-flows', 'name: still').replace('only: [1, 2, 4, 8], default: 1 }\ntest', 'only: [4], default: 4 }\ntest'));
    expect(readFileSync(file, 'utf8')).toContain('only: [4], default: 4 }');
    const run = await wayfinder(['run', file, '--workdir', dir, '--quiet'], { cwd: t.dir, timeoutMs: 240_000 });
    expect(run.status, run.stderr).toBe(0);
    const r = await wayfinder(['learn', '--workdir', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--workload: no workload dimension has two measured values: nothing to adapt to');
    noStack(r.stderr);
    const rep = await wayfinder(['report', '--workdir', dir, '--out', join(dir, 'report'), '--no-png', '--json']);
    expect(rep.status, rep.stderr).toBe(0);
    const data = JSON.parse(rep.stdout) as { byWorkload?: unknown; byWorkloadNote?: string };
    expect(data.byWorkload).toBeUndefined();
    expect(data.byWorkloadNote).toContain('no workload dimension has two measured values');
    expect(readFileSync(join(dir, 'report', 'report.html'), 'utf8')).toContain('No policy: no workload dimension has two measured values');
  }, 300_000);
});

describe('wayfinder learn on a table', () => {
  const table = join(t.dir, 'syn.csv');
  beforeAll(() => writeFileSync(table, syntheticCsv()));

  it('writes policy.json and the C header, and says where', async () => {
    const r = await wayfinder(['learn', '--table', table, '--objective', 'throughput', '--workload', 'FLOWS', '--out', join(t.dir, 'p.json'), '--c', join(t.dir, 'p.h'), '--max-depth', '3']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`policy written to ${join(t.dir, 'p.json')}; C header written to ${join(t.dir, 'p.h')}`);
    expect(r.stdout).toMatch(/interpolation \(.*\): mean \d\.\d%/);
    expect(JSON.parse(readFileSync(join(t.dir, 'p.json'), 'utf8'))).toMatchObject({ format: 'wayfinder-policy', version: 1 });
    expect(readFileSync(join(t.dir, 'p.h'), 'utf8')).toContain('wf_policy_decide(const double *x)');
  });

  it('a --fallback given is what decide answers outside the range', async () => {
    const p = join(t.dir, 'given.json');
    const r = await wayfinder(['learn', '--table', table, '--objective', 'throughput', '--workload', 'FLOWS', '--fallback', 'BATCH=64,X=a,Y=0', '--out', p, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const d = await wayfinder(['policy', 'decide', p, 'FLOWS=1000', '--json']);
    expect(JSON.parse(d.stdout)).toEqual({ params: { BATCH: 64, X: 'a', Y: 0 }, leaf: null, fallback: true });
  });

  const bad: [string, string[], RegExp][] = [
    ['an unknown workload column', ['--workload', 'FLOW'], /--workload: "FLOW" is not a parameter column of .*syn\.csv/],
    ['a workload that is also a knob', ['--workload', 'FLOWS', '--params', 'BATCH,FLOWS'], /--params: "FLOWS" is a workload dimension/],
    ['a missing --workload', [], /--workload: with --table, name the workload columns/],
    ['a bad --max-depth', ['--workload', 'FLOWS', '--max-depth', '0'], /--max-depth: expected a whole number ≥ 1, got "0"/],
    ['a bad --tolerance', ['--workload', 'FLOWS', '--tolerance', 'lots'], /--tolerance: expected a share/],
    ['a fallback missing a knob', ['--workload', 'FLOWS', '--fallback', 'BATCH=8'], /--fallback: give every knob a value; missing X, Y/],
    ['a fallback value of no knob', ['--workload', 'FLOWS', '--fallback', 'BATCH=8,X=zz,Y=true'], /--fallback: Y=true is not a value of Y/],
  ];
  for (const [what, args, message] of bad) {
    it(`refuses ${what} with exit 2 and no stack`, async () => {
      const r = await wayfinder(['learn', '--table', table, '--objective', 'throughput', ...args]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
      noStack(r.stderr);
    });
  }

  it('points at the table cell that is wrong', async () => {
    const broken = join(t.dir, 'broken.csv');
    const lines = syntheticCsv().split('\n');
    lines[3] = lines[3]!.replace(/,[^,]*$/, ',fast');
    writeFileSync(broken, lines.join('\n'));
    const r = await wayfinder(['learn', '--table', broken, '--objective', 'throughput', '--workload', 'FLOWS']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${broken}:4:${lines[3]!.lastIndexOf(',') + 2}: column "throughput": "fast" is not a number`);
    noStack(r.stderr);
  });

  it('refuses a non-numeric workload column', async () => {
    const r = await wayfinder(['learn', '--table', table, '--objective', 'throughput', '--workload', 'X']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--workload: workload dimension "X" has the value "a" at .*syn\.csv data row 1; a policy splits on numbers only/);
  });
});

describe('wayfinder policy decide on bad input', () => {
  it('points at the line and column of a broken or wrong policy file', async () => {
    const good = join(t.dir, 'good.json');
    const l = await wayfinder(['learn', '--table', writeFile(t.dir, 's.csv', syntheticCsv()), '--objective', 'throughput', '--workload', 'FLOWS', '--out', good]);
    expect(l.status, l.stderr).toBe(0);
    const text = readFileSync(good, 'utf8');

    const cut = writeFile(t.dir, 'cut.json', text.slice(0, text.indexOf('"knobs"') + 9));
    let r = await wayfinder(['policy', 'decide', cut, 'FLOWS=3']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${cut}:\\d+:\\d+: not a policy file \\(not JSON`));
    noStack(r.stderr);

    const lines = text.split('\n');
    const at = lines.findIndex((x) => x.includes('"leaf": 3'));
    lines[at] = lines[at]!.replace('"leaf": 3', '"leaf": 30');
    const wrong = writeFile(t.dir, 'wrong.json', lines.join('\n'));
    r = await wayfinder(['policy', 'decide', wrong, 'FLOWS=3']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${wrong}:${at + 1}:${lines[at]!.indexOf('30') + 1}: leaf 30 does not exist (7 leaves)`);

    const newer = writeFile(t.dir, 'newer.json', text.replace('"version": 1', '"version": 2'));
    r = await wayfinder(['policy', 'decide', newer, 'FLOWS=3']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/newer\.json:3:\d+: policy format version 2; this wayfinder reads version 1/);

    for (const [args, message] of [
      [['FLOWS=x'], /"FLOWS=x": FLOWS must be a number/],
      [['LOSS=3'], /LOSS is not a feature of this policy \(features: FLOWS\)/],
      [[], /missing FLOWS=VALUE/],
    ] as const) {
      r = await wayfinder(['policy', 'decide', good, ...args]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
      noStack(r.stderr);
    }
    r = await wayfinder(['policy', 'decide', join(t.dir, 'none.json'), 'FLOWS=1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('none.json:1:1: cannot read the policy: no such file');
  });
});
