import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Allocator, capacityTable, type Grant, type JobRequest } from '../../src/scheduler/allocator.js';
import { readTopology, type Topology } from '../../src/scheduler/topology.js';
import { InputError, type Isolation } from '../../src/types.js';
import { room, shapeProblems, violations } from './oracle.js';
import { snapshotNames, unpackAll, UNPACK_TIMEOUT_MS } from './snapshots.js';

const topos = new Map<string, Topology>();
let cleanup: () => void;
let scratch: string;

beforeAll(async () => {
  const u = unpackAll();
  cleanup = u.cleanup;
  for (const [name, s] of u.snapshots) topos.set(name, await readTopology({ sysfsRoot: join(s.root, 'sys') }));
  // A hybrid host: the 2-socket snapshot with CPUs 0-3 as performance cores and 4-7 as efficiency cores.
  scratch = mkdtempSync(join(tmpdir(), 'wf-alloc-'));
  const sys = join(scratch, 'sys');
  cpSync(join(u.snapshots.get('8em64t-2s2ca2c')?.root as string, 'sys'), sys, { recursive: true });
  mkdirSync(join(sys, 'devices/cpu_core'), { recursive: true });
  mkdirSync(join(sys, 'devices/cpu_atom'), { recursive: true });
  writeFileSync(join(sys, 'devices/cpu_core/cpus'), '0-3\n');
  writeFileSync(join(sys, 'devices/cpu_atom/cpus'), '4-7\n');
  topos.set('hybrid', await readTopology({ sysfsRoot: sys }));
}, UNPACK_TIMEOUT_MS);
afterAll(() => {
  cleanup();
  rmSync(scratch, { recursive: true, force: true });
}, UNPACK_TIMEOUT_MS);

function topo(name: string): Topology {
  const t = topos.get(name);
  if (!t) throw new Error(`no topology ${name}`);
  return t;
}

const req = (id: string, cores: number, isolation: Isolation, extra: Partial<JobRequest> = {}): JobRequest => ({
  id,
  cores,
  isolation,
  ...extra,
});

function place(a: Allocator, r: JobRequest): Grant {
  const g = a.tryPlace(r);
  if (!g) throw new Error(`${r.id} did not fit`);
  return g;
}

const coreOf = (t: Topology, cpu: number): number[] => t.cores.find((c) => c.cpus.includes(cpu))?.cpus ?? [];
const pkgOf = (t: Topology, cpu: number): number => t.packages.findIndex((p) => p.cpus.includes(cpu));

describe('what `cores` means at each level', () => {
  it('core: the fewest whole cores, siblings first; an unused sibling stays idle but held', () => {
    const t = topo('32intel64-2p8co2t+8ve'); // 2 packages x 8 cores x 2 threads (n, n+16)
    const a = new Allocator(t);
    const two = place(a, req('two', 2, 'core'));
    expect(two.cpus).toHaveLength(2);
    expect(coreOf(t, two.cpus[0] as number)).toEqual(two.cpus);
    const three = place(a, req('three', 3, 'core'));
    expect(three.cpus).toHaveLength(3);
    const cores = new Set(three.cpus.map((c) => coreOf(t, c).join(',')));
    expect(cores.size).toBe(2);
    const idle = [...cores].flatMap((k) => k.split(',').map(Number)).filter((c) => !three.cpus.includes(c));
    expect(idle).toHaveLength(1);
    expect(three.held).toContain(idle[0]);
    // Nobody else gets that idle sibling, not even a level-none job: fill the host with 1-CPU jobs.
    const others: Grant[] = [];
    for (let g = a.tryPlace(req('n0', 1, 'none')); g; g = a.tryPlace(req(`n${others.length}`, 1, 'none'))) others.push(g);
    expect(others).toHaveLength(32 - 2 - 4);
    expect(others.flatMap((g) => g.cpus)).not.toContain(idle[0]);
    expect(violations(t, a.running())).toEqual([]);
  });

  it('none: jobs may share a core, and fill half-used cores before whole ones', () => {
    const t = topo('16em64t-4s2c2t'); // siblings n and n+8
    const a = new Allocator(t);
    const x = place(a, req('x', 1, 'none'));
    const y = place(a, req('y', 1, 'none'));
    expect(coreOf(t, x.cpus[0] as number)).toEqual([...x.cpus, ...y.cpus].sort((p, q) => p - q));
    // A core-level job cannot go on that core.
    const c = place(a, req('c', 2, 'core'));
    expect(c.cpus).not.toContain(x.cpus[0]);
    expect(violations(t, a.running())).toEqual([]);
  });

  it('cache and socket: no other job on the same LLC or package, in both directions', () => {
    const t = topo('32intel64-2p8co2t+8ve'); // one L3 per package
    const a = new Allocator(t);
    const n = place(a, req('n', 1, 'none'));
    const c = place(a, req('c', 2, 'cache'));
    expect(pkgOf(t, c.cpus[0] as number)).not.toBe(pkgOf(t, n.cpus[0] as number));
    expect(a.tryPlace(req('c2', 2, 'cache'))).toBeUndefined();
    expect(a.tryPlace(req('s', 2, 'socket'))).toBeUndefined();
    // A none job fits only on the package the none job already uses.
    const m = place(a, req('m', 4, 'none'));
    expect(m.cpus.every((x) => pkgOf(t, x) === pkgOf(t, n.cpus[0] as number))).toBe(true);
    a.release('n');
    a.release('m');
    expect(place(a, req('s', 2, 'socket')).package).not.toBe(c.package);
  });

  it('full: nothing else runs, and it waits for an empty host', () => {
    const t = topo('8em64t-2s2ca2c');
    const a = new Allocator(t);
    place(a, req('n', 1, 'none'));
    expect(a.tryPlace(req('f', 2, 'full'))).toBeUndefined();
    a.release('n');
    const f = place(a, req('f', 2, 'full'));
    expect(f.cpus).toHaveLength(2);
    expect(f.held).toEqual(t.cpus);
    expect(a.tryPlace(req('n2', 1, 'none'))).toBeUndefined();
  });
});

