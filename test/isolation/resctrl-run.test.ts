// Cache ways and memory bandwidth through the real run path (Workspace, HostWorker, scheduler,
// processes), against the resctrl stand-in laid out as the Xeon Gold 6326's: jobs that ask for
// `resources: { l3_ways, mb_percent }` get a group of their own with the launcher's pid in its tasks
// before the job runs, the default group shrinks meanwhile, and everything is put back afterwards.
// CPUs 0-1 of this machine lie in the stand-in's L3 domain 0.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadExperiment } from '../../src/spec/index.js';
import { Study } from '../../src/study/study.js';
import { Workspace } from '../../src/study/workspace.js';
import { jobGroupName } from '../../src/isolation/job-isolation.js';
import { Resctrl } from '../../src/isolation/resctrl.js';
import Database from 'better-sqlite3';
import { tempDir, writeFile } from '../helpers.js';
import { FakeResctrl } from './fake-resctrl.js';
import { disposeSharedSysfs } from './sysfs-fixture.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  cleanups.splice(0).forEach((f) => f());
  disposeSharedSysfs();
});

describe('resctrl through the run path (stand-in tree)', () => {
  it('each test job gets its ways and bandwidth, jobs whose ways do not fit together never overlap, and all is restored', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const fake = new FakeResctrl();
    cleanups.push(() => fake.dispose());
    const root = fake.root;
    const seen = join(dir, 'seen.log');
    const probe = writeFile(
      dir,
      'probe.sh',
      `start=$(date +%s%N)
g=$(ls -d ${root}/wf-* | head -n 1)
echo "$start|$$ $PPID|$(cat $g/tasks | tr '\\n' ' ')|$(grep L3 $g/schemata | tr -d ' ')|$(grep MB $g/schemata | tr -d ' ')|$(grep L3 ${root}/schemata | tr -d ' ')|$(ls -d ${root}/wf-* | wc -l)" >> ${seen}
sleep 0.3
echo "end=$(date +%s%N)" >> ${seen}
echo "v=$A"
`,
    );
    const file = writeFile(
      dir,
      'exp.yaml',
      `
name: ways
params:
  - { name: A, type: integer, only: [1, 2, 3], default: 1, when: test }
test:
  run: 'sh ${probe}'
  cores: 1
  isolation: core
  resources: { l3_ways: 7, mb_percent: 30 }
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { parallel: 3 }
`,
    );
    const ws = await Workspace.open({
      workdir: join(dir, '.wayfinder'),
      isolation: { resctrl: { fs: fake, procRoot: fake.procRoot, sysfsRoot: fake.sysfsRoot } },
    });
    let study: Study;
    try {
      study = new Study(loadExperiment(file), ws.store, ws.transport);
      await study.run();
    } finally {
      await ws.close();
    }

    const entries = readFileSync(seen, 'utf8').split('\n').filter(Boolean);
    const starts = entries.filter((l) => !l.startsWith('end='));
    const ends = entries.filter((l) => l.startsWith('end='));
    expect(starts).toHaveLength(3);
    // Two jobs of 7 ways do not fit in 12 beside the default group's one: they ran one after the other.
    expect(entries.map((l) => (l.startsWith('end=') ? 'end' : 'start'))).toEqual(['start', 'end', 'start', 'end', 'start', 'end']);
    for (const l of starts) {
      const [, pids, tasks, l3, mb, rootL3, groups] = l.split('|') as string[];
      // The launcher was in the group's tasks: it exec'd the job's shell (same pid), which started the
      // probe. (The kernel moves children along; the stand-in's tasks file lists the pid written.)
      const [self, parent] = (pids as string).split(' ');
      expect([self, parent]).toContain((tasks as string).trim());
      expect(l3).toBe('L3:0=fe0;1=fff');
      expect(mb).toBe('MB:0=30;1=100');
      // Meanwhile the default group keeps only the ways no job holds on domain 0.
      expect(rootL3).toBe('L3:0=1f;1=fff');
      expect(groups).toBe('1');
    }
    expect(ends).toHaveLength(3);

    const db = new Database(join(dir, '.wayfinder', 'wayfinder.db'), { readonly: true });
    const rows = db.prepare('SELECT cpus, l3_mask, mb_percent, cpu_isolation_only FROM runs').all();
    db.close();
    expect(rows).toHaveLength(3);
    for (const r of rows) expect(r).toMatchObject({ l3_mask: '0=fe0', mb_percent: 30, cpu_isolation_only: 0 });

    // Afterwards: no group left, the default group whole again, its saved copy gone.
    expect(readdirSync(root).filter((n) => n.startsWith('wf-'))).toEqual([]);
    expect(readFileSync(join(root, 'schemata'), 'utf8')).toMatch(/L3:0=fff;1=fff/);
    expect(existsSync(join(dir, '.wayfinder', 'state', 'resctrl-default.schemata'))).toBe(false);
  });

  it('groups and the shrunk default group a killed wayfinder left are put back when the worker starts', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const fake = new FakeResctrl();
    cleanups.push(() => fake.dispose());
    const workdir = join(dir, '.wayfinder');
    const stateFile = join(workdir, 'state', 'resctrl-default.schemata');
    // What a killed run leaves: its job's group with 4 ways, the default group shrunk, the original saved.
    const killed = await Resctrl.detect({ fs: fake, procRoot: fake.procRoot, sysfsRoot: fake.sysfsRoot, stateFile });
    await killed?.allocate(jobGroupName('t.exp.cfg.wrk'), { domains: [0], l3Ways: 4 });
    expect(readdirSync(fake.root).filter((n) => n.startsWith('wf-'))).toHaveLength(1);
    expect(readFileSync(join(fake.root, 'schemata'), 'utf8')).toMatch(/L3:0=ff;1=fff/);
    expect(existsSync(stateFile)).toBe(true);

    const ws = await Workspace.open({ workdir, isolation: { resctrl: { fs: fake, procRoot: fake.procRoot, sysfsRoot: fake.sysfsRoot } } });
    try {
      await ws.worker?.isolation.start();
      expect(ws.worker?.isolation.hasResctrl).toBe(true);
      expect(readdirSync(fake.root).filter((n) => n.startsWith('wf-'))).toEqual([]);
      expect(readFileSync(join(fake.root, 'schemata'), 'utf8')).toMatch(/L3:0=fff;1=fff/);
      expect(existsSync(stateFile)).toBe(false);
    } finally {
      await ws.close();
    }
  });
});
