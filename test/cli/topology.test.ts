// `wayfinder topology --sysfs ROOT --json` on a recorded machine: the fields the issue names, equal
// to hwloc's view of that machine, and how many jobs of each level and size fit at once.
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURES } from '../scheduler/snapshots.js';
import { tempDir, wayfinder } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

describe('wayfinder topology', () => {
  it('--json on the two-socket E5345 snapshot: CPUs, packages, cores, caches, NUMA nodes and capacity', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    execFileSync('tar', ['xjf', join(FIXTURES, '8em64t-2s2ca2c.tar.bz2'), '-C', dir]);
    const sys = join(dir, readdirSync(dir)[0] as string, 'sys');
    const r = await wayfinder(['topology', '--sysfs', sys, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as {
      cpus: number[];
      packages: { cpus: number[] }[];
      cores: { cpus: number[] }[];
      caches: { level: number; type: string; cpus: number[] }[];
      numaNodes: { id: number; cpus: number[] }[];
      capacity: { isolation: string; cores: number; jobs: number }[];
    };
    // hwloc (8em64t-2s2ca2c.console): package 0 holds PUs 0,4,2,6 with L2s {0,4} and {2,6}.
    expect(j.cpus).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(j.packages.map((p) => p.cpus)).toEqual([
      [0, 2, 4, 6],
      [1, 3, 5, 7],
    ]);
    expect(j.cores).toHaveLength(8);
    expect(j.caches.filter((c) => c.level === 2).map((c) => c.cpus)).toEqual(expect.arrayContaining([[0, 4], [2, 6], [1, 5], [3, 7]]));
    expect(j.caches.every((c) => typeof c.type === 'string')).toBe(true);
    expect(j.numaNodes).toEqual([{ id: 0, cpus: [0, 1, 2, 3, 4, 5, 6, 7] }]);
    const fit = (isolation: string, cores: number) => j.capacity.find((c) => c.isolation === isolation && c.cores === cores)?.jobs;
    // 8 single-thread cores, 4 L2s of 2, 2 packages of 4.
    expect([fit('core', 1), fit('cache', 1), fit('socket', 1), fit('full', 1), fit('core', 2), fit('socket', 4)]).toEqual([8, 4, 2, 1, 4, 2]);
  });

  it('a machine whose CPUs 4-7 belong to no NUMA node: exit status 0, the warning in the text and in --json', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    execFileSync('tar', ['xjf', join(FIXTURES, '8em64t-2s2ca2c.tar.bz2'), '-C', dir]);
    const sys = join(dir, readdirSync(dir)[0] as string, 'sys');
    // Node 0 keeps CPUs 0-3 only, as when the node of the others is offline.
    writeFileSync(join(sys, 'devices/system/node/node0/cpumap'), '0000000f\n');
    writeFileSync(join(sys, 'devices/system/node/node0/cpulist'), '0-3\n');
    const text = await wayfinder(['topology', '--sysfs', sys]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^warning: CPUs belong to no NUMA node; their jobs are not confined to any memory node \(CPUs 4-7 under .*\)$/m);
    expect(text.stdout).toMatch(/^ {2}core +8 /m);
    const json = await wayfinder(['topology', '--sysfs', sys, '--json']);
    expect(json.status, json.stderr).toBe(0);
    const j = JSON.parse(json.stdout) as { cpus: number[]; numaNodes: { id: number; cpus: number[] }[]; warnings: string[] };
    expect(j.cpus).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(j.numaNodes).toEqual([{ id: 0, cpus: [0, 1, 2, 3] }]);
    expect(j.warnings).toEqual([expect.stringMatching(/^CPUs belong to no NUMA node/)]);
  });

  it('a --sysfs without CPUs says where it looked, exit status 2', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const r = await wayfinder(['topology', '--sysfs', dir, '--json']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(dir);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
