// What the study loop keeps and reads back: experiments, the configurations asked for, builds, runs
// and the strategy's state. The SQLite Store is the real one (store.ts); MemoryStore
// (memory-store.ts) is for fast tests of the study loop. Both keep the same promises: a result
// delivered twice is stored once, a transaction is all or nothing, and flush() makes every
// transaction so far durable.

import type { Config, Failure, Resolution, StoppedEarly } from '../types.js';
import type { BuildResult, ExtraPurpose, RunResult, RunUsage } from '../wire.js';

/** created: registered; running: a study is on it; failed: stopped with a reason (see ExperimentRow.error). */
export type ExperimentState = 'created' | 'running' | 'done' | 'cancelled' | 'failed';

export interface ExperimentRow {
  id: string;
  name: string;
  file: string;
  text: string;
  hash: string;
  format: string;
  spaceSize: string;
  host?: unknown;
  state: ExperimentState;
  /** Why the experiment stopped, when its state is 'failed'. */
  error?: string;
  strategy: string;
  createdAt: number;
  updatedAt: number;
}

/** duplicate: its effective configuration is another's (duplicateOf), which was or is measured instead. */
export type ConfigStatus = 'pending' | 'running' | 'done' | 'failed' | 'duplicate';

/**
 * A configuration's outcome as every count shows it: the stored status, except that one stopped
 * early (stored as failed with failure 'stopped', which the strategies read as such) is 'stopped':
 * it is below the best, not broken, and no reader counts it as failed.
 */
export type Outcome = ConfigStatus | 'stopped';

export function outcomeOf(r: Pick<ConfigRow, 'status' | 'failure'>): Outcome {
  return r.status === 'failed' && r.failure === 'stopped' ? 'stopped' : r.status;
}

export interface OutcomeCounts {
  total: number;
  done: number;
  /** Broken: failed to build, boot or finish; not those stopped early. */
  failed: number;
  /** Stopped early by the early-stopping test: below the best. */
  stopped: number;
  running: number;
  duplicates: number;
}

/** How many configurations have each outcome: the one count every summary, report and status shows. */
export function countOutcomes(rows: readonly Pick<ConfigRow, 'status' | 'failure'>[]): OutcomeCounts {
  const c: OutcomeCounts = { total: rows.length, done: 0, failed: 0, stopped: 0, running: 0, duplicates: 0 };
  for (const r of rows) {
    const o = outcomeOf(r);
    if (o === 'done' || o === 'failed' || o === 'stopped' || o === 'running') c[o]++;
    else if (o === 'duplicate') c.duplicates++;
  }
  return c;
}

/** What the target's Kconfig resolver made of a configuration's requested symbols (src/types.ts). */
export type ResolutionRow = Resolution;

/** A configuration's effective identity, once resolved. */
export interface EffectiveIdentity {
  effectiveId: string;
  /** The build of the effective configuration: configurations that resolve alike share it. */
  buildId: string;
  resolution: ResolutionRow;
}

export interface ConfigRow {
  experimentId: string;
  configId: string;
  buildId: string;
  seq: number;
  params: Config;
  isDefault: boolean;
  /** The strategy that asked for it (absent in databases from before it was recorded). */
  strategy?: string;
  status: ConfigStatus;
  failure?: Failure;
  error?: string;
  objective?: number;
  summary?: Record<string, MetricSummaryRow>;
  /** Stopped early (failure 'stopped'): why. Its summary holds the iterations measured. */
  stopped?: StoppedEarly;
  createdAt: number;
  finishedAt?: number;
  /** The identity of its effective configuration (absent: not resolved, or no Kconfig parameters). */
  effectiveId?: string;
  /** status 'duplicate': the configuration whose effective configuration it shares. */
  duplicateOf?: string;
  resolution?: ResolutionRow;
}

/** The aggregate of one metric over a configuration's measured iterations. */
export interface MetricSummaryRow {
  n: number;
  median: number;
  mean: number;
  ci: [number, number];
  /** How ci was computed (see metrics/stats.ts); absent in rows stored before it was recorded. */
  ciMethod?: string;
  /** The interval's real confidence (below 95% with fewer than 6 runs; 0 for one); absent in older rows. */
  ciLevel?: number;
  cv: number;
  highCv: boolean;
  outliers: number;
}

export interface StoredRun {
  configId: string;
  test: string;
  iteration: number;
  status: 'ok' | 'failed';
  failure?: Failure;
  error?: string;
  metrics: Record<string, number>;
  durationMs: number;
  host: string;
  placement: unknown;
  startedAt?: number;
  /** CPU time and peak memory, for runs stored since they are measured. */
  usage?: RunUsage;
  /** An extra run of the finished configuration (confirmation, drift check): not part of its aggregate. */
  extra?: ExtraPurpose;
}

/**
 * The verdict of one confirmation: the best configuration and the default measured again,
 * interleaved, compared by the ratio of their medians (bootstrap interval) and a rank test.
 */
