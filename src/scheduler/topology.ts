// The CPU topology of this host as the kernel presents it under /sys/devices/system/cpu:
// packages, dies, physical cores, caches, NUMA nodes and hybrid core kinds. Everything is keyed
// by CPU sets (cpuSetKey), never by the kernel's ids: core ids repeat across packages and within
// them (AMD), ids can be sparse, and offline CPUs may have no topology directory at all.
//
// Every set in the model holds only usable CPUs (online, and allowed to this process), so the
// allocator never has to filter. A core whose sibling is not usable therefore appears smaller.
//
// Real machines' trees have quirks (see the hwloc snapshots table in docs/isolation.md). What the
// reader cannot make sense of becomes a warning in `warnings` and a model that errs towards fewer
// parallel jobs (sets that contradict each other are merged), never a refusal to start.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Isolation } from '../types.js';
import { cpuSetKey, formatCpuList, parseCpuList, parseCpuMask } from '../util/cpulist.js';

export interface CacheInfo {
  level: number;
  type: 'Data' | 'Instruction' | 'Unified';
  sizeKiB?: number;
  ways?: number;
  id?: number;
  cpus: number[];
}

export interface PackageInfo {
  cpus: number[];
  /** CPU sets of the dies in this package (one die, the whole package, where the kernel reports none). */
  dies: number[][];
}

export interface CoreInfo {
  /** The hardware threads of one physical core. */
  cpus: number[];
  /** Core kind on hybrid hosts ('core', 'atom', from /sys/devices/cpu_KIND), else 'default'. */
  kind: string;
}

export interface NumaNode {
  id: number;
  cpus: number[];
}

export interface Topology {
  /** Online and allowed CPUs: the ones jobs may be given. */
  cpus: number[];
  /** Present CPUs that are offline. */
  offline: number[];
  /** CPUs isolated from the kernel's scheduler (isolcpus=); still usable, listed for the record. */
  isolated: number[];
  packages: PackageInfo[];
  cores: CoreInfo[];
  caches: CacheInfo[];
  numaNodes: NumaNode[];
  /** Last-level cache domains: for each CPU its highest-level data or unified cache, merged where they overlap. */
  llcs: number[][];
  kinds: string[];
  /** What the kernel reported that the reader could not take at face value, and what it did instead. */
  warnings: string[];
}

export interface ReadTopologyOptions {
  /** Root of sysfs (default /sys); point it at a snapshot's NAME/sys in tests. */
  sysfsRoot?: string;
  /** Root of procfs, for this process's allowed CPUs (default /proc when sysfsRoot is the real one). */
  procRoot?: string;
  /** Restrict to these CPUs (the caller's intersection of its cpuset and --cpus). */
  allowedCpus?: number[];
}

/** How many jobs of one isolation level and size fit on the empty host at once. */
export interface CapacityRow {
  isolation: Isolation;
  cores: number;
  jobs: number;
}

export const DEFAULT_KIND = 'default';

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EINVAL' || code === 'ENODEV') return undefined;
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
}

async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new Error(`cannot list ${path}: ${(e as Error).message}`);
  }
}

/**
 * Collects the tree's quirks by kind, so a quirk repeated on every CPU is one line: how often, and
 * the first place it was seen.
 */
class Quirks {
  private readonly seen = new Map<string, { count: number; first: string }>();

  note(kind: string, where: string): void {
    const q = this.seen.get(kind);
    // CPUs are read concurrently: "first" is the lowest place in numeric order, not the first read.
    if (!q) this.seen.set(kind, { count: 1, first: where });
    else {
      q.count++;
      if (where.localeCompare(q.first, 'en', { numeric: true }) < 0) q.first = where;
    }
  }

  lines(): string[] {
    return [...this.seen].map(([kind, q]) => `${kind} (${q.count === 1 ? '' : `${q.count} times, first `}${q.first})`);
  }
}

