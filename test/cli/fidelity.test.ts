// A whole `wayfinder run` (SQLite, BullMQ on an embedded Redis, process jobs) of a test that declares
// a fidelity: every configuration gets a cheap look first (the test's D at its cheap value), one
// clearly below the best's cheap look is stopped there, the others are measured in full, and the
// best is judged on full measurements only: the same best, with the same value, as without.

import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fidelityExperiment } from '../fixtures/fidelity-experiment.js';
import { tempDir, wayfinder, writeFile } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

const YAML = fidelityExperiment('fidelity');

interface Run { iteration: number; extra?: string; v?: number; metrics?: Record<string, number> }
interface Row {
  status: string;
  failure?: string;
  error?: string;
  stopped_after?: number;
  stopped_fidelity?: string;
  objective: number | null;
  A: number;
  'v.n'?: number;
  runs?: Run[];
}

async function measure(flags: string[]): Promise<{ rows: Row[]; stdout: string; stderr: string; table: string }> {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const file = writeFile(dir, 'exp.yaml', YAML);
  const wd = join(dir, '.wayfinder');
  const r = await wayfinder(['run', file, '--workdir', wd, '--no-confirm', ...flags], { cwd: dir });
  expect(r.status, r.stderr).toBe(0);
  const json = await wayfinder(['results', '--workdir', wd, '--format', 'json']);
  expect(json.status, json.stderr).toBe(0);
  const table = await wayfinder(['results', '--workdir', wd]);
  return { rows: (JSON.parse(json.stdout) as { configurations: Row[] }).configurations, stdout: r.stdout, stderr: r.stderr, table: table.stdout };
}

const cheapRuns = (r: Row): Run[] => (r.runs ?? []).filter((x) => x.extra === 'cheap-look');
const fullRuns = (r: Row): Run[] => (r.runs ?? []).filter((x) => x.extra === undefined);

describe('wayfinder run: cheap looks at a declared fidelity', () => {
  it('stops configurations below the best at their cheap look; the best is measured at full fidelity; --no-fidelity has no cheap looks', async () => {
    const on = await measure([]);
    const off = await measure(['--no-fidelity']);

    // Every configuration had a cheap look of 3 iterations, numbered after its 5 own, at D=2: values about A * 200.
    for (const r of on.rows) {
      const cheap = cheapRuns(r);
      expect(cheap.map((x) => x.iteration), `A=${r.A}`).toEqual([5, 6, 7]);
      for (const x of cheap) expect(Math.abs((x.v ?? x.metrics?.v ?? 0) - r.A * 200)).toBeLessThanOrEqual(2 * r.A);
    }
    // The default (A=4) is measured first; A=1..3 are clearly below its cheap look and stopped there, with nothing measured in full.
    const stopped = on.rows.filter((r) => r.failure === 'stopped');
    expect(stopped.map((r) => r.A).sort()).toEqual([1, 2, 3]);
    for (const r of stopped) {
      expect(r).toMatchObject({ status: 'failed', stopped_after: 3, stopped_fidelity: 'D=2', objective: null });
      expect(r.error).toMatch(/^stopped at a cheap look \(3 iterations at D=2\), below the best's cheap look with p=/);
      expect(fullRuns(r)).toEqual([]);
      // Its cheap iterations are no measurement of the objective: no summary of them.
      expect(r['v.n']).toBeUndefined();
    }
    // The others are measured in full (D=10), and only their full iterations make their objective.
    const done = on.rows.filter((r) => r.status === 'done');
    expect(done.map((r) => r.A).sort()).toEqual([4, 5, 6, 7, 8]);
    for (const r of done) {
      expect(fullRuns(r).map((x) => x.iteration)).toEqual([0, 1, 2, 3, 4]);
      expect(r['v.n']).toBe(5);
      expect(Math.abs((r.objective ?? 0) - r.A * 1000)).toBeLessThanOrEqual(2 * r.A);
    }
    // Without cheap looks: none run, nothing stopped at one, and the same best with the same value.
    expect(off.rows.flatMap(cheapRuns)).toEqual([]);
    expect(off.rows.some((r) => r.stopped_fidelity !== undefined)).toBe(false);
    const best = (rows: Row[]): Row | undefined => rows.filter((r) => r.status === 'done').sort((a, b) => (b.objective ?? 0) - (a.objective ?? 0))[0];
    expect(best(on.rows)?.A).toBe(8);
    expect(best(on.rows)?.objective).toBe(best(off.rows)?.objective);
    // Said as it happens, in the results table and in the summary, with the benchmark time saved.
    expect(on.stderr).toMatch(/stopped at a cheap look \(3 iterations at D=2\)/);
    expect(on.table).toMatch(/stopped at a cheap look \(D=2\)/);
    expect(on.stdout).toContain('8 configurations measured: 5 ok, 3 stopped early');
    expect(on.stdout).toMatch(/Benchmark time \S+ s, \S+ s of it in cheap looks; stopping early saved about -?\S+ s \(15 full iterations not measured, at the mean full iteration's \S+ s, less the cheap looks\)\./);
  }, 180_000);
});
