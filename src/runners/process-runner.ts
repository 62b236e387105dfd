// A job as a host process: started by the job launcher in a process group of its own, confined by
// our launcher shell (cpuset, accounting and memory cgroups, affinity), its output in the run's
// folder. The default kind: a job that names no image and no VM.

import { accessSync, constants, cpSync, promises as fsp } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { isolationOptionsFromEnv } from '../isolation/job-isolation.js';
import { memoryLimitProblem } from '../isolation/accounting.js';
import { InputError, type JobSpec } from '../types.js';
import type { Placement } from '../wire.js';
import { runProcess, type ProcessResult } from './process.js';
import type { ExecContext, PreflightOptions, Prepared, RunRequest, Runner } from './runner.js';

/** The command line of a job: a shell command, or its script run directly when executable. */
export function jobArgv(job: JobSpec): string[] {
  if (job.script) {
    try {
      accessSync(job.script, constants.X_OK);
      return [job.script];
    } catch {
      return ['/bin/sh', job.script];
    }
  }
  return ['/bin/sh', '-c', job.run ?? 'true'];
}

/** Pin to the granted CPUs unless the grant is the whole machine (taskset is util-linux's). */
export function pinned(argv: string[], placement: Placement, allCpus: number): string[] {
  if (placement.cpus.length === 0 || placement.cpus.length >= allCpus) return argv;
  return ['taskset', '-c', placement.cpus.join(','), ...argv];
}

/** The job's inputs, copied into the run's folder (relative sources from the experiment's directory). */
export function copyInputs(job: JobSpec, experimentDir: string, into: string): void {
  for (const m of job.inputs) {
    const src = isAbsolute(m.source) ? m.source : resolve(experimentDir, m.source);
    const dst = resolve(into, m.destination.replace(/^\/+/, ''));
    cpSync(src, dst, { recursive: true });
  }
}

/** A host job's memory limit needs a memory cgroup: without one it is refused, never ignored. */
export function memoryLimitProblems(jobs: JobSpec[], opts: PreflightOptions): Error[] {
  const limited = jobs.filter((j) => j.resources.memoryBytes !== undefined);
  if (limited.length === 0) return [];
  const root = opts.cgroupRoot ?? isolationOptionsFromEnv().cgroupRoot ?? '/sys/fs/cgroup';
  const why = memoryLimitProblem(root);
  if (why === undefined) return [];
  return limited.map((j) => new InputError(`${j.phase} '${j.name}': resources.memory: ${why}`, j.loc, 'run it where the memory controller is delegated (as root, or a systemd unit with Delegate=yes), or leave the limit out'));
}

/** Launch a host process for the run; the launcher makes its folder as it starts it. */
export function launchProcess(run: RunRequest, ctx: ExecContext, extraEnv: Record<string, string> = {}): Promise<ProcessResult> {
  const argv = jobArgv(run.job);
  return runProcess({
    argv: ctx.wrap ? ctx.wrap(argv) : pinned(argv, ctx.placement, run.allCpus),
    cwd: run.dir,
    makeCwd: true,
    env: { ...run.vars, ...extraEnv },
    inheritEnv: true,
    stdoutPath: join(run.dir, 'stdout.log'),
    stderrPath: join(run.dir, 'stderr.log'),
    timeoutSec: run.job.timeoutSec,
    ...(ctx.wrap && ctx.inCgroup ? {} : { registry: ctx.registry, registryKey: run.key }),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
}

export async function prepareHostFolder(run: RunRequest): Promise<void> {
  // Without inputs the launcher makes the folder as it starts the job, in one step; inputs need it
  // before (off the event loop: a busy disk is slow).
  if (run.job.inputs.length === 0) return;
  await fsp.mkdir(run.dir, { recursive: true });
  copyInputs(run.job, run.experimentDir, run.dir);
}

export const processRunner: Runner = {
  kind: 'process',
  confinement: 'launcher',
  preflight: async (jobs, _exp, opts) => memoryLimitProblems(jobs, opts),
  // Its process groups are in the process registry and its cgroups under our prefix: the worker
  // reaps both for every kind that runs processes of ours (ProcessRegistry.reap, JobIsolation.start).
  reap: async () => undefined,
  prepare: async (run) => {
    await prepareHostFolder(run);
    return {};
  },
  launch: (run, ctx, prepared: Prepared) => launchProcess(run, ctx, prepared.env),
  finish: async () => ({}),
};
