// `wayfinder plan` from the command line: run's flags change the plan as they change the run, and
// an objective naming a metric no parser produces stops plan and run (before anything is measured)
// at its line and column with the closest name.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, wayfinder, writeFile } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

function dir(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

const FILE = `name: flags
params:
  - { name: A, type: integer, min: 1, max: 6, default: 3 }
  - { name: B, type: boolean, default: false }
test: { run: "echo v=1" }
metrics:
  - { name: http, parser: wrk }
objective: { metric: http.requests_per_sec, direction: maximize }
exploration: { strategy: grid, budget: 4 }
`;

interface PlanJson {
  strategy: string; seed: number; parallel: number; budget?: number; configurations: string;
  order: { default: boolean; config: Record<string, unknown> }[]; chosenFromMeasurements?: string;
}

describe('wayfinder plan', () => {
  it('takes run\'s --budget, --strategy, --seed and --parallel', async () => {
    const file = writeFile(dir(), 'e.yaml', FILE);
    const base = JSON.parse((await wayfinder(['plan', file, '--json'])).stdout) as PlanJson;
    expect(base).toMatchObject({ strategy: 'grid', budget: 4, parallel: 1, configurations: '4' });
    expect(base.order.map((o) => o.default)).toEqual([true, false, false, false]);
    expect(base.order[0]?.config).toEqual({ A: 3, B: false });

    const r = await wayfinder(['plan', file, '--json', '--budget', '7', '--strategy', 'random', '--seed', '5', '--parallel', '2']);
    expect(r.status, r.stderr).toBe(0);
    const p = JSON.parse(r.stdout) as PlanJson;
    expect(p).toMatchObject({ strategy: 'random', budget: 7, seed: 5, parallel: 2, configurations: '7' });
    expect(p.order).toHaveLength(7);
    const other = JSON.parse((await wayfinder(['plan', file, '--json', '--budget', '7', '--strategy', 'random', '--seed', '6'])).stdout) as PlanJson;
    expect(other.order.map((o) => o.config)).not.toEqual(p.order.map((o) => o.config));

    const b = JSON.parse((await wayfinder(['plan', file, '--json', '--strategy', 'bayesian', '--budget', '10'])).stdout) as PlanJson;
    expect(b.order.length).toBeLessThan(10);
    expect(Number(b.chosenFromMeasurements) + b.order.length).toBe(10);

    const text = await wayfinder(['plan', file, '--strategy', 'bayesian', '--budget', '10']);
    expect(text.stdout).toContain('run measures 10 configurations: bayesian search, seed 1, budget 10, 1 in parallel');
    expect(text.stdout).toMatch(/1\. [0-9a-f]{8} {2}default: A=3 B=false/);
    expect(text.stdout).toMatch(/then \d+ more, chosen by the bayesian strategy from what it measures/);

    const bad = await wayfinder(['plan', file, '--strategy', 'grdi']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--strategy: unknown strategy "grdi"');
  });

  it('a misspelt objective metric stops plan and run at its line and column, with the closest name, before anything runs', async () => {
    const d = dir();
    const file = writeFile(d, 'typo.yaml', FILE.replace('http.requests_per_sec', 'http.request_per_sec'));
    for (const args of [['plan', file], ['run', file, '--workdir', join(d, 'w')]]) {
      const r = await wayfinder(args);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`${file}:8:22: objective metric 'http.request_per_sec' is produced by no metrics entry; did you mean 'http.requests_per_sec'?`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(existsSync(join(d, 'w'))).toBe(false);
  });
});
