// What `run` and `regress` do before measuring: the preflight of every runner kind the experiment
// uses (engine, images, memory cgroup), then open the
// work directory with the experiment's host settings applied before any job can start (what a
// killed run left changed is put back first). If opening fails, the settings are put back; after
// the run, closeForExperiment closes the work directory and then puts them back.

import { hostRootsFromEnv } from '../isolation/host.js';
import { tuneHost, type TunedHost } from '../isolation/tune-host.js';
import { preflightRunners } from '../runners/kinds.js';
import { Workspace } from '../study/workspace.js';
import type { Experiment } from '../types.js';

export interface OpenOptions {
  workdir: string;
  redis?: string;
  cpus?: number[];
  dockerSocket?: string;
}

export async function openForExperiment(exp: Experiment, o: OpenOptions): Promise<{ ws: Workspace; tuning: TunedHost | undefined }> {
  // Missing images, devices or networks, a memory limit with no cgroup to enforce it, an unknown
  // runner kind: found before anything is queued or run.
  await preflightRunners(exp, o.dockerSocket ? { dockerSocket: o.dockerSocket } : {});
  let tuning: TunedHost | undefined;
  const ws = await Workspace.open({
    workdir: o.workdir,
    pool: exp.pool,
    prepare: async (workdir) => {
      tuning = await tuneHost(workdir, exp.host, hostRootsFromEnv());
    },
    ...(o.redis ? { redis: o.redis } : {}),
    ...(o.cpus ? { cpus: o.cpus } : {}),
    ...(o.dockerSocket ? { dockerSocket: o.dockerSocket } : {}),
  }).catch(async (e: unknown) => {
    await tuning?.restore();
    throw e;
  });
  return { ws, tuning };
}

/** Close the work directory (ending running jobs when the run was interrupted), then put the host's settings back. */
export async function closeForExperiment(ws: Workspace, tuning: TunedHost | undefined, interrupted: boolean): Promise<void> {
  try {
    await ws.close({ force: interrupted });
  } finally {
    await tuning?.restore();
  }
}
