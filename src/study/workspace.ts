// A work directory opened for measuring: its lock, results database, queue (embedded Redis or
// the one named), and this host's worker. Front doors open one through a MeasurementSession
// (src/session), which checks first what this user may do. The study loop gets the store and the
// transport from here: SQLite and BullMQ.

import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { connectRedis, startEmbeddedRedis, type RedisTarget } from '../queue/redis.js';
import { BullTransport } from '../queue/bullmq-transport.js';
import { HostWorker, type HostWorkerOptions } from '../queue/host-worker.js';
import { databasePath, lockPath, logPath, logsDir } from '../workdir.js';
import { Dispatcher } from '../scheduler/dispatch.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { readTopology, allowedCpusOfSelf } from '../scheduler/topology.js';
import { Store } from '../store/store.js';
import { processAlive } from '../util/process-alive.js';
import { UsageError } from '../errors.js';
import { formatCpuList } from '../util/cpulist.js';

export interface WorkspaceOptions {
  workdir: string;
  redis?: string;
  prefix?: string;
  /** Limit this host's jobs to these CPUs (on top of the process's own cpuset). */
  cpus?: number[];
  /** Run this host's worker in the same process (wayfinder run, a one-host daemon). */
  worker?: boolean;
  /** The Docker engine's socket for container jobs (default: DOCKER_HOST, then /var/run/docker.sock). */
  dockerSocket?: string;
  /** Where host settings are read and written (default: WAYFINDER_SYSFS_ROOT / WAYFINDER_PROCFS_ROOT, else the kernel's). */
  hostRoots?: HostWorkerOptions['hostRoots'];
  /** How long a job's host settings stay applied after it (ms). */
  hostLingerMs?: number;
  /** Where the worker's cgroups and resctrl live (tests point resctrl at a stand-in tree). */
  isolation?: HostWorkerOptions['isolation'];
  /** The pool this host's worker serves (default: "default"). */
  pool?: string;
  /** The name results record for this host (default: its hostname). */
  host?: string;
  /** Milliseconds without a sign of life after which this host's worker counts as lost (default 60 s). */
  lostAfterMs?: number;
  /** Where lines for the person go (the embedded Redis restarted, a job refused); they are logged too. */
  notice?: (line: string) => void;
  /** The shared secret that signs jobs (coordinator) and that jobs must be signed with (worker). */
  jobKey?: Buffer;
}

export class WorkdirBusyError extends Error {}

export class Workspace {
  private constructor(
    readonly workdir: string,
    readonly store: Store,
    readonly redis: RedisTarget,
    readonly transport: BullTransport,
    readonly log: Logger,
    readonly worker: HostWorker | undefined,
    private readonly releaseLock: () => void,
  ) {}

