// The three BullMQ queues every wayfinder process shares: builds and tests go to workers,
// results come back to the one process that writes the store.

import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { RedisTarget } from './redis.js';
import type { BuildWork, ResultMessage, TestWork } from '../runners/work.js';

export const QUEUE_BUILD = 'build';
export const QUEUE_TEST = 'test';
export const QUEUE_RESULTS = 'results';

export interface QueueConfig {
  connection: ConnectionOptions;
  /** Key prefix: lets several wayfinder installations, or tests, share one Redis without meeting. */
  prefix: string;
}

export function queueConfig(target: RedisTarget, prefix = 'wayfinder'): QueueConfig {
  // maxRetriesPerRequest null: BullMQ's blocking commands must wait, not fail, across reconnects.
  return { connection: { ...target.connection, maxRetriesPerRequest: null }, prefix };
}

/**
 * Kept after completion for a week: a job id that still exists makes re-adding it a no-op, which
 * is what makes a resumed coordinator's re-submission idempotent.
 */
const KEEP: JobsOptions = {
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export class WorkQueues {
  readonly build: Queue;
  readonly test: Queue;
  readonly results: Queue;

  constructor(readonly config: QueueConfig) {
    const opts = { connection: config.connection, prefix: config.prefix };
    this.build = new Queue(QUEUE_BUILD, opts);
    this.test = new Queue(QUEUE_TEST, opts);
    this.results = new Queue(QUEUE_RESULTS, opts);
  }

  /** Build jobs go by build checksum: many configurations wait on one build. */
  async addBuild(work: BuildWork, priority?: number): Promise<void> {
    await this.build.add('build', work, { ...KEEP, jobId: buildJobId(work.experimentId, work.buildId), ...(priority ? { priority } : {}) });
  }

  async addTest(work: TestWork, priority?: number): Promise<void> {
    await this.test.add('test', work, {
      ...KEEP,
      jobId: testJobId(work.experimentId, work.configId, work.job.name),
      ...(priority ? { priority } : {}),
    });
  }

  async addResult(msg: ResultMessage): Promise<void> {
    await this.results.add(msg.kind, msg, { ...KEEP, jobId: resultJobId(msg) });
  }

  /** Whether a result with this id was already sent (then a re-delivered job must not measure it again). */
  async hasResult(id: string): Promise<boolean> {
    return (await this.results.getJob(id)) !== undefined;
  }

  async close(): Promise<void> {
    await Promise.all([this.build.close(), this.test.close(), this.results.close()]);
  }
}

// BullMQ job ids may not contain ':' (it separates key parts); our ids are hex and names.
export function buildJobId(experimentId: string, buildId: string): string {
  return `b.${experimentId}.${buildId}`;
}

export function testJobId(experimentId: string, configId: string, test: string): string {
  return `t.${experimentId}.${configId}.${test}`;
}

export function runResultId(r: { experimentId: string; configId: string; test: string; iteration: number }): string {
  return `r.${r.experimentId}.${r.configId}.${r.test}.${r.iteration}`;
}

export function resultJobId(msg: ResultMessage): string {
  return msg.kind === 'build' ? `rb.${msg.experimentId}.${msg.buildId}` : runResultId(msg);
}