const UNREADABLE = 'a CPU set file does not parse; it is passed over';
const LIST_MASK_DISAGREE = 'a CPU list file disagrees with its mask; the mask is used, as hwloc does';

/**
 * A CPU set from the mask file, else the list file that stands for it. The kernel writes both
 * from one bitmap; where a tree has them disagree (edited or stale copies) the mask wins, as it
 * does for hwloc, and the disagreement is noted.
 */
async function readCpuSet(dir: string, listNames: string[], maskNames: string[], quirks: Quirks): Promise<number[] | undefined> {
  // A file that does not parse is noted and passed over (the other form, or none, is used instead).
  const parsed = async (name: string, parse: (t: string) => number[]): Promise<number[] | undefined> => {
    const text = await readText(join(dir, name));
    if (text === undefined) return undefined;
    try {
      return parseFile(join(dir, name), text, parse);
    } catch (e) {
      quirks.note(UNREADABLE, (e as Error).message);
      return undefined;
    }
  };
  let mask: number[] | undefined;
  for (const name of maskNames) {
    const text = await readText(join(dir, name));
    if (text === undefined || clean(text) === '') continue;
    mask = await parsed(name, parseCpuMask);
    if (mask) break;
  }
  for (const name of listNames) {
    const list = await parsed(name, parseCpuList);
    if (list === undefined) continue;
    if (mask === undefined) return list;
    if (cpuSetKey(list) !== cpuSetKey(mask)) {
      quirks.note(LIST_MASK_DISAGREE, `${join(dir, name)}: ${formatCpuList(list) || 'empty'}, mask ${formatCpuList(mask) || 'empty'}`);
    }
    break;
  }
  return mask;
}

/** sysfs text without what some kernels leave around it: newlines, spaces, NUL bytes (seen on ARM). */
function clean(text: string): string {
  return text.replace(/^[\s\0]+|[\s\0]+$/g, '');
}

function parseFile(path: string, text: string, parse: (t: string) => number[]): number[] {
  try {
    return parse(clean(text));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

async function readInt(path: string): Promise<number | undefined> {
  const text = await readText(path);
  if (text === undefined || clean(text) === '') return undefined;
  const v = Number(clean(text));
  return Number.isInteger(v) ? v : undefined;
}

/** "32K", "16384K", "1M" -> KiB. */
export function parseCacheSize(text: string): number | undefined {
  const m = /^(\d+)\s*([KMG]?)i?B?$/i.exec(text.trim());
  if (!m) return undefined;
  const mult = { '': 1 / 1024, K: 1, M: 1024, G: 1024 * 1024 }[(m[2] ?? '').toUpperCase()] ?? 1;
  return Number(m[1]) * mult;
}

/**
 * Merge overlapping CPU sets into disjoint groups (restricted to `universe`), so that every CPU of
 * the universe lands in exactly one group even when the kernel's sets disagree with each other.
 */
export function mergeOverlapping(sets: Iterable<number[]>, universe: number[]): number[][] {
  const inUniverse = new Set(universe);
  const parent = new Map<number, number>();
  const find = (x: number): number => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r) as number;
    let y = x;
    while (parent.get(y) !== r) {
      const next = parent.get(y) as number;
      parent.set(y, r);
      y = next;
    }
    return r;
  };
  for (const c of universe) parent.set(c, c);
  for (const set of sets) {
    const members = set.filter((c) => inUniverse.has(c));
    for (let i = 1; i < members.length; i++) {
      const a = find(members[0] as number);
      const b = find(members[i] as number);
      if (a !== b) parent.set(Math.max(a, b), Math.min(a, b));
    }
  }
  const groups = new Map<number, number[]>();
  for (const c of [...universe].sort((a, b) => a - b)) {
    const r = find(c);
    const g = groups.get(r);
    if (g) g.push(c);
    else groups.set(r, [c]);
  }
  return [...groups.values()].sort((a, b) => (a[0] as number) - (b[0] as number));
}

