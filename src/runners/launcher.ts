// wayfinder's side of the job launcher process (launcher-child.ts): jobs are started there, not
// here, so that starting one does not cost a fork of this large process. One launcher serves the
// whole process; it is started on first use and again if it ever dies.

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inheritedEnv } from './inherited-env.js';
import type { LaunchReply, LaunchRequest } from './launcher-protocol.js';

export type Launched =
  | { exitCode: number | null; signal: NodeJS.Signals | null; durationMs: number; childCpuMs?: number }
  | { spawnError: string; durationMs: number };

interface Pending {
  onPid: (pid: number) => void;
  resolve: (r: Launched) => void;
  reject: (e: Error) => void;
}

const here = fileURLToPath(import.meta.url);
// Run from TypeScript sources (the tests), the child needs the same loader.
const fromSource = here.endsWith('.ts');
const childPath = here.replace(/launcher\.(ts|js)$/, `launcher-child.$1`);

class Launcher {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  /** Start `req` in the launcher; `onPid` learns the job's pid (its process group) as soon as it runs. */
  launch(req: Omit<LaunchRequest, 'id'>, onPid: (pid: number) => void): Promise<Launched> {
    const child = this.ensure();
    const id = this.nextId++;
    return new Promise<Launched>((resolve, reject) => {
      this.pending.set(id, { onPid, resolve, reject });
      this.hold();
      child.send({ ...req, id } satisfies LaunchRequest, (e) => {
        if (e) this.settle(id, (p) => p.reject(new Error(`job launcher: ${e.message}`)));
      });
    });
  }

  private ensure(): ChildProcess {
    if (this.child) return this.child;
    const child = fork(childPath, [], {
      execArgv: fromSource ? ['--import', 'tsx'] : [],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      // Its own session: a Ctrl-C at the terminal is wayfinder's to handle, not the launcher's.
      detached: true,
      serialization: 'json',
      env: inheritedEnv(),
    });
    child.on('message', (m: LaunchReply) => this.onReply(m));
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      const why = new Error(`job launcher exited (${signal ?? `status ${code}`}) while jobs were running`);
      for (const id of [...this.pending.keys()]) this.settle(id, (p) => p.reject(why));
    });
    child.on('error', () => undefined);
    this.child = child;
    return child;
  }

  private onReply(m: LaunchReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    if ('pid' in m) p.onPid(m.pid);
    else if ('openError' in m) this.settle(m.id, (q) => q.reject(new Error(m.openError)));
    else if ('spawnError' in m) this.settle(m.id, (q) => q.resolve({ spawnError: m.spawnError, durationMs: m.durationMs }));
    else this.settle(m.id, (q) => q.resolve({ exitCode: m.exitCode, signal: m.signal, durationMs: m.durationMs, ...(m.childCpuMs !== undefined ? { childCpuMs: m.childCpuMs } : {}) }));
  }

  private settle(id: number, fn: (p: Pending) => void): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    this.hold();
    fn(p);
  }

  /** Keep this process alive while jobs run, and not a moment longer for the launcher's sake. */
  private hold(): void {
    const child = this.child;
    if (!child) return;
    if (this.pending.size > 0) {
      child.ref();
      child.channel?.ref();
    } else {
      child.unref();
      child.channel?.unref();
    }
  }
}

let shared: Launcher | undefined;

export function launcher(): Launcher {
  shared ??= new Launcher();
  return shared;
}