describe('placement keeps room', () => {
  it('core jobs fill one package before the other, so a socket job still fits', () => {
    const t = topo('32intel64-2p8co2t+8ve');
    const a = new Allocator(t);
    const grants = Array.from({ length: 8 }, (_, i) => place(a, req(`t${i}`, 2, 'core')));
    expect(new Set(grants.map((g) => g.package)).size).toBe(1);
    expect(a.tryPlace(req('s', 16, 'socket'))).toBeDefined();
  });

  it('stays within one NUMA node, then one package, when the job fits there', () => {
    const amd = topo('48amd64-4pa2n6c-sparse'); // 4 packages x 2 nodes (one per L3) x 6 cores
    const a = new Allocator(amd);
    const six = place(a, req('six', 6, 'core'));
    expect(six.numaNodes).toHaveLength(1);
    const twelve = place(a, req('twelve', 12, 'none'));
    expect(twelve.numaNodes).toHaveLength(2);
    expect(new Set(twelve.cpus.map((c) => pkgOf(amd, c))).size).toBe(1);
    const big = place(a, req('big', 20, 'none'));
    expect(new Set(big.cpus.map((c) => pkgOf(amd, c))).size).toBeGreaterThan(1);
  });

  it('best fit: a cache job takes the smallest free LLC that holds it', () => {
    const t = topo('16em64t-4s2c2t-offlines'); // packages of 4, 2, 4, 2 online CPUs
    const a = new Allocator(t);
    expect(place(a, req('c', 2, 'cache')).cpus.length).toBe(2);
    expect(a.running()[0]?.held).toHaveLength(2);
  });
});

describe('hybrid hosts', () => {
  it('never mixes kinds, pins to a kind, and keeps a group on the kind it started with', () => {
    const t = topo('hybrid');
    const a = new Allocator(t);
    expect(a.fits(req('mix', 6, 'none'))).toBe(false); // 4 + 4 CPUs: no single kind has 6
    expect(a.explainUnfit(req('mix', 6, 'none'))).toMatch(/at most 4/);
    const e = place(a, req('e', 2, 'core', { kind: 'atom' }));
    expect(e.kind).toBe('atom');
    expect(e.cpus.every((c) => c >= 4)).toBe(true);
    const g1 = place(a, req('g1', 2, 'core', { group: 'exp' }));
    expect(g1.kind).toBe('core'); // the performance kind first
    place(a, req('fill', 2, 'none', { kind: 'core' }));
    // The group's next test does not fit on its kind: it waits rather than run on the other kind.
    expect(a.tryPlace(req('g2', 2, 'core', { group: 'exp' }))).toBeUndefined();
    expect(a.tryPlace(req('other', 2, 'core'))?.kind).toBe('atom');
    expect(a.fits(req('x', 1, 'none', { kind: 'gpu' }))).toBe(false);
    expect(a.explainUnfit(req('x', 1, 'none', { kind: 'gpu' }))).toMatch(/core kind "gpu" but this host has core, atom/);
  });
});

