// The sysfs snapshots of real machines from hwloc's own test suite (tests/hwloc/linux), with hwloc's
// view of each, unpacked into a temporary directory, and readers of hwloc's answers: lstopo's text
// (NAME.console) and its XML (NAME.xml). They are not ours and are not committed: they are read
// where the workplace keeps them, ../shared/fixtures/topologies beside the repository, or in the
// folder WAYFINDER_FIXTURES names (hwloc's own tests/hwloc/linux, for every snapshot).
//
// Where the folder has hwloc's NAME.test descriptors (source tarball, target, lstopo options, env
// lines), each test is one comparison; a folder without them (the shared fixtures) has one test
// per tarball, against NAME.console with lstopo's default options.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCpuList, parseCpuMask } from '../../src/util/cpulist.js';

export const FIXTURES =
  process.env.WAYFINDER_FIXTURES ?? fileURLToPath(new URL('../../../shared/fixtures/topologies', import.meta.url));

// Every test that needs them fails, in CI and elsewhere, with this one plain reason: never a skip.
if (!existsSync(join(FIXTURES, '8em64t-2s2ca2c.tar.bz2'))) {
  throw new Error(
    `the hwloc topology snapshots are not at ${FIXTURES}: they are hwloc's (tests/hwloc/linux), kept in shared/fixtures/topologies ` +
      'beside the repository, not in it; set WAYFINDER_FIXTURES to the folder that holds them',
  );
}

export interface Snapshot {
  /** The tarball's name without .tar.bz2. */
  name: string;
  /** The unpacked snapshot's root; its sys/ is the sysfs root. */
  root: string;
}

/** The tarballs (hwloc's test sources), by name. */
export function snapshotNames(): string[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.tar.bz2'))
    .map((f) => f.slice(0, -'.tar.bz2'.length))
    .sort();
}

