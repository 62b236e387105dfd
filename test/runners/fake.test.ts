// The fake runner: scripted outcomes, no process, for fast tests of what sits above the runners.
// A whole study runs on it here (each outcome becomes the configuration's result), and a run it
// holds ends through the shared timeout and abort path like any other runner's.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeRunner } from '../../src/runners/fake.js';
import { executeTest } from '../../src/runners/job.js';
import { registerRunner } from '../../src/runners/kinds.js';
import { ProcessRegistry } from '../../src/runners/registry.js';
import { loadExperiment } from '../../src/spec/index.js';
import { Study } from '../../src/study/study.js';
import { Workspace } from '../../src/study/workspace.js';
import type { JobSpec } from '../../src/types.js';
import type { RunResult, TestWork } from '../../src/wire.js';
import { tempDir, writeFile } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

const tries = new Map<string, number>();
const scripted = fakeRunner('scripted', (run) => {
  const a = Number(run.vars.A);
  const n = (tries.get(run.key) ?? 0) + 1;
  tries.set(run.key, n);
  switch (a) {
    case 1:
      return { stdout: `v=${10 + Number(run.vars.WAYFINDER_ITERATION)}\n`, durationMs: 1234, cpuMs: 17, peakMemoryBytes: 3 * 2 ** 20 };
    case 2:
      return { exitCode: 3, stderr: 'scripted failure\n' };
    case 3:
      return { timeout: true };
    case 4:
      return { oomKilled: true, exitCode: 137 };
    default:
      // Fails its first attempt, passes its retry.
      return n === 1 ? { exitCode: 1 } : { stdout: 'v=50\n' };
  }
});
registerRunner(scripted);

describe('the fake runner', () => {
  it('carries a whole study: each scripted outcome is its configuration\'s result', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = writeFile(
      dir,
      'exp.yaml',
      `
name: fake
params: [{ name: A, type: integer, only: [1, 2, 3, 4, 5], default: 1 }]
test:
  runner: scripted
  run: never-run
  iterations: 2
  retries: 1
metrics: [{ name: v, parser: regex, pattern: 'v=(\\d+)' }]
objective: { metric: v, direction: maximize }
`,
    );
    const ws = await Workspace.open({ workdir: join(dir, '.wayfinder') });
    try {
      const study = new Study(loadExperiment(file), ws.store, ws.transport);
      await study.run();
      const byA = new Map(ws.store.configurations(study.id).map((c) => [c.params.A as number, c]));
      expect(byA.get(1)).toMatchObject({ status: 'done', objective: 10.5 });
      expect(byA.get(2)).toMatchObject({ status: 'failed', failure: 'exit' });
      expect(byA.get(2)?.error).toMatch(/exit status 3: scripted failure/);
      expect(byA.get(3)).toMatchObject({ status: 'failed', failure: 'timeout' });
      expect(byA.get(4)?.error).toMatch(/ran out of memory/);
      expect(byA.get(5)).toMatchObject({ status: 'done', objective: 50 });
      const runs = ws.store.runs(study.id);
      const a1 = runs.filter((r) => r.configId === byA.get(1)?.configId);
      expect(a1.map((r) => [r.durationMs, r.usage])).toEqual([
        [1234, { cpuMs: 17, peakMemoryBytes: 3 * 2 ** 20, source: 'runner' }],
        [1234, { cpuMs: 17, peakMemoryBytes: 3 * 2 ** 20, source: 'runner' }],
      ]);
      // A=5: two iterations, each tried twice; the failures of A=2..4 are retried once each, then stop the configuration.
      const a5 = scripted.runs.filter((r) => r.vars.A === '5');
      expect(a5).toHaveLength(4);
      expect(scripted.runs.filter((r) => r.vars.A === '2')).toHaveLength(2);
    } finally {
      await ws.close();
    }
  });

  it('a run it holds ends through the shared timeout and abort path', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const slow = fakeRunner('slow', () => ({ delayMs: 30_000, stdout: 'v=1\n' }));
    registerRunner(slow);
    const job: JobSpec = {
      name: 't', phase: 'test', kind: 'slow', run: 'x', cores: 1, isolation: 'none', timeoutSec: 1, retries: 0, iterations: 1, warmup: 0,
      devices: [], capabilities: [], privileged: false, inputs: [], outputs: [], resources: {}, env: {},
    };
    const work: TestWork = { kind: 'test', experimentId: 'e', configId: 'c', buildId: 'b', hasBuild: false, job, env: {}, metrics: [{ name: 'v', parser: 'regex', pattern: 'v=(\\d+)', source: 'stdout' }] as TestWork['metrics'], experimentDir: dir };
    const ctx = { workdir: join(dir, 'wd'), placement: { host: 'h', cpus: [0], isolation: 'none' }, registry: new ProcessRegistry(join(dir, 'reg')) };
    const results: RunResult[] = [];
    const started = Date.now();
    await executeTest(work, ctx, 2, { done: async () => false, emit: async (r) => void results.push(r) });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(results).toMatchObject([{ status: 'failed', failure: 'timeout' }]);

    const stop = new AbortController();
    setTimeout(() => stop.abort(), 200);
    const aborted: RunResult[] = [];
    await executeTest({ ...work, job: { ...job, timeoutSec: 60 } }, { ...ctx, signal: stop.signal }, 2, { done: async () => false, emit: async (r) => void aborted.push(r) });
    // Aborted by us: not a result of the configuration, nothing is sent.
    expect(aborted).toEqual([]);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
