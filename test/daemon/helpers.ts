// Daemons and workers as real child processes, for the tests that talk to them over HTTP and kill them.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CLI } from '../helpers.js';

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

/** `wayfinder daemon` on a free loopback port; resolves once it listens, with its URL. */
export async function startDaemon(workdir: string, extra: string[] = [], env: Record<string, string> = {}): Promise<Proc & { url: string }> {
  const p = start(['daemon', '--listen', '127.0.0.1:0', '--workdir', workdir, ...extra], env);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const m = /listening on (http:\/\/\S+)/.exec(p.stderr());
    if (m) return { ...p, url: m[1] as string };
    if (p.child.exitCode !== null) throw new Error(`daemon exited with ${p.child.exitCode}: ${p.stderr()}`);
    if (Date.now() > deadline) {
      await p.kill();
      throw new Error(`daemon did not start: ${p.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
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

export function submitBody(yaml: string, file: string, extra: Record<string, unknown> = {}): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ yaml, file, ...extra }) };
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
