// Which CPUs a job gets, under the isolation levels of the Wayfinder paper. Pure and synchronous:
// the state is the set of running grants (and at most a few reservations); nothing touches the host.
//
// What `cores` means: the job runs on exactly `cores` CPUs (its cpuset and WAYFINDER_CORES list
// exactly those), at every level. What the level adds is what the job keeps others off ("held"):
//   none    only its own CPUs; other jobs may run on the sibling hyperthreads of its cores.
//   core    whole physical cores: it never shares a core with another job. It gets the fewest
//           whole cores that provide `cores` CPUs, siblings first (2 CPUs on a 2-way SMT host are
//           the two threads of one core); an unused sibling of the last core stays idle.
//   cache   whole last-level caches: no other job runs on a CPU that shares its LLC.
//   socket  whole packages.
//   full    the whole host: nothing else runs.
// Levels core and above fill whole cores siblings first, always the same way, so a test sees the
// same shape of CPUs wherever it lands on a host class: measurements stay comparable. (Giving one
// CPU per core instead would make a 2-CPU test use two cores on SMT hosts and double its footprint.)
//
// The invariant is symmetric: no job's CPUs lie in another running job's held set. Here this is
// kept by letting a job take only units (CPUs, cores, LLCs, packages, host) that nobody holds.
//
// Placement keeps room: among the candidate scopes (an LLC within a NUMA node, an LLC, a NUMA node
// within a package, a package, the host: the first of these tiers where the job fits at all) it
// takes the one with the least free room that still fits (best fit), so that whole caches and
// packages stay free for stricter jobs. A job never mixes core kinds (hybrid hosts), and the jobs
// of one `group` (an experiment) keep the kind the first of them got.

import { InputError, ISOLATION_LEVELS, type Isolation } from '../types.js';
import { cpuSetKey, formatCpuList } from '../util/cpulist.js';
import { mergeOverlapping, type CapacityRow, type Topology } from './topology.js';
import type { PartitionRequest } from './ways.js';

export interface JobRequest {
  id: string;
  /** CPUs the job runs on. */
  cores: number;
  isolation: Isolation;
  /** Pin to one core kind on hybrid hosts ('core', 'atom'). */
  kind?: string;
  /** Experiment id: its jobs keep one core kind. */
  group?: string;
  /** Expected run time in seconds (past runs of the same job): longer jobs are started first. */
  estimateSec?: number;
  /** Cache ways and memory bandwidth of its own (resctrl), where the scheduler has a WayPool. */
  partition?: PartitionRequest;
}

export interface Grant {
  id: string;
  /** Exactly `cores` CPUs, sorted: the job's cpuset and WAYFINDER_CORES. */
  cpus: number[];
  numaNodes: number[];
  /** Index into Topology.packages of the package of the first CPU. */
  package: number;
  isolation: Isolation;
  kind: string;
  /** CPUs kept off other jobs (cpus plus idle siblings, caches, packages, by level). */
  held: number[];
  /** L3 domain -> way mask the job holds, when it asked for ways (set by the Scheduler). */
  l3Masks?: Record<number, number>;
}

/** Where a waiting job will run once its blockers (running jobs in that place) have finished. */
export interface Reservation {
  id: string;
  kind: string;
  cpus: number[];
  held: number[];
  blockers: string[];
}

type UnitLevel = Exclude<Isolation, 'none'>;

interface Scope {
  cpus: number[];
  /** Indices of the cores lying wholly inside the scope. */
  cores: number[];
  coreSet: Set<number>;
  /** Index of the package (socket unit) of its first CPU, for the tie-break on package room. */
  pkg: number;
  tier: number;
}

/** A piece of the host a job may take whole: what it holds, and the CPUs (by core) it may run on. */
interface Unit {
  held: number[];
  pieces: number[][];
  cap: number;
  /** Ordering among units of one scope: lower first. */
  order: number[];
}

interface Choice {
  kind: string;
  cpus: number[];
  held: number[];
  blockers: Set<string>;
  score: number[];
}