  static async open(opts: WorkspaceOptions): Promise<Workspace> {
    const workdir = resolve(opts.workdir);
    mkdirSync(logsDir(workdir), { recursive: true });
    const releaseLock = lockWorkdir(workdir);
    // What was opened so far, closed again if a later step fails: a refused start leaves no
    // redis-server running and no connection holding the process open.
    let store: Store | undefined;
    let redis: RedisTarget | undefined;
    let transport: BullTransport | undefined;
    try {
      // The host's CPUs first: a --cpus that names none of them is the person's mistake, said
      // before anything starts.
      const topo = opts.worker !== false ? await hostTopology(opts.cpus) : undefined;
      const log = pino({ level: 'debug' }, pino.destination({ dest: logPath(workdir), sync: false, mkdir: true }));
      store = new Store(databasePath(workdir));
      redis = opts.redis
        ? await connectRedis(opts.redis)
        : await startEmbeddedRedis(workdir, (line, level) => {
            log[level](line);
            opts.notice?.(`wayfinder: ${line}`);
          });
      transport = new BullTransport({ redis, ...(opts.prefix ? { prefix: opts.prefix } : {}), ...(opts.jobKey ? { jobKey: opts.jobKey } : {}) });
      let worker: HostWorker | undefined;
      if (topo) {
        // What the reader could not take at face value (it then errs towards fewer parallel jobs).
        for (const w of topo.warnings) log.warn({ warning: w }, 'host topology');
        // We hold the work directory's lock, so no live worker of this directory owns a job that is
        // still marked active: those were a killed predecessor's, and go back to the queue now.
        if (!opts.redis) await transport.releaseAbandoned();
        worker = new HostWorker({
          queues: transport.queues,
          workdir,
          dispatcher: new Dispatcher(new Scheduler(topo)),
          concurrency: Math.max(1, topo.cpus.length),
          lockDuration: 10_000,
          stalledInterval: opts.redis ? 5_000 : 1_000,
          ...(opts.dockerSocket ? { dockerSocket: opts.dockerSocket } : {}),
          ...(opts.isolation ? { isolation: opts.isolation } : {}),
          ...(opts.hostRoots ? { hostRoots: opts.hostRoots } : {}),
          ...(opts.hostLingerMs !== undefined ? { hostLingerMs: opts.hostLingerMs } : {}),
          ...(opts.pool ? { pool: opts.pool } : {}),
          ...(opts.host ? { host: opts.host } : {}),
          ...(opts.lostAfterMs ? { lostAfterMs: opts.lostAfterMs } : {}),
          onRefused: (line) => {
            log.warn(line);
            opts.notice?.(`wayfinder: ${line}`);
          },
        });
        await worker.start();
      }
      log.info({ workdir, redis: redis.describe }, 'workspace opened');
      return new Workspace(workdir, store, redis, transport, log, worker, releaseLock);
    } catch (e) {
      await transport?.close().catch(() => undefined);
      await redis?.stop().catch(() => undefined);
      store?.close();
      releaseLock();
      throw e;
    }
  }

  async close(opts: { force?: boolean } = {}): Promise<void> {
    // Every part is closed even when an earlier one fails: a worker that could not clean up after
    // itself must not leave the embedded redis-server running and the process waiting on it.
    let first: unknown;
    const step = async (f: () => unknown): Promise<void> => {
      try {
        await f();
      } catch (e) {
        first ??= e;
      }
    };
    await step(() => this.worker?.close(opts.force ?? false));
    await step(() => this.transport.close());
    await step(() => this.redis.stop());
    await step(() => this.store.close());
    await step(() => this.log.flush());
    this.releaseLock();
    if (first !== undefined) throw first;
  }
}

/** This host's CPUs for its worker, within `cpus` (--cpus) and what this process may use. */
async function hostTopology(cpus: number[] | undefined): Promise<Awaited<ReturnType<typeof readTopology>>> {
  const allowed = await allowedCpusOfSelf();
  const allowedCpus = cpus ? (allowed ? cpus.filter((c) => allowed.includes(c)) : cpus) : allowed;
  if (cpus && allowed && allowedCpus?.length === 0) {
    throw new UsageError(`--cpus ${formatCpuList(cpus)}: none of these CPUs can run jobs here; this process may use CPUs ${formatCpuList(allowed)}`);
  }
  try {
    return await readTopology(allowedCpus ? { allowedCpus } : {});
  } catch (e) {
    if (cpus && /no usable CPUs/.test((e as Error).message)) {
      throw new UsageError(`--cpus ${formatCpuList(cpus)}: none of these CPUs can run jobs here (${(e as Error).message.replace(/^no usable CPUs: /, '')})`);
    }
    throw e;
  }
}

/** One wayfinder per work directory: a pid file, taken over when its process is gone. */
export function lockWorkdir(workdir: string): () => void {
  const path = lockPath(workdir);
  for (let tries = 0; tries < 2; tries++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
        throw new WorkdirBusyError(`work directory ${workdir} is in use by wayfinder process ${pid}`);
      }
      rmSync(path, { force: true });
    }
  }
  throw new WorkdirBusyError(`cannot lock work directory ${workdir}`);
}

