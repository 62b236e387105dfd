// Every run's CPU time and peak memory, measured by the job's cgroups (v1 on this host) and shown
// by `wayfinder results --format json`; the launcher's rusage where no cgroup can be had; a host
// job's memory limit enforced by its memory cgroup (or refused where none is); containers metered
// through the accounting parent the engine makes their groups under.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cgroupPrefix } from '../../src/isolation/job-isolation.js';
import { LABEL_WORKDIR, workdirHash } from '../../src/runners/docker/labels.js';
import { importBusyboxImage, removeImage, removeLabelled, requireDockerd } from '../docker-image.js';
import { tempDir, wayfinder, writeFile } from '../helpers.js';

const MiB = 2 ** 20;
const IMAGE = `wayfinder-test-acct:${process.pid}`;

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

interface RunJson {
  test: string;
  iteration: number;
  status: string;
  usage: { cpu_ms: number; peak_memory_bytes: number | null; source: string } | null;
}
interface ConfigJson {
  status: string;
  failure?: string;
  error?: string;
  runs: RunJson[];
  [param: string]: unknown;
}

function setup(yaml: string): { dir: string; file: string; workdir: string } {
  const { dir, cleanup } = tempDir('wf-acct-');
  cleanups.push(cleanup);
  return { dir, file: writeFile(dir, 'exp.yaml', yaml), workdir: join(dir, '.wayfinder') };
}

async function results(workdir: string): Promise<ConfigJson[]> {
  const r = await wayfinder(['results', '--workdir', workdir, '--format', 'json']);
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { configurations: ConfigJson[] }).configurations;
}

