// A new runner kind is one file (kinds/clean-env.ts) plus one registration, and a whole experiment
// runs through it: the spec names it with `runner:`, the preflight asks it, the worker confines and
// meters its runs like any host job, and the results are stored.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { preflightRunners, registerRunner, runnerKinds } from '../../src/runners/kinds.js';
import { loadExperiment } from '../../src/spec/index.js';
import { Study } from '../../src/study/study.js';
import { Workspace } from '../../src/study/workspace.js';
import { InputError } from '../../src/types.js';
import { runDir } from '../../src/workdir.js';
import { tempDir, writeFile } from '../helpers.js';
import { cleanEnvRunner } from './kinds/clean-env.js';

registerRunner(cleanEnvRunner);

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

describe('a runner kind added as one file and one registration', () => {
  it('runs a whole experiment: every configuration measured through it, its runs metered', async () => {
    process.env.WAYFINDER_RUNNER_TEST_SECRET = 'inherited';
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = writeFile(
      dir,
      'exp.yaml',
      `
name: new-kind
params:
  - { name: A, type: integer, only: [1, 2, 3], default: 1 }
test:
  runner: clean-env
  run: 'echo "secret=\${WAYFINDER_RUNNER_TEST_SECRET:-none} v=$(( A * 7 ))"'
  iterations: 2
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
`,
    );
    const exp = loadExperiment(file);
    expect(exp.tests[0]?.kind).toBe('clean-env');
    expect(runnerKinds()).toEqual(expect.arrayContaining(['process', 'container', 'vm', 'clean-env']));
    await preflightRunners(exp);
    const ws = await Workspace.open({ workdir: join(dir, '.wayfinder') });
    try {
      const study = new Study(exp, ws.store, ws.transport);
      await study.run();
      const rows = ws.store.configurations(study.id);
      expect(rows).toHaveLength(3);
      for (const r of rows) {
        expect(r.status, r.error).toBe('done');
        expect(r.objective).toBe((r.params.A as number) * 7);
      }
      const runs = ws.store.runs(study.id);
      expect(runs).toHaveLength(6);
      for (const r of runs) {
        // Metered by the job's cgroups like every launcher-confined kind (cgroup v1 on this host).
        expect(r.usage?.source).toBe('cgroup-v1');
        expect(r.usage?.cpuMs).toBeGreaterThanOrEqual(0);
        expect(r.usage?.peakMemoryBytes).toBeGreaterThan(0);
      }
      // The kind's own behaviour: nothing of wayfinder's environment reached the job.
      for (const r of runs) {
        const out = readFileSync(join(runDir(ws.workdir, study.id, r.configId, 'test', r.iteration, false), 'stdout.log'), 'utf8');
        expect(out).toBe(`secret=none v=${r.metrics.v}\n`);
      }
    } finally {
      await ws.close();
      delete process.env.WAYFINDER_RUNNER_TEST_SECRET;
    }
  });

  it("its preflight speaks for its jobs, and a kind nobody registered is refused at the job's place in the file", async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const bad = writeFile(dir, 'script.yaml', `
name: k
params: [{ name: A, type: integer, only: [1], default: 1 }]
test:
  runner: clean-env
  script: ${writeFile(dir, 's.sh', 'echo v=1')}
metrics: [{ name: v, parser: regex, pattern: 'v=(\\d+)' }]
objective: { metric: v, direction: maximize }
`);
    await expect(preflightRunners(loadExperiment(bad))).rejects.toThrow(/clean-env runner runs 'run' commands only/);
    const unknown = writeFile(dir, 'unknown.yaml', `
name: k
params: [{ name: A, type: integer, only: [1], default: 1 }]
test:
  runner: no-such-kind
  run: echo v=1
metrics: [{ name: v, parser: regex, pattern: 'v=(\\d+)' }]
objective: { metric: v, direction: maximize }
`);
    const e = await preflightRunners(loadExperiment(unknown)).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).message).toMatch(/no runner of kind 'no-such-kind' here \(known: process, container, vm/);
    expect((e as InputError).loc).toMatchObject({ file: unknown, line: 5 });
  });
});
