// The work transport on BullMQ and Redis: per-pool build and test queues, a queue per worker for
// the tests of what it built, a results queue per experiment (queues.ts), and workers' signs of
// life. Everything that knows BullMQ's keys stays in this folder.

import { Worker, type Job } from 'bullmq';
import { buildJobId, buildQueueName, buildResultId, resultsQueueName, testJobId, testQueueName, workerQueueName } from './ids.js';
import { queuesWithActive, releaseLocks } from './locks.js';
import { eventsChannel, queueConfig, WorkQueues } from './queues.js';
import type { RedisTarget } from './redis.js';
import type { ConsumeOptions, JobStarted, LostBuild, ResultStream, TestRoute, TransportHealth, WorkTransport } from './transport.js';
import type { BuildWork, ResultMessage, TestWork, Work } from '../wire.js';

export interface BullTransportOptions {
  /** The Redis that holds the queues: embedded in the work directory, or the one --redis names. */
  redis: RedisTarget;
  /** Key prefix: lets several wayfinder installations, or tests, share one Redis without meeting (default "wayfinder"). */
  prefix?: string;
  /** Sign every job queued with this key (workers that have it run only signed jobs). */
  jobKey?: Buffer;
}

export class BullTransport implements WorkTransport {
  /** The queues themselves, for this folder's host worker (and tests that look inside). */
  readonly queues: WorkQueues;

  constructor(opts: BullTransportOptions) {
    this.queues = new WorkQueues(queueConfig(opts.redis, opts.prefix, opts.jobKey));
  }

  async submitBuild(work: BuildWork, pool: string): Promise<void> {
    await this.queues.addBuild(work, pool);
  }

  async submitTest(work: TestWork, route: TestRoute): Promise<void> {
    await this.queues.addTest(work, route);
  }

  async consumeResults(experimentId: string, handler: (msg: ResultMessage) => Promise<void>, opts: ConsumeOptions = {}): Promise<ResultStream> {
    const name = resultsQueueName(experimentId);
    const { client, config } = this.queues;
    // The one reader of these results: one still marked active was a killed predecessor's, and is
    // taken again now rather than when its lock expires (storing a result twice stores it once).
    await releaseLocks(client, config.prefix, [name], 'all');
    const worker = new Worker(name, async (job: Job<ResultMessage>) => handler(job.data), {
      connection: config.connection,
      prefix: config.prefix,
      concurrency: opts.concurrency ?? 1,
    });
    worker.on('error', (e) => opts.onError?.(e));
    return { close: () => worker.close() };
  }

  isAlive(worker: string): Promise<boolean> {
    return this.queues.isAlive(worker);
  }

  /** Workers connected to the pool's build queue (every host worker of the pool listens there). */
  poolWorkers(pool: string): Promise<number> {
    return this.queues.queue(buildQueueName(pool)).getWorkersCount();
  }

  async reclaimLost(lost: LostBuild): Promise<boolean> {
    const q = this.queues;
    const own = workerQueueName(lost.worker);
    // The lost worker's jobs are held by no one now: their locks go, then the jobs.
    await releaseLocks(q.client, q.config.prefix, [own], 'all');
    for (const t of lost.tests) {
      if (!(await q.removeJob(own, testJobId(lost.experimentId, t.configId, t.test, t.retry, t.first)))) return false;
    }
    // The earlier build's job and result keep their ids for a week; a new build needs them gone.
    if (!(await q.removeJob(resultsQueueName(lost.experimentId), buildResultId(lost.experimentId, lost.buildId)))) return false;
    return q.removeJob(buildQueueName(lost.pool), buildJobId(lost.experimentId, lost.buildId, lost.buildRetry));
  }

  withdraw(experimentId: string, from: { pools: string[]; workers: string[] }): Promise<Work[]> {
    const names = [...from.pools.flatMap((p) => [buildQueueName(p), testQueueName(p)]), ...from.workers.map(workerQueueName)];
    return this.queues.removeWaiting(experimentId, names);
  }

  async releaseAbandoned(): Promise<void> {
    const { client, config } = this.queues;
    await releaseLocks(client, config.prefix, await queuesWithActive(client, config.prefix), 'all');
  }

  async onJobStarted(listener: (e: JobStarted) => void): Promise<{ close(): Promise<void> }> {
    const sub = this.queues.client.duplicate();
    sub.on('error', () => undefined);
    sub.on('message', (_channel: string, text: string) => {
      let e: JobStarted;
      try {
        e = JSON.parse(text) as JobStarted;
      } catch {
        return; // not ours
      }
      listener(e);
    });
    await sub.subscribe(eventsChannel(this.queues.config.prefix));
    return {
      close: async () => {
        await sub.quit().catch(() => undefined);
      },
    };
  }

  health(): Promise<TransportHealth> {
    return this.queues.health();
  }

  close(): Promise<void> {
    return this.queues.close();
  }
}