function intersect(a: number[], allowed: Set<number>): number[] {
  return a.filter((c) => allowed.has(c));
}

/** This process's allowed CPUs (Cpus_allowed_list: its affinity within its cgroup cpuset), or undefined where unreadable. */
export async function allowedCpusOfSelf(procRoot = '/proc'): Promise<number[] | undefined> {
  const path = join(procRoot, 'self', 'status');
  const text = await readText(path);
  if (text === undefined) return undefined;
  const line = text.split('\n').find((l) => l.startsWith('Cpus_allowed_list:'));
  if (!line) return undefined;
  return parseFile(path, line.slice('Cpus_allowed_list:'.length), parseCpuList);
}

interface CpuFacts {
  cpu: number;
  core?: number[];
  coreId?: number;
  pkg?: number[];
  pkgId?: number;
  die?: number[];
  caches: CacheInfo[];
}

const EMPTY_CACHE_MAP = "a cache's CPU set is empty (ia64); its core's CPUs are taken, as hwloc does";

async function readCpuFacts(cpuRoot: string, cpu: number, quirks: Quirks): Promise<CpuFacts> {
  const dir = join(cpuRoot, `cpu${cpu}`);
  const topo = join(dir, 'topology');
  const core = await readCpuSet(topo, ['core_cpus_list', 'thread_siblings_list'], ['core_cpus', 'thread_siblings'], quirks);
  const pkg = await readCpuSet(topo, ['package_cpus_list', 'core_siblings_list'], ['package_cpus', 'core_siblings'], quirks);
  const die = await readCpuSet(topo, ['die_cpus_list'], ['die_cpus'], quirks);
  const pkgId = await readInt(join(topo, 'physical_package_id'));
  const coreId = await readInt(join(topo, 'core_id'));
  const caches: CacheInfo[] = [];
  const cacheDir = join(dir, 'cache');
  for (const entry of await listDir(cacheDir)) {
    if (!/^index\d+$/.test(entry)) continue;
    const idx = join(cacheDir, entry);
    const level = await readInt(join(idx, 'level'));
    const typeRead = await readText(join(idx, 'type'));
    const typeText = typeRead === undefined ? undefined : clean(typeRead);
    if (level === undefined || (typeText !== 'Data' && typeText !== 'Instruction' && typeText !== 'Unified')) continue;
    let shared = (await readCpuSet(idx, ['shared_cpu_list'], ['shared_cpu_map'], quirks)) ?? [cpu];
    if (shared.length === 0) {
      quirks.note(EMPTY_CACHE_MAP, join(idx, 'shared_cpu_map'));
      shared = core ?? [cpu];
    }
    const info: CacheInfo = { level, type: typeText, cpus: shared.includes(cpu) ? shared : [...shared, cpu].sort((a, b) => a - b) };
    const sizeText = await readText(join(idx, 'size'));
    const size = sizeText === undefined ? undefined : parseCacheSize(clean(sizeText));
    if (size !== undefined) info.sizeKiB = size;
    const ways = await readInt(join(idx, 'ways_of_associativity'));
    if (ways !== undefined) info.ways = ways;
    const id = await readInt(join(idx, 'id'));
    if (id !== undefined) info.id = id;
    caches.push(info);
  }
  const facts: CpuFacts = { cpu, caches };
  if (core) facts.core = core;
  if (coreId !== undefined) facts.coreId = coreId;
  if (pkg) facts.pkg = pkg;
  if (die) facts.die = die;
  if (pkgId !== undefined) facts.pkgId = pkgId;
  return facts;
}

/**
 * The threads the kernel calls siblings, split by core_id: on AMD's Bulldozer family (15h, 16h)
 * older kernels list the two cores of a compute unit as thread siblings with different core ids.
 * hwloc counts them as two cores (they share L2, L1i and the FPU, but each has its own integer
 * unit); so does this reader. Where the siblings share one core_id (newer kernels), they are one core.
 */
