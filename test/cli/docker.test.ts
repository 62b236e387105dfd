// Wayfinder's paper-era files run unchanged, in containers of the real Docker engine: a build
// run and a test run, two parameters, the result each test prints last; and a wayfinder killed
// with SIGKILL leaves a container that the next start on the same work directory removes.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_JOB, LABEL_WORKDIR, workdirHash } from '../../src/runners/docker/labels.js';
import { containersWithLabel, importBusyboxImage, removeImage, removeLabelled, requireDockerd } from '../docker-image.js';
import { CLI, tempDir, waitFor, wayfinder, writeFile } from '../helpers.js';
import { spawnSync } from 'node:child_process';

const IMAGE = `wayfinder-test-paper:${process.pid}`;
beforeAll(() => {
  requireDockerd();
  importBusyboxImage(IMAGE);
}, 120_000);
afterAll(() => removeImage(IMAGE));

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

function setup(): string {
  const { dir, cleanup } = tempDir('wf-docker-cli-');
  cleanups.push(cleanup);
  cleanups.push(() => removeLabelled(LABEL_WORKDIR, workdirHash(join(dir, '.wayfinder'))));
  return dir;
}

// In the style of the paper's examples (lancs-net/wayfinder examples/*/job.yaml): every parameter
// reaches the runs as an environment variable; the run named `build` builds, the others test.
const paperFile = (image: string) => `params:
  - name: COMPRESSION
    type: string
    default: "none"
    only: ["none", "fast"]
  - name: BLOCK_KB
    type: int
    default: 4
    only: [4, 16]

inputs:
  - source: ./bench.sh
    destination: /bench.sh

outputs:
  - path: /usr/src/app/build/app.conf
  - path: /results.txt

runs:
  - name: build
    image: ${image}
    cores: 1
    devices:
      - /dev/urandom
    cmd: |
      set -e
      mkdir -p /usr/src/app/build
      echo "compression=$COMPRESSION block=$BLOCK_KB" > /usr/src/app/build/app.conf

  - name: run
    image: ${image}
    cores: 1
    capabilities:
      - CAP_NET_ADMIN
    cmd: /bench.sh
`;

const benchScript = `#!/bin/sh
set -e
. /usr/src/app/build/app.conf
factor=1
[ "$compression" = fast ] && factor=3
echo "core $WAYFINDER_CORE_ID0 of $WAYFINDER_CORES; $(grep CapEff /proc/self/status)"
echo "$compression $block" > /results.txt
echo "throughput: $(( block * factor ))"
`;