function validate(req: JobRequest): void {
  if (typeof req.id !== 'string' || req.id === '') throw new InputError('a job needs a non-empty id');
  if (!Number.isInteger(req.cores) || req.cores < 1) {
    throw new InputError(`job "${req.id}": cores must be a whole number of at least 1, not ${String(req.cores)}`);
  }
  if (!ISOLATION_LEVELS.includes(req.isolation)) {
    throw new InputError(
      `job "${req.id}": unknown isolation level "${String(req.isolation)}"`,
      undefined,
      `use one of ${ISOLATION_LEVELS.join(', ')}`,
    );
  }
}

function lexLess(a: number[], b: number[]): boolean {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if ((a[i] as number) !== (b[i] as number)) return (a[i] as number) < (b[i] as number);
  }
  return a.length < b.length;
}

const byNumber = (a: number, b: number): number => a - b;

/**
 * Items (in order of preference) whose capacities add up to `need`, few and tight: while something
 * is still needed, the smallest item that covers the rest if one does, else the largest.
 */
function pickFewest<T extends { cap: number }>(items: T[], need: number): T[] {
  const left = [...items];
  const out: T[] = [];
  while (need > 0 && left.length > 0) {
    let bi = -1;
    left.forEach((it, i) => {
      if (it.cap >= need && (bi < 0 || it.cap < (left[bi] as T).cap)) bi = i;
    });
    if (bi < 0) left.forEach((it, i) => {
      if (bi < 0 || it.cap > (left[bi] as T).cap) bi = i;
    });
    const [it] = left.splice(bi, 1) as [T];
    out.push(it);
    need -= it.cap;
  }
  return out;
}

export class Allocator {
  readonly topo: Topology;
  private readonly coreOf = new Map<number, number>();
  private readonly pkgOf = new Map<number, number>();
  private readonly topoPkgOf = new Map<number, number>();
  private readonly units: Record<UnitLevel, number[][]>;
  /** For each unit level: CPU -> index of its unit. */
  private readonly unitOf: Record<UnitLevel, Map<number, number>>;
  /** For each unit level and unit: indices of the cores inside it. */
  private readonly unitCores: Record<UnitLevel, number[][]>;
  private readonly scopes: Scope[];
  private readonly kindSize = new Map<string, number>();
  /** CPU -> ids of the grants and reservations holding it. */
  private readonly holders = new Map<number, Set<string>>();
  private readonly grants = new Map<string, Grant>();
  private readonly holds = new Map<string, Reservation>();
  private readonly groupKind = new Map<string, string>();

  constructor(topo: Topology) {
    this.topo = topo;
    const all = topo.cpus;
    for (const c of all) this.holders.set(c, new Set());
    topo.cores.forEach((core, i) => {
      for (const c of core.cpus) this.coreOf.set(c, i);
      this.kindSize.set(core.kind, (this.kindSize.get(core.kind) ?? 0) + core.cpus.length);
    });
    topo.packages.forEach((p, i) => p.cpus.forEach((c) => this.topoPkgOf.set(c, i)));
    const coreSets = topo.cores.map((c) => c.cpus);
    // Units must nest (core in LLC in package); merging repairs kernels whose sets disagree.
    const cache = mergeOverlapping([...topo.llcs, ...coreSets], all);
    const socket = mergeOverlapping([...topo.packages.map((p) => p.cpus), ...cache], all);
    this.units = { core: coreSets, cache, socket, full: [all] };
    const unitOf = (sets: number[][]): Map<number, number> => {
      const m = new Map<number, number>();
      sets.forEach((s, i) => s.forEach((c) => m.set(c, i)));
      return m;
    };
    this.unitOf = { core: unitOf(coreSets), cache: unitOf(cache), socket: unitOf(socket), full: unitOf([all]) };
    const coresIn = (sets: number[][], level: UnitLevel): number[][] => {
      const lists = sets.map((): number[] => []);
      topo.cores.forEach((core, i) => lists[this.unitOf[level].get(core.cpus[0] as number) as number]?.push(i));
      return lists;
    };
    this.unitCores = {
      core: coreSets.map((_, i) => [i]),
      cache: coresIn(cache, 'cache'),
      socket: coresIn(socket, 'socket'),
      full: coresIn([all], 'full'),
    };
    socket.forEach((s, i) => s.forEach((c) => this.pkgOf.set(c, i)));
    this.scopes = this.buildScopes(cache, socket);
  }