describe('bad requests', () => {
  it('are refused with errors that name the job and the field', () => {
    const a = new Allocator(topo('2arm-2c'));
    expect(() => a.tryPlace(req('z', 0, 'none'))).toThrow(InputError);
    expect(() => a.tryPlace(req('z', 1.5, 'none'))).toThrow(/job "z": cores must be a whole number/);
    expect(() => a.tryPlace(req('z', 1, 'strict' as Isolation))).toThrow(/unknown isolation level "strict"/);
    expect(a.fits(req('big', 3, 'none'))).toBe(false);
    expect(a.explainUnfit(req('big', 3, 'none'))).toMatch(/asks for 3 CPUs at isolation "none" but this host can give at most 2/);
    place(a, req('one', 1, 'none'));
    expect(() => a.tryPlace(req('one', 1, 'none'))).toThrow(/already running/);
    expect(() => a.release('nope')).toThrow(/no running job "nope"/);
  });
});

describe('capacityTable', () => {
  it('counts what fits at once on the 96-CPU host (16 LLCs of 6 single-thread cores)', () => {
    const rows = capacityTable(topo('96em64t-4no4pa3ca2co'), [1, 6, 8]);
    const at = (i: Isolation, n: number): number | undefined => rows.find((r) => r.isolation === i && r.cores === n)?.jobs;
    expect(at('none', 1)).toBe(96);
    expect(at('core', 6)).toBe(16);
    expect(at('cache', 1)).toBe(16);
    expect(at('cache', 8)).toBe(8);
    expect(at('socket', 6)).toBe(16);
    expect(at('full', 8)).toBe(1);
  });
});

// Random job mixes and release orders on every snapshot.
type Op = { kind: 'place'; cores: number; isolation: Isolation } | { kind: 'release'; pick: number };

const isolationArb = fc.constantFrom<Isolation>('none', 'none', 'core', 'core', 'cache', 'socket', 'full');
const opsArb = (maxCpus: number): fc.Arbitrary<Op[]> =>
  fc.array(
    fc.oneof(
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('place' as const), cores: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: maxCpus })), isolation: isolationArb }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }) },
    ),
    { minLength: 1, maxLength: 60 },
  );

describe('properties on the fixture topologies', () => {
  for (const name of [...snapshotNames(), 'hybrid']) {
    it(`${name}: grants never violate a level, have the asked size, stay in one package when one has room, and a job is refused only when nothing has room`, () => {
      const t = topo(name);
      fc.assert(
        fc.property(opsArb(t.cpus.length), (ops) => {
          const a = new Allocator(t);
          const reqs = new Map<string, JobRequest>();
          let n = 0;
          for (const op of ops) {
            if (op.kind === 'release') {
              const running = a.running();
              if (running.length === 0) continue;
              a.release((running[op.pick % running.length] as Grant).id);
              continue;
            }
            const r = req(`j${n++}`, op.cores, op.isolation);
            const before = a.running();
            const anywhere = Math.max(...t.kinds.map((k) => room(t, before, r.isolation, k, t.cpus)));
            const g = a.tryPlace(r);
            if (!g) {
              // Refused only when the whole host has no room at this level.
              expect(anywhere).toBeLessThan(r.cores);
              continue;
            }
            reqs.set(r.id, r);
            expect(shapeProblems(t, r, g)).toEqual([]);
            expect(violations(t, a.running())).toEqual([]);
            const onePackage = t.packages.some((p) => room(t, before, r.isolation, g.kind, p.cpus) >= r.cores);
            if (onePackage) expect(new Set(g.cpus.map((c) => pkgOf(t, c))).size).toBe(1);
          }
          // Releasing everything gives the whole host back.
          for (const g of a.running()) a.release(g.id);
          const largestKind = Math.max(...t.kinds.map((k) => room(t, [], 'none', k, t.cpus)));
          expect(a.tryPlace(req('all', largestKind, 'full'))?.cpus).toHaveLength(largestKind);
        }),
        { numRuns: 60, seed: 20240601 },
      );
    });
  }
});