function splitComputeUnits(set: number[], coreIdOf: Map<number, number>): number[][] {
  const byId = new Map<number, number[]>();
  for (const c of set) {
    const id = coreIdOf.get(c);
    if (id === undefined) return [set];
    const g = byId.get(id);
    if (g) g.push(c);
    else byId.set(id, [c]);
  }
  return [...byId.values()];
}

/**
 * Merge one kind of set (cores, packages, ...) into disjoint groups, noting where the kernel's sets
 * overlap without being equal: a contradiction, resolved towards bigger groups (fewer parallel jobs).
 */
function mergeNoting(kind: string, sets: number[][], universe: number[], quirks: Quirks): number[][] {
  const groups = mergeOverlapping(sets, universe);
  const inUniverse = new Set(universe);
  const distinct = new Map<string, Set<string>>();
  const groupOf = new Map<number, string>();
  for (const g of groups) for (const c of g) groupOf.set(c, cpuSetKey(g));
  for (const set of sets) {
    const mine = set.filter((c) => inUniverse.has(c));
    if (mine.length === 0) continue;
    const g = groupOf.get(mine[0] as number) as string;
    const d = distinct.get(g) ?? new Set<string>();
    d.add(cpuSetKey(mine));
    distinct.set(g, d);
  }
  for (const [g, d] of distinct) {
    if (d.size > 1) quirks.note(`${kind} CPU sets overlap without being equal; merged into one (fewer parallel jobs)`, `${[...d].join(' and ')} -> ${g}`);
  }
  return groups;
}

/** Hybrid core kinds: /sys/devices/cpu_core/cpus, /sys/devices/cpu_atom/cpus (one kind where absent). */
async function readKinds(sysfsRoot: string): Promise<Map<number, string>> {
  const kinds = new Map<number, string>();
  const devices = join(sysfsRoot, 'devices');
  for (const entry of (await listDir(devices)).sort()) {
    if (!entry.startsWith('cpu_')) continue;
    const text = await readText(join(devices, entry, 'cpus'));
    if (text === undefined) continue;
    const kind = entry.slice('cpu_'.length);
    for (const c of parseFile(join(devices, entry, 'cpus'), text, parseCpuList)) if (!kinds.has(c)) kinds.set(c, kind);
  }
  return kinds;
}

// The performance kind first: it is where a job without a kind goes first.
function kindOrder(a: string, b: string): number {
  const rank = (k: string): number => (k === 'core' ? 0 : k === DEFAULT_KIND ? 1 : 2);
  return rank(a) - rank(b) || a.localeCompare(b);
}

