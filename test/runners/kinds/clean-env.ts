// A runner kind added the way any new kind is: this one file, plus one registerRunner line where
// it is wanted (here: the test that uses it). It runs a job's command as a host process with a
// clean environment: only the job's own variables and WAYFINDER_*, nothing of wayfinder's.

import { join } from 'node:path';
import { pinned } from '../../../src/runners/process-runner.js';
import { runProcess } from '../../../src/runners/process.js';
import type { Runner } from '../../../src/runners/runner.js';

export const cleanEnvRunner: Runner = {
  kind: 'clean-env',
  confinement: 'launcher',
  preflight: async (jobs) => jobs.filter((j) => j.run === undefined).map((j) => new Error(`${j.phase} '${j.name}': the clean-env runner runs 'run' commands only`)),
  reap: async () => undefined,
  prepare: async () => ({}),
  launch: (run, ctx) => {
    const argv = ['/bin/sh', '-c', run.job.run ?? 'true'];
    return runProcess({
      argv: ctx.wrap ? ctx.wrap(argv) : pinned(argv, ctx.placement, run.allCpus),
      cwd: run.dir,
      makeCwd: true,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...run.vars },
      stdoutPath: join(run.dir, 'stdout.log'),
      stderrPath: join(run.dir, 'stderr.log'),
      timeoutSec: run.job.timeoutSec,
      ...(ctx.wrap && ctx.inCgroup ? {} : { registry: ctx.registry, registryKey: run.key }),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
  },
  finish: async () => ({}),
};
