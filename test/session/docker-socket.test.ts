// --docker-socket for `wayfinder daemon` and `wayfinder worker`: the daemon's own worker runs the
// container jobs on the engine named (not DOCKER_HOST's), and an engine that does not answer at a
// socket given explicitly stops either at start with one line and status 2.
import { spawnSync } from 'node:child_process';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_WORKDIR, workdirHash } from '../../src/runners/docker/labels.js';
import { importBusyboxImage, removeImage, removeLabelled, requireDockerd } from '../docker-image.js';
import { CLI, tempDir, writeFile } from '../helpers.js';
import { api, query, startDaemon, submitBody, waitState, type Proc } from '../daemon/helpers.js';

const IMAGE = `wayfinder-test-socket:${process.pid}`;
beforeAll(() => {
  requireDockerd();
  importBusyboxImage(IMAGE);
}, 120_000);
afterAll(() => removeImage(IMAGE));

const procs: Proc[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill('SIGKILL');
  cleanups.splice(0).forEach((f) => f());
});

const ENGINE = process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice('unix://'.length) : '/var/run/docker.sock';
/** DOCKER_HOST points nowhere: only the flag can lead to the engine. */
const NOWHERE = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };

describe('--docker-socket for the daemon and workers', () => {
  it("the daemon's worker runs container jobs on the engine at --docker-socket", async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const workdir = join(dir, 'wd');
    cleanups.push(() => removeLabelled(LABEL_WORKDIR, workdirHash(workdir)));
    const socket = join(dir, 'engine.sock');
    symlinkSync(ENGINE, socket);
    const d = await startDaemon(workdir, ['--docker-socket', socket], NOWHERE);
    procs.push(d);
    const file = writeFile(
      dir,
      'exp.yaml',
      `
name: in-containers
params:
  - { name: A, type: integer, only: [1, 2], default: 1, when: test }
test:
  image: ${IMAGE}
  run: 'echo "v=$A"'
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
`,
    );
    const sub = await api<{ id: string }>(d.url, '/experiments', submitBody(readFileSync(file, 'utf8'), file));
    expect(sub.status, sub.text).toBe(201);
    expect((await waitState(d.url, sub.body.id, ['done', 'failed'], 120_000)).state).toBe('done');
    const runs = query<{ status: string; metrics_json: string }>(workdir, 'SELECT status, metrics_json FROM runs WHERE experiment_id = ?', sub.body.id);
    expect(runs.map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(runs.map((r) => (JSON.parse(r.metrics_json) as { v: number }).v).sort()).toEqual([1, 2]);
  });

  it('an engine that does not answer at --docker-socket: daemon and worker exit 2 with one line at start', () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const dead = join(dir, 'no.sock');
    const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...NOWHERE } });
    const daemon = run(['daemon', '--workdir', join(dir, 'd'), '--docker-socket', dead]);
    const worker = run(['worker', '--redis', 'redis://127.0.0.1:1/0', '--workdir', join(dir, 'w'), '--docker-socket', dead]);
    for (const r of [daemon, worker]) {
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^wayfinder: cannot reach the Docker engine at ${dead} \\(ENOENT\\)[^\\n]*\\n$`));
    }
  });
});
