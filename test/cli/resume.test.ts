import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { processAlive } from '../../src/util/process-alive.js';
import { CLI, tempDir, waitFor, wayfinder, writeFile } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

function lines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
}

describe('resume after SIGKILL', () => {
  it('measures no (configuration, iteration) twice and loses none', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const log = join(dir, 'measured.log');
    // Each run records that it *finished* measuring; a run killed in flight records nothing.
    const file = writeFile(
      dir,
      'exp.yaml',
      `
name: resume
params:
  - { name: A, type: integer, min: 1, max: 6, default: 1, when: test }
  - { name: B, type: integer, only: [1, 2], default: 1, when: test }
test:
  run: 'sleep 0.3; echo "$WAYFINDER_CONFIG_ID $WAYFINDER_ITERATION" >> ${log}; echo "v=$(( A * B ))"'
  iterations: 2
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { parallel: 2 }
`,
    );
    const workdir = join(dir, '.wayfinder');
    for (const killAfter of [3, 9]) {
      const child = spawn(process.execPath, [CLI, 'run', '--no-confirm', file, '--workdir', workdir, '--quiet'], { stdio: 'ignore' });
      await waitFor(() => lines(log).length >= killAfter, 60_000, `${killAfter} measured runs`);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    const final = await wayfinder(['run', '--no-confirm', file, '--workdir', workdir, '--json'], { timeoutMs: 120_000 });
    expect(final.status, final.stderr + final.stdout).toBe(0);

    const db = new Database(join(workdir, 'wayfinder.db'), { readonly: true });
    const runs = db.prepare('SELECT config_id, iteration, COUNT(*) AS n FROM runs GROUP BY config_id, iteration').all() as { n: number }[];
    const configs = db.prepare("SELECT COUNT(*) AS n FROM configurations WHERE status = 'done'").get() as { n: number };
    db.close();
    // 6 x 2 configurations, 2 iterations each: all stored, each exactly once (the primary key).
    expect(configs.n).toBe(12);
    expect(runs).toHaveLength(24);
    expect(runs.every((r) => r.n === 1)).toBe(true);

    // Executions: every run finished at least once; a second finished execution is possible only
    // for a run whose result was in flight at a kill (its command finished, its result not yet in
    // Redis): at most one per run in flight, so `parallel` (2) per kill. Execution is at-least-once;
    // storing, checked above, is exactly once.
    const counts = new Map<string, number>();
    for (const l of lines(log)) counts.set(l, (counts.get(l) ?? 0) + 1);
    expect(counts.size).toBe(24);
    const repeats = [...counts.values()].reduce((s, n) => s + (n - 1), 0);
    expect(repeats).toBeLessThanOrEqual(2 * 2);
    expect((JSON.parse(final.stdout) as { best: { objective: number } }).best.objective).toBe(12);
  }, 300_000);
});

describe('Ctrl-C during a build', () => {
  it('ends the build, exits 130 without waiting for it, and the next run builds and measures it', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const started = join(dir, 'started');
    const pidFile = join(dir, 'build.pid');
    // The first build hangs (as a long compile would) until it is ended; later builds are quick.
    const file = writeFile(
      dir,
      'exp.yaml',
      `
name: interrupt
params:
  - { name: A, type: integer, only: [1, 2, 3], default: 1 }
build:
  run: 'if [ ! -e ${started} ]; then touch ${started}; echo $$ > ${pidFile}; sleep 300; fi'
test:
  run: 'echo "v=$A"'
  iterations: 1
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { strategy: grid }
`,
    );
    const workdir = join(dir, '.wayfinder');
    const child = spawn(process.execPath, [CLI, 'run', '--no-confirm', '--no-early-stop', file, '--workdir', workdir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 60_000, 'the first build to start');
    const buildPid = Number(readFileSync(pidFile, 'utf8').trim());
    // As soon as the build runs: the moment when the job's own cleanup and the work directory's
    // remove its groups together. That race once surfaced as ENODEV from a cgroup read, which left
    // run waiting until its grace period ran out (test/isolation/cpuset.test.ts has the race alone).
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('SIGINT: stopping');
    expect(stderr).not.toContain('still stopping');
    // The hanging build was ended, not left behind.
    await waitFor(() => !processAlive(buildPid), 10_000, 'the interrupted build to be ended');

    const again = await wayfinder(['run', '--no-confirm', '--no-early-stop', file, '--workdir', workdir, '--json'], { timeoutMs: 120_000 });
    expect(again.status, again.stderr + again.stdout).toBe(0);
    const out = JSON.parse(again.stdout) as { best: { objective: number }; done: number };
    expect(out.best.objective).toBe(3);
    const db = new Database(join(workdir, 'wayfinder.db'), { readonly: true });
    const done = db.prepare("SELECT COUNT(*) AS n FROM configurations WHERE status = 'done'").get() as { n: number };
    db.close();
    expect(done.n).toBe(3);
  }, 420_000);
});

