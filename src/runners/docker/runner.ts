// Jobs that name an image: each run in a fresh container of the Docker engine, confined by the
// engine (the container's own cgroups get the grant's CPUs and the job's memory limit).

import { promises as fsp } from 'node:fs';
import type { Runner } from '../runner.js';
import { cgroupDriver, dockerTarget } from './engine.js';
import { runContainerJob } from './job.js';
import { checkContainerJobs } from './preflight.js';
import { reapContainers } from './reap.js';

export const containerRunner: Runner = {
  kind: 'container',
  confinement: 'engine',
  preflight: async (_jobs, exp, opts) => {
    try {
      await checkContainerJobs(exp, opts.dockerSocket ? { socket: opts.dockerSocket } : {});
      return [];
    } catch (e) {
      return [e as Error];
    }
  },
  reap: async (opts) => {
    await reapContainers(opts.workdir, opts.dockerSocket);
  },
  // Inputs are copied into the container, not into the folder.
  prepare: async (run) => {
    await fsp.mkdir(run.dir, { recursive: true });
    return {};
  },
  launch: async (run, ctx) => {
    const { job } = run;
    if (job.image === undefined) throw new Error(`${job.phase} '${job.name}': a container job without an image`);
    // The accounting parent is a cgroupfs path: an engine on another driver keeps the container
    // out of it, and the parent's counters would say nothing of the run.
    const parent = ctx.meter?.engineParent !== undefined && (await cgroupDriver(dockerTarget(ctx.dockerSocket))) === 'cgroupfs' ? ctx.meter.engineParent : undefined;
    const r = await runContainerJob({
      job: { ...job, image: job.image },
      dir: run.dir,
      experimentDir: run.experimentDir,
      vars: run.vars,
      workdir: ctx.workdir,
      experimentId: run.experimentId,
      key: run.key,
      placement: ctx.placement,
      ...(run.build ? { build: run.build } : {}),
      ...(ctx.dockerSocket ? { socket: ctx.dockerSocket } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(parent ? { cgroupParent: parent } : {}),
    });
    return parent || !ctx.meter ? r : { ...r, unmetered: true };
  },
  finish: async () => ({}),
};
