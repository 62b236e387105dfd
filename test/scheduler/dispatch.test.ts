// The Dispatcher's promises and the Scheduler's cache-way accounting, on the 8-CPU two-socket snapshot
// (one way-partitioned cache domain per socket, as on the Xeon Gold of resctrl.md): grants arrive when
// placed, refusals when a job can no longer fit, and a job that asks for cache ways starts only where
// its domain has them free.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRequest } from '../../src/scheduler/allocator.js';
import { Dispatcher } from '../../src/scheduler/dispatch.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { readTopology, type Topology } from '../../src/scheduler/topology.js';
import { WayPool } from '../../src/scheduler/ways.js';
import { InputError } from '../../src/types.js';
import { FIXTURES, UNPACK_TIMEOUT_MS } from './snapshots.js';

let dir: string;
let plain: Topology;
let hybrid: Topology;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wf-dispatch-'));
  execFileSync('tar', ['xjf', join(FIXTURES, '8em64t-2s2ca2c.tar.bz2'), '-C', dir]);
  const sys = join(dir, readdirSync(dir)[0] as string, 'sys');
  plain = await readTopology({ sysfsRoot: sys });
  // The same host as a hybrid one: CPUs 0-5 performance cores, 6-7 efficiency cores.
  mkdirSync(join(sys, 'devices/cpu_core'), { recursive: true });
  mkdirSync(join(sys, 'devices/cpu_atom'), { recursive: true });
  writeFileSync(join(sys, 'devices/cpu_core/cpus'), '0-5\n');
  writeFileSync(join(sys, 'devices/cpu_atom/cpus'), '6-7\n');
  hybrid = await readTopology({ sysfsRoot: sys });
}, UNPACK_TIMEOUT_MS);
afterAll(() => rmSync(dir, { recursive: true, force: true }), UNPACK_TIMEOUT_MS);

const settled = async <T>(p: Promise<T>): Promise<'pending' | T | Error> =>
  Promise.race([p.catch((e: Error) => e), new Promise<'pending'>((r) => setTimeout(() => r('pending'), 20))]);

describe('Dispatcher', () => {
  it('a waiting job whose group settles on a kind too small for it is refused with the reason, not left waiting', async () => {
    const d = new Dispatcher(new Scheduler(hybrid));
    const full = await d.acquire({ id: 'full', cores: 1, isolation: 'full' });
    expect(full.cpus).toHaveLength(1);
    const small = d.acquire({ id: 'small', cores: 1, isolation: 'none', group: 'exp', kind: 'atom' });
    const big = d.acquire({ id: 'big', cores: 4, isolation: 'none', group: 'exp' });
    expect(await settled(small)).toBe('pending');
    expect(await settled(big)).toBe('pending');
    d.release('full');
    expect((await small).kind).toBe('atom');
    const err = await big.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/job "big" asks for 4 CPUs .* at most 2 of kind atom/);
  });

  it('refuses at once a job that can never fit', async () => {
    const d = new Dispatcher(new Scheduler(plain));
    await expect(d.acquire({ id: 'huge', cores: 9, isolation: 'none' })).rejects.toThrow(/at most 8/);
  });
});

describe('Scheduler with cache ways', () => {
  // 12 ways per domain, the default group keeps at least one, 3 groups.
  const pool = (): WayPool =>
    new WayPool({ cbmLen: 12, minBits: 1, shareable: 0, sparse: false }, new Map(plain.packages.map((p, i) => [i, p.cpus])), 3, true);
  const ways = (id: string, l3Ways: number, extra: Partial<JobRequest> = {}): JobRequest => ({ id, cores: 1, isolation: 'core', partition: { l3Ways }, ...extra });

  it('places a job only on an L3 with its ways free, and carries the mask in the grant', () => {
    const s = new Scheduler(plain);
    s.partitions = pool();
    const [a] = s.submit(ways('a', 8));
    const [b] = s.submit(ways('b', 8));
    expect(a?.l3Masks).toEqual({ 0: 0xff0 });
    // Ways are gone on a's domain: b goes to the other one, although CPUs next to a are free.
    expect(b?.l3Masks).toEqual({ 1: 0xff0 });
    expect(plain.packages[1]?.cpus).toEqual(expect.arrayContaining(b?.cpus ?? [-1]));
    // No L3 has 8 ways left: c waits, while a job without ways starts.
    expect(s.submit(ways('c', 8))).toEqual([]);
    expect(s.submit({ id: 'plain', cores: 1, isolation: 'core' }).map((g) => g.id)).toEqual(['plain']);
    // 3 ways still fit beside a, but not while c waits for ways: it would delay c.
    expect(s.submit(ways('d', 3))).toEqual([]);
    const next = s.release('a');
    expect(next.map((g) => g.id)).toEqual(['c', 'd']);
    expect(next[0]?.l3Masks).toEqual({ 0: 0xff0 });
    expect(next[1]?.l3Masks).toEqual({ 0: 0x00e });
  });

  it('no more jobs with ways than resctrl groups; a request that can never be had is refused at submit', () => {
    const s = new Scheduler(plain);
    s.partitions = pool();
    for (const id of ['g1', 'g2', 'g3']) expect(s.submit({ id, cores: 1, isolation: 'none', partition: { mbPercent: 50 } })).toHaveLength(1);
    expect(s.submit({ id: 'g4', cores: 1, isolation: 'none', partition: { mbPercent: 50 } })).toEqual([]);
    expect(s.release('g2').map((g) => g.id)).toEqual(['g4']);
    expect(() => s.submit(ways('greedy', 12))).toThrow(/l3_ways 12 is out of range \[1,11\]/);
  });

  it('without a WayPool (no resctrl) a partition request does not hold anything back', () => {
    const s = new Scheduler(plain);
    const started = [1, 2, 3, 4].flatMap((i) => s.submit(ways(`w${i}`, 8)));
    expect(started).toHaveLength(4);
    expect(started.every((g) => g.l3Masks === undefined)).toBe(true);
  });
});
