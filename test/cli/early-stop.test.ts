// A whole `wayfinder run` (SQLite, BullMQ on an embedded Redis, process jobs) with early stopping:
// configurations clearly below the best are stopped after fewer iterations, recorded as such in the
// results, and the best is the one a run measuring every iteration finds.

import { readFileSync } from 'node:fs';
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

interface Measured {
  rows: Row[];
  stderr: string;
  stdout: string;
  table: string;
  counts: Record<string, number>;
  wd: string;
  dir: string;
}

async function measure(flags: string[]): Promise<Measured> {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const file = writeFile(dir, 'exp.yaml', YAML);
  const wd = join(dir, '.wayfinder');
  const r = await wayfinder(['run', file, '--workdir', wd, '--no-confirm', ...flags], { cwd: dir });
  expect(r.status, r.stderr).toBe(0);
  const json = await wayfinder(['results', '--workdir', wd, '--format', 'json']);
  expect(json.status, json.stderr).toBe(0);
  const table = await wayfinder(['results', '--workdir', wd]);
  const parsed = JSON.parse(json.stdout) as { configurations: Row[]; counts: Record<string, number> };
  return { rows: parsed.configurations, counts: parsed.counts, stderr: r.stderr, stdout: r.stdout, table: table.stdout, wd, dir };
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

    // Stopped early is its own count, never inside failed: in results, the experiment list and the report.
    expect(on.counts).toEqual({ done: 5, failed: 0, stopped: 3, running: 0, duplicates: 0 });
    expect(on.table).toContain('5 measured, 0 failed, 3 stopped early (below the best)');
    expect(on.stdout).toContain('8 configurations measured: 5 ok, 3 stopped early');
    const listed = await wayfinder(['experiments', '--workdir', on.wd, '--json']);
    expect(listed.status, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { experiments: { failed: number; stopped: number }[] }).experiments[0]).toMatchObject({ failed: 0, stopped: 3 });
    const out = join(on.dir, 'report');
    const report = await wayfinder(['report', '--workdir', on.wd, '--out', out, '--json', '--no-png'], { cwd: on.dir });
    expect(report.status, report.stderr).toBe(0);
    expect((JSON.parse(report.stdout) as { counts: unknown }).counts).toEqual({ total: 8, done: 5, failed: 0, stopped: 3, running: 0, duplicates: 0 });
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toMatch(/<div><b>0<\/b>failed<\/div>\s*<div><b>3<\/b>stopped early \(below the best\)<\/div>/);
  }, 180_000);
});
