// How work reaches workers and results come back, as the study loop and the daemon see it. BullMQ
// on Redis is the real transport (bullmq-transport.ts) and the default everywhere; MemoryTransport
// (memory-transport.ts) runs work in-process, for fast tests of the study loop. Whatever the
// transport, the same work submitted twice is queued once, and the same result sent twice is
// delivered at least once and stored once (the store ignores repeats).

import type { BuildWork, ResultMessage, TestWork, Work } from '../wire.js';

/** Where a test goes: the one worker that built its configuration (it has the artifacts), or any worker of the pool. */
export interface TestRoute {
  pool: string;
  worker?: string;
}

export interface ConsumeOptions {
  /**
   * How many results the handler may hold at once: results arriving together are stored together
   * (default 1). More than there can be in flight costs a fetch per slot that finds nothing.
   */
  concurrency?: number;
  /** The transport itself failed (not a handler: a result whose handler rejects is delivered again, after a while). */
  onError?: (e: Error) => void;
}

/** A stream of results being delivered; close() stops taking more (results not taken stay queued). */
export interface ResultStream {
  close(): Promise<void>;
}


/** What a lost worker held of one build: the build (its artifacts are gone) and the tests routed to it. */
export interface LostBuild {
  experimentId: string;
  worker: string;
  pool: string;
  buildId: string;
  /** The build's `retry` when it was last queued. */
  buildRetry?: number;
  /** `first`: the first iteration of the stage queued (a staged test; absent: 0). */
  tests: { configId: string; test: string; retry?: number; first?: number }[];
}

/**
 * A worker's announcement that it started a job, or refused one (not signed with the job key), for
 * a live view and the log; not needed for correctness (a refused job also sends a failure result).
 */
export interface JobStarted {
  kind: 'started' | 'refused';
  /** Why a refused job was refused. */
  reason?: string;
  experimentId: string;
  job: string;
  configId?: string;
  buildId?: string;
  host: string;
  worker: string;
  at: number;
}

export interface WorkTransport {
  /** Queue a build on the pool; the same build (experiment, build, retry) queued again is a no-op. */
  submitBuild(work: BuildWork, pool: string): Promise<void>;
  /** Queue a test; the same test (experiment, configuration, test, retry) queued again is a no-op. */
  submitTest(work: TestWork, route: TestRoute): Promise<void>;
  /**
   * Deliver an experiment's results to `handler`; each is acknowledged (and gone from the
   * transport) once the handler's promise resolves, which it must do only once the result is
   * stored durably. One consumer per experiment: results a killed predecessor was handling are
   * delivered again at once.
   */
  consumeResults(experimentId: string, handler: (msg: ResultMessage) => Promise<void>, opts?: ConsumeOptions): Promise<ResultStream>;
  /** Whether a worker has shown a sign of life within its lifetime. */
  isAlive(worker: string): Promise<boolean>;
  /** How many workers take this pool's work now (an experiment for a pool with none would wait unseen). */
  poolWorkers(pool: string): Promise<number>;
  /**
   * Take back what a lost worker held of a build: its tests, the build's job and the build's
   * result, so that the build and the tests can be queued again (elsewhere). False when the
   * worker still holds one of them (it is alive after all): then nothing should be queued again.
   */
  reclaimLost(lost: LostBuild): Promise<boolean>;
  /**
   * Take back an experiment's work that no worker has started (cancelled, or stopped by a
   * failure) from these pools and workers' queues; returns what was taken. Started work finishes.
   */
  withdraw(experimentId: string, from: { pools: string[]; workers: string[] }): Promise<Work[]>;
  /**
   * Release every job still marked as held by a worker, so it is taken again at once. Only for a
   * transport this process owns alone (an embedded Redis in a work directory it has locked): any
   * holder is a killed predecessor of this process.
   */
  releaseAbandoned(): Promise<void>;
  /** Listen to workers' job-started announcements until the returned handle is closed. */
  onJobStarted(listener: (e: JobStarted) => void): Promise<{ close(): Promise<void> }>;
  /** Whether the transport answers now (within about a second), and if not, why. */
  health(): Promise<TransportHealth>;
  close(): Promise<void>;
}

export interface TransportHealth {
  ok: boolean;
  /** Milliseconds the answer took. */
  latencyMs?: number;
  error?: string;
}