export async function readTopology(opts: ReadTopologyOptions = {}): Promise<Topology> {
  const sysfsRoot = opts.sysfsRoot ?? '/sys';
  const cpuRoot = join(sysfsRoot, 'devices', 'system', 'cpu');
  const dirCpus = (await listDir(cpuRoot))
    .map((e) => /^cpu(\d+)$/.exec(e))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  if (dirCpus.length === 0) throw new Error(`no CPUs under ${cpuRoot} (is sysfs mounted, is the root right?)`);

  const onlineText = await readText(join(cpuRoot, 'online'));
  let online: number[];
  if (onlineText !== undefined) {
    online = parseFile(join(cpuRoot, 'online'), onlineText, parseCpuList);
  } else {
    // Older kernels: each CPU says so itself; the boot CPU often has no online file and is always online.
    online = [];
    for (const c of dirCpus) if ((await readInt(join(cpuRoot, `cpu${c}`, 'online'))) !== 0) online.push(c);
  }
  const presentText = await readText(join(cpuRoot, 'present'));
  const present = presentText !== undefined ? parseFile(join(cpuRoot, 'present'), presentText, parseCpuList) : dirCpus;
  const onlineSet = new Set(online);
  // `possible` and the kernel's `offline` include hot-plug slots with no CPU behind them: report present ones only.
  const offline = present.filter((c) => !onlineSet.has(c));
  const isolatedText = await readText(join(cpuRoot, 'isolated'));
  const isolated = isolatedText !== undefined ? parseFile(join(cpuRoot, 'isolated'), isolatedText, parseCpuList) : [];

  let allowed = opts.allowedCpus;
  if (allowed === undefined) {
    const procRoot = opts.procRoot ?? (opts.sysfsRoot === undefined ? '/proc' : undefined);
    if (procRoot !== undefined) allowed = await allowedCpusOfSelf(procRoot);
  }
  const allowedSet = allowed ? new Set(allowed) : undefined;
  const cpus = online.filter((c) => !allowedSet || allowedSet.has(c));
  if (cpus.length === 0) {
    throw new Error(
      `no usable CPUs: online ${formatCpuList(online) || 'none'}, allowed ${allowed ? formatCpuList(allowed) || 'none' : 'all'}`,
    );
  }
  const usable = new Set(cpus);

  const quirks = new Quirks();
  const facts = await Promise.all(cpus.map((c) => readCpuFacts(cpuRoot, c, quirks)));

  // Without topology files a CPU is its own core, and CPUs of unknown package are taken as one package.
  const coreIdOf = new Map<number, number>();
  for (const f of facts) if (f.coreId !== undefined) coreIdOf.set(f.cpu, f.coreId);
  const coreSets = mergeNoting(
    'core',
    facts.flatMap((f) => splitComputeUnits(intersect(f.core ?? [f.cpu], usable), coreIdOf)),
    cpus,
    quirks,
  );
  const byPkgId = new Map<number, number[]>();
  const pkgSets: number[][] = [];
  for (const f of facts) {
    if (f.pkg) pkgSets.push(f.pkg);
    else {
      const id = f.pkgId ?? -1;
      const g = byPkgId.get(id);
      if (g) g.push(f.cpu);
      else byPkgId.set(id, [f.cpu]);
    }
  }
  const noPackage = byPkgId.get(-1);
  if (noPackage) quirks.note('the kernel names no package for some CPUs; they are taken as one package', `CPUs ${formatCpuList(noPackage)}`);
  // A core never spans packages: merge so that nesting holds even when the kernel's sets disagree.
  const ownPackages = mergeNoting('package', [...pkgSets, ...byPkgId.values()], cpus, quirks);
  const packageSets = mergeOverlapping([...ownPackages, ...coreSets], cpus);
  if (packageSets.length < ownPackages.length) {
    quirks.note('a core spans packages; the packages are merged (fewer parallel jobs)', `packages ${ownPackages.map(formatCpuList).join(' | ')}`);
  }

  const cacheByKey = new Map<string, CacheInfo>();
  for (const f of facts) {
    for (const c of f.caches) {
      const set = intersect(c.cpus, usable);
      const key = `${c.level}/${c.type}/${cpuSetKey(set)}`;
      if (!cacheByKey.has(key)) cacheByKey.set(key, { ...c, cpus: set });
    }
  }
  const caches = [...cacheByKey.values()].sort(
    (a, b) => b.level - a.level || (a.cpus[0] as number) - (b.cpus[0] as number) || a.type.localeCompare(b.type),
  );

  // The last level cache of each CPU: its highest data or unified cache, else (no caches reported) its core.
  const llcOfCpu = facts.map((f) => {
    const dataCaches = f.caches.filter((c) => c.type !== 'Instruction');
    if (dataCaches.length === 0) return coreSets.find((s) => s.includes(f.cpu)) ?? [f.cpu];
    const top = Math.max(...dataCaches.map((c) => c.level));
    return dataCaches.find((c) => c.level === top)?.cpus ?? [f.cpu];
  });
  const ownLlcs = mergeNoting('last-level cache', llcOfCpu.map((l) => intersect(l, usable)), cpus, quirks);
  const llcs = mergeOverlapping([...ownLlcs, ...coreSets], cpus);
  if (llcs.length < ownLlcs.length) quirks.note('a core spans last-level caches; they are merged (fewer parallel jobs)', `caches ${ownLlcs.map(formatCpuList).join(' | ')}`);

  const kindOf = await readKinds(sysfsRoot);
  const cores: CoreInfo[] = coreSets.map((set) => ({
    cpus: set,
    kind: kindOf.size === 0 ? DEFAULT_KIND : (kindOf.get(set[0] as number) ?? 'unknown'),
  }));
  const kinds = [...new Set(cores.map((c) => c.kind))].sort(kindOrder);

  // Dies are cut out of their package; a CPU without die files sits in a die that is its whole package.
  const packages: PackageInfo[] = packageSets.map((p) => {
    // A die of one CPU is the kernel's default on architectures without dies (ARM): no die, as for hwloc.
    const dieSets = facts.filter((f) => p.includes(f.cpu)).map((f) => intersect(f.die && f.die.length > 1 ? f.die : p, new Set(p)));
    const ownDies = mergeNoting('die', dieSets, p, quirks);
    const dies = mergeOverlapping([...ownDies, ...coreSets], p);
    if (dies.length < ownDies.length) quirks.note('a core spans dies; they are merged', `dies ${ownDies.map(formatCpuList).join(' | ')}`);
    return { cpus: p, dies };
  });

  const numaNodes: NumaNode[] = [];
  const nodeRoot = join(sysfsRoot, 'devices', 'system', 'node');
  const nodeDirs = (await listDir(nodeRoot)).filter((e) => /^node\d+$/.test(e));
  for (const entry of nodeDirs) {
    const m = /^node(\d+)$/.exec(entry);
    if (!m) continue;
    const set = await readCpuSet(join(nodeRoot, entry), ['cpulist'], ['cpumap'], quirks);
    const mine = intersect(set ?? [], usable);
    // Memory-only nodes (no CPUs here) cannot hold a job's CPUs.
    if (mine.length > 0) numaNodes.push({ id: Number(m[1]), cpus: mine });
  }
  numaNodes.sort((a, b) => a.id - b.id);
  if (numaNodes.length === 0) {
    // No node directories at all is a kernel without NUMA: one node, nothing odd.
    if (nodeDirs.length > 0) quirks.note('no NUMA node lists any usable CPU; all CPUs are taken as node 0', nodeRoot);
    numaNodes.push({ id: 0, cpus: [...cpus] });
  }
  // A CPU in two nodes (buggy firmware): both are kept, so its jobs may use either node's memory
  // rather than be confined to one that may not be theirs.
  const nodesOf = new Map<number, number[]>();
  for (const n of numaNodes) for (const c of n.cpus) nodesOf.set(c, [...(nodesOf.get(c) ?? []), n.id]);
  const shared = cpus.filter((c) => (nodesOf.get(c)?.length ?? 0) > 1);
  if (shared.length > 0) {
    quirks.note('CPUs belong to more than one NUMA node; their jobs may use the memory of all of them', `CPUs ${formatCpuList(shared)}`);
  }
  // CPUs in no node (their node offline, or memoryless layouts): their jobs get no memory-node
  // restriction, which is what a cpuset without a node of its own amounts to.
  const orphans = cpus.filter((c) => !nodesOf.has(c));
  if (orphans.length > 0) {
    quirks.note('CPUs belong to no NUMA node; their jobs are not confined to any memory node', `CPUs ${formatCpuList(orphans)} under ${nodeRoot}`);
  }

  return { cpus, offline, isolated, packages, cores, caches, numaNodes, llcs, kinds, warnings: quirks.lines() };
}

