// A work transport in memory, with in-process workers that run work through a callback: for fast
// tests of the study loop (resume, batches, failures, budget, lost workers) without Redis. It keeps
// the promises the BullMQ transport keeps: job and result ids as there (ids.ts), so the same work
// queued twice runs once and the same result sent twice is delivered once; results acknowledged
// only when the handler resolves, delivered again when it rejects; tests routed to the worker
// that built their configuration; a worker's failure to run a job sent as an 'infra' failure.

import { buildJobId, buildQueueName, buildResultId, resultJobId, resultsQueueName, runResultId, testJobId, testQueueName, workerQueueName } from './ids.js';
import type { ConsumeOptions, JobStarted, LostBuild, ResultStream, TestRoute, WorkTransport } from './transport.js';
import type { Failure } from '../types.js';
import type { BuildWork, Placement, ResultMessage, TestWork, Work } from '../wire.js';

/** What a worker's callback says of one build, or of one iteration of a test. */
export type Outcome =
  | { status: 'ok'; metrics?: Record<string, number>; durationMs?: number }
  | { status: 'failed'; failure?: Failure; error?: string; metrics?: Record<string, number>; durationMs?: number };

/** Runs a build (`iteration` absent) or one measured iteration of a test; throwing is the worker's own failure ('infra'). */
export type Execute = (work: Work, iteration: number | undefined, worker: string) => Outcome | Promise<Outcome>;

export interface MemoryWorkerOptions {
  /** Its id in the transport: tests of what it built are routed to it. */
  id: string;
  /** The pool it takes builds and tests of (default "default"). */
  pool?: string;
  /** The host name its results record (default: its id). */
  host?: string;
  /** Jobs it runs at once (default 1). */
  concurrency?: number;
  execute: Execute;
}

interface Job {
  id: string;
  queue: string;
  work: Work;
  state: 'waiting' | 'active' | 'done';
  holder?: string;
}

interface Result {
  msg: ResultMessage;
  state: 'waiting' | 'active' | 'done';
}

interface Consumer {
  handler: (msg: ResultMessage) => Promise<void>;
  concurrency: number;
  active: number;
  closed: boolean;
  idle: (() => void)[];
}

interface MemoryWorker {
  opts: MemoryWorkerOptions;
  pool: string;
  host: string;
  alive: boolean;
  running: number;
}

export class MemoryTransport implements WorkTransport {
  /** Every job ever queued, by queue and id (kept after completion, as BullMQ keeps them, so re-adding is a no-op). */
  private readonly jobs = new Map<string, Job>();
  private readonly results = new Map<string, Map<string, Result>>();
  private readonly consumers = new Map<string, Consumer>();
  private readonly workers = new Map<string, MemoryWorker>();
  private readonly listeners = new Set<(e: JobStarted) => void>();
  private scheduled = false;
  private closed = false;

  /** Start an in-process worker taking jobs of its pool and of its own queue. */
  addWorker(opts: MemoryWorkerOptions): void {
    this.workers.set(opts.id, { opts, pool: opts.pool ?? 'default', host: opts.host ?? opts.id, alive: true, running: 0 });
    this.schedule();
  }

  /**
   * The worker vanishes with its host: it takes nothing more and sends nothing more. The jobs it
   * held go back to their queues, as BullMQ's stalled-job check returns them once their locks
   * expire: a pool's to another worker, its own queue's to no one until they are taken back.
   */
  loseWorker(id: string): void {
    const w = this.workers.get(id);
    if (!w) return;
    w.alive = false;
    for (const j of this.jobs.values()) {
      if (j.state === 'active' && j.holder === id) {
        j.state = 'waiting';
        delete j.holder;
      }
    }
    this.schedule();
  }

  /** Jobs queued and not yet started, in all queues (for tests). */
  waiting(): Work[] {
    return [...this.jobs.values()].filter((j) => j.state === 'waiting').map((j) => j.work);
  }

  async submitBuild(work: BuildWork, pool: string): Promise<void> {
    this.add(buildQueueName(pool), buildJobId(work.experimentId, work.buildId, work.retry), work);
  }

  async submitTest(work: TestWork, route: TestRoute): Promise<void> {
    const queue = route.worker ? workerQueueName(route.worker) : testQueueName(route.pool);
    this.add(queue, testJobId(work.experimentId, work.configId, work.job.name, work.retry, work.firstIteration), work);
  }

