// The job launcher: a small process that starts wayfinder's jobs on its behalf. Starting a process
// copies the page tables of the one that forks it, which costs milliseconds per hundred megabytes
// of a busy coordinator's memory; this process stays small, so a job starts as fast as from a
// plain shell loop. It imports nothing but Node's own modules to stay that way.
//
// It lives exactly as long as its parent's IPC channel: when wayfinder exits or is killed, the
// channel closes and this process kills the process group of every job it started, then exits.
// Terminal signals are not for it: the jobs run in sessions of their own and wayfinder decides
// what happens to them.

import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import type { LaunchReply, LaunchRequest } from './launcher-protocol.js';

/** wayfinder's environment, given to this process when it started; read once (see inherited-env.ts). */
const own: Record<string, string | undefined> = { ...process.env };

/** Jobs running now, by pid (each leads its own process group). */
const running = new Set<number>();

const reply = (m: LaunchReply): void => {
  process.send?.(m);
};

function launch(req: LaunchRequest): void {
  let out: number;
  let err: number;
  try {
    if (req.makeCwd) mkdirSync(req.cwd, { recursive: true });
    out = openSync(req.stdout, 'a');
  } catch (e) {
    reply({ id: req.id, openError: (e as Error).message });
    return;
  }
  try {
    err = openSync(req.stderr, 'a');
  } catch (e) {
    closeSync(out);
    reply({ id: req.id, openError: (e as Error).message });
    return;
  }
  const started = performance.now();
  const [cmd, ...args] = req.argv as [string, ...string[]];
  // detached: the job leads a new session and process group, which wayfinder kills as a whole.
  const child = spawn(cmd, args, { cwd: req.cwd, env: req.inheritEnv ? { ...own, ...req.env } : req.env, stdio: ['ignore', out, err], detached: true });
  closeSync(out);
  closeSync(err);
  const pid = child.pid;
  if (pid !== undefined) {
    running.add(pid);
    reply({ id: req.id, pid });
  }
  child.once('error', (e) => {
    reply({ id: req.id, spawnError: `cannot start ${cmd}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, durationMs: performance.now() - started });
  });
  child.once('exit', (code, signal) => {
    if (pid !== undefined) running.delete(pid);
    reply({ id: req.id, exitCode: code, signal, durationMs: performance.now() - started });
  });
}

/** No job outlives the wayfinder that asked for it. */
function endAll(status: number): never {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  process.exit(status);
}

process.on('message', (m: LaunchRequest) => launch(m));
process.on('disconnect', () => endAll(0));
process.on('uncaughtException', (e) => {
  process.stderr.write(`wayfinder job launcher: ${e.stack ?? e.message}\n`);
  endAll(1);
});
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) process.on(s, () => undefined);
