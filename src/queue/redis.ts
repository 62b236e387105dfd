// The Redis behind the queue: the one the user names with --redis, or a redis-server child that
// wayfinder starts in its work directory, on a unix socket, with append-only persistence, so the
// queue survives a kill of wayfinder as the results database does.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { redisDir } from '../workdir.js';
import { processAlive } from '../util/process-alive.js';

export interface RedisTarget {
  /** ioredis options: a unix socket path or host/port/db/password, and TLS for rediss://. */
  connection: { path?: string; host?: string; port?: number; db?: number; username?: string; password?: string; tls?: { servername?: string } };
  /** What to print to a person (never the password). */
  describe: string;
  /** The embedded server's supervision: how often it was restarted, and whether it is being restarted now. */
  supervision?: () => { restarts: number; restarting: boolean; pid?: number };
  stop(): Promise<void>;
}

export class RedisUnavailableError extends Error {}

const URL_FORMS = 'redis://[[user]:password@]host:port/db, rediss://... (TLS), unix://[[user]:password@]/path/to.sock[?db=N]';

/**
 * A Redis URL as redis-cli and redis-py take it: `redis://` (password and ACL user in the
 * authority), `rediss://` (TLS; the server's certificate is checked against Node's CAs, plus
 * NODE_EXTRA_CA_CERTS), and `unix://[user:pass@]/path?db=N` for a socket.
 */
export function parseRedisUrl(url: string): RedisTarget['connection'] {
  if (url.startsWith('/')) return { path: url };
  const bad = (why: string): RedisUnavailableError => new RedisUnavailableError(`--redis: ${why} (expected ${URL_FORMS})`);
  const dbOf = (text: string | null | undefined): number => {
    const db = text ? Number(text) : 0;
    if (!Number.isInteger(db) || db < 0) throw bad(`bad database number in "${redact(url)}"`);
    return db;
  };
  const authOf = (user: string | undefined, pass: string | undefined): { username?: string; password?: string } => ({
    ...(user ? { username: decodeURIComponent(user) } : {}),
    ...(pass ? { password: decodeURIComponent(pass) } : {}),
  });
  if (url.startsWith('unix:')) {
    // Not a URL the WHATWG parser takes with credentials and no host: read by hand.
    const m = /^unix:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?(\/[^?]+)(?:\?(.*))?$/.exec(url);
    if (!m) throw bad(`not a Redis URL: "${redact(url)}"`);
    const db = dbOf(new URLSearchParams(m[4] ?? '').get('db'));
    return { path: decodeURIComponent(m[3] as string), ...(db ? { db } : {}), ...authOf(m[1], m[2]) };
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad(`not a Redis URL: "${redact(url)}"`);
  }
  const auth = authOf(u.username, u.password);
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw bad(`unsupported scheme "${u.protocol}"`);
  const host = (u.hostname || '127.0.0.1').replace(/^\[|\]$/g, '');
  return {
    host,
    port: u.port ? Number(u.port) : 6379,
    db: dbOf(u.pathname.length > 1 ? u.pathname.slice(1) : undefined),
    ...auth,
    ...(u.protocol === 'rediss:' ? { tls: { servername: host } } : {}),
  };
}

/** The URL as it may be printed and logged: the password replaced. */
export function redact(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}

/** True when Redis answers; else why not, when Redis said (a wrong password, say), or false. */
async function ping(connection: RedisTarget['connection'], timeoutMs: number): Promise<true | string | false> {
  const client = new Redis({ ...connection, lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, retryStrategy: () => null });
  let said: string | false = false;
  client.on('error', (e: Error) => {
    if (/AUTH|NOAUTH|WRONGPASS|NOPERM|certificate|self.signed|TLS|SSL/i.test(e.message)) said = e.message;
  });
  try {
    await client.connect();
    return (await client.ping()) === 'PONG' ? true : said;
  } catch (e) {
    const m = e instanceof Error ? e.message : String(e);
    return /AUTH|NOAUTH|WRONGPASS|NOPERM|certificate|self.signed|TLS|SSL/i.test(m) ? m : said;
  } finally {
    client.disconnect();
  }
}

export async function connectRedis(url: string): Promise<RedisTarget> {
  const connection = parseRedisUrl(url);
  const answer = await ping(connection, 3000);
  if (answer !== true) throw new RedisUnavailableError(`cannot reach Redis at ${redact(url)}${answer ? `: ${answer}` : ''}`);
  return { connection, describe: redact(url), stop: async () => undefined };
}

export function redisServerPath(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : undefined;
}

/** What the embedded server's supervisor says (a restart, a failed restart), for the log. */
export type RedisNotice = (line: string, level: 'warn' | 'error') => void;

