// The BullMQ queues every wayfinder process shares. Builds go to the experiment's pool (a class of
// identical hosts); tests go to the pool too, or, when the configuration was built, to the one
// worker that holds the build's artifacts; results come back on a queue of their experiment, to the
// one process that writes its store.

import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { RedisTarget } from './redis.js';
import type { BuildWork, ResultMessage, TestWork, Work } from '../wire.js';
import { buildJobId, buildQueueName, resultJobId, resultsQueueName, testJobId, testQueueName, workerQueueName } from './ids.js';
import type { JobStarted } from './transport.js';
import { SIGNATURE, signJob } from './signing.js';

export { buildJobId, buildQueueName, buildResultId, resultJobId, resultsQueueName, runResultId, testJobId, testQueueName, workerQueueName } from './ids.js';


export interface QueueConfig {
  connection: ConnectionOptions;
  /** Key prefix: lets several wayfinder installations, or tests, share one Redis without meeting. */
  prefix: string;
  /** With a job key, jobs are signed when queued and checked before they run (signing.ts). */
  jobKey?: Buffer;
}

/** Reconnection delays: 100 ms, then twice as long each time, at most 2 s, for as long as it takes. */
export function reconnectDelay(times: number): number {
  return Math.min(2000, 100 * 2 ** Math.min(times - 1, 5));
}

export function queueConfig(target: RedisTarget, prefix = 'wayfinder', jobKey?: Buffer): QueueConfig {
  // maxRetriesPerRequest null: BullMQ's blocking commands must wait, not fail, across reconnects.
  return { connection: { ...target.connection, maxRetriesPerRequest: null, retryStrategy: reconnectDelay }, prefix, ...(jobKey ? { jobKey } : {}) };
}

/** A worker's sign of life: a key that expires unless the worker renews it. */
export const aliveKey = (prefix: string, workerId: string): string => `${prefix}:alive:${workerId.replace(/[^A-Za-z0-9._@-]/g, '_')}`;

/** Channel on which workers announce the jobs they start (live events; not needed for correctness). */
export const eventsChannel = (prefix: string): string => `${prefix}:events`;

/**
 * Kept after completion for a week: a job id that still exists makes re-adding it a no-op, which
 * is what makes a resumed coordinator's re-submission idempotent.
 */
const KEEP: JobsOptions = {
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

const REDELIVER: JobsOptions = { attempts: 10, backoff: { type: 'exponential', delay: 200 } };

export class WorkQueues {
  /** One connection for every queue this process adds to (queues are made per pool, worker and experiment). */
  readonly client: Redis;
  private readonly queues = new Map<string, Queue>();

  constructor(readonly config: QueueConfig) {
    this.client = new Redis(config.connection as never);
    this.client.on('error', () => undefined);
  }

  queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.client, prefix: this.config.prefix });
      q.on('error', () => undefined);
      this.queues.set(name, q);
    }
    return q;
  }

  /** The work as queued: with its signature when there is a job key. */
  private signed<W extends Work>(name: string, id: string, work: W): W {
    return this.config.jobKey ? { ...work, [SIGNATURE]: signJob(this.config.jobKey, name, id, work) } : work;
  }

  /** Build jobs go by build checksum: many configurations wait on one build. */
  async addBuild(work: BuildWork, pool: string, priority?: number): Promise<void> {
    const jobId = buildJobId(work.experimentId, work.buildId, work.retry);
    await this.queue(buildQueueName(pool)).add('build', this.signed('build', jobId, work), {
      ...KEEP,
      jobId,
      ...(priority ? { priority } : {}),
    });
  }

  /** A test goes to the worker that built its configuration, or to any worker of the pool. */
  async addTest(work: TestWork, route: { pool: string; worker?: string }, priority?: number): Promise<void> {
    const name = route.worker ? workerQueueName(route.worker) : testQueueName(route.pool);
    const jobId = testJobId(work.experimentId, work.configId, work.job.name, work.retry, work.firstIteration);
    await this.queue(name).add('test', this.signed('test', jobId, work), {
      ...KEEP,
      jobId,
      ...(priority ? { priority } : {}),
    });
  }

  /**
   * A result the study could not store (its handler threw) is delivered again: up to 10 times,
   * 200 ms after the first failure and twice as long after each further one (about 3 minutes in all).
   */
  async addResult(msg: ResultMessage): Promise<void> {
    await this.queue(resultsQueueName(msg.experimentId)).add(msg.kind, msg, { ...KEEP, ...REDELIVER, jobId: resultJobId(msg) });
  }

  /** Whether a result with this id was already sent (then a re-delivered job must not measure it again). */
  async hasResult(experimentId: string, id: string): Promise<boolean> {
    return (await this.client.exists(`${this.config.prefix}:${resultsQueueName(experimentId)}:${id}`)) === 1;
  }

  /** Say that a worker is alive for the next `ttlMs` milliseconds. */
  async markAlive(workerId: string, ttlMs: number): Promise<void> {
    await this.client.set(aliveKey(this.config.prefix, workerId), String(Date.now()), 'PX', ttlMs);
  }

  async isAlive(workerId: string): Promise<boolean> {
    return (await this.client.exists(aliveKey(this.config.prefix, workerId))) === 1;
  }

  /**
   * Take a job out of a queue whatever its state, unless a live worker holds it: returns false
   * only for a job that is active and still locked.
   */
  async removeJob(queueName: string, jobId: string): Promise<boolean> {
    const q = this.queue(queueName);
    const state = await q.getJobState(jobId);
    if (state === 'unknown') return true;
    return (await q.remove(jobId)) === 1;
  }

  /** Announce a started job; losing an announcement loses only a line of a live view. */
  announce(e: JobStarted): void {
    this.client.publish(eventsChannel(this.config.prefix), JSON.stringify(e)).catch(() => undefined);
  }

  /**
   * Take back the jobs of an experiment that no worker has started (a cancelled experiment);
   * returns what was removed. Jobs already running finish.
   */
  async removeWaiting(experimentId: string, queueNames: string[]): Promise<Work[]> {
    const removed: Work[] = [];
    for (const name of queueNames) {
      const q = this.queue(name);
      const jobs = await q.getJobs(['waiting', 'prioritized', 'delayed']);
      for (const job of jobs) {
        const data = job?.data as { experimentId?: string } | undefined;
        if (!job?.id || data?.experimentId !== experimentId) continue;
        // remove() refuses a job a worker has just locked: that one runs.
        if ((await q.remove(job.id)) === 1) removed.push(job.data as Work);
      }
    }
    return removed;
  }

  /**
   * A PING on its own connection with a one-second limit: the shared client queues commands while
   * Redis is away (they wait, not fail), which would make a health check wait as long.
   */
  async health(): Promise<{ ok: boolean; latencyMs?: number; error?: string }> {
    const probe = new Redis({ ...(this.config.connection as object), lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 1000, retryStrategy: () => null } as never);
    let error = 'no answer within 1 s';
    probe.on('error', (e: Error) => (error = e.message));
    const started = performance.now();
    try {
      const answer = await Promise.race([
        probe.connect().then(() => probe.ping()),
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000).unref()),
      ]);
      if (answer === 'PONG') return { ok: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
      return { ok: false, error };
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e.message : error };
    } finally {
      probe.disconnect();
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
    this.client.disconnect();
  }
}
