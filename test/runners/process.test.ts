import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runProcess } from '../../src/runners/process.js';
import { ProcessRegistry } from '../../src/runners/registry.js';
import { spawn } from 'node:child_process';
import { tempDir, waitFor } from '../helpers.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers kill(0); it is dead for our purpose.
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

describe('runProcess', () => {
  it('captures output to files and the exit status', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const r = await runProcess({
      argv: ['/bin/sh', '-c', 'echo out; echo err >&2; exit 3'],
      cwd: dir, env: { PATH: process.env.PATH ?? '' },
      stdoutPath: join(dir, 'o'), stderrPath: join(dir, 'e'), timeoutSec: 10,
    });
    expect(r.exitCode).toBe(3);
    expect(r.timedOut).toBe(false);
    expect(readFileSync(join(dir, 'o'), 'utf8')).toBe('out\n');
    expect(readFileSync(join(dir, 'e'), 'utf8')).toBe('err\n');
  });

  it('a timeout kills the whole process tree, grandchildren included', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const started = Date.now();
    const r = await runProcess({
      // The child ignores SIGTERM and its grandchild would live for minutes.
      argv: ['/bin/sh', '-c', 'sh -c "trap \\"\\" TERM; sleep 300 & echo \\$! > grandchild; wait" & echo $! > child; wait'],
      cwd: dir, env: { PATH: process.env.PATH ?? '' },
      stdoutPath: join(dir, 'o'), stderrPath: join(dir, 'e'), timeoutSec: 1, killGraceSec: 1,
    });
    expect(r.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
    const child = Number(readFileSync(join(dir, 'child'), 'utf8'));
    const grandchild = Number(readFileSync(join(dir, 'grandchild'), 'utf8'));
    await waitFor(() => !alive(child) && !alive(grandchild), 5000, 'the job tree to die');
  });

  it('retains no registry entry after the job, and reap() ends groups a killed owner left', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const registry = new ProcessRegistry(join(dir, 'running'));
    await runProcess({
      argv: ['true'], cwd: dir, env: { PATH: process.env.PATH ?? '' },
      stdoutPath: join(dir, 'o'), stderrPath: join(dir, 'e'), timeoutSec: 5, registry, registryKey: 'job1',
    });
    expect(existsSync(join(dir, 'running', 'job1'))).toBe(false);

    // A job left behind by a dead owner: its own process group, recorded in the registry.
    const orphan = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    orphan.unref();
    registry.add('orphan', orphan.pid as number);
    expect(alive(orphan.pid as number)).toBe(true);
    const reaped = new ProcessRegistry(join(dir, 'running')).reap();
    expect(reaped).toEqual([orphan.pid]);
    await waitFor(() => !alive(orphan.pid as number), 5000, 'the orphan to die');
  });

  it('a job dies with a SIGKILLed owner, and a Ctrl-C at the owner\'s terminal does not reach it', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const owner = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'launcher-owner.ts'), dir], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    let out = '';
    owner.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const pidFile = join(dir, 'job.pid');
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 30_000, 'the job to start');
    const job = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(job)).toBe(true);
    // SIGINT to the owner's whole process group, as a terminal's Ctrl-C: the owner decides, the job runs on.
    process.kill(-(owner.pid as number), 'SIGINT');
    await waitFor(() => out.includes('interrupted'), 10_000, 'the owner to see the interrupt');
    await new Promise((r) => setTimeout(r, 300));
    expect(alive(job)).toBe(true);
    expect(out).not.toContain('job ended');
    owner.kill('SIGKILL');
    await waitFor(() => !alive(job), 10_000, 'the job to die with its owner');
  });

  it('does not kill a process whose pid merely matches a stale entry', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const registry = new ProcessRegistry(join(dir, 'running'));
    const other = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    // An entry for that pid with another start time: a reused pid, not ours.
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'running', 'stale'), JSON.stringify({ pgid: other.pid, start: '1' }));
    expect(registry.reap()).toEqual([]);
    expect(alive(other.pid as number)).toBe(true);
    process.kill(-(other.pid as number), 'SIGKILL');
  });
});
