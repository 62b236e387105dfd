// An experiment's `host:` settings submitted to the daemon are applied on its host around its runs,
// as `wayfinder run` applies them, and put back after; a daemon SIGKILLed with them applied puts
// them back when it starts again. On a stand-in /proc and /sys (test/session/stand-in.ts).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, waitFor, writeFile } from '../helpers.js';
import { api, query, startDaemon, submitBody, waitState, type Proc } from '../daemon/helpers.js';
import { standIn, value } from './stand-in.js';

const procs: Proc[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill('SIGKILL');
  cleanups.splice(0).forEach((f) => f());
});

/** Each run prints the values it found as metrics. */
function experiment(dir: string, aslr: string, swappiness: string, before = ''): string {
  return writeFile(
    dir,
    'exp.yaml',
    `
name: tuned-daemon
params:
  - { name: A, type: integer, only: [1, 2, 3], default: 1, when: test }
test:
  run: '${before}echo "v=$A swappiness=$(cat ${swappiness}) aslr=$(cat ${aslr})"'
  iterations: 2
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
  - { name: swappiness, parser: regex, pattern: 'swappiness=(\\d+)' }
  - { name: aslr, parser: regex, pattern: 'aslr=(\\d+)' }
objective: { metric: v, direction: maximize }
host:
  aslr: false
  governor: performance
  sysctls: { vm.swappiness: 10 }
`,
  );
}

function seen(workdir: string, id: string): { swappiness: number; aslr: number }[] {
  return query<{ metrics_json: string }>(workdir, 'SELECT metrics_json FROM runs WHERE experiment_id = ?', id).map((r) => JSON.parse(r.metrics_json) as { swappiness: number; aslr: number });
}

function hostRecord(workdir: string, id: string): { tuning: { changed: string[]; unavailable: string[] } } {
  const row = query<{ host_json: string }>(workdir, 'SELECT host_json FROM experiments WHERE id = ?', id)[0];
  return JSON.parse(row?.host_json ?? 'null') as { tuning: { changed: string[]; unavailable: string[] } };
}

describe('host settings of an experiment submitted to the daemon', () => {
  it('are applied during its runs, recorded with it, and put back after', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const h = standIn(dir);
    const workdir = join(dir, 'wd');
    const d = await startDaemon(workdir, [], h.env);
    procs.push(d);
    const file = experiment(dir, h.aslr, h.swappiness);
    const sub = await api<{ id: string }>(d.url, '/experiments', submitBody(readFileSync(file, 'utf8'), file));
    expect(sub.status, sub.text).toBe(201);
    const id = sub.body.id;
    expect((await waitState(d.url, id, ['done', 'failed'], 60_000)).state).toBe('done');

    const runs = seen(workdir, id);
    expect(runs).toHaveLength(6);
    for (const r of runs) expect(r).toEqual(expect.objectContaining({ swappiness: 10, aslr: 0 }));
    const host = hostRecord(workdir, id);
    expect(host.tuning.changed).toEqual(expect.arrayContaining(['aslr=0 (was 2)', 'sysctl:vm.swappiness=10 (was 60)']));
    expect(host.tuning.unavailable).toEqual([expect.stringMatching(/^host governor: no cpufreq driver/)]);
    // Put back once the experiment is done, with the daemon still running.
    expect(value(h.aslr)).toBe('2');
    expect(value(h.swappiness)).toBe('60');
    expect(existsSync(join(workdir, 'host-tuning.json'))).toBe(false);
  });

  it('a daemon SIGKILLed mid-experiment puts them back when it starts again, then finishes under them', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const h = standIn(dir, { swappiness: '33' });
    const workdir = join(dir, 'wd');
    const started = join(dir, 'started');
    // The first run blocks until the kill; every later run measures.
    const file = experiment(dir, h.aslr, h.swappiness, `if [ ! -e ${started} ]; then touch ${started}; sleep 300; fi; `);
    let d = await startDaemon(workdir, [], h.env);
    procs.push(d);
    const sub = await api<{ id: string }>(d.url, '/experiments', submitBody(readFileSync(file, 'utf8'), file));
    expect(sub.status, sub.text).toBe(201);
    const id = sub.body.id;
    await waitFor(() => existsSync(started), 60_000, 'the first run');
    expect(value(h.swappiness)).toBe('10');
    expect(value(h.aslr)).toBe('0');
    await d.kill('SIGKILL');
    // Killed: nothing put them back, and the values found before are saved in the work directory.
    expect(value(h.swappiness)).toBe('10');
    expect(JSON.parse(readFileSync(join(workdir, 'host-tuning.json'), 'utf8'))).toEqual(
      expect.objectContaining({ entries: expect.arrayContaining([expect.objectContaining({ setting: 'sysctl:vm.swappiness', value: '33' })]) }),
    );

    d = await startDaemon(workdir, [], h.env);
    procs.push(d);
    expect(d.stderr()).toMatch(/host settings a killed earlier run left applied were put back/);
    expect((await waitState(d.url, id, ['done', 'failed'], 60_000)).state).toBe('done');
    const runs = seen(workdir, id);
    expect(runs).toHaveLength(6);
    for (const r of runs) expect(r).toEqual(expect.objectContaining({ swappiness: 10, aslr: 0 }));
    // Applied again over the values put back at the start: those found before the first start.
    expect(hostRecord(workdir, id).tuning.changed).toEqual(expect.arrayContaining(['sysctl:vm.swappiness=10 (was 33)']));
    expect(value(h.swappiness)).toBe('33');
    expect(value(h.aslr)).toBe('2');
    expect(existsSync(join(workdir, 'host-tuning.json'))).toBe(false);
  });

  it('a daemon started again without a worker puts them back too (nothing else would)', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const h = standIn(dir, { swappiness: '33' });
    const workdir = join(dir, 'wd');
    const started = join(dir, 'started');
    const file = experiment(dir, h.aslr, h.swappiness, `touch ${started}; sleep 300; `);
    let d = await startDaemon(workdir, [], h.env);
    procs.push(d);
    const sub = await api<{ id: string }>(d.url, '/experiments', submitBody(readFileSync(file, 'utf8'), file));
    expect(sub.status, sub.text).toBe(201);
    await waitFor(() => existsSync(started), 60_000, 'the first run');
    await d.kill('SIGKILL');
    expect(value(h.swappiness)).toBe('10');
    writeFileSync(started, '');
    d = await startDaemon(workdir, ['--no-worker'], h.env);
    procs.push(d);
    expect(d.stderr()).toMatch(/host settings a killed earlier run left applied were put back/);
    expect(value(h.swappiness)).toBe('33');
    expect(value(h.aslr)).toBe('2');
    expect(existsSync(join(workdir, 'host-tuning.json'))).toBe(false);
  });
});
