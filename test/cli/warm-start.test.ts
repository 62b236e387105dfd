import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { warmStartExperiment } from '../fixtures/warm-start-experiment.js';
import { tempDir, wayfinder, writeFile } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

const experiment = warmStartExperiment;

interface Row {
  config_id: string;
  status: string;
  A: number;
}

async function configurations(workdir: string, cwd: string, experiment: string): Promise<Row[]> {
  const r = await wayfinder(['results', experiment, '--workdir', workdir, '--format', 'json'], { cwd });
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { configurations: Row[] }).configurations;
}

/** Configuration ids (8 characters) in the order the progress lines show them. */
function asked(stderr: string): string[] {
  return [...stderr.matchAll(/^\[\d+\/\d+\] ([0-9a-f]{8})/gm)].map((m) => m[1]!);
}

describe('exploration.warm_start', () => {
  it('starts a new experiment from an earlier one in the same store and says so', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const workdir = join(dir, '.wayfinder');
    const first = writeFile(dir, 'earlier.yaml', experiment('earlier', '  strategy: bayesian\n  budget: 12\n  seed: 3'));
    const second = writeFile(dir, 'now.yaml', experiment('now', '  strategy: bayesian\n  budget: 8\n  seed: 4\n  warm_start: [earlier]'));
    // plan reads the same store run will: before the earlier experiment ran there, run's error.
    const none = await wayfinder(['plan', second, '--workdir', workdir], { cwd: dir });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/now\.yaml:\d+:\d+: exploration\.warm_start: no experiment named "earlier" in the results store/);
    const a = await wayfinder(['run', first, '--workdir', workdir, '--no-confirm'], { cwd: dir });
    expect(a.status, a.stderr).toBe(0);
    const planned = await wayfinder(['plan', second, '--workdir', workdir], { cwd: dir });
    expect(planned.status, planned.stderr).toBe(0);
    expect(planned.stdout).toMatch(/warm start from earlier \(earlier-[0-9a-f]+, 12 configurations\): it steers the configurations chosen from measurements/);
    const plannedJson = await wayfinder(['plan', second, '--workdir', workdir, '--json'], { cwd: dir });
    expect(plannedJson.status, plannedJson.stderr).toBe(0);
    const plan = JSON.parse(plannedJson.stdout) as { order: { configId: string }[]; fixed: number; warmStart: { name: string; measured: number }[] };
    expect(plan.warmStart).toEqual([expect.objectContaining({ name: 'earlier', measured: 12 })]);
    const b = await wayfinder(['run', second, '--workdir', workdir, '--no-confirm'], { cwd: dir });
    expect(b.status, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/warm start from earlier \(earlier-[0-9a-f]+, 12 configurations\): each weighted by how well it predicts/);
    const rows = await configurations(workdir, dir, 'now');
    expect(rows).toHaveLength(8);
    expect(rows.every((x) => x.status === 'done')).toBe(true);
    // The same search without the warm start (same seed, its own store) asks the same default and
    // four random configurations (five in all before the model), then otherwise: the prior reached the strategy. Its model picks
    // stay away from A = 0, where the earlier experiment found the worst. (Progress lines come in
    // asking order: one in parallel.)
    const coldDir = join(dir, 'cold');
    const cold = writeFile(dir, 'cold.yaml', experiment('now', '  strategy: bayesian\n  budget: 8\n  seed: 4'));
    const c = await wayfinder(['run', cold, '--workdir', coldDir, '--no-confirm'], { cwd: dir });
    expect(c.status, c.stderr).toBe(0);
    const warmOrder = asked(b.stderr);
    const coldOrder = asked(c.stderr);
    expect(warmOrder).toHaveLength(8);
    expect(coldOrder.slice(0, 5)).toEqual(warmOrder.slice(0, 5));
    // What plan listed as fixed is what the warm-started run measured first.
    expect(plan.fixed).toBe(5);
    expect(plan.order.map((c) => c.configId.slice(0, 8))).toEqual(warmOrder.slice(0, 5));
    expect(coldOrder).not.toEqual(warmOrder);
    const byId = new Map(rows.map((x) => [x.config_id.slice(0, 8), x.A]));
    expect(warmOrder.slice(5).map((id) => byId.get(id))).not.toContain(0);
  });

  it('names the file, line and column of an experiment the store does not hold, and exits 2 without a stack trace', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = writeFile(dir, 'now.yaml', experiment('now', '  strategy: bayesian\n  budget: 4\n  warm_start:\n    - nosuch'));
    const r = await wayfinder(['run', file, '--workdir', join(dir, '.wayfinder'), '--no-confirm'], { cwd: dir });
    expect(r.status).toBe(2);
    const line = experiment('now', '  strategy: bayesian\n  budget: 4\n  warm_start:\n    - nosuch').split('\n').findIndex((l) => l.includes('- nosuch')) + 1;
    expect(r.stderr).toContain(`now.yaml:${line}:7: exploration.warm_start: no experiment named "nosuch" in the results store`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('is refused for a strategy that does not use it, where it is written', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const text = experiment('now', '  strategy: random\n  warm_start: [earlier]');
    const file = writeFile(dir, 'now.yaml', text);
    const r = await wayfinder(['run', file, '--workdir', join(dir, '.wayfinder')], { cwd: dir });
    expect(r.status).toBe(2);
    const line = text.split('\n').findIndex((l) => l.includes('warm_start')) + 1;
    expect(r.stderr).toContain(`now.yaml:${line}:15: exploration.warm_start: only the bayesian strategy starts from earlier experiments; this one searches with random`);
  });
});