/** The shell's own `times`: user and system time of the shell and of its children, in ms. */
function timesMs(stdout: string): number {
  const secs = [...stdout.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return secs.reduce((a, b) => a + b, 0) * 1000;
}

/** No accounting group of this work directory is left in any hierarchy. */
function noGroupsLeft(workdir: string): void {
  for (const h of readdirSync('/sys/fs/cgroup')) {
    const parent = join('/sys/fs/cgroup', h, cgroupPrefix(workdir));
    if (existsSync(parent)) expect(readdirSync(parent, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name), parent).toEqual([]);
  }
}

// ~200 ms of CPU in the shell, a 50 MiB buffer touched by dd; the job prints what `times` says.
const BURN = `dd if=/dev/zero of=/dev/null bs=50M count=1 2>/dev/null; i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo v=1; times`;

describe('accounting of host jobs', () => {
  it('each run has its CPU time and peak memory from its cgroups, shown by results --format json', async () => {
    const { file, workdir } = setup(`
name: acct
params: [{ name: A, type: integer, only: [1, 2], default: 1 }]
test:
  run: '${BURN} > "$WAYFINDER_OUTPUT_DIR/times.txt"; cat "$WAYFINDER_OUTPUT_DIR/times.txt"'
  iterations: 2
metrics: [{ name: v, parser: regex, pattern: 'v=(\\d+)' }]
objective: { metric: v, direction: maximize }
`);
    const r = await wayfinder(['run', file, '--workdir', workdir, '--quiet'], { timeoutMs: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const rows = await results(workdir);
    const runs = rows.flatMap((c) => c.runs);
    expect(runs).toHaveLength(4);
    const { readFileSync } = await import('node:fs');
    const { runDir } = await import('../../src/workdir.js');
    const exp = (JSON.parse((await wayfinder(['results', '--workdir', workdir, '--format', 'json'])).stdout) as { experiment: string }).experiment;
    for (const c of rows) {
      for (const run of c.runs) {
        expect(run.usage?.source).toBe('cgroup-v1');
        const own = timesMs(readFileSync(join(runDir(workdir, exp, c.config_id as string, 'test', run.iteration, false), 'times.txt'), 'utf8'));
        // The group counts what the shell's own clock counts (10 ms ticks), and a little more (cat, the launcher shell).
        expect(own).toBeGreaterThan(100);
        expect(run.usage?.cpu_ms).toBeGreaterThan(own * 0.7);
        expect(run.usage?.cpu_ms).toBeLessThan(own * 1.5 + 100);
        // dd's 50 MiB buffer, and not much more.
        expect(run.usage?.peak_memory_bytes).toBeGreaterThanOrEqual(50 * MiB);
        expect(run.usage?.peak_memory_bytes).toBeLessThan(200 * MiB);
      }
    }
    noGroupsLeft(workdir);
  });

  it('a memory limit is enforced: a run that allocates past it fails, saying it ran out of memory', async () => {
    const { file, workdir } = setup(`
name: limit
params: [{ name: MB, type: integer, only: [8, 100], default: 8 }]
test:
  run: 'dd if=/dev/zero of=/dev/null bs=\${MB}M count=1 && echo v=$MB'
  resources: { memory: 48M }
metrics: [{ name: v, parser: regex, pattern: 'v=(\\d+)' }]
objective: { metric: v, direction: maximize }
`);
    const r = await wayfinder(['run', file, '--workdir', workdir, '--quiet'], { timeoutMs: 120_000 });
    const rows = await results(workdir);
    const small = rows.find((c) => c.MB === 8) as ConfigJson;
    const big = rows.find((c) => c.MB === 100) as ConfigJson;
    expect(small.status, `${small.error} / ${r.stderr}`).toBe('done');
    expect(small.runs[0]?.usage?.peak_memory_bytes).toBeLessThan(48 * MiB);
    expect(big.status).toBe('failed');
    expect(big.error).toMatch(/ran out of memory: killed by the OOM killer at its memory limit/);
    expect(big.runs[0]?.usage?.peak_memory_bytes).toBeLessThanOrEqual(48 * MiB);
    noGroupsLeft(workdir);
  });

  it("without cgroups the launcher's rusage of the job counts its CPU time, and a memory limit is refused at start", async () => {
    const { file, workdir } = setup(`
name: rusage
params: [{ name: A, type: integer, only: [1], default: 1 }]
test:
  run: '${BURN}'
metrics: [{ name: v, parser: regex, pattern: 'v=(\\d+)' }]
objective: { metric: v, direction: maximize }
`);
    const env = { WAYFINDER_CGROUP_ROOT: 'none' };
    const r = await wayfinder(['run', file, '--workdir', workdir, '--quiet'], { timeoutMs: 120_000, env });
    expect(r.status, r.stderr).toBe(0);
    const [run] = (await results(workdir)).flatMap((c) => c.runs);
    expect(run?.usage?.source).toBe('rusage');
    expect(run?.usage?.cpu_ms).toBeGreaterThan(100);
    expect(run?.usage?.cpu_ms).toBeLessThan(3000);
    expect(run?.usage?.peak_memory_bytes).toBeNull();

    const limited = setup(`
name: refused
params: [{ name: A, type: integer, only: [1], default: 1 }]
test:
  run: echo v=1
  resources: { memory: 64M }
metrics: [{ name: v, parser: regex, pattern: 'v=(\\d+)' }]
objective: { metric: v, direction: maximize }
`);
    const refused = await wayfinder(['run', limited.file, '--workdir', limited.workdir], { timeoutMs: 60_000, env });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/exp\.yaml:\d+:\d+.*resources\.memory: cgroups are turned off here/);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('accounting of container jobs', () => {
  beforeAll(() => {
    requireDockerd();
    importBusyboxImage(IMAGE);
  }, 120_000);
  afterAll(() => removeImage(IMAGE));

  it("each run's figures come from the accounting parent of its container; a container's memory limit kills with a reason", async () => {
    const { file, workdir } = setup(`
name: acct-container
params: [{ name: MB, type: integer, only: [50, 100], default: 50 }]
test:
  image: ${IMAGE}
  run: 'dd if=/dev/zero of=/dev/null bs=\${MB}M count=1 2>/dev/null && i=0 && while [ $i -lt 100000 ]; do i=$((i+1)); done; echo v=$MB; times'
  resources: { memory: 80M }
metrics: [{ name: v, parser: regex, pattern: 'v=(\\d+)' }]
objective: { metric: v, direction: maximize }
`);
    cleanups.push(() => removeLabelled(LABEL_WORKDIR, workdirHash(workdir)));
    const r = await wayfinder(['run', file, '--workdir', workdir, '--quiet'], { timeoutMs: 180_000 });
    const rows = await results(workdir);
    const ok = rows.find((c) => c.MB === 50) as ConfigJson;
    const big = rows.find((c) => c.MB === 100) as ConfigJson;
    expect(ok.status, `${ok.error} / ${r.stderr}`).toBe('done');
    const usage = ok.runs[0]?.usage;
    expect(usage?.source).toBe('cgroup-v1');
    expect(usage?.cpu_ms).toBeGreaterThan(50);
    expect(usage?.cpu_ms).toBeLessThan(5000);
    expect(usage?.peak_memory_bytes).toBeGreaterThanOrEqual(50 * MiB);
    expect(usage?.peak_memory_bytes).toBeLessThanOrEqual(80 * MiB);
    expect(big.status).toBe('failed');
    expect(big.error).toMatch(/ran out of memory/);
    noGroupsLeft(workdir);
  });
});
