// Daemons and workers as real child processes, for the tests that talk to them over HTTP and kill them.

import { spawn, type ChildProcess } from 'node:child_process';
import { request, type IncomingHttpHeaders } from 'node:http';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll } from 'vitest';
import { CLI, requireTool, tempDir } from '../helpers.js';

export interface Proc {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
  kill: (sig?: NodeJS.Signals) => Promise<number | null>;
}

function start(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout?.resume();
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return {
    child,
    stderr: () => err,
    exited,
    kill: async (sig = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      return exited;
    },
  };
}

/**
 * `wayfinder daemon`; resolves once it listens. It serves its unix socket (`socket`) and, unless
 * `extra` says otherwise, a free loopback port without a token (`url`), for tests that use fetch.
 */
export async function startDaemon(workdir: string, extra: string[] = [], env: Record<string, string> = {}): Promise<Proc & { url: string; socket: string }> {
  const tcp = extra.includes('--listen') || extra.includes('--no-tcp') ? [] : ['--listen', '127.0.0.1:0', '--insecure-loopback-no-token'];
  const p = start(['daemon', '--workdir', workdir, ...tcp, ...extra.filter((a) => a !== '--no-tcp')], env);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const m = /listening on unix:\/\/(\S+)(?: and (http:\/\/\S+))?\n/.exec(p.stderr());
    if (m) return { ...p, socket: m[1] as string, url: m[2] ?? '' };
    if (p.child.exitCode !== null) throw new Error(`daemon exited with ${p.child.exitCode}: ${p.stderr()}`);
    if (Date.now() > deadline) {
      await p.kill();
      throw new Error(`daemon did not start: ${p.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A request over the daemon's unix socket, as the CLI makes it. */
export function sockApi<T = unknown>(
  socket: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: T; text: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolveRes, reject) => {
    const req = request({ socketPath: socket, path, method: init.method ?? 'GET', headers: init.headers ?? {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // text
        }
        resolveRes({ status: res.statusCode ?? 0, body: body as T, text, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** A daemon in `dir`/wd that runs no jobs itself (only `wayfinder worker`s do), and its Redis's URL for them. */
export async function startQueueDaemon(dir: string): Promise<{ daemon: Proc & { url: string }; workdir: string; redis: string }> {
  const workdir = join(dir, 'wd');
  const daemon = await startDaemon(workdir, ['--no-worker']);
  return { daemon, workdir, redis: `unix://${join(workdir, 'redis', 'redis.sock')}` };
}

/** `wayfinder worker`; resolves once it takes jobs. */
export async function startWorker(args: string[]): Promise<Proc> {
  const p = start(['worker', ...args]);
  const deadline = Date.now() + 30_000;
  while (!/takes jobs of pool/.test(p.stderr())) {
    if (p.child.exitCode !== null) throw new Error(`worker exited with ${p.child.exitCode}: ${p.stderr()}`);
    if (Date.now() > deadline) {
      await p.kill();
      throw new Error(`worker did not start: ${p.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return p;
}

export async function api<T = unknown>(url: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: T; text: string }> {
  const res = await fetch(`${url}${path}`, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // text
  }
  return { status: res.status, body: body as T, text };
}

/**
 * A submission's request. Tests of the daemon's other duties measure the exploration alone
 * (`confirm: false`, as `run --no-confirm`): the confirmation's extra runs would only lengthen them
 * and change their run counts; test/daemon/confirm.test.ts covers it.
 */
export function submitBody(yaml: string, file: string, extra: Record<string, unknown> = {}): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ yaml, file, confirm: false, ...extra }) };
}

export async function waitState(url: string, id: string, states: string[], timeoutMs: number): Promise<{ state: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await api<{ state: string }>(url, `/experiments/${id}`).catch(() => undefined);
    if (r?.status === 200 && states.includes(r.body.state)) return r.body;
    if (Date.now() > deadline) throw new Error(`experiment ${id} did not reach ${states.join('/')} (last: ${JSON.stringify(r?.body)})`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** Rows of the results database (read-only, while the daemon may be writing). */
export function query<T>(workdir: string, sql: string, ...args: unknown[]): T[] {
  const path = join(workdir, 'wayfinder.db');
  if (!existsSync(path)) return [];
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...args) as T[];
  } finally {
    db.close();
  }
}

/**
 * One daemon for a test file: a temporary folder (its work directory is `wd` inside), the daemon
 * started before the file's tests and stopped after them, its folder removed.
 */
export function daemonPerFile(prefix: string, args: string[] = [], env: Record<string, string> = {}): { readonly dir: string; readonly daemon: Proc & { url: string; socket: string }; workdir(): string } {
  const s: { dir: string; cleanup?: () => void; daemon?: Proc & { url: string; socket: string } } = { dir: '' };
  beforeAll(async () => {
    requireTool('redis-server');
    const t = tempDir(prefix);
    s.dir = t.dir;
    s.cleanup = t.cleanup;
    s.daemon = await startDaemon(join(s.dir, 'wd'), args, env);
  });
  afterAll(async () => {
    await s.daemon?.kill('SIGTERM');
    s.cleanup?.();
  });
  return {
    get dir() {
      return s.dir;
    },
    get daemon() {
      return s.daemon!;
    },
    workdir: () => join(s.dir, 'wd'),
  };
}