/** A plain object for `--json` output and for the results database's host facts. */
export function topologyJson(t: Topology): Record<string, unknown> {
  // CPU sets as arrays of CPU numbers (machine-readable); `cpuList` repeats the host's set as text.
  return {
    cpus: [...t.cpus],
    cpuList: formatCpuList(t.cpus),
    offline: [...t.offline],
    isolated: [...t.isolated],
    kinds: t.kinds,
    packages: t.packages.map((p) => ({ cpus: [...p.cpus], dies: p.dies.map((d) => [...d]) })),
    cores: t.cores.map((c) => ({ cpus: [...c.cpus], kind: c.kind })),
    caches: t.caches.map((c) => ({
      level: c.level,
      type: c.type,
      ...(c.sizeKiB !== undefined ? { sizeKiB: c.sizeKiB } : {}),
      ...(c.ways !== undefined ? { ways: c.ways } : {}),
      ...(c.id !== undefined ? { id: c.id } : {}),
      cpus: [...c.cpus],
    })),
    llcs: t.llcs.map((l) => [...l]),
    numaNodes: t.numaNodes.map((n) => ({ id: n.id, cpus: [...n.cpus] })),
    warnings: [...t.warnings],
  };
}

function sizeText(kib: number | undefined): string {
  if (kib === undefined) return '';
  if (kib >= 1024 && kib % 1024 === 0) return ` ${kib / 1024} MiB`;
  return ` ${kib} KiB`;
}

