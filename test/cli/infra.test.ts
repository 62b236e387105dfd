// A worker that cannot run jobs (here: a cgroup root where no job's group can be made) is the
// host's trouble, not the configurations': through the real run path (BullMQ, the host worker,
// SQLite) the work is queued again a few times, then `wayfinder run` stops the experiment with the
// reason and a non-zero status; no configuration is failed, and a run on a sound host resumes it.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, wayfinder, writeFile } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

/** A cgroup v2 root that offers cpuset but whose subtree_control cannot be read (it is a directory). */
function brokenCgroupRoot(dir: string): string {
  const root = join(dir, 'cgroup');
  mkdirSync(join(root, 'cgroup.subtree_control'), { recursive: true });
  writeFileSync(join(root, 'cgroup.controllers'), 'cpuset cpu memory\n');
  return root;
}

describe('infrastructure failures', () => {
  it('stop `wayfinder run` with the reason after a few retries, fail no configuration, and a later run resumes', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = writeFile(
      dir,
      'exp.yaml',
      `
name: infra
params:
  - { name: A, type: integer, min: 1, max: 3, default: 1, when: test }
test:
  run: 'echo "v=$A"'
  isolation: core
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
`,
    );
    const workdir = join(dir, '.wayfinder');
    const broken = await wayfinder(['run', '--no-confirm', file, '--workdir', workdir, '--quiet'], { env: { WAYFINDER_CGROUP_ROOT: brokenCgroupRoot(dir) }, timeoutMs: 120_000 });
    expect(broken.status, broken.stderr).toBe(1);
    expect(broken.stderr).toMatch(/wayfinder: experiment \S+ stopped: the workers could not run the test "\S+" of configuration \w+ \(4 times, 3 of them queued again\); last on \S+: .*cpuset: reading .*subtree_control failed/);
    expect(broken.stderr).not.toMatch(/\n\s+at /);

    const db = new Database(join(workdir, 'wayfinder.db'), { readonly: true });
    const exp = db.prepare('SELECT state, error FROM experiments').get() as { state: string; error: string };
    const configs = db.prepare('SELECT status FROM configurations').all() as { status: string }[];
    const runs = db.prepare('SELECT COUNT(*) AS n FROM runs').get() as { n: number };
    db.close();
    expect(exp.state).toBe('failed');
    expect(broken.stderr).toContain(exp.error);
    // Nothing was measured, and nothing was held against a configuration.
    expect(configs.length).toBeGreaterThan(0);
    expect(configs.every((c) => c.status === 'running')).toBe(true);
    expect(runs.n).toBe(0);

    // On a host whose cgroups work (or without cpusets), the same experiment resumes and finishes.
    const sound = await wayfinder(['run', '--no-confirm', file, '--workdir', workdir, '--json'], { env: { WAYFINDER_CGROUP_ROOT: 'none' }, timeoutMs: 120_000 });
    expect(sound.status, sound.stderr).toBe(0);
    expect((JSON.parse(sound.stdout) as { best: { objective: number } }).best.objective).toBe(3);
    const after = new Database(join(workdir, 'wayfinder.db'), { readonly: true });
    const done = after.prepare('SELECT state, error FROM experiments').get();
    const failed = after.prepare("SELECT COUNT(*) AS n FROM configurations WHERE status != 'done'").get();
    after.close();
    expect(done).toEqual({ state: 'done', error: null });
    expect(failed).toEqual({ n: 0 });
  }, 240_000);
});
