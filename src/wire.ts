// What a queued job carries: everything a worker on any host needs to run it, and what it sends
// back. Paths are not carried: each worker derives them from its own work directory.

import type { JobSpec, MetricSpec, Param, PathMapping } from './types.js';

export interface BuildWork {
  kind: 'build';
  experimentId: string;
  buildId: string;
  job: JobSpec;
  /** The build parameters, each under its own name. */
  env: Record<string, string>;
  /** Their declarations: which are Kconfig symbols or source patches. */
  params?: Param[];
  /** The experiment file's directory: scripts and inputs are resolved against it. */
  experimentDir: string;
}

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
  /** Some iterations may have been measured already (by a worker since lost): skip those. */
  resumed?: boolean;
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
  error?: string;
  durationMs: number;
  host: string;
  /** The worker (host and work directory) that holds the build's artifacts; its tests go there. */
  worker?: string;
  startedAt: number;
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
  /** build | exit | timeout | parse | infra | boot (a test VM that did not come up) */
  failure?: string;
  error?: string;
  metrics: Record<string, number>;
  durationMs: number;
  attempts: number;
  placement: Placement;
  startedAt: number;
  /** CPU time and peak memory of the run (the last attempt's). */
  usage?: RunUsage;
}

export type ResultMessage = BuildResult | RunResult;

