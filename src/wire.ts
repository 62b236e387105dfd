// What a queued job carries: everything a worker on any host needs to run it, and what it sends
// back. Paths are not carried: each worker derives them from its own work directory.

import type { Failure, HostSettings, JobSpec, MetricSpec, Param, PathMapping, Resolution } from './types.js';

// A failure's kind is defined beside Observation (src/types.ts), which both the wire and the strategies read.
export type { Failure } from './types.js';

export interface BuildWork {
  kind: 'build';
  experimentId: string;
  buildId: string;
  /** How many times this build was queued again after an infrastructure failure (absent: never). */
  retry?: number;
  job: JobSpec;
  /** The build parameters, each under its own name. */
  env: Record<string, string>;
  /** Their declarations: which are Kconfig symbols or source patches. */
  params?: Param[];
  /** The experiment file's directory: scripts and inputs are resolved against it. */
  experimentDir: string;
  /** The experiment's host settings: the worker applies them before the job (absent: queued by an older wayfinder). */
  host?: HostSettings;
}

/**
 * Why a finished configuration is measured again, after its own runs: to compare the best with the
 * default, interleaved (confirmation), or to see whether the default still measures what it did
 * (drift-check). Such runs are stored apart from the configuration's aggregate.
 */
/**
 * Why runs are kept out of a configuration's aggregate: measured again after it finished
 * (confirmation, drift-check), or a cheap look before its full measurement (cheap-look: the test's
 * fidelity variable at its cheap value).
 */
export type ExtraPurpose = 'confirmation' | 'drift-check' | 'cheap-look';

export interface TestWork {
  kind: 'test';
  experimentId: string;
  configId: string;
  buildId: string;
  hasBuild: boolean;
  /** The build's outputs: a container test gets each at its destination. */
  buildOutputs?: PathMapping[];
  job: JobSpec;
  /** Every parameter, each under its own name. */
  env: Record<string, string>;
  metrics: MetricSpec[];
  experimentDir: string;
  /** The experiment's host settings, as for a build. */
  host?: HostSettings;
  /** Some iterations may have been measured already (by a worker since lost, or before an infrastructure failure): skip those. */
  resumed?: boolean;
  /** How many times this test was queued again after an infrastructure failure (absent: never). */
  retry?: number;
  /** The first iteration's number (absent: 0): extra runs continue a configuration's numbering. */
  firstIteration?: number;
  /** These are extra runs of a finished configuration, and why. */
  extra?: ExtraPurpose;
}

export type Work = BuildWork | TestWork;

export interface Placement {
  host: string;
  cpus: number[];
  numaNodes?: number[];
  isolation: string;
  l3Mask?: string;
  mbPercent?: number;
  /** How the CPU set was enforced besides affinity: a cpuset cgroup v1 or v2, or none. */
  cgroup?: string;
  /** No cache-way or memory-bandwidth partition was had (no resctrl here, or none asked for). */
  cpuIsolationOnly?: boolean;
  /** What isolation could not be had here (no resctrl, no cgroup cpuset...). */
  notes?: string[];
}

export interface BuildResult {
  kind: 'build';
  experimentId: string;
  buildId: string;
  status: 'ok' | 'failed';
  /** Absent for a build that failed on its own; 'infra' when the worker could not run it. */
  failure?: Extract<Failure, 'build' | 'infra'>;
  error?: string;
  durationMs: number;
  host: string;
  /** The worker (host and work directory) that holds the build's artifacts; its tests go there. */
  worker?: string;
  startedAt: number;
  /** The work's `retry` this answers: an infrastructure failure of an earlier retry is old news. */
  retry?: number;
  /**
   * What the build's Kconfig step resolved (its kconfig.json), for a coordinator that could not
   * resolve before building (the tree only on the workers' hosts): the effective identity, late.
   */
  resolution?: Resolution;
}

/** What one run used, and where the figures come from (cgroup counters, or the launcher's rusage of the child). */
export interface RunUsage {
  /** CPU time of every process of the run, user and system. */
  cpuMs: number;
  /** Highest memory use of the run (cgroup: charged memory incl. page cache); absent where not measurable. */
  peakMemoryBytes?: number;
  source: 'cgroup-v1' | 'cgroup-v2' | 'rusage' | 'runner';
}

export interface RunResult {
  kind: 'run';
  experimentId: string;
  configId: string;
  test: string;
  iteration: number;
  status: 'ok' | 'failed';
  failure?: Failure;
  error?: string;
  metrics: Record<string, number>;
  durationMs: number;
  attempts: number;
  placement: Placement;
  startedAt: number;
  /** The work's `retry` this answers: an infrastructure failure of an earlier retry is old news. */
  retry?: number;
  /** CPU time and peak memory of the run (the last attempt's). */
  usage?: RunUsage;
  /** An extra run of a finished configuration (the work's `extra`). */
  extra?: ExtraPurpose;
}

export type ResultMessage = BuildResult | RunResult;

