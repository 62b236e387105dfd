// A runner that runs nothing: each run ends at once (or after a scripted delay) with the outcome
// a script gives it (exit status, stdout, duration, a timeout, CPU time and memory). For fast
// tests of everything above the runners (the study loop, retries, failures, accounting's path);
// a test registers it under a kind of its choosing (registerRunner(fakeRunner(...))).

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { ProcessResult } from './process.js';
import type { RunRequest, Runner } from './runner.js';
import { stopOn } from './stop.js';

export interface FakeOutcome {
  exitCode?: number;
  stdout?: string;
  stderr?: string;
  /** The duration the run reports; with `delayMs` it also takes that long. */
  durationMs?: number;
  /** Really wait this long (timeouts and aborts strike through the shared path meanwhile). */
  delayMs?: number;
  /** End as if the job's timeout had struck. */
  timeout?: boolean;
  oomKilled?: boolean;
  cpuMs?: number;
  peakMemoryBytes?: number;
}

/** The outcome of each run, by its request (the run's variables say which configuration and iteration). */
export type FakeScript = (run: RunRequest) => FakeOutcome;

export function fakeRunner(kind: string, script: FakeScript): Runner & { runs: RunRequest[] } {
  const runs: RunRequest[] = [];
  return {
    kind,
    confinement: 'launcher',
    runs,
    preflight: async () => [],
    reap: async () => undefined,
    prepare: async (run) => {
      await fsp.mkdir(run.dir, { recursive: true });
      return {};
    },
    launch: async (run, ctx): Promise<ProcessResult> => {
      runs.push(run);
      const o = script(run);
      const started = performance.now();
      let wake: (() => void) | undefined;
      const stop = stopOn({ timeoutSec: run.job.timeoutSec, ...(ctx.signal ? { signal: ctx.signal } : {}) }, () => wake?.());
      try {
        if (o.delayMs) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, o.delayMs);
            wake = () => {
              clearTimeout(t);
              resolve();
            };
            stop.armed();
          });
        } else {
          stop.armed();
        }
      } finally {
        stop.dispose();
      }
      await fsp.appendFile(join(run.dir, 'stdout.log'), o.stdout ?? '');
      await fsp.appendFile(join(run.dir, 'stderr.log'), o.stderr ?? '');
      const ended = stop.timedOut || stop.aborted;
      return {
        exitCode: ended ? null : (o.exitCode ?? 0),
        signal: ended ? 'SIGKILL' : null,
        timedOut: o.timeout === true || stop.timedOut,
        aborted: stop.aborted,
        durationMs: o.durationMs ?? performance.now() - started,
        ...(o.oomKilled ? { oomKilled: true } : {}),
        ...(o.cpuMs !== undefined ? { usage: { cpuMs: o.cpuMs, ...(o.peakMemoryBytes !== undefined ? { peakMemoryBytes: o.peakMemoryBytes } : {}), source: 'runner' as const } } : {}),
      };
    },
    finish: async () => ({}),
  };
}
