import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Grant, JobRequest } from '../../src/scheduler/allocator.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { readTopology, type Topology } from '../../src/scheduler/topology.js';
import { InputError, type Isolation } from '../../src/types.js';
import { violations } from './oracle.js';
import { unpackAll, UNPACK_TIMEOUT_MS } from './snapshots.js';

const topos = new Map<string, Topology>();
let cleanup: () => void;

beforeAll(async () => {
  const u = unpackAll();
  cleanup = u.cleanup;
  for (const [name, s] of u.snapshots) topos.set(name, await readTopology({ sysfsRoot: join(s.root, 'sys') }));
}, UNPACK_TIMEOUT_MS);
afterAll(() => cleanup(), UNPACK_TIMEOUT_MS);

function topo(name: string): Topology {
  const t = topos.get(name);
  if (!t) throw new Error(`no topology ${name}`);
  return t;
}

const req = (id: string, cores: number, isolation: Isolation): JobRequest => ({ id, cores, isolation });
const ids = (gs: Grant[]): string[] => gs.map((g) => g.id);

describe('Scheduler', () => {
  it('starts jobs in submission order while they fit', () => {
    const s = new Scheduler(topo('8em64t-2s2ca2c'));
    expect(ids(s.submit(req('a', 4, 'none')))).toEqual(['a']);
    expect(ids(s.submit(req('b', 4, 'none')))).toEqual(['b']);
    expect(s.submit(req('c', 2, 'none'))).toEqual([]);
    expect(ids(s.release('a'))).toEqual(['c']);
  });

  it('refuses at submit a job that can never fit, saying why; and duplicate ids', () => {
    const s = new Scheduler(topo('32intel64-2p8co2t+8ve'));
    expect(() => s.submit(req('huge', 40, 'core'))).toThrow(InputError);
    expect(() => s.submit(req('huge', 40, 'core'))).toThrow(
      /job "huge" asks for 40 CPUs at isolation "core" but this host can give at most 32/,
    );
    expect(() => s.submit(req('zero', 0, 'core'))).toThrow(/cores must be a whole number/);
    s.submit(req('x', 1, 'none'));
    expect(() => s.submit(req('x', 1, 'none'))).toThrow(/already submitted/);
    expect(s.queued()).toEqual([]);
  });

  it('a full job is not starved by a stream of small jobs', () => {
    const t = topo('16em64t-4s2c2t');
    const s = new Scheduler(t);
    let n = 0;
    const running: string[] = [];
    const start = (gs: Grant[]): void => {
      for (const g of gs) running.push(g.id);
    };
    for (; n < 16; n++) start(s.submit(req(`small${n}`, 1, 'none')));
    expect(running).toHaveLength(16);
    const before = [...running];
    start(s.submit(req('full', 4, 'full')));
    expect(s.reservation()?.blockers).toEqual([...before].sort());
    // Keep the host busy: each finished small job is followed by a new one.
    let releases = 0;
    while (!running.includes('full')) {
      const done = running.shift() as string;
      start(s.release(done));
      releases++;
      start(s.submit(req(`small${n++}`, 1, 'none')));
      expect(releases).toBeLessThanOrEqual(before.length);
    }
    // It started right when the last job that was running at its submission finished.
    expect(releases).toBe(before.length);
    expect(s.running().map((g) => g.id)).toEqual(['full']);
  });

  it('backfills outside the reservation: a socket job waits for its package, others use the rest', () => {
    const t = topo('32intel64-2p8co2t+8ve'); // 2 packages of 16 CPUs
    const s = new Scheduler(t);
    s.submit(req('busy0', 2, 'none'));
    s.submit(req('busy1', 2, 'none'));
    // Best fit put both on one package; a third on the other package makes every package busy.
    s.submit(req('busy2', 16, 'none'));
    expect(s.submit(req('sock', 8, 'socket'))).toEqual([]);
    const r = s.reservation();
    expect(r?.id).toBe('sock');
    // The package with the fewest running jobs in the way.
    expect(r?.blockers).toEqual(['busy2']);
    const reservedPkg = t.packages.findIndex((p) => p.cpus.includes(r?.cpus[0] as number));
    // Later small jobs start, but never on the reserved package.
    const later = s.submit(req('late', 2, 'none'));
    expect(ids(later)).toEqual(['late']);
    expect(later[0]?.cpus.every((c) => !t.packages[reservedPkg]?.cpus.includes(c))).toBe(true);
    for (const b of r?.blockers ?? []) {
      const started = s.release(b);
      if (r?.blockers.at(-1) === b) expect(ids(started)).toEqual(['sock']);
      else expect(started).toEqual([]);
    }
    expect(violations(t, s.running())).toEqual([]);
  });

  it('a queued job can be cancelled by releasing it', () => {
    const s = new Scheduler(topo('2arm-2c'));
    s.submit(req('a', 2, 'none'));
    s.submit(req('b', 2, 'core'));
    s.submit(req('c', 1, 'none'));
    expect(s.queued().map((q) => q.id)).toEqual(['b', 'c']);
    expect(s.release('b')).toEqual([]);
    expect(ids(s.release('a'))).toEqual(['c']);
    expect(() => s.release('zzz')).toThrow(/no running or queued job "zzz"/);
  });

  it('with duration estimates, the longest waiting job starts first; the head and unestimated jobs keep their place', () => {
    const s = new Scheduler(topo('2arm-2c'));
    const est = (id: string, estimateSec?: number): JobRequest => ({ ...req(id, 2, 'none'), ...(estimateSec !== undefined ? { estimateSec } : {}) });
    expect(ids(s.submit(est('run', 5)))).toEqual(['run']);
    s.submit(est('head', 1));
    s.submit(est('short', 10));
    s.submit(est('long', 100));
    s.submit(est('plain'));
    s.submit(est('mid', 50));
    expect(s.queued().map((q) => q.id)).toEqual(['head', 'long', 'short', 'plain', 'mid']);
    const order: string[] = [];
    let running = 'run';
    while (running) {
      const next = ids(s.release(running));
      order.push(...next);
      running = next[0] ?? '';
    }
    expect(order).toEqual(['head', 'long', 'short', 'plain', 'mid']);
  });

  it('a short job is overtaken by longer later ones at most maxOvertakes times', () => {
    const s = new Scheduler(topo('2arm-2c'), { maxOvertakes: 2 });
    const est = (id: string, estimateSec: number): JobRequest => ({ ...req(id, 2, 'none'), estimateSec });
    s.submit(est('run', 1));
    s.submit(est('head', 1));
    s.submit(est('short', 1));
    for (let i = 0; i < 5; i++) s.submit(est(`long${i}`, 100 + i));
    expect(s.queued().map((q) => q.id)).toEqual(['head', 'long1', 'long0', 'short', 'long4', 'long3', 'long2']);
  });
});