  private buildScopes(cache: number[][], socket: number[][]): Scope[] {
    const nodes = this.topo.numaNodes.map((n) => new Set(n.cpus));
    const tiers: number[][][] = [
      cache.flatMap((l) => nodes.map((n) => l.filter((c) => n.has(c)))),
      cache,
      socket.flatMap((p) => nodes.map((n) => p.filter((c) => n.has(c)))),
      socket,
      [this.topo.cpus],
    ];
    const seen = new Set<string>();
    const scopes: Scope[] = [];
    tiers.forEach((sets, tier) => {
      for (const cpus of sets) {
        if (cpus.length === 0) continue;
        const key = cpuSetKey(cpus);
        if (seen.has(key)) continue;
        seen.add(key);
        const inside = new Set(cpus);
        const cores: number[] = [];
        this.topo.cores.forEach((core, i) => {
          if (core.cpus.every((c) => inside.has(c))) cores.push(i);
        });
        scopes.push({ cpus, cores, coreSet: new Set(cores), pkg: this.pkgOf.get(cpus[0] as number) ?? 0, tier });
      }
    });
    return scopes;
  }

  /** The core kinds a request may use: its own, its group's, or any (performance kind first). */
  kindsFor(req: JobRequest): string[] {
    if (req.kind !== undefined) return [req.kind];
    const fixed = req.group !== undefined ? this.groupKind.get(req.group) : undefined;
    return fixed !== undefined ? [fixed] : [...this.topo.kinds];
  }

  /** The most CPUs a job of this request could ever get here (on an empty host). */
  maxCores(req: JobRequest): number {
    return Math.max(0, ...this.kindsFor(req).map((k) => this.kindSize.get(k) ?? 0));
  }

  /** Could this request ever be placed, on an empty host? */
  fits(req: JobRequest): boolean {
    validate(req);
    return req.cores <= this.maxCores(req);
  }

  running(): Grant[] {
    return [...this.grants.values()];
  }

  reservations(): Reservation[] {
    return [...this.holds.values()];
  }

  tryPlace(req: JobRequest): Grant | undefined {
    validate(req);
    if (this.grants.has(req.id)) throw new Error(`job "${req.id}" is already running`);
    let best: Choice | undefined;
    for (const kind of this.kindsFor(req)) {
      best = this.choose(req, kind, false);
      if (best) break;
    }
    if (!best) return undefined;
    this.unreserve(req.id);
    const nodes = this.topo.numaNodes.filter((n) => n.cpus.some((c) => best.cpus.includes(c))).map((n) => n.id);
    const grant: Grant = {
      id: req.id,
      cpus: best.cpus,
      numaNodes: nodes,
      package: this.topoPkgOf.get(best.cpus[0] as number) ?? 0,
      isolation: req.isolation,
      kind: best.kind,
      held: best.held,
    };
    this.grants.set(req.id, grant);
    for (const c of grant.held) this.holders.get(c)?.add(req.id);
    if (req.group !== undefined && !this.groupKind.has(req.group)) this.groupKind.set(req.group, best.kind);
    return grant;
  }

  /** Run `fn` with these CPUs taken by no job: for what the allocator does not model (cache ways left). */
  withCpusTaken<T>(cpus: number[], fn: () => T): T {
    const tag = '\0taken';
    for (const c of cpus) this.holders.get(c)?.add(tag);
    try {
      return fn();
    } finally {
      for (const c of cpus) this.holders.get(c)?.delete(tag);
    }
  }

  release(id: string): void {
    const g = this.grants.get(id);
    if (!g) throw new Error(`no running job "${id}" to release`);
    for (const c of g.held) this.holders.get(c)?.delete(id);
    this.grants.delete(id);
  }