describe('paper-era Wayfinder files in containers', () => {
  it('runs a two-parameter experiment end to end: build run, test run, implied result', async () => {
    const dir = setup();
    const file = writeFile(dir, 'job.yaml', paperFile(IMAGE));
    writeFileSync(join(dir, 'bench.sh'), benchScript, { mode: 0o755 });
    const workdir = join(dir, '.wayfinder');
    const r = await wayfinder(['run', '--no-confirm', file, '--workdir', workdir, '--json'], { cwd: dir, timeoutMs: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { configurations: number; done: number; failed: number; best: { params: Record<string, unknown>; objective: number }; default: { objective: number } };
    expect(summary.configurations).toBe(4);
    expect(summary.done).toBe(4);
    expect(summary.failed).toBe(0);
    expect(summary.best.params).toEqual({ COMPRESSION: 'fast', BLOCK_KB: 16 });
    expect(summary.best.objective).toBe(48);
    expect(summary.default.objective).toBe(4);

    const res = await wayfinder(['results', '--workdir', workdir, '--format', 'json']);
    const rows = (JSON.parse(res.stdout) as { configurations: Array<{ config_id: string; COMPRESSION: string; BLOCK_KB: number; objective: number }> }).configurations;
    expect(rows.map((row) => [row.COMPRESSION, row.BLOCK_KB, row.objective]).sort()).toEqual([
      ['fast', 16, 48], ['fast', 4, 12], ['none', 16, 16], ['none', 4, 4],
    ]);
    // Each test's output and its declared outputs are in its folder; the container saw one core
    // and only the declared capability (CAP_NET_ADMIN, bit 12).
    const expDir = join(workdir, 'experiments');
    const [expId] = readdirSync(expDir);
    const row = rows.find((x) => x.COMPRESSION === 'fast' && x.BLOCK_KB === 16);
    const runFolder = join(expDir, expId as string, 'configs', row?.config_id as string, 'run', '0');
    const stdout = readFileSync(join(runFolder, 'stdout.log'), 'utf8');
    expect(stdout).toMatch(/^core \d+ of \d+; CapEff:\s+0000000000001000$/m);
    expect(readFileSync(join(runFolder, 'results.txt'), 'utf8')).toBe('fast 16\n');
    expect(readFileSync(join(runFolder, 'usr', 'src', 'app', 'build', 'app.conf'), 'utf8')).toBe('compression=fast block=16\n');
    // Nothing left running or stopped.
    expect(containersWithLabel(LABEL_WORKDIR, workdirHash(workdir))).toEqual([]);
  });

  it('a missing image stops the run before any job, with the place in the file and status 2', async () => {
    const dir = setup();
    const file = writeFile(dir, 'job.yaml', paperFile('wayfinder-test-absent:1'));
    writeFileSync(join(dir, 'bench.sh'), benchScript, { mode: 0o755 });
    const started = Date.now();
    const r = await wayfinder(['run', '--no-confirm', file, '--workdir', join(dir, '.wayfinder')], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/job\.yaml:\d+:\d+: build 'build': image 'wayfinder-test-absent:1' is not on the Docker engine/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(existsSync(join(dir, '.wayfinder', 'experiments'))).toBe(false);
  });

  it('an engine that does not answer is a clear error with status 2, naming the socket', async () => {
    const dir = setup();
    const file = writeFile(dir, 'job.yaml', paperFile(IMAGE));
    writeFileSync(join(dir, 'bench.sh'), benchScript, { mode: 0o755 });
    const r = await wayfinder(['run', '--no-confirm', file, '--workdir', join(dir, '.wayfinder'), '--docker-socket', join(dir, 'no.sock')], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`cannot reach the Docker engine at ${join(dir, 'no.sock')}`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a device outside the allow-list is refused when the file is read', async () => {
    const dir = setup();
    const file = writeFile(dir, 'job.yaml', paperFile(IMAGE).replace('- /dev/urandom', '- /dev/sda'));
    const r = await wayfinder(['plan', file], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/job\.yaml:\d+:\d+: unknown device '\/dev\/sda'; expected one of \/dev\/kvm, \/dev\/net\/tun, \/dev\/random, \/dev\/urandom, \/dev\/loop-control/);
  });

  it('the containers of a wayfinder killed with SIGKILL are removed when the next one starts', async () => {
    const dir = setup();
    const workdir = join(dir, '.wayfinder');
    const file = writeFile(dir, 'job.yaml', paperFile(IMAGE).replace('cmd: /bench.sh', 'cmd: sleep "$(cat /delay)"; /bench.sh').replace('    destination: /bench.sh', '    destination: /bench.sh\n  - source: ./delay\n    destination: /delay'));
    writeFileSync(join(dir, 'bench.sh'), benchScript, { mode: 0o755 });
    writeFileSync(join(dir, 'delay'), '300\n');
    const child = spawn(process.execPath, [CLI, 'run', '--no-confirm', file, '--workdir', workdir, '--budget', '1', '--quiet'], { cwd: dir, stdio: 'ignore' });
    const tests = (): string[] => containersWithLabel(LABEL_WORKDIR, workdirHash(workdir)).filter((id) => jobOf(id).startsWith('test-') && running(id));
    await waitFor(() => tests().length === 1, 60_000, 'the test container to run');
    const [leftover] = tests();
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await new Promise((r) => setTimeout(r, 1000));
    expect(running(leftover as string)).toBe(true);

    // The next run on the work directory removes it first, then measures what is missing.
    writeFileSync(join(dir, 'delay'), '0\n');
    const r = await wayfinder(['run', '--no-confirm', file, '--workdir', workdir, '--budget', '1', '--json'], { cwd: dir, timeoutMs: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { done: number }).done).toBe(1);
    expect(exists(leftover as string)).toBe(false);
    expect(containersWithLabel(LABEL_WORKDIR, workdirHash(workdir))).toEqual([]);
  }, 180_000);
});

function jobOf(id: string): string {
  return spawnSync('docker', ['inspect', '--format', `{{ index .Config.Labels "${LABEL_JOB}" }}`, id], { encoding: 'utf8' }).stdout.trim();
}
function running(id: string): boolean {
  return spawnSync('docker', ['inspect', '--format', '{{.State.Running}}', id], { encoding: 'utf8' }).stdout.trim() === 'true';
}
function exists(id: string): boolean {
  return spawnSync('docker', ['inspect', id], { stdio: 'ignore' }).status === 0;
}