export interface StoredComparison {
  bestConfigId: string;
  defaultConfigId: string;
  /** The objective compared, and which way is better. */
  metric: string;
  direction: 'maximize' | 'minimize';
  /** median(best) / median(default), oriented so that > 1 is better; absent when a sample is not positive. */
  ratio?: number;
  ci?: [number, number];
  pValue: number;
  significant: boolean;
  /** Measurements per side. */
  n: number;
  confidence: number;
  looks: number;
  alphaPerLook: number;
  stopped: 'decided' | 'cap' | 'failures';
  error?: string;
  samples: { best: number[]; default: number[] };
  measuredAt: number;
}

export interface StoredBuild {
  buildId: string;
  status: string;
  error?: string;
  durationMs?: number;
  startedAt?: number;
  finishedAt?: number;
}

export interface BuildRow {
  status: string;
  error?: string;
  durationMs?: number;
  /** The worker that holds the build's artifacts. */
  worker?: string;
  /** What its Kconfig step resolved, when its result said (BuildResult.resolution). */
  resolution?: Resolution;
}

export interface NewExperiment extends Omit<ExperimentRow, 'state' | 'error' | 'createdAt' | 'updatedAt'> {}

export interface NewConfiguration {
  experimentId: string;
  configId: string;
  buildId: string;
  params: Config;
  isDefault: boolean;
  strategy?: string;
}

export interface ConfigurationOutcome {
  status: 'done' | 'failed';
  objective?: number;
  summary?: Record<string, MetricSummaryRow>;
  failure?: Failure;
  error?: string;
  stopped?: StoppedEarly;
}

/** The strategy's saved state with the keys of the configurations it has seen. */
export type SavedStrategyState = Record<string, unknown> & { seen: string[] };

export interface ResultsStore {
  /** Register an experiment, or update the file, host and strategy of one registered before. */
  upsertExperiment(e: NewExperiment): ExperimentRow;
  getExperiment(id: string): ExperimentRow | undefined;
  /** Find an experiment by id, unique id prefix or name (the newest of that name). */
  findExperiment(ref: string): ExperimentRow | undefined;
  /** `error` says why, for 'failed'; any other state clears it. */
  setExperimentState(id: string, state: ExperimentState, error?: string): void;

  /** The strategy's saved state, or undefined before the first save. */
  strategyState(id: string): SavedStrategyState | undefined;
  /**
   * Save a strategy's state. What it has seen only grows, in order: the first `savedSeen` of its
   * list were saved before by this same strategy object and need not be written again; -1 (a
   * first save, or another object) writes them all.
   */
  saveStrategyState(id: string, state: { seen: readonly string[] }, savedSeen?: number): void;

  /** Record a configuration the strategy asked for, as running; a second call for the same one changes nothing. */
  addConfiguration(c: NewConfiguration): void;
  countConfigurations(experimentId: string, status: ConfigStatus): number;
  /** In asking order. */
  configurations(experimentId: string, status?: ConfigStatus): ConfigRow[];
  getConfiguration(experimentId: string, configId: string): ConfigRow | undefined;
  finishConfiguration(experimentId: string, configId: string, f: ConfigurationOutcome): void;
  /** Record a running configuration's effective identity (and the build it now shares). */
  setEffective(experimentId: string, configId: string, e: EffectiveIdentity): void;
  /** Record a running configuration as a duplicate of `of`: finished, never built or measured. */
  markDuplicate(experimentId: string, configId: string, of: string, e: EffectiveIdentity): void;
  /** The configuration (not a duplicate) holding this effective identity. */
  findEffective(experimentId: string, effectiveId: string): ConfigRow | undefined;
  /** The duplicates of a configuration, in asking order. */
  duplicatesOf(experimentId: string, configId: string): ConfigRow[];

  /** Store a build's result; only the first result for a build counts (returns whether this one did). */
  recordBuild(r: BuildResult): boolean;
  getBuild(experimentId: string, buildId: string): BuildRow | undefined;
  /** Forget a build whose artifacts are gone with the host that had them: the next result for it counts. */
  forgetBuild(experimentId: string, buildId: string): void;
  /** The workers holding builds of an experiment (their own queues may hold its tests). */
  buildWorkers(experimentId: string): string[];

  /** Store a run exactly once: a repeated delivery of the same (configuration, test, iteration) is ignored. */
  recordRun(r: RunResult): boolean;
  runs(experimentId: string, configId?: string): StoredRun[];

  /** Keep a confirmation's verdict (the last one kept is the experiment's). */
  recordComparison(experimentId: string, c: StoredComparison): void;
  /** The experiment's last confirmation verdict, if it has one. */
  lastComparison(experimentId: string): StoredComparison | undefined;

  /**
   * How many times a piece of work (a build, or one test of a configuration: `key`) was queued
   * again after infrastructure failures. Its queue identity depends on it, so it is kept.
   */
  workRetries(experimentId: string, key: string): number;
  /** Count one more retry of `key`; returns the new count. */
  addWorkRetry(experimentId: string, key: string): number;

  /** All or nothing, durable when it returns. A nested call is a savepoint: if it throws, only its own writes are undone. */
  transaction<T>(fn: () => T): T;
  /** All or nothing, durable at the next flush() (or the next ordinary transaction). */
  lazyTransaction<T>(fn: () => T): T;
  /** Make every transaction committed so far durable. */
  flush(): Promise<void>;
}
