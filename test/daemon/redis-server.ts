// A redis-server the test starts itself (an operator's Redis, not the daemon's embedded one): with
// a password, on a loopback port, a unix socket, TLS, or inside a network namespace the test made;
// append-only with a write per command, so that killing and starting it again keeps the queue.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface TestRedisOptions {
  dir: string;
  password: string;
  /** Listen on this address (default 127.0.0.1) and a free port. */
  bind?: string;
  /** Also a unix socket, here. */
  socket?: string;
  /** TLS only (no plain port): certificate, key and CA files. */
  tls?: { cert: string; key: string; ca: string };
  /** Run it inside this network namespace. */
  netns?: string;
}

export interface TestRedis {
  port: number;
  /** How the test itself reaches it (loopback or the socket). */
  connection: { host?: string; port?: number; path?: string; password: string };
  child: () => ChildProcess;
  start(): Promise<void>;
  kill(sig?: NodeJS.Signals): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

export async function testRedis(o: TestRedisOptions): Promise<TestRedis> {
  mkdirSync(o.dir, { recursive: true });
  const port = await freePort();
  const bind = o.bind ?? '127.0.0.1';
  const args = [
    '--bind', bind,
    ...(o.tls ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', o.tls.cert, '--tls-key-file', o.tls.key, '--tls-ca-cert-file', o.tls.ca, '--tls-auth-clients', 'no'] : ['--port', String(port)]),
    ...(o.socket ? ['--unixsocket', o.socket, '--unixsocketperm', '700'] : []),
    '--requirepass', o.password,
    '--dir', o.dir,
    '--appendonly', 'yes',
    '--appendfsync', 'always',
    '--save', '',
    '--daemonize', 'no',
    '--logfile', join(o.dir, 'redis.log'),
    '--maxmemory-policy', 'noeviction',
  ];
  const connection = o.socket ? { path: o.socket, password: o.password } : { host: bind, port, password: o.password };
  let child: ChildProcess | undefined;
  const r: TestRedis = {
    port,
    connection,
    child: () => child as ChildProcess,
    async start() {
      child = o.netns ? spawn('ip', ['netns', 'exec', o.netns, 'redis-server', ...args], { stdio: 'ignore' }) : spawn('redis-server', args, { stdio: 'ignore' });
      const deadline = Date.now() + 10_000;
      for (;;) {
        const c = new Redis({ ...connection, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, ...(o.tls ? { tls: { rejectUnauthorized: false } } : {}) });
        c.on('error', () => undefined);
        const ok = await c.connect().then(() => c.ping()).then((p) => p === 'PONG', () => false);
        c.disconnect();
        if (ok) return;
        if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}; see ${join(o.dir, 'redis.log')}`);
        if (Date.now() > deadline) throw new Error(`redis-server did not answer; see ${join(o.dir, 'redis.log')}`);
        await new Promise((res) => setTimeout(res, 50));
      }
    },
    async kill(sig = 'SIGKILL') {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const gone = new Promise((res) => c.once('exit', res));
      c.kill(sig);
      if (sig === 'SIGKILL' || sig === 'SIGTERM') await gone;
    },
  };
  await r.start();
  return r;
}

/** A job key file as an operator makes one: random, the owner's alone. */
export function jobKeyFile(dir: string): string {
  const path = join(dir, 'job.key');
  writeFileSync(path, `${'k'.repeat(20)}${Math.random().toString(36).slice(2)}${'y'.repeat(20)}\n`, { mode: 0o600 });
  return path;
}