  /**
   * Hold, for a waiting job, the place it will run once the running jobs there have finished:
   * the placement with the fewest such blockers. Nothing new starts inside a held place, so the
   * job's wait is bounded by its blockers. Replaces the job's earlier reservation.
   */
  reserve(req: JobRequest): Reservation | undefined {
    validate(req);
    this.unreserve(req.id);
    let best: Choice | undefined;
    for (const kind of this.kindsFor(req)) {
      const c = this.choose(req, kind, true);
      if (c && (!best || c.blockers.size < best.blockers.size)) best = c;
    }
    if (!best) return undefined;
    const r: Reservation = { id: req.id, kind: best.kind, cpus: best.cpus, held: best.held, blockers: [...best.blockers].sort() };
    this.holds.set(req.id, r);
    for (const c of r.held) this.holders.get(c)?.add(req.id);
    return r;
  }

  unreserve(id: string): void {
    const r = this.holds.get(id);
    if (!r) return;
    for (const c of r.held) this.holders.get(c)?.delete(id);
    this.holds.delete(id);
  }

  /** Holders of a CPU other than `self`. */
  private others(cpu: number, self: string): string[] {
    const h = this.holders.get(cpu);
    if (!h || h.size === 0) return [];
    return [...h].filter((x) => x !== self);
  }

  /** The best placement over all scopes (now: only free units; reserve: fewest blockers). */
  private choose(req: JobRequest, kind: string, reserve: boolean): Choice | undefined {
    let best: Choice | undefined;
    let bestTier = Infinity;
    for (const scope of this.scopes) {
      if (!reserve && scope.tier > bestTier) break;
      const c = this.placeIn(req, kind, scope, reserve);
      if (!c) continue;
      const key = reserve ? [c.blockers.size, scope.tier, ...c.score] : c.score;
      const bestKey = best ? (reserve ? [best.blockers.size, bestTier, ...best.score] : best.score) : undefined;
      if (!bestKey || lexLess(key, bestKey)) {
        best = c;
        bestTier = scope.tier;
      }
    }
    return best;
  }

  private unitsIn(req: JobRequest, kind: string, scope: Scope, reserve: boolean): Unit[] {
    const cores = this.topo.cores;
    const out: Unit[] = [];
    if (req.isolation === 'none') {
      for (const ci of scope.cores) {
        const core = cores[ci];
        if (!core || core.kind !== kind) continue;
        const free = core.cpus.filter((c) => this.others(c, req.id).length === 0);
        // Take CPUs of cores that already carry work first (fewest free first), whole free cores last.
        const dirty = free.length < core.cpus.length ? 0 : 1;
        for (const c of reserve ? core.cpus : free) out.push({ held: [c], pieces: [[c]], cap: 1, order: [dirty, free.length, ci, c] });
      }
      return out;
    }
    const level = req.isolation;
    const seen = new Set<number>();
    for (const c of scope.cpus) {
      const u = this.unitOf[level].get(c);
      if (u === undefined || seen.has(u)) continue;
      seen.add(u);
      const held = this.units[level][u] as number[];
      if (!reserve && held.some((x) => this.others(x, req.id).length > 0)) continue;
      const pieces = (this.unitCores[level][u] ?? [])
        .filter((ci) => scope.coreSet.has(ci) && cores[ci]?.kind === kind)
        .map((ci) => (cores[ci] as { cpus: number[] }).cpus)
        .sort((a, b) => b.length - a.length || (a[0] as number) - (b[0] as number));
      const cap = pieces.reduce((s, p) => s + p.length, 0);
      if (cap > 0) out.push({ held, pieces, cap, order: [-cap, held[0] as number] });
    }
    return out;
  }