  async consumeResults(experimentId: string, handler: (msg: ResultMessage) => Promise<void>, opts: ConsumeOptions = {}): Promise<ResultStream> {
    // The one consumer: a result a predecessor was handling is delivered again.
    for (const r of this.resultsOf(experimentId).values()) if (r.state === 'active') r.state = 'waiting';
    const c: Consumer = { handler, concurrency: opts.concurrency ?? 1, active: 0, closed: false, idle: [] };
    this.consumers.set(experimentId, c);
    this.schedule();
    return {
      close: async () => {
        c.closed = true;
        if (this.consumers.get(experimentId) === c) this.consumers.delete(experimentId);
        // As BullMQ's Worker.close(): the results being handled finish first.
        if (c.active > 0) await new Promise<void>((r) => c.idle.push(r));
      },
    };
  }

  async isAlive(worker: string): Promise<boolean> {
    return this.workers.get(worker)?.alive === true;
  }

  async poolWorkers(pool: string): Promise<number> {
    return [...this.workers.values()].filter((w) => w.alive && w.pool === pool).length;
  }

  async reclaimLost(lost: LostBuild): Promise<boolean> {
    const held = (j: Job | undefined): boolean => j?.state === 'active' && j.holder !== undefined && this.workers.get(j.holder)?.alive === true;
    const own = workerQueueName(lost.worker);
    for (const t of lost.tests) {
      const k = jobKey(own, testJobId(lost.experimentId, t.configId, t.test, t.retry, t.first));
      if (held(this.jobs.get(k))) return false;
      this.jobs.delete(k);
    }
    const results = this.resultsOf(lost.experimentId);
    const resultId = buildResultId(lost.experimentId, lost.buildId);
    if (results.get(resultId)?.state === 'active') return false;
    results.delete(resultId);
    const k = jobKey(buildQueueName(lost.pool), buildJobId(lost.experimentId, lost.buildId, lost.buildRetry));
    if (held(this.jobs.get(k))) return false;
    this.jobs.delete(k);
    return true;
  }

  async withdraw(experimentId: string, from: { pools: string[]; workers: string[] }): Promise<Work[]> {
    const queues = new Set([...from.pools.flatMap((p) => [buildQueueName(p), testQueueName(p)]), ...from.workers.map(workerQueueName)]);
    const removed: Work[] = [];
    for (const [k, j] of this.jobs) {
      if (j.state !== 'waiting' || j.work.experimentId !== experimentId || !queues.has(j.queue)) continue;
      this.jobs.delete(k);
      removed.push(j.work);
    }
    return removed;
  }

  async releaseAbandoned(): Promise<void> {
    for (const j of this.jobs.values()) {
      if (j.state === 'active' && !(j.holder && this.workers.get(j.holder)?.alive)) {
        j.state = 'waiting';
        delete j.holder;
      }
    }
    this.schedule();
  }

  async onJobStarted(listener: (e: JobStarted) => void): Promise<{ close(): Promise<void> }> {
    this.listeners.add(listener);
    return { close: async () => void this.listeners.delete(listener) };
  }

