// The sysfs snapshots of real machines from hwloc's own test suite, with hwloc's view of each, unpacked
// into a temporary directory, and a reader of hwloc's lstopo text (NAME.console), the expected answer
// for each. They are not ours and are not committed: they are read where the workplace keeps them,
// ../shared/fixtures/topologies beside the repository (WAYFINDER_FIXTURES names another folder).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  /** The fixture's name (its .tar.bz2 and .console). */
  name: string;
  /** The unpacked snapshot's root; its sys/ is the sysfs root. */
  root: string;
  console: string;
}

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
    snapshots.set(name, {
      name,
      root: join(into, top[0] as string),
      console: readFileSync(join(FIXTURES, `${name}.console`), 'utf8'),
    });
  }
  return { snapshots, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface HwlocAnswer {
  pus: number[];
  packages: number[][];
  dies: number[][];
  cores: number[][];
  /** Data/unified caches by level (L1i left out). */
  caches: Map<number, number[][]>;
  numa: { id: number; cpus: number[] }[];
}

interface Node {
  type: string;
  p?: number;
  depth: number;
  children: Node[];
  pus: number[];
}

/** Read lstopo's console text: objects nest by indentation; an object's CPUs are its PUs' P#. */
export function parseConsole(text: string): HwlocAnswer {
  const rootNode: Node = { type: 'Root', depth: -1, children: [], pus: [] };
  const stack: Node[] = [rootNode];
  for (const line of text.split('\n')) {
    if (/^\s*depth \d+:/.test(line) || line.startsWith('Special depth')) break;
    const m = /^( *)([A-Za-z0-9]+)(?: L#\d+)?(?: \(P#(\d+))?/.exec(line);
    if (!m || (m[2] as string) === '') continue;
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
  const out: HwlocAnswer = { pus: rootNode.pus, packages: [], dies: [], cores: [], caches: new Map(), numa: [] };
  const walk = (n: Node, parent: Node): void => {
    const cache = /^L(\d)(d|i|)Cache$/.exec(n.type);
    if (n.type === 'Package') out.packages.push(n.pus);
    else if (n.type === 'Die') out.dies.push(n.pus);
    else if (n.type === 'Core') out.cores.push(n.pus);
    else if (n.type === 'NUMANode') out.numa.push({ id: n.p as number, cpus: parent.pus });
    else if (cache && cache[2] !== 'i') {
      const level = Number(cache[1]);
      out.caches.set(level, [...(out.caches.get(level) ?? []), n.pus]);
    }
    for (const c of n.children) walk(c, n);
  };
  for (const c of rootNode.children) walk(c, rootNode);
  return out;
}

/** Unpacking and removing the ~22,000 files of the snapshots takes most of a minute on a busy disk. */
export const UNPACK_TIMEOUT_MS = 300_000;
