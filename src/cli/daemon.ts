// `wayfinder daemon` and `wayfinder worker`: long-running processes that stop cleanly on SIGTERM
// (no new jobs, running ones finish within the grace period, the rest go back to the queue).

import { insecureLoopbackWarning, startDaemon } from '../daemon/daemon.js';
import { MeasurementSession } from '../session/session.js';
import { parseCpuList } from '../util/cpulist.js';
import { UsageError, positiveInt } from './errors.js';
import { readJobKey } from '../queue/signing.js';

export interface DaemonCliOptions {
  listen?: string;
  socket?: string;
  socketGroup?: string;
  insecureLoopbackNoToken?: boolean;
  workdir: string;
  redis?: string;
  tokenFile?: string;
  worker: boolean;
  pool?: string;
  cpus?: string;
  maxBody: string;
  grace: string;
  dockerSocket?: string;
  jobKey?: string;
}

export interface WorkerCliOptions {
  redis?: string;
  workdir: string;
  pool?: string;
  cpus?: string;
  name?: string;
  grace: string;
  lostAfter: string;
  dockerSocket?: string;
  jobKey?: string;
}

function parseCpus(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  try {
    const cpus = parseCpuList(text);
    if (cpus.length > 0) return cpus;
  } catch {
    // reported below
  }
  throw new UsageError(`--cpus: not a CPU list: "${text}" (for example 0-3,8)`);
}

function checkPool(pool: string | undefined): void {
  if (pool !== undefined && !/^[A-Za-z0-9._-]+$/.test(pool)) throw new UsageError(`--pool: expected a name of letters, digits, ".", "_" and "-", got "${pool}"`);
}

/** Beyond the grace period, what is left of a stop (closing the queue, the store) may take this long. */
const STOP_MARGIN_MS = 3_000;

/**
 * Stop within the grace period whatever Redis does: a Redis that is down or stopped would make the
 * queue's close wait for it. Running jobs were ended at the grace period (their groups die with
 * the job launcher when we exit); queued work stays in Redis for the next start.
 */
async function stopWithin(graceMs: number, who: string, stop: () => Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((res) => {
    timer = setTimeout(() => res('late'), graceMs + STOP_MARGIN_MS);
  });
  const how = await Promise.race([stop().then(() => 'stopped' as const), late]);
  clearTimeout(timer);
  if (how === 'late') process.stderr.write(`wayfinder ${who}: the queue did not answer while stopping (Redis down?); exiting anyway: queued work waits in Redis, running jobs run again at the next start\n`);
}

/** Resolves with the first SIGTERM/SIGINT; a second one exits at once. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((res) => {
    let n = 0;
    const on = (sig: NodeJS.Signals): void => {
      n++;
      if (n === 1) res(sig);
      else {
        process.stderr.write(`${sig} again: exiting now; running jobs are run again at the next start.\n`);
        process.exit(130);
      }
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

export async function daemonCommand(o: DaemonCliOptions, version: string): Promise<number> {
  const grace = positiveInt(o.grace, '--grace', 0) * 1000;
  checkPool(o.pool);
  const cpus = parseCpus(o.cpus);
  const jobKey = o.jobKey !== undefined ? readJobKey(o.jobKey) : undefined;
  const err = process.stderr;
  const d = await startDaemon({
    workdir: o.workdir,
    ...(o.listen !== undefined ? { listen: o.listen } : {}),
    ...(o.socket !== undefined ? { socket: o.socket } : {}),
    ...(o.socketGroup !== undefined ? { socketGroup: o.socketGroup } : {}),
    ...(o.insecureLoopbackNoToken ? { insecureLoopbackNoToken: true } : {}),
    worker: o.worker,
    maxBody: positiveInt(o.maxBody, '--max-body'),
    version,
    ...(o.redis ? { redis: o.redis } : {}),
    ...(o.tokenFile !== undefined ? { tokenFile: o.tokenFile } : {}),
    ...(o.pool ? { pool: o.pool } : {}),
    ...(cpus ? { cpus } : {}),
    ...(o.dockerSocket ? { dockerSocket: o.dockerSocket } : {}),
    ...(jobKey ? { jobKey } : {}),
    say: (line) => err.write(`${line}\n`),
  });
  if (o.insecureLoopbackNoToken && o.listen !== undefined) err.write(`${insecureLoopbackWarning(o.listen)}\n`);
  err.write(
    `wayfinder daemon: listening on ${d.url}${d.tcpUrl ? ` and ${d.tcpUrl}` : ''}\n` +
      `  work directory ${d.workspace.workdir}; queue on ${d.workspace.redis.describe}\n` +
      (d.workspace.worker ? `  this host works for pool "${d.workspace.worker.pool}" as ${d.workspace.worker.id}\n` : '  no worker in this process: jobs wait for `wayfinder worker`\n'),
  );
  // Said once it runs (a refusal at start is the only line).
  if (o.redis && !jobKey) err.write('wayfinder daemon: warning: jobs are not signed (no --job-key): anyone who can write to this Redis can run commands on its workers\n');
  const sig = await untilSignal();
  err.write(`wayfinder daemon: ${sig}: taking no new jobs; running ones have ${grace / 1000} s to finish\n`);
  await stopWithin(grace, 'daemon', () => d.stop(grace));
  err.write('wayfinder daemon: stopped\n');
  // Study loops of unfinished experiments are left pending on purpose: the next start resumes them.
  process.exit(0);
}

export async function workerCommand(o: WorkerCliOptions): Promise<number> {
  if (!o.redis) throw new UsageError('--redis: a worker needs the URL of the daemon\'s Redis (redis://host:port/db or unix:///path/redis.sock)');
  const grace = positiveInt(o.grace, '--grace', 0) * 1000;
  const lostAfterMs = positiveInt(o.lostAfter, '--lost-after') * 1000;
  checkPool(o.pool);
  const cpus = parseCpus(o.cpus);
  const jobKey = o.jobKey !== undefined ? readJobKey(o.jobKey) : undefined;
  const err = process.stderr;
  // The jobs run here: what this user may do, the engine and leftover host settings are this host's.
  const session = await MeasurementSession.open({
    workdir: o.workdir,
    redis: o.redis,
    say: (line) => err.write(`${line}\n`),
    ...(o.pool ? { pool: o.pool } : {}),
    ...(cpus ? { cpus } : {}),
    ...(o.name ? { host: o.name } : {}),
    ...(o.dockerSocket ? { dockerSocket: o.dockerSocket } : {}),
    ...(jobKey ? { jobKey } : {}),
    lostAfterMs,
  });
  const ws = session.ws;
  const w = ws.worker;
  if (!w) throw new Error('worker did not start');
  err.write(`wayfinder worker: ${w.id} takes jobs of pool "${w.pool}" from ${ws.redis.describe}\n`);
  if (!jobKey) err.write('wayfinder worker: warning: no --job-key: this worker runs any job found in its Redis queues\n');
  const sig = await untilSignal();
  err.write(`wayfinder worker: ${sig}: taking no new jobs; running ones have ${grace / 1000} s to finish\n`);
  await stopWithin(grace, 'worker', async () => {
    await w.drain(grace);
    await session.close();
  });
  err.write('wayfinder worker: stopped\n');
  process.exit(0);
}
