// A whole `wayfinder run` (SQLite, BullMQ on an embedded Redis, process jobs) with early stopping:
// configurations clearly below the best are stopped after fewer iterations, recorded as such in the
// results, and the best is the one a run measuring every iteration finds.

import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, wayfinder, writeFile } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

// A in 1..8, five iterations; the objective is about A * 100 with a percent or two of scatter
// (deterministic per configuration and iteration), so every A is clearly apart from the others.
const YAML = `
name: early-stop
params:
  - { name: A, type: integer, min: 1, max: 8, default: 4, when: test }
test:
  name: t
  run: 'echo "v=$(( A * 100 + ((A * 7 + WAYFINDER_ITERATION * 3) % 5 - 2) * A ))"'
  iterations: 5
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { strategy: grid, parallel: 1 }
`;

interface Row {
  status: string;
  failure?: string;
  error?: string;
  stopped_after?: number;
  stopped_of?: number;
  stopped_p?: number;
  stopped_level?: number;
  objective: number | null;
  A: number;
  runs?: unknown[];
}

async function measure(flags: string[]): Promise<{ rows: Row[]; stderr: string; table: string }> {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const file = writeFile(dir, 'exp.yaml', YAML);
  const wd = join(dir, '.wayfinder');
  const r = await wayfinder(['run', file, '--workdir', wd, '--no-confirm', ...flags], { cwd: dir });
  expect(r.status, r.stderr).toBe(0);
  const json = await wayfinder(['results', '--workdir', wd, '--format', 'json']);
  expect(json.status, json.stderr).toBe(0);
  const table = await wayfinder(['results', '--workdir', wd]);
  return { rows: (JSON.parse(json.stdout) as { configurations: Row[] }).configurations, stderr: r.stderr, table: table.stdout };
}

describe('wayfinder run: early stopping', () => {
  it('stops configurations below the best after one of five iterations; --no-early-stop measures them all; the best is the same', async () => {
    const on = await measure([]);
    const off = await measure(['--no-early-stop']);
    // The default (A=4) is measured in full first: A=1..3 are clearly below it; 5..8 each the best when measured.
    const stopped = on.rows.filter((r) => r.failure === 'stopped');
    expect(stopped.map((r) => r.A).sort()).toEqual([1, 2, 3]);
    for (const r of stopped) {
      expect(r).toMatchObject({ status: 'failed', stopped_after: 1, stopped_of: 5, objective: null });
      expect(r.stopped_p).toBeLessThan(r.stopped_level as number);
      expect(r.error).toMatch(/^stopped early after 1 of 5 iterations, below the best with p=/);
    }
    expect(off.rows.some((r) => r.failure === 'stopped')).toBe(false);
    expect(off.rows.every((r) => r.status === 'done')).toBe(true);
    const runsOf = (rows: Row[]): number => rows.reduce((n, r) => n + (r.runs?.length ?? 0), 0);
    expect(runsOf(off.rows)).toBe(8 * 5);
    expect(runsOf(on.rows)).toBe(8 * 5 - 3 * 4);
    const best = (rows: Row[]): Row | undefined => rows.filter((r) => r.status === 'done').sort((a, b) => (b.objective ?? 0) - (a.objective ?? 0))[0];
    expect(best(on.rows)?.A).toBe(8);
    expect(best(on.rows)?.objective).toBe(best(off.rows)?.objective);
    // Said as it happens, and in the results table.
    expect(on.stderr).toMatch(/stopped early after 1 of 5 iterations/);
    expect(on.table).toMatch(/stopped early 1\/5/);
  }, 180_000);
});
