// The end of `wayfinder run` on an experiment with a workload dimension: the best configuration per
// workload point and what the best static configuration loses there, not one best across points.

import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir, wayfinder, writeFile } from '../helpers.js';

const t = tempDir('wf-sumwl-');
afterAll(() => t.cleanup());

/**
 * score = 100 - 10 |log2 BATCH - log2 FLOWS| + (NOISE=off): the best BATCH is FLOWS, NOISE off
 * everywhere. Each point's best scores 101; the best static configuration is BATCH=2 NOISE=off
 * (91, 101, 91: regrets 9.9%, 0, 9.9%).
 */
const EXPERIMENT = `
name: batch-follows-flows
params:
  - { name: BATCH, type: integer, only: [1, 2, 4], default: 1, when: test }
  - { name: NOISE, type: string, only: [on, off], default: off, when: test }
workload:
  - { name: FLOWS, type: integer, only: [1, 2, 4], default: 1 }
test:
  name: t
  run: 'b=0; x=$BATCH; while [ $x -gt 1 ]; do x=$((x/2)); b=$((b+1)); done; f=0; x=$FLOWS; while [ $x -gt 1 ]; do x=$((x/2)); f=$((f+1)); done; d=$((b-f)); [ $d -lt 0 ] && d=$((-d)); n=0; [ "$NOISE" = off ] && n=1; echo "score: $((100 - 10*d + n))"'
  iterations: 1
metrics:
  - { name: score, parser: regex, pattern: 'score: (\\d+)' }
objective: { metric: score, direction: maximize }
exploration: { strategy: grid }
`;

interface Summary {
  workloadPoint?: Record<string, number>;
  best: { params: Record<string, unknown>; objective: number } | null;
  byWorkload?: {
    features: string[];
    knobs: string[];
    perPoint: { point: Record<string, number>; best?: { params: Record<string, unknown>; value: number }; default?: number | null; static: { value?: number; regret?: number } }[];
    static: { params: Record<string, unknown>; mean: number; max: number };
  };
}

describe('the summary of a run with a workload dimension', () => {
  const workdir = join(t.dir, '.wayfinder');
  const file = writeFile(t.dir, 'exp.yaml', EXPERIMENT);

  it('prints the best configuration per workload point, the default and the best static one there', async () => {
    const r = await wayfinder(['run', file, '--workdir', workdir, '--no-confirm'], { cwd: t.dir, timeoutMs: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    // The best against the default only at the default's workload point, where the default is best.
    expect(r.stdout).toContain("At the default's workload point, FLOWS=1");
    expect(r.stdout).toContain('Default is the best configuration measured.');
    expect(r.stdout).toMatch(/By workload point \(FLOWS\)/);
    const rows = r.stdout.split('\n').filter((l) => /^\s+[124]\s+BATCH=/.test(l)).map((l) => l.trim().split(/\s{2,}/));
    expect(rows).toEqual([
      ['1', 'BATCH=1 NOISE=off', '101.0', '101.0', '91.00', '9.9%'],
      ['2', 'BATCH=2 NOISE=off', '101.0', '91.00', '101.0', '0.0%'],
      ['4', 'BATCH=4 NOISE=off', '101.0', '81.00', '91.00', '9.9%'],
    ]);
    expect(r.stdout).toContain('Best static configuration BATCH=2 NOISE=off: loses 6.6% on average and 9.9% at worst');
  }, 300_000);

  it('gives the same in --json, with best chosen at the default\'s workload point', async () => {
    // Run again: everything is measured, so it only summarises.
    const r = await wayfinder(['run', file, '--workdir', workdir, '--no-confirm', '--json'], { cwd: t.dir, timeoutMs: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s.workloadPoint).toEqual({ FLOWS: 1 });
    expect(s.best?.params).toMatchObject({ FLOWS: 1, BATCH: 1, NOISE: 'off' });
    expect(s.byWorkload?.features).toEqual(['FLOWS']);
    expect(s.byWorkload?.knobs).toEqual(['BATCH', 'NOISE']);
    expect(s.byWorkload?.perPoint.map((p) => [p.point.FLOWS, p.best?.params.BATCH, p.best?.value, p.default])).toEqual([
      [1, 1, 101, 101],
      [2, 2, 101, 91],
      [4, 4, 101, 81],
    ]);
    expect(s.byWorkload?.static.params).toEqual({ BATCH: 2, NOISE: 'off' });
    expect(s.byWorkload?.static.mean).toBeCloseTo((2 * 10) / 101 / 3, 6);
  }, 300_000);
});