// Random submissions and releases: the running set is always valid, the queue never sticks, and
// every job starts within a bound of releases: a job at the head waits at most for the jobs running
// when it got there (at most one per CPU), so a job submitted at position p waits at most (p + 1) * CPUs.
type Op = { kind: 'submit'; cores: number; isolation: Isolation } | { kind: 'release'; pick: number };

describe('Scheduler properties', () => {
  for (const name of ['16em64t-4s2c2t-offlines', '32intel64-2p8co2t+8ve', '48amd64-4pa2n6c-sparse', 'fakecpuid1f-64intel64-2p4d2n2c2t', '8em64t-2s4c-asymcaches']) {
    it(`${name}: no violation, no deadlock, no starvation, every job that fits starts`, () => {
      const t = topo(name);
      const n = t.cpus.length;
      const opArb = fc.oneof(
        {
          weight: 3,
          arbitrary: fc.record({
            kind: fc.constant('submit' as const),
            cores: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: n + 2 })),
            isolation: fc.constantFrom<Isolation>('none', 'none', 'core', 'core', 'cache', 'socket', 'full'),
          }),
        },
        { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }) },
      );
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 1, maxLength: 80 }), fc.array(fc.nat(), { maxLength: 400 }), (ops, drainPicks) => {
          const s = new Scheduler(t);
          const waiting = new Map<string, { position: number; releases: number }>();
          const started = new Set<string>();
          // The current head, and the jobs that were running when it got there: once they are all gone it must have started.
          let head: { id: string; waitFor: Set<string> } | undefined;
          const noteHead = (): void => {
            const h = s.queued()[0];
            if (h && h.id === head?.id) expect(head.waitFor.size).toBeGreaterThan(0);
            if (h && h.id !== head?.id) head = { id: h.id, waitFor: new Set(s.running().map((g) => g.id)) };
          };
          let id = 0;
          let releases = 0;
          const onStart = (gs: Grant[]): void => {
            for (const g of gs) {
              const w = waiting.get(g.id);
              expect(w).toBeDefined();
              expect(releases - (w?.releases ?? 0)).toBeLessThanOrEqual(((w?.position ?? 0) + 1) * n);
              waiting.delete(g.id);
              started.add(g.id);
            }
            expect(violations(t, s.running())).toEqual([]);
            // Never stuck: something waits only while something runs.
            if (s.queued().length > 0) expect(s.running().length).toBeGreaterThan(0);
            noteHead();
          };
          const release = (pick: number): void => {
            const running = s.running();
            if (running.length === 0) return;
            releases++;
            const done = (running[pick % running.length] as Grant).id;
            head?.waitFor.delete(done);
            onStart(s.release(done));
          };
          for (const op of ops) {
            if (op.kind === 'release') {
              release(op.pick);
              continue;
            }
            const r = req(`j${id++}`, op.cores, op.isolation);
            if (op.cores > n) {
              expect(() => s.submit(r)).toThrow(InputError);
              continue;
            }
            waiting.set(r.id, { position: s.queued().length, releases });
            onStart(s.submit(r));
          }
          let i = 0;
          while (s.running().length > 0) release(drainPicks[i++ % Math.max(1, drainPicks.length)] ?? 0);
          expect([...waiting.keys()]).toEqual([]);
          expect(s.queued()).toEqual([]);
        }),
        { numRuns: 60, seed: 7 },
      );
    });
  }
});