  private placeIn(req: JobRequest, kind: string, scope: Scope, reserve: boolean): Choice | undefined {
    const units = this.unitsIn(req, kind, scope, reserve);
    const room = units.reduce((s, u) => s + u.cap, 0);
    if (room < req.cores) return undefined;
    const chosen: Unit[] = [];
    const blockers = new Set<string>();
    let got = 0;
    if (!reserve) {
      units.sort((a, b) => (lexLess(a.order, b.order) ? -1 : lexLess(b.order, a.order) ? 1 : 0));
      // Fewest packages first (a scope wider than one package is the host), then fewest units in them.
      const byPkg = new Map<number, Unit[]>();
      for (const u of units) {
        const p = this.pkgOf.get(u.held[0] as number) ?? 0;
        byPkg.set(p, [...(byPkg.get(p) ?? []), u]);
      }
      const groups = [...byPkg.values()].map((us) => ({ us, cap: us.reduce((s, u) => s + u.cap, 0) }));
      let need = req.cores;
      for (const g of pickFewest(groups, need)) {
        for (const u of pickFewest(g.us, need)) {
          chosen.push(u);
          got += u.cap;
          need -= u.cap;
        }
      }
    } else {
      // Greedy: each next unit adds the fewest new blockers.
      const left = units.map((u) => ({ u, blockers: new Set(u.held.flatMap((c) => this.others(c, req.id))) }));
      while (got < req.cores && left.length > 0) {
        let bi = 0;
        let bKey: number[] | undefined;
        left.forEach((l, i) => {
          let fresh = 0;
          for (const b of l.blockers) if (!blockers.has(b)) fresh++;
          const key = [fresh, ...l.u.order];
          if (!bKey || lexLess(key, bKey)) {
            bKey = key;
            bi = i;
          }
        });
        const [pick] = left.splice(bi, 1);
        if (!pick) break;
        chosen.push(pick.u);
        got += pick.u.cap;
        for (const b of pick.blockers) blockers.add(b);
      }
    }
    if (got < req.cores) return undefined;
    const cpus: number[] = [];
    const held = new Set<number>();
    for (const u of chosen) {
      if (cpus.length >= req.cores) break;
      for (const c of u.held) held.add(c);
      for (const piece of u.pieces) {
        if (cpus.length >= req.cores) break;
        cpus.push(...piece.slice(0, req.cores - cpus.length));
      }
    }
    // Level full holds the host whatever CPUs it runs on.
    const heldList = req.isolation === 'full' ? [...this.topo.cpus] : [...held].sort(byNumber);
    const pkgRoom = this.freeIn(this.units.socket[scope.pkg] ?? [], req.id);
    return { kind, cpus: cpus.sort(byNumber), held: heldList, blockers, score: [room, pkgRoom, scope.cpus[0] as number] };
  }

  private freeIn(cpus: number[], self: string): number {
    let n = 0;
    for (const c of cpus) if (this.others(c, self).length === 0) n++;
    return n;
  }

  /** Why a request can never fit, for error messages. */
  explainUnfit(req: JobRequest): string {
    const kinds = this.kindsFor(req);
    const unknown = kinds.filter((k) => !this.kindSize.has(k));
    if (unknown.length > 0) {
      return `job "${req.id}" asks for core kind "${unknown.join(', ')}" but this host has ${this.topo.kinds.join(', ')}`;
    }
    const max = this.maxCores(req);
    const which = req.kind !== undefined || kinds.length === 1 ? ` of kind ${kinds.join('')}` : '';
    return (
      `job "${req.id}" asks for ${req.cores} CPUs at isolation "${req.isolation}" but this host can give at most ` +
      `${max}${which} (usable CPUs ${formatCpuList(this.topo.cpus)})`
    );
  }
}

/** How many jobs of each level and size the empty host runs at once, as this allocator places them. */
export function capacityTable(topo: Topology, sizes?: number[]): CapacityRow[] {
  const n = topo.cpus.length;
  const want = (sizes ?? [1, 2, 4, 8, 16]).filter((s) => s <= n);
  const rows: CapacityRow[] = [];
  for (const isolation of ISOLATION_LEVELS) {
    for (const cores of want) {
      const a = new Allocator(topo);
      let jobs = 0;
      while (a.tryPlace({ id: `j${jobs}`, cores, isolation })) jobs++;
      rows.push({ isolation, cores, jobs });
    }
  }
  return rows;
}
