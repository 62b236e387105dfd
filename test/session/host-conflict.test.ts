// Two experiments whose host settings conflict never run at the same time on one host: a job whose
// settings differ from those in force waits in the queue until the jobs holding them are done, and
// every run sees its own experiment's settings. Through a real work directory (embedded Redis,
// this host's worker, scheduler, launcher), on a stand-in /proc and /sys.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MeasurementSession } from '../../src/session/session.js';
import { loadExperiment } from '../../src/spec/index.js';
import { Study } from '../../src/study/study.js';
import { tempDir, writeFile } from '../helpers.js';
import { standIn, value } from './stand-in.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

interface Interval {
  run: string;
  start: number;
  end: number;
}

/** Each run logs when it starts and ends (ns), and measures the swappiness it sees. */
function experiment(dir: string, name: string, swappinessFile: string, swappiness: number, extra = ''): { file: string; log: string } {
  const log = join(dir, `${name}.times`);
  const file = writeFile(
    dir,
    `${name}.yaml`,
    `
name: ${name}
params:
  - { name: A, type: integer, only: [1, 2, 3, 4], default: 1, when: test }
test:
  run: 'id=$WAYFINDER_CONFIG_ID.$WAYFINDER_ITERATION; echo "$id start $(date +%s%N)" >> ${log}; sleep 0.3; s=$(cat ${swappinessFile}); echo "$id end $(date +%s%N)" >> ${log}; echo "v=$A swappiness=$s"'
  iterations: 2
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
  - { name: swappiness, parser: regex, pattern: 'swappiness=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { parallel: 2 }
host:
  sysctls: { vm.swappiness: ${swappiness} }
${extra}`,
  );
  return { file, log };
}

function intervals(log: string): Interval[] {
  const open = new Map<string, number>();
  const out: Interval[] = [];
  for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
    const [run, what, t] = line.split(' ') as [string, string, string];
    if (what === 'start') open.set(run, Number(t));
    else out.push({ run, start: open.get(run) as number, end: Number(t) });
  }
  return out;
}

const overlap = (a: Interval, b: Interval): boolean => a.start < b.end && b.start < a.end;

describe('conflicting host settings on one host', () => {
  it('jobs of two experiments queued at once never overlap, and each run sees its own settings', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const h = standIn(dir);
    const a = experiment(dir, 'tenth', h.swappiness, 10, '  governor: performance\n');
    const b = experiment(dir, 'twentieth', h.swappiness, 20);
    const workdir = join(dir, '.wayfinder');
    const session = await MeasurementSession.open({ workdir, hostRoots: h.roots, hostLingerMs: 200 });
    const ws = session.ws;
    let sa: Study;
    let sb: Study;
    try {
      // As on a worker of another host: the jobs carry their settings, no session holds them here.
      sa = new Study(loadExperiment(a.file), ws.store, ws.transport);
      sb = new Study(loadExperiment(b.file), ws.store, ws.transport);
      await Promise.all([sa.run(), sb.run()]);
    } finally {
      await session.close();
    }

    const ia = intervals(a.log);
    const ib = intervals(b.log);
    expect(ia).toHaveLength(8);
    expect(ib).toHaveLength(8);
    for (const x of ia) for (const y of ib) expect(overlap(x, y), `${x.run} and ${y.run}`).toBe(false);
    // The worker does run two jobs at once (parallel 2 on two cores): apart only across experiments.
    expect(ia.some((x) => ia.some((y) => x !== y && overlap(x, y))) || ib.some((x) => ib.some((y) => x !== y && overlap(x, y)))).toBe(true);

    const db = new Database(join(workdir, 'wayfinder.db'), { readonly: true });
    const rows = db.prepare('SELECT experiment_id, metrics_json, placement_json FROM runs').all() as { experiment_id: string; metrics_json: string; placement_json: string }[];
    db.close();
    expect(rows).toHaveLength(16);
    for (const r of rows) {
      const want = r.experiment_id === sa.id ? 10 : 20;
      expect((JSON.parse(r.metrics_json) as { swappiness: number }).swappiness, r.experiment_id).toBe(want);
      // What the host lacked for the experiment is noted with each of its runs.
      const notes = (JSON.parse(r.placement_json) as { notes?: string[] }).notes ?? [];
      expect(notes.some((n) => /^host governor: no cpufreq driver/.test(n))).toBe(r.experiment_id === sa.id);
    }
    expect(value(h.swappiness)).toBe('60');
    expect(existsSync(join(workdir, 'host-tuning.json'))).toBe(false);
  });

  it('a second session of conflicting settings waits for the first to end', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const h = standIn(dir);
    const a = experiment(dir, 'tenth', h.swappiness, 10);
    const b = experiment(dir, 'twentieth', h.swappiness, 20);
    const session = await MeasurementSession.open({ workdir: join(dir, '.wayfinder'), hostRoots: h.roots });
    try {
      const measure = async (file: string): Promise<void> => {
        const m = await session.begin(loadExperiment(file));
        try {
          await m.study.run();
        } finally {
          await m.end();
        }
      };
      await Promise.all([measure(a.file), measure(b.file)]);
    } finally {
      await session.close();
    }
    const ia = intervals(a.log);
    const ib = intervals(b.log);
    expect(ia).toHaveLength(8);
    expect(ib).toHaveLength(8);
    // One experiment whole, then the other.
    const [first, second] = Math.min(...ia.map((x) => x.start)) < Math.min(...ib.map((x) => x.start)) ? [ia, ib] : [ib, ia];
    expect(Math.max(...first.map((x) => x.end))).toBeLessThan(Math.min(...second.map((x) => x.start)));
    expect(value(h.swappiness)).toBe('60');
  });
});
