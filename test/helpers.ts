// Shared by the tests that run wayfinder for real: temporary work directories, the CLI as a
// child process, and tools that must be installed (a missing one fails the test, never skips it).

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cgroupPrefix } from '../src/isolation/job-isolation.js';

export const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
export const CLI = join(ROOT, 'bin', 'wayfinder.js');

export function tempDir(prefix = 'wf-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    cleanup: () => {
      stopEmbeddedRedis(dir);
      removeJobCgroups(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A run killed by a test leaves its work directory's redis-server running (by design: the next run adopts it). */
export function stopEmbeddedRedis(dir: string): void {
  const found = spawnSync('find', [dir, '-maxdepth', '4', '-name', 'redis.pid'], { encoding: 'utf8' });
  for (const pidfile of found.stdout.split('\n').filter(Boolean)) {
    try {
      process.kill(Number(readFileSync(pidfile, 'utf8').trim()), 'SIGKILL');
    } catch {
      // already stopped
    }
  }
}

/**
 * A run killed by a test and never started again in its work directory leaves its jobs' cpuset
 * groups (and what still runs in them): kill that and remove them, as the next start would have.
 */
export function removeJobCgroups(dir: string): void {
  const found = spawnSync('find', [dir, '-maxdepth', '4', '-name', 'wayfinder.db'], { encoding: 'utf8' });
  for (const db of found.stdout.split('\n').filter(Boolean)) {
    // cpuset/ holds the job groups, cpuacct/ and memory/ the accounting groups, every v1 hierarchy a container's parent.
    const v1 = existsSync('/sys/fs/cgroup/cgroup.controllers') ? [] : readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h));
    for (const base of [...v1, '/sys/fs/cgroup']) {
      const parent = join(base, cgroupPrefix(dirname(db)));
      if (!existsSync(parent)) continue;
      // Deepest first: a container's groups sit inside their accounting parent.
      const groups = readdirSync(parent, { withFileTypes: true, recursive: true }).filter((e) => e.isDirectory()).map((e) => join(e.parentPath, e.name)).sort((a, b) => b.length - a.length);
      for (const path of groups) {
        for (let tries = 0; tries < 100; tries++) {
          const pids = readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
          for (const pid of pids) {
            try {
              process.kill(Number(pid), 'SIGKILL');
            } catch {
              // gone already
            }
          }
          try {
            rmdirSync(path);
            break;
          } catch {
            spawnSync('sleep', ['0.05']);
          }
        }
      }
      try {
        rmdirSync(parent);
      } catch {
        // a group still busy: the test that made it reports what it left
      }
    }
  }
}

export function writeFile(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run `wayfinder ARGS` to completion. */
export function wayfinder(args: string[], opts: { cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`wayfinder ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 120_000} ms\n${stderr}`));
    }, opts.timeoutMs ?? 120_000);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** A tool the test needs: its absence fails the test with what to install. */
export function requireTool(name: string, pkg = name): void {
  const r = spawnSync('sh', ['-c', `command -v ${name}`]);
  if (r.status !== 0) throw new Error(`${name} is not installed: apt-get install ${pkg} (the README's set-up command installs it)`);
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