/** Unpack every snapshot (each into its own directory: some unpack under a name other than the file's). */
export function unpackAll(): { snapshots: Map<string, Snapshot>; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'wf-topo-'));
  const snapshots = new Map<string, Snapshot>();
  for (const name of snapshotNames()) {
    const into = join(dir, name);
    execFileSync('mkdir', ['-p', into]);
    execFileSync('tar', ['xjf', join(FIXTURES, `${name}.tar.bz2`), '-C', into]);
    const top = readdirSync(into);
    if (top.length !== 1) throw new Error(`${name}.tar.bz2 should unpack to one directory, got ${top.join(', ')}`);
    snapshots.set(name, { name, root: join(into, top[0] as string) });
  }
  return { snapshots, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

// lstopo options that leave the objects compared here (PUs, cores, packages, dies, data caches, NUMA
// nodes) as they are: verbose text to stdout, no instruction caches, every I/O object.
const NEUTRAL_OPTIONS = new Set(['-', '-v', '--no-icaches', '--whole-io']);

export interface HwlocTest {
  /** The test's name: NAME of NAME.test, or the tarball's name where there are no descriptors. */
  name: string;
  /** The snapshot (tarball name without .tar.bz2). */
  source: string;
  /** The expected output's file name (NAME.console or NAME.xml). */
  target: string;
  options: string;
  /** `VAR=value` lines of the descriptor (its `export` lines left out). */
  env: string[];
  /** Why it is not compared: options that change what hwloc prints. Undefined where it is compared. */
  leftOut?: string;
}

function descriptor(name: string, text: string): HwlocTest {
  const field = (key: string): string[] =>
    text
      .split('\n')
      .map((l) => new RegExp(`^${key}:\\s*(.*)$`).exec(l)?.[1]?.trim())
      .filter((v): v is string => v !== undefined && v !== '');
  const source = field('source')[0];
  const target = field('target')[0];
  if (source === undefined || target === undefined) throw new Error(`${join(FIXTURES, `${name}.test`)}: no source: or target: line`);
  const options = field('options')[0] ?? '-v -';
  const changing = options.split(/\s+/).filter((o) => o !== '' && !NEUTRAL_OPTIONS.has(o));
  const test: HwlocTest = {
    name,
    source: source.replace(/\.tar\.bz2$/, ''),
    target,
    options,
    env: field('env').filter((l) => !l.startsWith('export ')),
  };
  if (changing.length > 0) test.leftOut = `lstopo ${changing.join(' ')} changes the objects it prints`;
  return test;
}

/** hwloc's tests in the folder: from its .test descriptors, else one per tarball against NAME.console. */
export function hwlocTests(): HwlocTest[] {
  const files = readdirSync(FIXTURES);
  const descriptors = files.filter((f) => f.endsWith('.test')).sort();
  if (descriptors.length > 0) {
    return descriptors.map((f) => descriptor(f.slice(0, -'.test'.length), readFileSync(join(FIXTURES, f), 'utf8')));
  }
  return snapshotNames().map((name) => ({ name, source: name, target: `${name}.console`, options: '-v -', env: [] }));
}

export interface HwlocAnswer {
  pus: number[];
  packages: number[][];
  dies: number[][];
  cores: number[][];
  /** Data/unified caches by level (instruction caches left out). */
  caches: Map<number, number[][]>;
  numa: { id: number; cpus: number[] }[];
}

/** hwloc's answer for a test, from its .console or .xml target. */
export function hwlocAnswer(test: HwlocTest): HwlocAnswer {
  const text = readFileSync(join(FIXTURES, test.target), 'utf8');
  return test.target.endsWith('.xml') ? parseXml(text) : parseConsole(text);
}

// Objects that hold no PU (a package or cache hwloc keeps for the memory of a node whose CPUs the
// cgroup disallows) offer no CPU a job could get, so they are not counted.
function addSet(sets: number[][], pus: number[]): void {
  if (pus.length > 0) sets.push(pus);
}

function empty(): HwlocAnswer {
  return { pus: [], packages: [], dies: [], cores: [], caches: new Map(), numa: [] };
}

interface Node {
  type: string;
  p?: number;
  depth: number;
  children: Node[];
  pus: number[];
}

/**
 * Read lstopo's console text: objects nest by indentation; an object's CPUs are its PUs' P#. A NUMA
 * node's CPUs are those of the object it hangs from, past any memory-side cache (MemCache) above it.
 */
export function parseConsole(text: string): HwlocAnswer {
  const rootNode: Node = { type: 'Root', depth: -1, children: [], pus: [] };
  const stack: Node[] = [rootNode];
  for (const line of text.split('\n')) {
    if (/^\s*depth \d+:/.test(line) || line.startsWith('Special depth')) break;
    // "NUMANode(HBM) L#3 (P#4 ...)", "Group0(Drawer) L#0", "OSDev[Network] ...": the subtype is not the type.
    const m = /^( *)([A-Za-z][A-Za-z0-9]*)(?:\([^)]*\)|\[[^\]]*\])*(?: L#\d+)?(?: \(P#(\d+))?/.exec(line);
    if (!m) continue;
    const node: Node = { type: m[2] as string, depth: (m[1] as string).length, children: [], pus: [] };
    if (m[3] !== undefined) node.p = Number(m[3]);
    while ((stack[stack.length - 1] as Node).depth >= node.depth) stack.pop();
    (stack[stack.length - 1] as Node).children.push(node);
    stack.push(node);
  }
  const fill = (n: Node): number[] => {
    if (n.type === 'PU') n.pus = [n.p as number];
    else n.pus = n.children.flatMap(fill).sort((a, b) => a - b);
    return n.pus;
  };
  fill(rootNode);
  const out = empty();
  out.pus = rootNode.pus;
  const walk = (n: Node, parent: Node): void => {
    const cache = /^L(\d)(d|i|)Cache$/.exec(n.type);
    if (n.type === 'Package') addSet(out.packages, n.pus);
    else if (n.type === 'Die') addSet(out.dies, n.pus);
    else if (n.type === 'Core') addSet(out.cores, n.pus);
    else if (n.type === 'NUMANode') out.numa.push({ id: n.p as number, cpus: parent.pus });
    else if (cache && cache[2] !== 'i') {
      const level = Number(cache[1]);
      const sets = out.caches.get(level) ?? [];
      addSet(sets, n.pus);
      if (sets.length > 0) out.caches.set(level, sets);
    }
    // A memory-side cache sits between a NUMA node and the object the node's locality is.
    for (const c of n.children) walk(c, n.type === 'MemCache' ? parent : n);
  };
  for (const c of rootNode.children) walk(c, rootNode);
  return out;
}

