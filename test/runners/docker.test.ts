// The Docker backend against the real engine: what a job sees inside its container (environment,
// CPUs, devices, capabilities, network, memory), files in and out, timeouts, and leftovers.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hostConfig, type ContainerRequest } from '../../src/runners/docker/container.js';
import { dockerTarget } from '../../src/runners/docker/engine.js';
import { reapContainers } from '../../src/runners/docker/reap.js';
import { LABEL_WORKDIR, workdirHash } from '../../src/runners/docker/labels.js';
import { checkContainerJobs } from '../../src/runners/docker/preflight.js';
import { executeBuild, executeTest } from '../../src/runners/job.js';
import { buildDir, runDir } from '../../src/workdir.js';
import { ProcessRegistry } from '../../src/runners/registry.js';
import type { BuildWork, Placement, RunResult, TestWork } from '../../src/wire.js';
import { parseExperiment } from '../../src/spec/index.js';
import { InputError, type JobSpec } from '../../src/types.js';
import { tempDir, waitFor } from '../helpers.js';
import { containersWithLabel, importBusyboxImage, removeImage, removeLabelled, requireDockerd } from '../docker-image.js';
import { spawnSync } from 'node:child_process';

const IMAGE = `wayfinder-test-busybox:${process.pid}`;
const IMAGE_WD = `wayfinder-test-busybox-wd:${process.pid}`;

beforeAll(() => {
  requireDockerd();
  importBusyboxImage(IMAGE);
  importBusyboxImage(IMAGE_WD, { workdir: '/work' });
}, 120_000);
afterAll(() => {
  removeImage(IMAGE);
  removeImage(IMAGE_WD);
});

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

function job(over: Partial<JobSpec> & { run: string }): JobSpec {
  return {
    name: 'build', phase: 'build', image: IMAGE, cores: 1, isolation: 'none', timeoutSec: 60, retries: 0, iterations: 1, warmup: 0,
    devices: [], capabilities: [], privileged: false, inputs: [], outputs: [], resources: {}, env: {}, ...over,
  };
}

function setup(): { workdir: string; expDir: string; registry: ProcessRegistry } {
  const { dir, cleanup } = tempDir('wf-docker-');
  cleanups.push(cleanup);
  const workdir = join(dir, 'wd');
  cleanups.push(() => removeLabelled(LABEL_WORKDIR, workdirHash(workdir)));
  const expDir = join(dir, 'exp');
  mkdirSync(expDir, { recursive: true });
  return { workdir, expDir, registry: new ProcessRegistry(join(workdir, 'running')) };
}

const placement = (cpus: number[]): Placement => ({ host: 'test', cpus, numaNodes: [0], isolation: 'core' });

async function build(j: JobSpec, env: Record<string, string> = {}, cpus = [0]) {
  const { workdir, expDir, registry } = setup();
  const work: BuildWork = { kind: 'build', experimentId: 'e1', buildId: 'b1', job: j, env, experimentDir: expDir };
  const r = await executeBuild(work, { workdir, placement: placement(cpus), registry }, 2);
  const dir = buildDir(workdir, 'e1', 'b1');
  const out = existsSync(join(dir, 'stdout.log')) ? readFileSync(join(dir, 'stdout.log'), 'utf8') : '';
  const err = existsSync(join(dir, 'stderr.log')) ? readFileSync(join(dir, 'stderr.log'), 'utf8') : '';
  return { r, out, err, dir, workdir, expDir, registry };
}

const request: ContainerRequest = {
  target: dockerTarget(), image: IMAGE, argv: ['true'], env: {}, labels: {}, name: 'x', cpus: [0], devices: [], capabilities: [],
  privileged: false, copyIn: [], copyOut: [], stdoutPath: '/dev/null', stderrPath: '/dev/null', timeoutSec: 1,
};

/** The capability bits of CapEff in /proc/self/status, from the job's output. */
function capEff(out: string): bigint {
  const m = /CapEff:\s*([0-9a-f]+)/.exec(out);
  if (!m) throw new Error(`no CapEff in ${out}`);
  return BigInt(`0x${m[1]}`);
}

