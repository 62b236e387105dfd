// Tests that boot a VM: a fresh QEMU VM for each run, booted as the run is prepared (confined like
// a host job: QEMU runs in the job's groups), then the test's command as a host process that
// reaches the guest, then the VM torn down and its metrics (vm.*) added to the run's.

import { inheritedEnv } from './inherited-env.js';
import { launchProcess, memoryLimitProblems, prepareHostFolder } from './process-runner.js';
import { bootTestVm, type TestVm } from './qemu.js';
import type { Runner } from './runner.js';
import { promises as fsp } from 'node:fs';

export const vmRunner: Runner = {
  kind: 'vm',
  confinement: 'launcher',
  // QEMU runs in the job's groups: its memory limit needs a memory cgroup like a host job's.
  preflight: async (jobs, _exp, opts) => memoryLimitProblems(jobs, opts),
  // QEMU's process groups are in the process registry, its tap namespaces under our netns prefix:
  // the worker reaps both at its start.
  reap: async () => undefined,
  prepare: async (run, ctx) => {
    await fsp.mkdir(run.dir, { recursive: true });
    await prepareHostFolder(run);
    // A build of this kind only runs its command: VMs are booted for tests.
    if (run.job.phase !== 'test' || !run.job.vm) return {};
    const vm = await bootTestVm(run.job.vm, {
      dir: run.dir,
      env: { ...inheritedEnv(), ...run.vars },
      baseDir: run.build?.dir || run.experimentDir,
      cpus: ctx.placement.cpus,
      ...(ctx.wrap ? { wrap: ctx.wrap } : {}),
      registry: ctx.registry,
      key: run.key,
      measureFootprint: run.firstMeasured === true,
    });
    if ('error' in vm) return { error: vm.error, failure: 'boot' };
    return { env: vm.env, state: vm };
  },
  launch: (run, ctx, prepared) => launchProcess(run, ctx, prepared.env),
  finish: async (_run, prepared) => {
    const vm = prepared.state as TestVm | undefined;
    if (!vm) return {};
    const out = await vm.finish();
    return { metrics: out.metrics, ...(out.error ? { error: out.error, failure: 'boot' } : {}) };
  },
};