  /** In memory, always there. */
  health(): Promise<{ ok: boolean }> {
    return Promise.resolve({ ok: true });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.workers.values()) w.alive = false;
  }

  private add(queue: string, id: string, work: Work): void {
    const k = jobKey(queue, id);
    if (this.jobs.has(k)) return;
    this.jobs.set(k, { id, queue, work: structuredClone(work), state: 'waiting' });
    this.schedule();
  }

  private resultsOf(experimentId: string): Map<string, Result> {
    const name = resultsQueueName(experimentId);
    let m = this.results.get(name);
    if (!m) {
      m = new Map();
      this.results.set(name, m);
    }
    return m;
  }

  /** Send a result as a worker does (the in-process workers send theirs through it too). */
  addResult(msg: ResultMessage): void {
    const results = this.resultsOf(msg.experimentId);
    const id = resultJobId(msg);
    if (results.has(id)) return;
    results.set(id, { msg: structuredClone(msg), state: 'waiting' });
    this.schedule();
  }

  private hasResult(experimentId: string, id: string): boolean {
    return this.resultsOf(experimentId).has(id);
  }

  /** One pass over workers and consumers per turn of the event loop, as deliveries from Redis would come. */
  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.closed) return;
      this.startJobs();
      this.deliver();
    });
  }

  private startJobs(): void {
    for (const w of this.workers.values()) {
      if (!w.alive) continue;
      const queues = [buildQueueName(w.pool), testQueueName(w.pool), workerQueueName(w.opts.id)];
      for (const j of this.jobs.values()) {
        if (w.running >= (w.opts.concurrency ?? 1)) break;
        if (j.state !== 'waiting' || !queues.includes(j.queue)) continue;
        j.state = 'active';
        j.holder = w.opts.id;
        w.running++;
        void this.run(w, j).finally(() => {
          w.running--;
          this.schedule();
        });
      }
    }
  }

  private deliver(): void {
    for (const [experimentId, c] of this.consumers) {
      if (c.closed) continue;
      for (const r of this.resultsOf(experimentId).values()) {
        if (c.active >= c.concurrency) break;
        if (r.state !== 'waiting') continue;
        r.state = 'active';
        c.active++;
        c.handler(structuredClone(r.msg)).then(
          () => {
            r.state = 'done';
          },
          () => {
            // Not stored: delivered again (soon; BullMQ backs off), as the BullMQ transport does.
            setTimeout(() => {
              r.state = 'waiting';
              this.schedule();
            }, 5);
          },
        ).finally(() => {
          c.active--;
          if (c.active === 0) c.idle.splice(0).forEach((f) => f());
          this.schedule();
        });
      }
    }
  }

  /** What a host worker does with a job (see host-worker.ts), minus placement and processes. */
  private async run(w: MemoryWorker, j: Job): Promise<void> {
    const work = j.work;
    const id = w.opts.id;
    // A lost worker's host is gone: nothing it does reaches anyone, and its job stays held.
    const send = (msg: ResultMessage): void => {
      if (w.alive) this.addResult({ ...msg, ...(work.retry ? { retry: work.retry } : {}) });
    };
    for (const l of this.listeners) l({ kind: 'started', experimentId: work.experimentId, job: j.id, host: w.host, worker: id, at: Date.now(), ...(work.kind === 'build' ? { buildId: work.buildId } : { configId: work.configId }) });
    const placement: Placement = { host: w.host, cpus: [0], isolation: work.job.isolation };
    const startedAt = Date.now();
    const first = work.kind === 'test' ? (work.firstIteration ?? 0) : 0;
    const extra = work.kind === 'test' && work.extra ? { extra: work.extra } : {};
    let iteration = first;
    try {
      if (work.kind === 'build') {
        const o = await w.opts.execute(work, undefined, id);
        send({
          kind: 'build', experimentId: work.experimentId, buildId: work.buildId, status: o.status,
          ...(o.status === 'failed' ? { failure: o.failure === 'infra' ? 'infra' : 'build', ...(o.error ? { error: o.error } : {}) } : {}),
          durationMs: o.durationMs ?? 0, host: w.host, worker: id, startedAt,
        });
      } else {
        for (; iteration < first + work.job.iterations; iteration++) {
          if (work.resumed && this.hasResult(work.experimentId, runResultId({ ...work, test: work.job.name, iteration }))) continue;
          const o = await w.opts.execute(work, iteration, id);
          if (!w.alive) break;
          send({
            kind: 'run', experimentId: work.experimentId, configId: work.configId, test: work.job.name, iteration, status: o.status,
            ...(o.status === 'failed' ? { failure: o.failure ?? 'exit', ...(o.error ? { error: o.error } : {}) } : {}),
            metrics: o.metrics ?? {}, durationMs: o.durationMs ?? 0, attempts: 1, placement, startedAt, ...extra,
          });
          if (o.status === 'failed') break;
        }
      }
    } catch (e) {
      // The worker's own failure: the job is settled as an infrastructure failure (see HostWorker.guard).
      const error = e instanceof Error ? e.message : String(e);
      if (work.kind === 'build') {
        send({ kind: 'build', experimentId: work.experimentId, buildId: work.buildId, status: 'failed', failure: 'infra', error, durationMs: 0, host: w.host, worker: id, startedAt });
      } else {
        send({
          kind: 'run', experimentId: work.experimentId, configId: work.configId, test: work.job.name, iteration: Math.min(iteration, first + work.job.iterations - 1),
          status: 'failed', failure: 'infra', error, metrics: {}, durationMs: 0, attempts: 0, placement, startedAt, ...extra,
        });
      }
    }
    if (w.alive) {
      j.state = 'done';
      delete j.holder;
    }
  }
}

function jobKey(queue: string, id: string): string {
  return `${queue}\u0000${id}`;
}