/** How often the embedded server's process is looked at. */
const SUPERVISE_MS = 500;

/**
 * Start (or adopt, after a crash of ours) the redis-server of a work directory, and keep it
 * running: a server left running by a killed predecessor still holds the queue, so it is reused
 * rather than replaced; one that dies while we run is started again on its append-only file (the
 * queue as it was, up to the last second's writes), and said in one line. A stopped server
 * (SIGSTOP) is alive: clients wait for it.
 */
export async function startEmbeddedRedis(workdir: string, notice: RedisNotice = () => undefined): Promise<RedisTarget> {
  const dir = redisDir(workdir);
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, 'redis.sock');
  const pidfile = join(dir, 'redis.pid');
  const connection = { path: socket };
  let pid: number | undefined;
  let adopted = false;
  if (existsSync(socket) && (await ping(connection, 1000)) === true) {
    adopted = true;
    pid = readPid(pidfile);
  } else {
    pid = await spawnServer(dir, socket, pidfile);
  }
  let restarts = 0;
  let restarting = false;
  let stopped = false;
  let failures = 0;
  const watch = setInterval(() => {
    // An adopted server whose pid file is gone cannot be watched: it is left alone.
    pid ??= readPid(pidfile);
    if (restarting || stopped || pid === undefined || processAlive(pid)) return;
    restarting = true;
    const was = pid;
    notice(`embedded redis-server${was ? ` (pid ${was})` : ''} is gone; starting it again on its append-only file`, 'warn');
    spawnServer(dir, socket, pidfile).then(
      (p) => {
        pid = p;
        restarts++;
        failures = 0;
        notice(`embedded redis-server started again (pid ${p}); the queue is back`, 'warn');
      },
      (e: unknown) => {
        // Said once, then retried quietly every half second until it starts.
        if (failures++ === 0) notice(`embedded redis-server did not start again: ${e instanceof Error ? e.message : String(e)}; retrying`, 'error');
      },
    ).finally(() => {
      restarting = false;
    });
  }, SUPERVISE_MS);
  watch.unref();
  return {
    connection,
    describe: `embedded redis-server${adopted ? ' (adopted)' : ''} at ${socket}`,
    supervision: () => ({ restarts, restarting, ...(pid !== undefined ? { pid } : {}) }),
    stop: async () => {
      stopped = true;
      clearInterval(watch);
      await shutdown(connection, pidfile);
    },
  };
}

/** Start redis-server in `dir` (loading its append-only file, if any); resolves with its pid once it answers. */
async function spawnServer(dir: string, socket: string, pidfile: string): Promise<number | undefined> {
  rmSync(socket, { force: true });
  const bin = redisServerPath();
  if (!bin) {
    throw new RedisUnavailableError(
      'redis-server is not installed, and no --redis URL was given. Install it (Debian/Ubuntu: apt-get install redis-server) or pass --redis redis://host:6379/N.',
    );
  }
  const child = spawn(
    bin,
    [
      '--port', '0',
      '--unixsocket', socket,
      '--unixsocketperm', '700',
      '--dir', dir,
      '--appendonly', 'yes',
      '--appendfsync', 'everysec',
      '--save', '',
      '--pidfile', pidfile,
      '--daemonize', 'no',
      '--logfile', join(dir, 'redis.log'),
      // BullMQ needs keys kept; never evict.
      '--maxmemory-policy', 'noeviction',
    ],
    // Its own process group: a Ctrl-C at the terminal reaches wayfinder, which then stops redis last.
    { stdio: 'ignore', detached: true },
  );
  child.unref();
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if ((await ping({ path: socket }, 500)) === true) break;
    const code = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 50))]);
    if (code !== undefined) {
      throw new RedisUnavailableError(`redis-server exited with status ${code} on start; see ${join(dir, 'redis.log')}`);
    }
    if (Date.now() > deadline) throw new RedisUnavailableError(`redis-server did not answer within 10 s; see ${join(dir, 'redis.log')}`);
  }
  return child.pid;
}

function readPid(pidfile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidfile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}


async function shutdown(connection: { path: string }, pidfile: string): Promise<void> {
  const client = new Redis({ ...connection, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    // SHUTDOWN rewrites nothing with --save ""; the append-only file is already on disk.
    await client.call('SHUTDOWN', 'NOSAVE').catch(() => undefined);
  } catch {
    // Not answering: fall back to the pid it wrote.
    try {
      process.kill(Number(readFileSync(pidfile, 'utf8').trim()), 'SIGTERM');
    } catch {
      /* already gone */
    }
  } finally {
    client.disconnect();
  }
}
