// A child process that puts the host settings back when the controller ends without doing so
// (killed with SIGKILL, crashed): the journal is the host tuning's own snapshot file
// (src/isolation/host.ts), and the child runs the same recovery a later start would. Without it a
// killed controller's sysctls would stay changed until the next wayfinder in that work directory.

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const fromSource = here.endsWith('.ts');
const childPath = here.replace(/restore-guard\.(ts|js)$/, 'restore-guard-child.$1');

export interface RestoreGuard {
  pid: number;
  /** After the controller restored the settings itself: the guard ends with nothing to do. */
  stop(): Promise<void>;
}

export function startRestoreGuard(stateFile: string): Promise<RestoreGuard> {
  const child: ChildProcess = fork(childPath, [stateFile], {
    execArgv: fromSource ? ['--import', 'tsx'] : [],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    // Its own session and process group: a signal to the controller's group does not reach it.
    detached: true,
    serialization: 'json',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`the restore guard ended before it was ready (${signal ?? `status ${code}`})`)));
    child.once('message', () => {
      // It must not keep the controller's event loop alive.
      child.unref();
      (child.channel as unknown as { unref?: () => void } | undefined)?.unref?.();
      resolve({
        pid: child.pid!,
        stop: async () => {
          child.ref();
          if (child.connected) child.disconnect();
          await exited;
        },
      });
    });
  });
}