/** hwloc's bitmap text ("0x000000ff,0xffffffff") as CPU numbers. */
function parseHwlocSet(text: string): number[] {
  if (/f\.\.\.f/.test(text)) throw new Error(`an infinite hwloc set "${text}" is not a CPU set`);
  return parseCpuMask(text.replace(/0x/g, ''));
}

/**
 * Read hwloc's XML export: every <object> with its type, os_index and cpuset. Caches are
 * LNCache objects (cache_type 2 is an instruction cache), or L1iCache and the like.
 */
export function parseXml(text: string): HwlocAnswer {
  const out = empty();
  for (const m of text.matchAll(/<object\s([^>]*?)\/?>/g)) {
    const attrs = new Map<string, string>();
    for (const a of (m[1] as string).matchAll(/([a-z_]+)="([^"]*)"/g)) attrs.set(a[1] as string, a[2] as string);
    const type = attrs.get('type') ?? '';
    const cpusetText = attrs.get('cpuset');
    const cpus = cpusetText === undefined ? [] : parseHwlocSet(cpusetText);
    const cache = /^L(\d)(i?)Cache$/.exec(type);
    if (type === 'Machine') out.pus = cpus;
    else if (type === 'Package') addSet(out.packages, cpus);
    else if (type === 'Die') addSet(out.dies, cpus);
    else if (type === 'Core') addSet(out.cores, cpus);
    else if (type === 'NUMANode') out.numa.push({ id: Number(attrs.get('os_index')), cpus });
    else if (cache && cache[2] === '' && attrs.get('cache_type') !== '2') {
      const level = Number(cache[1]);
      const sets = out.caches.get(level) ?? [];
      addSet(sets, cpus);
      if (sets.length > 0) out.caches.set(level, sets);
    }
  }
  return out;
}

/**
 * The CPUs the snapshot's cgroup cpuset allows, as the kernel would put them in that machine's
 * /proc/self/status (Cpus_allowed_list), which the snapshots do not keep: the cpuset named in
 * proc/self/cpuset, under the cpuset hierarchy proc/mounts names. Undefined where there is none.
 */
export function snapshotAllowedCpus(root: string): number[] | undefined {
  const read = (path: string): string | undefined => (existsSync(join(root, path)) ? readFileSync(join(root, path), 'utf8') : undefined);
  const name = read('proc/self/cpuset')?.trim();
  const mounts = read('proc/mounts');
  if (name === undefined || mounts === undefined) return undefined;
  for (const line of mounts.split('\n')) {
    const [, mnt, fstype, opts = ''] = line.split(/\s+/);
    if (mnt === undefined) continue;
    const options = opts.split(',');
    let file: string | undefined;
    if (fstype === 'cpuset') file = 'cpus';
    else if (fstype === 'cgroup' && options.includes('cpuset')) file = options.includes('noprefix') ? 'cpus' : 'cpuset.cpus';
    else if (fstype === 'cgroup2') file = 'cpuset.cpus.effective';
    if (file === undefined) continue;
    const text = read(join(mnt, name, file));
    if (text !== undefined) return parseCpuList(text);
  }
  return undefined;
}

/** Unpacking and removing the snapshots' files (~22,000 for the shared ones) takes most of a minute on a busy disk. */
export const UNPACK_TIMEOUT_MS = 300_000;