/** Readable text: packages > last-level caches > cores > CPUs, then how many jobs of each level and size fit at once. */
export function formatTopology(t: Topology, capacity: CapacityRow[] = []): string {
  const lines: string[] = [];
  const list = (s: number[]): string => formatCpuList(s) || 'none';
  lines.push(`CPUs ${list(t.cpus)} (${t.cpus.length} usable; offline: ${list(t.offline)}; isolated: ${list(t.isolated)})`);
  if (t.kinds.length > 1) {
    for (const k of t.kinds) lines.push(`  kind ${k}: CPUs ${list(t.cores.filter((c) => c.kind === k).flatMap((c) => c.cpus))}`);
  }
  lines.push(`NUMA nodes: ${t.numaNodes.map((n) => `${n.id} (CPUs ${list(n.cpus)})`).join(', ')}`);
  t.packages.forEach((p, pi) => {
    const dies = p.dies.length > 1 ? `, ${p.dies.length} dies: ${p.dies.map(list).join(' | ')}` : '';
    lines.push(`Package ${pi}: CPUs ${list(p.cpus)}${dies}`);
    const inPkg = new Set(p.cpus);
    for (const llc of t.llcs.filter((l) => inPkg.has(l[0] as number))) {
      const key = cpuSetKey(llc);
      const cache = t.caches.find((c) => c.type !== 'Instruction' && cpuSetKey(c.cpus) === key);
      const name = cache ? `L${cache.level}${sizeText(cache.sizeKiB)}` : 'no cache reported';
      lines.push(`  ${name}: CPUs ${list(llc)}`);
      const inLlc = new Set(llc);
      const cores = t.cores.filter((c) => inLlc.has(c.cpus[0] as number));
      const kinded = t.kinds.length > 1;
      const text = cores.map((c) => `[${c.cpus.join(',')}${kinded ? ` ${c.kind}` : ''}]`);
      for (let i = 0; i < text.length; i += 8) lines.push(`    cores ${text.slice(i, i + 8).join(' ')}`);
    }
  });
  for (const w of t.warnings) lines.push(`warning: ${w}`);
  if (capacity.length > 0) {
    const sizes = [...new Set(capacity.map((r) => r.cores))].sort((a, b) => a - b);
    const levels = [...new Set(capacity.map((r) => r.isolation))];
    lines.push('Jobs that fit at once (rows: isolation, columns: CPUs per job):');
    const head = ['isolation'.padEnd(10), ...sizes.map((s) => String(s).padStart(6))].join('');
    lines.push(`  ${head}`);
    for (const lv of levels) {
      const cells = sizes.map((s) => {
        const row = capacity.find((r) => r.isolation === lv && r.cores === s);
        return String(row ? row.jobs : '-').padStart(6);
      });
      lines.push(`  ${lv.padEnd(10)}${cells.join('')}`);
    }
  }
  return lines.join('\n');
}
