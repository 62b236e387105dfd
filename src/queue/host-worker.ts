// A host's worker: takes build and test jobs from the queue, waits for the scheduler to place
// each on this host's CPUs under its isolation level, runs it, and sends the results back.

import { DelayedError, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { Dispatcher } from '../scheduler/dispatch.js';
import { DurationHistory } from '../scheduler/durations.js';
import { Intake } from '../scheduler/intake.js';
import { enforcedPlacement, isolationOptionsFromEnv, JobIsolation, type JobIsolationOptions } from '../isolation/job-isolation.js';
import { netnsPrefix, reapNetns } from '../isolation/netns.js';
import { hostRootsFromEnv } from '../isolation/host.js';
import { HostBusyError, HostLease } from '../isolation/host-lease.js';
import { executeBuild, executeTest, type ExecContext } from '../runners/job.js';
import { reapRunners, runnerFor } from '../runners/kinds.js';
import type { RunMeter } from '../isolation/accounting.js';
import { hostTuningPath, queueOwnersPath, registryDir } from '../workdir.js';
import { ProcessRegistry } from '../runners/registry.js';
import type { BuildWork, Placement, TestWork, Work } from '../wire.js';
import { readOwners, releaseLocks, writeOwners } from './locks.js';
import { checkJob } from './signing.js';
import { buildQueueName, runResultId, testQueueName, workerQueueName, type WorkQueues } from './queues.js';

export interface HostWorkerOptions {
  queues: WorkQueues;
  workdir: string;
  dispatcher: Dispatcher;
  /** How many jobs this host holds at once (they still wait for the scheduler's grant). */
  concurrency: number;
  /** The name its results record (default: the hostname). */
  host?: string;
  /** The class of identical hosts this one belongs to: it takes that pool's jobs only (default "default"). */
  pool?: string;
  /** Milliseconds a job's lock lasts without renewal; a killed worker's jobs return to the queue after it (default 30 000). */
  lockDuration?: number;
  /** Milliseconds between checks for jobs whose lock expired, which go back to their queue (default 15 000). */
  stalledInterval?: number;
  /**
   * Milliseconds without a sign of life after which this worker counts as lost: the configurations
   * it built are built again elsewhere (their tests need the artifacts only it had). Default 60 000.
   */
  lostAfterMs?: number;
  /** Where cgroups and resctrl live (default: the kernel's, or WAYFINDER_CGROUP_ROOT / WAYFINDER_RESCTRL_ROOT). */
  isolation?: Omit<JobIsolationOptions, 'workdir'>;
  /** The Docker engine's socket for jobs with an image (default: DOCKER_HOST, then /var/run/docker.sock). */
  dockerSocket?: string;
  /** Where host settings are read and written (default: the kernel's, or WAYFINDER_SYSFS_ROOT / WAYFINDER_PROCFS_ROOT). */
  hostRoots?: { sysfsRoot?: string; procRoot?: string };
  /** Milliseconds a job's host settings stay applied after it, for the next job of the same settings (default 5 s). */
  hostLingerMs?: number;
  /** Told of each job refused for its signature (with a job key in the queues' config, only signed jobs run). */
  onRefused?: (line: string) => void;
}

/** How long a job refused for other host settings in force waits in the queue before it is offered again. */
const HOST_BUSY_RETRY_MS = 250;

/** Thrown into jobs still waiting for CPUs when the worker stops: they go back to the queue. */
class StoppingError extends Error {}

export class HostWorker {
  readonly host: string;
  readonly pool: string;
  /** This worker's name in the queue, stable across restarts: its host and work directory. */
  readonly id: string;
  readonly registry: ProcessRegistry;
  readonly isolation: JobIsolation;
  /** The experiments' host settings on this host, one set at a time (see isolation/host-lease.ts). */
  readonly hostSettings: HostLease;
  private readonly workers: Worker[] = [];
  private readonly aborter = new AbortController();
  private isolationReady: Promise<void> = Promise.resolve();
  /** Past durations of each job, so the scheduler can start the longest first. */
  private readonly durations = new DurationHistory();
  private stopping = false;
  private recovered = false;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly opts: HostWorkerOptions) {
    this.host = opts.host ?? hostname();
    this.pool = opts.pool ?? 'default';
    this.id = `${this.host}.${createHash('sha256').update(opts.workdir).digest('hex').slice(0, 8)}`;
    this.registry = new ProcessRegistry(registryDir(opts.workdir));
    this.isolation = new JobIsolation({ workdir: opts.workdir, ...(opts.isolation ?? isolationOptionsFromEnv()) });
    this.hostSettings = new HostLease({
      stateFile: hostTuningPath(opts.workdir),
      ...(opts.hostRoots ?? hostRootsFromEnv()),
      ...(opts.hostLingerMs !== undefined ? { lingerMs: opts.hostLingerMs } : {}),
    });
  }

  /** The queues this worker takes jobs from. */
  queueNames(): string[] {
    return [buildQueueName(this.pool), testQueueName(this.pool), workerQueueName(this.id)];
  }

  /** End what a killed predecessor left running, then start taking jobs. */
  async start(): Promise<void> {
    const lostAfter = this.opts.lostAfterMs ?? 60_000;
    const beat = (): Promise<void> => this.opts.queues.markAlive(this.id, lostAfter).catch(() => undefined);
    await beat();
    this.heartbeat = setInterval(() => void beat(), Math.max(100, Math.floor(lostAfter / 4)));
    this.heartbeat.unref();
    // Host settings a killed predecessor left applied are put back before any job runs.
    this.recovered = await this.hostSettings.recover();
    this.registry.reap();
    reapNetns(netnsPrefix(this.opts.workdir));
    // Every runner kind ends what it left (containers) before the stale cgroups go: a container's
    // groups sit inside an accounting group of ours, which cannot be removed while they exist.
    await reapRunners({ workdir: this.opts.workdir, ...(this.opts.dockerSocket ? { dockerSocket: this.opts.dockerSocket } : {}) });
    // Stale cgroups and resctrl groups go before the first job is placed (which awaits this; a failure surfaces there).
    this.isolationReady = this.isolation.start().then(() => {
      const rc = this.isolation.resctrlHandle;
      if (rc) this.opts.dispatcher.scheduler.enablePartitions(rc.info);
    });
    this.isolationReady.catch(() => undefined);
    // The predecessor's jobs go back to the queue now rather than when their locks expire.
    const ownersFile = queueOwnersPath(this.opts.workdir);
    await releaseLocks(this.opts.queues.client, this.opts.queues.config.prefix, this.queueNames(), readOwners(ownersFile));
    const common = {
      connection: this.opts.queues.config.connection,
      prefix: this.opts.queues.config.prefix,
      concurrency: this.opts.concurrency,
      lockDuration: this.opts.lockDuration ?? 30_000,
      stalledInterval: this.opts.stalledInterval ?? 15_000,
      // A job whose worker was killed is run again however often that happens: each kill costs
      // only the runs in flight, and the results already sent are never measured again.
      maxStalledCount: 1_000_000,
    };
    // A further job is taken only while every job taken is placed (see Intake).
    const intake = new Intake(this.opts.dispatcher, this.opts.concurrency);
    const [buildQ, poolQ, ownQ] = this.queueNames() as [string, string, string];
    const build = new Worker(buildQ, (job: Job<BuildWork>, token?: string) => this.checked(job, () => intake.hold(buildQ, () => this.guard(job, token, () => this.build(job)))), { ...common, concurrency: 1 });
    intake.add(buildQ, build);
    this.workers.push(build);
    // Tests of the pool, and tests of configurations this worker built (it has their artifacts).
    for (const q of [poolQ, ownQ]) {
      const test = new Worker(q, (job: Job<TestWork>, token?: string) => this.checked(job, () => intake.hold(q, () => this.guard(job, token, () => this.test(job)))), { ...common, concurrency: 1 });
      intake.add(q, test);
      this.workers.push(test);
    }
    for (const w of this.workers) w.on('error', () => undefined);
    writeOwners(ownersFile, this.workers.map((w) => w.id));
  }

  /**
   * A job stopped by our shutdown goes back to the queue untouched; any other error is this
   * worker's (it could not place, confine or start the job), sent as an infrastructure failure:
   * the study loop queues the work again instead of blaming the configuration.
   */
  private async guard(job: Job<Work>, token: string | undefined, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      if (this.aborter.signal.aborted || e instanceof StoppingError) {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      // Other host settings are in force for jobs still running: offered again shortly.
      if (e instanceof HostBusyError) {
        await job.moveToDelayed(Date.now() + HOST_BUSY_RETRY_MS, token);
        throw new DelayedError();
      }
      await this.sendInfra(job.data, e instanceof Error ? e.message : String(e));
    }
  }

  /**
   * With a job key, a job runs only if the coordinator signed it: anything else (added to Redis by
   * someone else, or altered there) is refused before it is placed, said in the log and the live
   * view, and answered with an infrastructure failure that says why (its experiment, if it has
   * one, queues the work again, signed; the configuration is not blamed). The job itself fails in
   * BullMQ with the reason and is not retried.
   */
  private async checked(job: Job<Work>, run: () => Promise<void>): Promise<void> {
    const key = this.opts.queues.config.jobKey;
    const why = key ? checkJob(key, job.name, String(job.id), job.data) : undefined;
    if (why === undefined) return run();
    const w = job.data as Partial<Work> | undefined;
    const experimentId = typeof w?.experimentId === 'string' ? w.experimentId : '';
    const reason = `refused job ${String(job.id)} from queue ${job.queueName}: ${why}; this worker runs only jobs signed with its job key`;
    this.opts.onRefused?.(reason);
    this.opts.queues.announce({ kind: 'refused', experimentId, job: String(job.id), host: this.host, worker: this.id, at: Date.now(), reason });
    if (isWork(job.data)) await this.sendInfra(job.data, reason);
    throw new UnrecoverableError(reason);
  }

  /** This worker could not run the work: one infrastructure failure answers it (for a test, its first iteration not yet sent). */
  private async sendInfra(w: Work, error: string): Promise<void> {
    const placement = { host: this.host, cpus: [], isolation: w.job.isolation };
    if (w.kind === 'build') {
      await this.opts.queues.addResult({
        kind: 'build', experimentId: w.experimentId, buildId: w.buildId, status: 'failed', failure: 'infra', error, durationMs: 0, host: this.host, worker: this.id, startedAt: Date.now(),
        ...retryOf(w),
      });
      return;
    }
    const first = w.firstIteration ?? 0;
    for (let iteration = first; iteration < first + w.job.iterations; iteration++) {
      const id = runResultId({ ...w, test: w.job.name, iteration });
      if (await this.opts.queues.hasResult(w.experimentId, id)) continue;
      await this.opts.queues.addResult({
        kind: 'run', experimentId: w.experimentId, configId: w.configId, test: w.job.name, iteration,
        status: 'failed', failure: 'infra', error, metrics: {}, durationMs: 0, attempts: 0, placement, startedAt: Date.now(),
        ...retryOf(w),
        ...(w.extra ? { extra: w.extra } : {}),
      });
      break;
    }
  }

  private execContext(placement: Placement, wrap: (argv: string[]) => string[], meter: RunMeter | undefined): ExecContext {
    return {
      ...(meter ? { meter } : {}),
      workdir: this.opts.workdir,
      placement,
      registry: this.registry,
      signal: this.aborter.signal,
      wrap,
      inCgroup: placement.cgroup !== undefined && placement.cgroup !== 'none',
      ...(this.opts.dockerSocket ? { dockerSocket: this.opts.dockerSocket } : {}),
    };
  }

  private allCpus(): number {
    return this.opts.dispatcher.scheduler.allocator.topo.cpus.length;
  }

  /** Run `fn` under the work's host settings (applied before the job's placement, released after it). */
  private async underHostSettings<T>(w: Work, fn: (notes: string[]) => Promise<T>): Promise<T> {
    const hold = await this.hostSettings.holdForJob(w.host, w.experimentId);
    try {
      return await fn(hold?.unavailable ?? []);
    } finally {
      await hold?.release();
    }
  }

  private async placed<T>(id: string, job: TestWork['job'], group: string, hostNotes: string[], fn: (p: Placement, wrap: (argv: string[]) => string[], meter: RunMeter | undefined) => Promise<T>): Promise<T> {
    await this.isolationReady;
    const key = DurationHistory.key(group, job.phase, job.name);
    const estimateSec = this.durations.estimate(key);
    const grant = await this.opts.dispatcher.acquire({ id, cores: job.cores, isolation: job.isolation, group, partition: job.resources, ...(estimateSec !== undefined ? { estimateSec } : {}) });
    const started = performance.now();
    this.opts.queues.announce({ kind: 'started', experimentId: group, job: id, host: this.host, worker: this.id, at: Date.now() });
    try {
      const conf = await this.isolation.confine({ jobId: id, cpus: grant.cpus, numaNodes: grant.numaNodes, resources: job.resources, byEngine: runnerFor(job).confinement === 'engine', ...(grant.l3Masks ? { l3Masks: grant.l3Masks } : {}) });
      try {
        const enforced = enforcedPlacement(conf.enforced);
        const notes = [...(enforced.notes ?? []), ...hostNotes];
        const placement = { host: this.host, cpus: grant.cpus, numaNodes: grant.numaNodes, isolation: grant.isolation, ...enforced, ...(notes.length > 0 ? { notes } : {}) };
        return await fn(placement, conf.wrap, conf.meter);
      } finally {
        await conf.release();
      }
    } finally {
      this.durations.record(key, (performance.now() - started) / 1000);
      this.opts.dispatcher.release(id);
    }
  }

  private async build(job: Job<BuildWork>): Promise<void> {
    const w = job.data;
    const result = await this.underHostSettings(w, (hostNotes) =>
      this.placed(job.id as string, w.job, w.experimentId, hostNotes, (placement, wrap, meter) => executeBuild(w, this.execContext(placement, wrap, meter), this.allCpus())),
    );
    if (this.aborter.signal.aborted) throw new Error('worker stopping');
    // The tests of this configuration come to this worker: it has the artifacts.
    await this.opts.queues.addResult({ ...result, worker: this.id, ...retryOf(w) });
  }

  private async test(job: Job<TestWork>): Promise<void> {
    const w = job.data;
    const queues = this.opts.queues;
    await this.underHostSettings(w, (hostNotes) => this.placed(job.id as string, w.job, w.experimentId, hostNotes, (placement, wrap, meter) =>
      executeTest(w, this.execContext(placement, wrap, meter), this.allCpus(), {
        // Only a job delivered before (its worker was killed or stopped), or taken back from a lost
        // worker, can have results sent already.
        done: async (iteration) => (job.attemptsStarted > 1 || w.resumed === true) && (await queues.hasResult(w.experimentId, runResultId({ ...w, test: w.job.name, iteration }))),
        // A run ended by our own shutdown is no result (the job runs again); any other answers this retry.
        emit: async (r) => {
          if (r.failure === 'infra' && this.aborter.signal.aborted) return;
          await queues.addResult({ ...r, ...retryOf(w) });
        },
      }),
    ));
    // Stopped part-way: let the job be taken again (by us after a restart, or another host).
    if (this.aborter.signal.aborted) throw new Error('worker stopping');
  }

  /** Stop taking jobs; with `force`, also end the running ones (they are run again later). */
  async close(force = false): Promise<void> {
    if (force) this.aborter.abort();
    this.stopping = true;
    // Not deleted: a worker restarted within its lifetime keeps its artifacts in use.
    clearInterval(this.heartbeat);
    this.opts.dispatcher.cancelWaiting(new StoppingError('worker stopping'));
    this.hostSettings.cancelWaiting(new StoppingError('worker stopping'));
    try {
      await Promise.all(this.workers.map((w) => w.close(force)));
      await this.isolation.close();
    } finally {
      // Nothing runs any more: the host's settings go back to the values found before, also when
      // cleaning up the jobs' groups failed.
      await this.hostSettings.close();
    }
  }

  /**
   * SIGTERM: take no new jobs, hand back those still waiting for CPUs, let running ones finish
   * for up to `graceMs`, then end them (they return to the queue and run again elsewhere or later).
   */
  async drain(graceMs: number): Promise<void> {
    const timer = setTimeout(() => this.aborter.abort(), graceMs);
    try {
      await this.close(false);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether start() put back host settings a killed predecessor had left applied. */
  get recoveredHostSettings(): boolean {
    return this.recovered;
  }

  get isStopping(): boolean {
    return this.stopping;
  }
}

/** Whether unchecked job data has the shape of work (enough to answer it with a failure). */
function isWork(d: unknown): d is Work {
  const w = d as { kind?: unknown; experimentId?: unknown; buildId?: unknown; configId?: unknown; retry?: unknown; job?: { name?: unknown; iterations?: unknown } | null } | undefined;
  if (!w || typeof w.experimentId !== 'string' || typeof w.job !== 'object' || w.job === null) return false;
  if (w.retry !== undefined && typeof w.retry !== 'number') return false;
  if (w.kind === 'build') return typeof w.buildId === 'string';
  const n = w.job.iterations;
  return w.kind === 'test' && typeof w.configId === 'string' && typeof w.job.name === 'string' && typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 1e6;
}

/** Results of work queued again after an infrastructure failure say which retry they answer. */
function retryOf(w: Work): { retry?: number } {
  return w.retry ? { retry: w.retry } : {};
}
