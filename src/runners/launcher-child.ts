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
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import type { LaunchReply, LaunchRequest } from './launcher-protocol.js';

/** wayfinder's environment, given to this process when it started; read once (see inherited-env.ts). */
const own: Record<string, string | undefined> = { ...process.env };

/** Jobs running now, by pid (each leads its own process group). */
const running = new Set<number>();

/**
 * CPU time of this process's reaped children (cutime + cstime of /proc/self/stat, in USER_HZ = 100
 * ticks): what a job used is the growth since the previous job was reaped. The fallback where no
 * cgroup counts for a job; jobs ending at the same moment may be counted together, and the
 * resolution is 10 ms.
 */
function childTicks(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[13]) + Number(f[14]);
  } catch {
    return undefined;
  }
}
let lastTicks = childTicks();

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
    const ticks = childTicks();
    const childCpuMs = ticks !== undefined && lastTicks !== undefined ? (ticks - lastTicks) * 10 : undefined;
    lastTicks = ticks;
    reply({ id: req.id, exitCode: code, signal, durationMs: performance.now() - started, ...(childCpuMs !== undefined ? { childCpuMs } : {}) });
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
