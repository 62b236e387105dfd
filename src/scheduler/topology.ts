// The CPU topology of this host as the kernel presents it under /sys/devices/system/cpu:
// packages, dies, physical cores, caches, NUMA nodes and hybrid core kinds. Everything is keyed
// by CPU sets (cpuSetKey), never by the kernel's ids: core ids repeat across packages and within
// them (AMD), ids can be sparse, and offline CPUs may have no topology directory at all.
//
// Every set in the model holds only usable CPUs (online, and allowed to this process), so the
// allocator never has to filter. A core whose sibling is not usable therefore appears smaller.

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

/** A CPU set from the list file, or the mask file that older kernels have instead. */
async function readCpuSet(dir: string, listNames: string[], maskNames: string[]): Promise<number[] | undefined> {
  for (const name of listNames) {
    const text = await readText(join(dir, name));
    if (text !== undefined) return parseFile(join(dir, name), text, parseCpuList);
  }
  for (const name of maskNames) {
    const text = await readText(join(dir, name));
    if (text !== undefined && text.trim() !== '') return parseFile(join(dir, name), text, parseCpuMask);
  }
  return undefined;
}

function parseFile(path: string, text: string, parse: (t: string) => number[]): number[] {
  try {
    return parse(text);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

async function readInt(path: string): Promise<number | undefined> {
  const text = await readText(path);
  if (text === undefined || text.trim() === '') return undefined;
  const v = Number(text.trim());
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
  pkg?: number[];
  pkgId?: number;
  die?: number[];
  caches: CacheInfo[];
}

async function readCpuFacts(cpuRoot: string, cpu: number): Promise<CpuFacts> {
  const dir = join(cpuRoot, `cpu${cpu}`);
  const topo = join(dir, 'topology');
  const core = await readCpuSet(topo, ['core_cpus_list', 'thread_siblings_list'], ['core_cpus', 'thread_siblings']);
  const pkg = await readCpuSet(topo, ['package_cpus_list', 'core_siblings_list'], ['package_cpus', 'core_siblings']);
  const die = await readCpuSet(topo, ['die_cpus_list'], ['die_cpus']);
  const pkgId = await readInt(join(topo, 'physical_package_id'));
  const caches: CacheInfo[] = [];
  const cacheDir = join(dir, 'cache');
  for (const entry of await listDir(cacheDir)) {
    if (!/^index\d+$/.test(entry)) continue;
    const idx = join(cacheDir, entry);
    const level = await readInt(join(idx, 'level'));
    const typeText = (await readText(join(idx, 'type')))?.trim();
    if (level === undefined || (typeText !== 'Data' && typeText !== 'Instruction' && typeText !== 'Unified')) continue;
    const shared = (await readCpuSet(idx, ['shared_cpu_list'], ['shared_cpu_map'])) ?? [cpu];
    const info: CacheInfo = { level, type: typeText, cpus: shared.includes(cpu) ? shared : [...shared, cpu].sort((a, b) => a - b) };
    const sizeText = await readText(join(idx, 'size'));
    const size = sizeText === undefined ? undefined : parseCacheSize(sizeText);
    if (size !== undefined) info.sizeKiB = size;
    const ways = await readInt(join(idx, 'ways_of_associativity'));
    if (ways !== undefined) info.ways = ways;
    const id = await readInt(join(idx, 'id'));
    if (id !== undefined) info.id = id;
    caches.push(info);
  }
  const facts: CpuFacts = { cpu, caches };
  if (core) facts.core = core;
  if (pkg) facts.pkg = pkg;
  if (die) facts.die = die;
  if (pkgId !== undefined) facts.pkgId = pkgId;
  return facts;
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

  const facts = await Promise.all(cpus.map((c) => readCpuFacts(cpuRoot, c)));

  // Without topology files a CPU is its own core, and CPUs of unknown package are taken as one package.
  const coreSets = mergeOverlapping(
    facts.map((f) => f.core ?? [f.cpu]),
    cpus,
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
  // A core never spans packages: merge so that nesting holds even when the kernel's sets disagree.
  const packageSets = mergeOverlapping([...pkgSets, ...byPkgId.values(), ...coreSets], cpus);

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
  const llcs = mergeOverlapping([...llcOfCpu, ...coreSets], cpus);

  const kindOf = await readKinds(sysfsRoot);
  const cores: CoreInfo[] = coreSets.map((set) => ({
    cpus: set,
    kind: kindOf.size === 0 ? DEFAULT_KIND : (kindOf.get(set[0] as number) ?? 'unknown'),
  }));
  const kinds = [...new Set(cores.map((c) => c.kind))].sort(kindOrder);

  // Dies are cut out of their package; a CPU without die files sits in a die that is its whole package.
  const packages: PackageInfo[] = packageSets.map((p) => {
    const dieSets = facts.filter((f) => p.includes(f.cpu)).map((f) => f.die ?? p);
    return { cpus: p, dies: mergeOverlapping([...dieSets, ...coreSets], p) };
  });

  const numaNodes: NumaNode[] = [];
  const nodeRoot = join(sysfsRoot, 'devices', 'system', 'node');
  for (const entry of await listDir(nodeRoot)) {
    const m = /^node(\d+)$/.exec(entry);
    if (!m) continue;
    const set = await readCpuSet(join(nodeRoot, entry), ['cpulist'], ['cpumap']);
    const mine = intersect(set ?? [], usable);
    // Memory-only nodes (no CPUs here) cannot hold a job's CPUs.
    if (mine.length > 0) numaNodes.push({ id: Number(m[1]), cpus: mine });
  }
  numaNodes.sort((a, b) => a.id - b.id);
  if (numaNodes.length === 0) numaNodes.push({ id: 0, cpus: [...cpus] });
  const covered = new Set(numaNodes.flatMap((n) => n.cpus));
  const orphans = cpus.filter((c) => !covered.has(c));
  if (orphans.length > 0) throw new Error(`CPUs ${formatCpuList(orphans)} belong to no NUMA node under ${nodeRoot}`);

  return { cpus, offline, isolated, packages, cores, caches, numaNodes, llcs, kinds };
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
