// The interface every runner kind implements (a host process, a container, a VM, ...): what the
// worker asks of a kind to run one job's runs, and what a front door asks of it before an
// experiment starts. The kinds are registered in kinds.ts; docs/runners.md says how to add one.

import type { RunMeter } from '../isolation/accounting.js';
import type { Experiment, Failure, JobSpec, PathMapping } from '../types.js';
import type { Placement } from '../wire.js';
import type { ProcessResult } from './process.js';
import type { ProcessRegistry } from './registry.js';

/** What the worker gives every run of a job: where it runs and how it is confined. */
export interface ExecContext {
  workdir: string;
  placement: Placement;
  registry: ProcessRegistry;
  signal?: AbortSignal;
  /** Enforcement of the placement (cgroups, affinity): turns the job's argv into a confining launcher. */
  wrap?: (argv: string[]) => string[];
  /**
   * The wrapped job enters a cgroup of ours, which the next start reaps with all it holds: the job
   * needs no process registry entry (two file-system operations per run fewer).
   */
  inCgroup?: boolean;
  /** The Docker engine's socket for container jobs (default: DOCKER_HOST, then /var/run/docker.sock). */
  dockerSocket?: string;
  /** Counts each run's CPU time and peak memory (the job's cgroups), where the host has them. */
  meter?: RunMeter;
}

/** One run of a job (a build, a warm-up or a measured iteration). */
export interface RunRequest {
  job: JobSpec;
  /** The run's folder: its logs, its outputs. */
  dir: string;
  /** Parameters and WAYFINDER_* variables; a host process also inherits our environment. */
  vars: Record<string, string>;
  /** Unique per run: the process registry's key, a container's name. */
  key: string;
  experimentId: string;
  experimentDir: string;
  /** For a test: where its build left its outputs. */
  build?: { dir: string; outputs: PathMapping[] };
  /** The first measured run of a test (a VM measures its footprint once, after it). */
  firstMeasured?: boolean;
  /** How many CPUs the host has: a grant of all of them needs no pinning. */
  allCpus: number;
}

/** What preparing a run gave: variables for its command, and state its finish needs. */
export interface Prepared {
  env?: Record<string, string>;
  state?: unknown;
}

/** After a run: the kind's own metrics, or why the run failed although its command did not. */
export interface Finished {
  metrics?: Record<string, number>;
  error?: string;
  /** The failure's kind for `error` (a VM's: boot); exit when not given. */
  failure?: Failure;
}

export interface PreflightOptions {
  /** The Docker engine's socket. */
  dockerSocket?: string;
  /** Where cgroups live (false: none; default /sys/fs/cgroup or WAYFINDER_CGROUP_ROOT). */
  cgroupRoot?: string | false;
}

export interface ReapOptions {
  workdir: string;
  dockerSocket?: string;
}

export interface Runner {
  /** The job kind it runs (JobSpec.kind). */
  readonly kind: string;
  /**
   * launcher: the job's processes are confined by our launcher (cpuset and accounting cgroups,
   * affinity) through ctx.wrap; engine: the runner's engine confines them (a container's own
   * cgroups, given the grant's CPUs), and accounting comes through ctx.meter.engineParent.
   */
  readonly confinement: 'launcher' | 'engine';
  /**
   * Before anything of the experiment is queued: whatever these jobs (all of this kind) need is
   * there (an engine that answers, images, devices). Each problem is an error that says what to do.
   */
  preflight(jobs: JobSpec[], exp: Experiment, opts: PreflightOptions): Promise<Error[]>;
  /** At a worker's start: end what a killed predecessor on this work directory left running. */
  reap(opts: ReapOptions): Promise<void>;
  /** Make the run's folder and put in what the run needs before it starts; a failure fails the run. */
  prepare(run: RunRequest, ctx: ExecContext): Promise<Prepared | { error: string; failure: Failure }>;
  /**
   * One attempt of the run's command, until it ends. The timeout (job.timeoutSec) and the abort
   * (ctx.signal) go through stopOn (stop.ts), never a runner's own timers.
   */
  launch(run: RunRequest, ctx: ExecContext, prepared: Prepared): Promise<ProcessResult>;
  /** After the last attempt (also a failed one): tear down what prepare set up. */
  finish(run: RunRequest, prepared: Prepared): Promise<Finished>;
}
