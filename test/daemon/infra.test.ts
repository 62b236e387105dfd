// The daemon's host worker cannot make any job's cgroup: the experiment is not measured as a run of
// failed configurations but stops, failed, with the reason, and the daemon goes on serving.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requireTool, tempDir } from '../helpers.js';
import { api, query, startDaemon, submitBody, waitState, type Proc } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

describe('daemon: infrastructure failures', () => {
  it('stop the experiment with state failed and the reason; no configuration is failed', async () => {
    requireTool('redis-server');
    const { dir, cleanup } = tempDir('wf-daemon-');
    cleanups.push(cleanup);
    // A cgroup v2 root that offers cpuset, where no group can be made (subtree_control is a directory).
    const root = join(dir, 'cgroup');
    mkdirSync(join(root, 'cgroup.subtree_control'), { recursive: true });
    writeFileSync(join(root, 'cgroup.controllers'), 'cpuset cpu memory\n');
    const workdir = join(dir, 'wd');
    const daemon: Proc & { url: string } = await startDaemon(workdir, [], { WAYFINDER_CGROUP_ROOT: root });
    cleanups.push(async () => void (await daemon.kill('SIGTERM')));

    const yaml = `
name: infra
params:
  - { name: A, type: integer, min: 1, max: 3, default: 1, when: test }
test:
  run: 'echo "v=$A"'
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
`;
    const sub = await api<{ id: string }>(daemon.url, '/experiments', submitBody(yaml, join(dir, 'infra.yaml')));
    expect(sub.status, sub.text).toBe(201);
    await waitState(daemon.url, sub.body.id, ['failed', 'done'], 60_000);
    const st = await api<{ state: string; error?: string; summary: { failed: number; done: number } }>(daemon.url, `/experiments/${sub.body.id}`);
    expect(st.body.state).toBe('failed');
    expect(st.body.error).toMatch(/stopped: the workers could not run the test "\S+" of configuration \w+ \(4 times, 3 of them queued again\); last on \S+: .*cpuset: reading .*subtree_control failed/);
    expect(st.body.summary).toMatchObject({ failed: 0, done: 0 });
    expect(query<{ state: string; error: string }>(workdir, 'SELECT state, error FROM experiments')).toEqual([{ state: 'failed', error: st.body.error }]);
    expect(query(workdir, 'SELECT * FROM runs')).toEqual([]);
    // Still serving.
    expect((await api(daemon.url, '/experiments')).status).toBe(200);
  }, 120_000);
});
