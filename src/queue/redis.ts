// The Redis behind the queue: the one the user names with --redis, or a redis-server child that
// wayfinder starts in its work directory, on a unix socket, with append-only persistence, so the
// queue survives a kill of wayfinder as the results database does.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { redisDir } from '../workdir.js';

export interface RedisTarget {
  /** ioredis options: a unix socket path or host/port/db/password. */
  connection: { path?: string; host?: string; port?: number; db?: number; username?: string; password?: string };
  /** What to print to a person. */
  describe: string;
  stop(): Promise<void>;
}

export class RedisUnavailableError extends Error {}

export function parseRedisUrl(url: string): RedisTarget['connection'] {
  if (url.startsWith('unix://') || url.startsWith('/')) return { path: url.replace(/^unix:\/\//, '') };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RedisUnavailableError(`--redis: not a Redis URL: "${url}" (expected redis://host:port/db or unix:///path/to/socket)`);
  }
  if (u.protocol !== 'redis:') throw new RedisUnavailableError(`--redis: unsupported scheme "${u.protocol}" (expected redis:// or unix://)`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new RedisUnavailableError(`--redis: bad database number in "${url}"`);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
}

async function ping(connection: RedisTarget['connection'], timeoutMs: number): Promise<boolean> {
  const client = new Redis({ ...connection, lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export async function connectRedis(url: string): Promise<RedisTarget> {
  const connection = parseRedisUrl(url);
  if (!(await ping(connection, 3000))) throw new RedisUnavailableError(`cannot reach Redis at ${url}`);
  return { connection, describe: url, stop: async () => undefined };
}

export function redisServerPath(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : undefined;
}

/**
 * Start (or adopt, after a crash of ours) the redis-server of a work directory. A server left
 * running by a killed predecessor still holds the queue, so it is reused rather than replaced.
 */
export async function startEmbeddedRedis(workdir: string): Promise<RedisTarget> {
  const dir = redisDir(workdir);
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, 'redis.sock');
  const pidfile = join(dir, 'redis.pid');
  const connection = { path: socket };
  const stopAdopted = async (): Promise<void> => shutdown(connection, pidfile);

  if (existsSync(socket) && (await ping(connection, 1000))) {
    return { connection, describe: `embedded redis-server (adopted) at ${socket}`, stop: stopAdopted };
  }
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
    if (await ping(connection, 500)) break;
    const code = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 50))]);
    if (code !== undefined) {
      throw new RedisUnavailableError(`redis-server exited with status ${code} on start; see ${join(dir, 'redis.log')}`);
    }
    if (Date.now() > deadline) throw new RedisUnavailableError(`redis-server did not answer within 10 s; see ${join(dir, 'redis.log')}`);
  }
  return { connection, describe: `embedded redis-server at ${socket}`, stop: stopAdopted };
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
