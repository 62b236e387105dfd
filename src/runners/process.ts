// Runs one command as a host process in a process group of its own (started by the job launcher
// process, see launcher.ts), with stdout and stderr going straight to files (so output survives a
// crash of ours) and a timeout that kills the whole group.

import { spawnSync } from 'node:child_process';
import { launcher } from './launcher.js';
import type { ProcessRegistry } from './registry.js';
import { signalGroup } from './signal.js';
import { stopOn } from './stop.js';
import type { RunUsage } from '../wire.js';

export { signalGroup };

export interface ProcessRequest {
  argv: string[];
  cwd: string;
  /** Make `cwd` as the job starts (the launcher does it in the same step). */
  makeCwd?: boolean;
  env: Record<string, string>;
  /** `env` holds only what is set over wayfinder's own environment (less to send per job). */
  inheritEnv?: boolean;
  stdoutPath: string;
  stderrPath: string;
  timeoutSec: number;
  /** Seconds between SIGTERM and SIGKILL when the timeout strikes or the run is aborted. */
  killGraceSec?: number;
  /** Records the process group so a later start can reap it if we are killed meanwhile. */
  registry?: ProcessRegistry;
  registryKey?: string;
  signal?: AbortSignal;
}

export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  durationMs: number;
  /** Set when the command could not be started at all (missing file, no permission). */
  spawnError?: string;
  /** What the run used, where the runner could tell (a host job: the launcher's rusage of it). */
  usage?: RunUsage;
  /** The kernel's OOM killer ended it inside its memory limit. */
  oomKilled?: boolean;
  /** The run did not happen inside the job's accounting groups (ctx.meter): their figures are not its. */
  unmetered?: boolean;
}

export function processSucceeded(r: ProcessResult): boolean {
  return r.exitCode === 0 && !r.timedOut && !r.aborted && !r.spawnError && !r.oomKilled;
}

export function describeFailure(r: ProcessResult): string {
  if (r.spawnError) return r.spawnError;
  if (r.timedOut) return 'timed out';
  if (r.oomKilled) return `ran out of memory: killed by the OOM killer at its memory limit${r.signal ? ` (${r.signal})` : ''}`;
  if (r.aborted) return 'aborted';
  if (r.signal) return `killed by ${r.signal}`;
  return `exit status ${r.exitCode}`;
}

export async function runProcess(req: ProcessRequest): Promise<ProcessResult> {
  // The launcher ends the job's group if wayfinder dies (no setpriv needed: one process start less).
  const argv = req.argv;
  if (argv.length === 0) throw new Error('empty command');
  let pid: number | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  // The timeout and the abort are the shared ones (stop.ts); ending a host job is SIGTERM to its
  // group, SIGKILL after the grace period.
  const stop = stopOn({ timeoutSec: req.timeoutSec, ...(req.signal ? { signal: req.signal } : {}) }, () => {
    const target = pid as number;
    signalGroup(target, 'SIGTERM');
    killTimer = setTimeout(() => signalGroup(target, 'SIGKILL'), (req.killGraceSec ?? 5) * 1000);
  });
  try {
    const launched = await launcher().launch({ argv, cwd: req.cwd, ...(req.makeCwd ? { makeCwd: true } : {}), env: req.env, ...(req.inheritEnv ? { inheritEnv: true } : {}), stdout: req.stdoutPath, stderr: req.stderrPath }, (p) => {
      pid = p;
      if (req.registry && req.registryKey) req.registry.add(req.registryKey, p);
      stop.armed();
    });
    if ('spawnError' in launched) {
      return { exitCode: null, signal: null, timedOut: false, aborted: false, durationMs: launched.durationMs, spawnError: launched.spawnError };
    }
    return {
      exitCode: launched.exitCode,
      signal: launched.signal,
      timedOut: stop.timedOut,
      aborted: stop.aborted,
      durationMs: launched.durationMs,
      ...(launched.childCpuMs !== undefined ? { usage: { cpuMs: launched.childCpuMs, source: 'rusage' as const } } : {}),
    };
  } finally {
    stop.dispose();
    if (killTimer) clearTimeout(killTimer);
    // The leader is gone; whatever it left running in its group must not outlive the job.
    if (pid !== undefined) signalGroup(pid, 'SIGKILL');
    if (req.registry && req.registryKey) req.registry.remove(req.registryKey);
  }
}

let prefix: string[] | undefined;

/**
 * For processes wayfinder starts itself (QEMU): util-linux's setpriv makes the kernel SIGKILL the
 * leader when wayfinder dies (a kill -9 included), so no measurement finishes behind the back of a
 * dead coordinator; the leader's group is reaped at the next start. Without setpriv, the reaping
 * alone remains. (Jobs started by the launcher need none: it ends their groups itself.)
 */
export function deathSignalPrefix(): string[] {
  if (prefix === undefined) {
    const probe = spawnSync('setpriv', ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore' });
    prefix = probe.status === 0 ? ['setpriv', '--pdeathsig', 'KILL', '--'] : [];
  }
  return prefix;
}