describe('jobs in containers', () => {
  it('get the parameters and WAYFINDER_* variables, nothing of ours, and exactly the granted CPUs', async () => {
    process.env.WF_HOST_ONLY_MARKER = 'leak';
    const cpu = 1;
    const { r, out, err } = await build(
      job({ run: 'env | sort; grep -E "^(Cpus|Mems)_allowed_list" /proc/self/status; grep -c ^processor /proc/cpuinfo', env: { FROM_JOB: 'j' } }),
      { OPT_LEVEL: '3', FLAVOUR: 'tiny' },
      [cpu],
    );
    delete process.env.WF_HOST_ONLY_MARKER;
    expect(r.status, r.error ?? err).toBe('ok');
    expect(out).toContain('OPT_LEVEL=3\n');
    expect(out).toContain('FLAVOUR=tiny\n');
    expect(out).toContain('FROM_JOB=j\n');
    expect(out).toContain(`WAYFINDER_CORES=${cpu}\n`);
    expect(out).toContain(`WAYFINDER_CORE_ID0=${cpu}\n`);
    expect(out).not.toContain('WAYFINDER_CORE_ID1=');
    expect(out).toContain('WAYFINDER_OUTPUT_DIR=/wayfinder/output\n');
    expect(out).toContain('WAYFINDER_BUILD_ID=b1\n');
    expect(out).not.toContain('WF_HOST_ONLY_MARKER');
    expect(out).not.toMatch(/^WAYFINDER_EXPERIMENT_DIR=/m);
    expect(out).toMatch(new RegExp(`^Cpus_allowed_list:\\s+${cpu}$`, 'm'));
    expect(out).toMatch(/^Mems_allowed_list:\s+0$/m);
  });

  it('pins a multi-core grant and numbers the cores as Wayfinder did', async () => {
    const { r, out } = await build(job({ run: 'echo "$WAYFINDER_CORE_ID0 $WAYFINDER_CORE_ID1"; grep Cpus_allowed_list /proc/self/status', cores: 2 }), {}, [0, 1]);
    expect(r.status).toBe('ok');
    expect(out).toMatch(/^0 1$/m);
    expect(out).toMatch(/^Cpus_allowed_list:\s+0-1$/m);
  });

  it('copies inputs in and outputs out; a test finds its build\'s outputs and leaves metric files', async () => {
    const { workdir, expDir, registry } = setup();
    writeFileSync(join(expDir, 'seed.txt'), 'seed-42\n');
    mkdirSync(join(expDir, 'conf', 'sub'), { recursive: true });
    writeFileSync(join(expDir, 'conf', 'sub', 'a.conf'), 'alpha\n');
    const outputs = [
      { source: 'artifacts/app.bin', destination: '/build/out/app.bin' },
      { source: 'artifacts/tree', destination: '/build/tree' },
      { source: 'results.txt', destination: '/results.txt' },
    ];
    const b = job({
      image: IMAGE_WD,
      // A relative destination is relative to the image's working directory (/work here).
      inputs: [{ source: 'seed.txt', destination: '/in/seed.txt' }, { source: 'conf', destination: 'settings' }],
      outputs,
      run: 'set -e; mkdir -p /build/out /build/tree/x; cat /in/seed.txt /work/settings/sub/a.conf > /build/out/app.bin; echo "$FLAVOUR" > /build/tree/x/flavour',
    });
    const bw: BuildWork = { kind: 'build', experimentId: 'e1', buildId: 'b1', job: b, env: { FLAVOUR: 'big' }, experimentDir: expDir };
    const br = await executeBuild(bw, { workdir, placement: placement([0]), registry }, 2);
    const bdir = buildDir(workdir, 'e1', 'b1');
    expect(br.status, br.error).toBe('ok');
    expect(readFileSync(join(bdir, 'artifacts', 'app.bin'), 'utf8')).toBe('seed-42\nalpha\n');
    expect(readFileSync(join(bdir, 'artifacts', 'tree', 'x', 'flavour'), 'utf8')).toBe('big\n');
    // Declared but not made by the build: noted, not fatal.
    expect(existsSync(join(bdir, 'results.txt'))).toBe(false);
    expect(readFileSync(join(bdir, 'stderr.log'), 'utf8')).toContain('not copied out: /results.txt');

    // The test is a script file of the experiment's; it runs from /wayfinder/job inside.
    writeFileSync(
      join(expDir, 'bench.sh'),
      [
        '#!/bin/sh',
        'set -e',
        'echo "script $0 sees $(cat /build/out/app.bin | head -1)"',
        'wc -c < /build/tree/x/flavour > /results.txt',
        'echo "size: $(wc -c < /build/out/app.bin)" > "$WAYFINDER_OUTPUT_DIR/metrics.txt"',
        'echo "iteration $WAYFINDER_ITERATION"',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const t: JobSpec = { ...job({ run: '' }), name: 'bench', phase: 'test', image: IMAGE_WD, script: join(expDir, 'bench.sh'), outputs };
    delete t.run;
    const tw: TestWork = {
      kind: 'test', experimentId: 'e1', configId: 'c1', buildId: 'b1', hasBuild: true, buildOutputs: outputs, job: t,
      env: { FLAVOUR: 'big' }, experimentDir: expDir,
      metrics: [{ name: 'size', parser: 'regex', source: { kind: 'file', path: 'metrics.txt' }, pattern: 'size: (\\d+)' }],
    };
    const results: RunResult[] = [];
    await executeTest(tw, { workdir, placement: placement([1]), registry }, 2, { done: async () => false, emit: async (r) => void results.push(r) });
    expect(results).toHaveLength(1);
    expect(results[0]?.status, results[0]?.error).toBe('ok');
    expect(results[0]?.metrics).toEqual({ size: 14 });
    const rdir = runDir(workdir, 'e1', 'c1', 'bench', 0, false);
    expect(readFileSync(join(rdir, 'stdout.log'), 'utf8')).toBe('script /wayfinder/job/bench.sh sees seed-42\niteration 0\n');
    expect(readFileSync(join(rdir, 'results.txt'), 'utf8').trim()).toBe('4');
    expect(readFileSync(join(rdir, 'metrics.txt'), 'utf8')).toBe('size: 14\n');
    // The build's outputs went in and came out again with the test's (one outputs list, as in Wayfinder).
    expect(readFileSync(join(rdir, 'artifacts', 'app.bin'), 'utf8')).toBe('seed-42\nalpha\n');
  });

  it('a missing input fails the job with its name, before any container starts', async () => {
    const { r, err } = await build(job({ inputs: [{ source: 'nope.txt', destination: '/x' }], run: 'true' }));
    expect(r.status).toBe('failed');
    expect(r.error).toContain('input nope.txt not found');
    expect(err).toContain('input nope.txt not found');
  });

  it('on timeout the container is killed and removed', async () => {
    const { workdir, expDir, registry } = setup();
    const work: BuildWork = { kind: 'build', experimentId: 'e1', buildId: 'b1', job: job({ run: 'echo started; sleep 300', timeoutSec: 2 }), env: {}, experimentDir: expDir };
    const started = Date.now();
    const pending = executeBuild(work, { workdir, placement: placement([0]), registry }, 2);
    await waitFor(() => containersWithLabel(LABEL_WORKDIR, workdirHash(workdir)).length === 1, 20_000, 'the container to exist');
    const r = await pending;
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/timed out/);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(readFileSync(join(buildDir(workdir, 'e1', 'b1'), 'stdout.log'), 'utf8')).toBe('started\n');
    expect(containersWithLabel(LABEL_WORKDIR, workdirHash(workdir))).toEqual([]);
  });

  it('a stop (abort) kills and removes the running container; the run counts as aborted', async () => {
    const { workdir, expDir, registry } = setup();
    const work: BuildWork = { kind: 'build', experimentId: 'e1', buildId: 'b1', job: job({ run: 'sleep 300' }), env: {}, experimentDir: expDir };
    const stop = new AbortController();
    const pending = executeBuild(work, { workdir, placement: placement([0]), registry, signal: stop.signal }, 2);
    const running = (): boolean =>
      containersWithLabel(LABEL_WORKDIR, workdirHash(workdir)).some(
        (id) => spawnSync('docker', ['inspect', '--format', '{{.State.Running}}', id], { encoding: 'utf8' }).stdout.trim() === 'true',
      );
    await waitFor(running, 20_000, 'the container to run');
    stop.abort();
    const r = await pending;
    expect(r.status).toBe('failed');
    expect(r.error).toContain('aborted');
    expect(containersWithLabel(LABEL_WORKDIR, workdirHash(workdir))).toEqual([]);
  });

  it('a failing command is a failed build with its exit status and the end of its stderr', async () => {
    const { r } = await build(job({ run: 'echo "no such option" >&2; exit 7' }));
    expect(r.status).toBe('failed');
    expect(r.error).toContain('exit status 7');
    expect(r.error).toContain('no such option');
  });

  it('grants devices and capabilities exactly as declared, and everything only when privileged', async () => {
    const show = 'grep CapEff /proc/self/status; ls /dev; ls /dev/net 2>/dev/null; true';
    const plain = await build(job({ run: show }));
    expect(plain.r.status, plain.r.error).toBe('ok');
    expect(capEff(plain.out)).toBe(0n);
    expect(plain.out).not.toMatch(/^fuse$/m);
    expect(plain.out).not.toMatch(/^tun$/m);
    expect(plain.out).not.toMatch(/^loop-control$/m);

    const granted = await build(job({ run: show, devices: ['/dev/loop-control', '/dev/net/tun'], capabilities: ['NET_ADMIN', 'SYS_NICE'] }));
    expect(granted.r.status, granted.r.error).toBe('ok');
    // CAP_NET_ADMIN is bit 12, CAP_SYS_NICE bit 23.
    expect(capEff(granted.out)).toBe((1n << 12n) | (1n << 23n));
    expect(granted.out).toMatch(/^loop-control$/m);
    expect(granted.out).toMatch(/^tun$/m);
    expect(granted.out).not.toMatch(/^fuse$/m);

    // Privileged: every capability of the engine's bounding set. Where the engine's own bounding
    // set lacks one (this sandbox's has no CAP_SYS_RESOURCE), runc refuses to start a privileged
    // container: that refusal still shows the container was asked to be privileged, since an
    // unprivileged one with no capabilities starts (as above).
    const priv = await build(job({ run: show, privileged: true }));
    const bnd = BigInt(`0x${readFileSync('/proc/self/status', 'utf8').match(/CapBnd:\s*([0-9a-f]+)/)?.[1]}`);
    if (priv.r.status === 'ok') expect(capEff(priv.out)).toBe(bnd);
    else expect(priv.r.error).toMatch(/unable to apply caps: operation not permitted/);
    expect(hostConfig({ ...request, privileged: true })).toMatchObject({ Privileged: true });
    expect(hostConfig({ ...request, privileged: true }).CapDrop).toBeUndefined();
    expect(hostConfig({ ...request, capabilities: ['NET_ADMIN'] })).toMatchObject({ Privileged: false, CapDrop: ['ALL'], CapAdd: ['CAP_NET_ADMIN'] });
  });

  it('has no network unless asked; host networking when asked', async () => {
    const ifaces = 'cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " " | sort';
    const none = await build(job({ run: ifaces }));
    expect(none.r.status, none.r.error).toBe('ok');
    expect(none.out.trim().split('\n')).toEqual(['lo']);
    const host = await build(job({ run: ifaces, network: 'host' }));
    expect(host.r.status, host.r.error).toBe('ok');
    const ours = readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2).map((l) => l.split(':')[0]?.trim()).filter(Boolean).sort();
    expect(host.out.trim().split('\n')).toEqual(ours);
  });

  it('limits memory when the job says so', async () => {
    const { r, out } = await build(job({ run: 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max', resources: { memoryBytes: 64 * 1024 * 1024 } }));
    expect(r.status, r.error).toBe('ok');
    expect(out.trim()).toBe(String(64 * 1024 * 1024));
  });

  it('reapContainers removes every container of a work directory, and only those', async () => {
    const { workdir } = setup();
    const other = setup().workdir;
    const start = (wd: string): string => {
      const r = spawnSync('docker', ['run', '-d', '--network', 'none', '--label', `${LABEL_WORKDIR}=${workdirHash(wd)}`, IMAGE, 'sleep', '300'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    const mine = start(workdir);
    const theirs = start(other);
    try {
      expect(await reapContainers(workdir)).toEqual([mine]);
      expect(containersWithLabel(LABEL_WORKDIR, workdirHash(workdir))).toEqual([]);
      expect(containersWithLabel(LABEL_WORKDIR, workdirHash(other))).toEqual([theirs]);
    } finally {
      spawnSync('docker', ['rm', '-f', mine, theirs], { stdio: 'ignore' });
    }
  });
});

describe('before any job runs', () => {
  const yaml = (image: string, extra = '') => `
name: pre
params:
  - { name: A, type: integer, only: [1] }
test:
  image: ${image}
  run: echo 1
${extra}
metrics:
  - { name: n, parser: regex, pattern: '(\\d+)' }
objective: { metric: n, direction: maximize }
`;

  it('a missing image is an error at the job in the file, fast, when no registry answers', async () => {
    const exp = parseExperiment(yaml('wayfinder-test-no-such-image:1'), '/x/exp.yaml');
    const started = Date.now();
    const err = await checkContainerJobs(exp).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).format()).toMatch(/^\/x\/exp\.yaml:6:3: test 'test': image 'wayfinder-test-no-such-image:1' is not on the Docker engine/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('an image that is there passes; a Docker network that is not is an error', async () => {
    await checkContainerJobs(parseExperiment(yaml(IMAGE), '/x/exp.yaml'));
    const bad = parseExperiment(yaml(IMAGE).replace('run: echo 1', 'run: echo 1\n  network: wf-no-such-net'), '/x/exp.yaml');
    await expect(checkContainerJobs(bad)).rejects.toThrow(/no Docker network named 'wf-no-such-net'/);
  });

  it('an engine that does not answer is a clear error', async () => {
    const exp = parseExperiment(yaml(IMAGE), '/x/exp.yaml');
    await expect(checkContainerJobs(exp, { socket: '/nonexistent/docker.sock' })).rejects.toThrow(/cannot reach the Docker engine at \/nonexistent\/docker.sock/);
  });
});

