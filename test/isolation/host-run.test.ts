// Host tuning around `wayfinder run`, on a stand-in /proc and /sys (WAYFINDER_PROCFS_ROOT and
// WAYFINDER_SYSFS_ROOT) so this machine's settings are never touched: applied before the first job,
// put back after the last, also when wayfinder was SIGKILLed in between; what the host lacks (no
// cpufreq here) is said once and recorded with the experiment.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, tempDir, waitFor, wayfinder, writeFile } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

function standIn(dir: string): { env: Record<string, string>; aslr: string; swappiness: string } {
  const procRoot = join(dir, 'proc');
  const sysfsRoot = join(dir, 'sys');
  const aslr = join(procRoot, 'sys/kernel/randomize_va_space');
  const swappiness = join(procRoot, 'sys/vm/swappiness');
  for (const [p, v] of [
    [aslr, '2'],
    [swappiness, '60'],
  ] as const) {
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, `${v}\n`);
  }
  mkdirSync(join(sysfsRoot, 'devices/system/cpu'), { recursive: true });
  writeFileSync(join(sysfsRoot, 'devices/system/cpu/online'), '0-1\n');
  return { env: { WAYFINDER_PROCFS_ROOT: procRoot, WAYFINDER_SYSFS_ROOT: sysfsRoot }, aslr, swappiness };
}

const value = (p: string): string => readFileSync(p, 'utf8').trim();

function experiment(dir: string, run: string): string {
  return writeFile(
    dir,
    'exp.yaml',
    `
name: tuned
params:
  - { name: A, type: integer, only: [1, 2], default: 1, when: test }
test:
  run: '${run}'
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
host:
  aslr: false
  governor: performance
  sysctls: { vm.swappiness: 10 }
`,
  );
}

describe('host tuning around wayfinder run', () => {
  it('jobs run under the settings, which are put back afterwards; a missing one is reported once and recorded', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const h = standIn(dir);
    const file = experiment(dir, `echo "v=$A aslr=$(cat ${h.aslr}) swappiness=$(cat ${h.swappiness})"`);
    const workdir = join(dir, '.wayfinder');
    const r = await wayfinder(['run', '--no-confirm', file, '--workdir', workdir], { env: h.env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.split('\n').filter((l) => l.includes('governor'))).toHaveLength(1);
    expect(r.stderr).toMatch(/wayfinder: host governor: no cpufreq driver/);
    // Every job saw the tuned values.
    const logs = (readdirSync(workdir, { recursive: true }) as string[]).filter((f) => f.endsWith('stdout.log'));
    expect(logs).toHaveLength(2);
    for (const f of logs) expect(readFileSync(join(workdir, f), 'utf8')).toMatch(/^v=\d aslr=0 swappiness=10$/m);
    const db = new Database(join(workdir, 'wayfinder.db'), { readonly: true });
    const host = JSON.parse((db.prepare('SELECT host_json FROM experiments').get() as { host_json: string }).host_json) as {
      tuning: { changed: string[]; unavailable: string[] };
    };
    const runs = db.prepare('SELECT COUNT(*) AS n FROM runs').get() as { n: number };
    db.close();
    expect(runs.n).toBe(2);
    expect(host.tuning.changed).toEqual(expect.arrayContaining(['aslr=0 (was 2)', 'sysctl:vm.swappiness=10 (was 60)']));
    expect(host.tuning.unavailable).toEqual([expect.stringMatching(/^host governor: no cpufreq driver/)]);
    expect(value(h.aslr)).toBe('2');
    expect(value(h.swappiness)).toBe('60');
    expect(existsSync(join(workdir, 'host-tuning.json'))).toBe(false);
  });

  it('after a SIGKILL mid-run the next start puts the values found before back, not fixed defaults', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const h = standIn(dir);
    writeFileSync(h.swappiness, '33\n');
    const started = join(dir, 'started');
    const file = experiment(dir, `if [ -e ${started} ]; then echo "v=$A"; exit 0; fi; touch ${started}; sleep 300`);
    const workdir = join(dir, '.wayfinder');
    const child = spawn(process.execPath, [CLI, 'run', '--no-confirm', file, '--workdir', workdir, '--quiet'], { stdio: 'ignore', env: { ...process.env, ...h.env } });
    await waitFor(() => existsSync(started), 60_000, 'the first job');
    expect(value(h.aslr)).toBe('0');
    expect(value(h.swappiness)).toBe('10');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(value(h.swappiness)).toBe('10');
    expect(existsSync(join(workdir, 'host-tuning.json'))).toBe(true);

    // Without the experiment's tuning at all: the start alone restores what the killed run changed.
    writeFileSync(file, readFileSync(file, 'utf8').replace(/host:[\s\S]*$/, ''));
    const again = await wayfinder(['run', '--no-confirm', file, '--workdir', workdir, '--quiet'], { env: h.env });
    expect(again.status, again.stderr).toBe(0);
    expect(value(h.aslr)).toBe('2');
    expect(value(h.swappiness)).toBe('33');
    expect(existsSync(join(workdir, 'host-tuning.json'))).toBe(false);
  });
});
