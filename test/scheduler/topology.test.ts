import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Allocator, capacityTable } from '../../src/scheduler/allocator.js';
import {
  allowedCpusOfSelf,
  formatTopology,
  readTopology,
  topologyJson,
  type Topology,
} from '../../src/scheduler/topology.js';
import { cpuSetKey, formatCpuMask, parseCpuList } from '../../src/util/cpulist.js';
import {
  FIXTURES,
  hwlocAnswer,
  hwlocTests,
  snapshotAllowedCpus,
  unpackAll,
  type HwlocAnswer,
  type Snapshot,
  UNPACK_TIMEOUT_MS,
} from './snapshots.js';

const keys = (sets: number[][]): string[] => sets.map((s) => cpuSetKey(s)).sort();

let snapshots: Map<string, Snapshot>;
let cleanup: () => void;
let scratch: string;

beforeAll(() => {
  ({ snapshots, cleanup } = unpackAll());
  scratch = mkdtempSync(join(tmpdir(), 'wf-topo-edit-'));
}, UNPACK_TIMEOUT_MS);
afterAll(() => {
  cleanup();
  rmSync(scratch, { recursive: true, force: true });
}, UNPACK_TIMEOUT_MS);

function snap(name: string): Snapshot {
  const s = snapshots.get(name);
  if (!s) throw new Error(`no snapshot ${name}`);
  return s;
}

async function topoOf(name: string): Promise<Topology> {
  return readTopology({ sysfsRoot: join(snap(name).root, 'sys') });
}

// What is compared with hwloc: the CPUs jobs may get, cores, packages, the last level of data or
// unified cache (its level and its CPU sets), dies, and NUMA nodes (id and the CPUs they are near).
const FIELDS = ['cpus', 'cores', 'packages', 'llc', 'dies', 'numa'] as const;
type Field = (typeof FIELDS)[number];

function ourFields(t: Topology): Record<Field, string[]> {
  const top = Math.max(0, ...t.caches.filter((c) => c.type !== 'Instruction').map((c) => c.level));
  return {
    cpus: [cpuSetKey(t.cpus)],
    cores: keys(t.cores.map((c) => c.cpus)),
    packages: keys(t.packages.map((p) => p.cpus)),
    llc: [`L${top}`, ...keys(t.caches.filter((c) => c.level === top && c.type !== 'Instruction').map((c) => c.cpus))],
    dies: keys(t.packages.flatMap((p) => p.dies)),
    numa: t.numaNodes.map((n) => `${n.id}: ${cpuSetKey(n.cpus)}`).sort(),
  };
}

function hwlocFields(hw: HwlocAnswer): Record<Field, string[]> {
  const top = Math.max(0, ...hw.caches.keys());
  return {
    cpus: [cpuSetKey(hw.pus)],
    cores: keys(hw.cores),
    packages: keys(hw.packages),
    llc: [`L${top}`, ...keys(hw.caches.get(top) ?? [])],
    // hwloc shows no Die where a die is its package (or the kernel has none): ours is then the package.
    dies: keys(hw.dies.length > 0 ? hw.dies : hw.packages.length > 0 ? hw.packages : [hw.pus]),
    numa: hw.numa.map((n) => `${n.id}: ${cpuSetKey(n.cpus)}`).sort(),
  };
}

const MEMORY_ONLY =
  'memory-only NUMA nodes (no CPUs of their own): hwloc shows them where their memory is near; ours are the nodes that hold CPUs, ' +
  'since a job is placed by its CPUs (its cpuset may still use every memory node the host allows)';

/**
 * Where the reader deliberately differs from hwloc, by test name: the fields that differ and why.
 * Every other field of every test must agree; a listed field must differ (so a difference that
 * appears, or one that disappears, fails). docs/isolation.md has the same table.
 */
const DISAGREEMENTS: Record<string, { fields: Field[]; why: string }> = {
  '128ia64-17n4s2c': { fields: ['numa'], why: `${MEMORY_ONLY} (node 16 has no CPU)` },
  '16amd64-8n2c-cpusets': {
    fields: ['numa'],
    why: "hwloc also applies the cgroup's memory nodes (1-4): it keeps node 4, whose CPUs are all disallowed, and drops nodes 0, 6 and 7, whose memory is; ours are the nodes of the allowed CPUs",
  },
  '16amd64-8n2c-cpusets-xml': { fields: ['numa'], why: 'as 16amd64-8n2c-cpusets (same snapshot, XML target)' },
  '2ps3-2t': {
    fields: ['packages'],
    why: 'the kernel names no package (PS3): hwloc shows none; ours is one package of all CPUs (its one die), with a warning',
  },
  '32amd64-4s2n4c-cgroup2': {
    fields: ['numa'],
    why: "hwloc keeps nodes 2-5 for the memory the cgroup allows though it allows none of their CPUs; ours are the nodes of the allowed CPUs",
  },
  '40intel64-4n10c+pci-conflicts': {
    fields: ['packages', 'llc', 'dies'],
    why:
      "the snapshot's masks were edited to contradict each other (CPU 3's package and CPU 2's L3 are 0-3): hwloc drops the objects that conflict " +
      '(the 4th package, the 3rd L3); ours warns and merges the contradicting sets into one package and one last-level domain (fewer parallel jobs)',
  },
  '4fake-4gr1nu1pu': {
    fields: ['cores', 'numa'],
    why:
      'the fake tree has no core files: hwloc shows PUs without cores, ours takes each CPU as its own core; NUMA: hwloc applies the cgroup\'s ' +
      'memory nodes (0, 2) and keeps node 2 whose only CPU is disallowed; ours are the nodes of the allowed CPUs (0, 1)',
  },
  '8em64t-2s2ca2c-buggynuma': {
    fields: ['numa'],
    why: "all 8 nodes list every CPU (firmware bug): hwloc keeps node 0 and drops the others; ours keeps all 8 with a warning, so jobs are not confined to node 0's memory",
  },
  fakeheterocpunuma: { fields: ['numa'], why: `${MEMORY_ONLY} (node 2)` },
  fakeheteromemtiers: { fields: ['numa'], why: `${MEMORY_ONLY} (HBM and NVM nodes 4, 6, 8)` },
  'fakememinitiators-1np2c+1npp+gi': {
    fields: ['numa'],
    why: 'nodes 0-3 have CPUs and no memory, 5-10 memory and no CPUs: hwloc hides the CPU-only nodes and places the memory nodes by their initiators; ours are the nodes that list CPUs (0-3)',
  },
  'nvidiagpunumanodes-kept': { fields: ['numa'], why: `${MEMORY_ONLY} (GPU memory nodes 250-255, kept by HWLOC_KEEP_NVIDIA_GPU_NUMA_NODES=1)` },
};

/** Tests whose snapshot has a cgroup cpuset that disallows CPUs: compared given those CPUs, as the machine's /proc/self/status would give them. */
const CGROUP_RESTRICTED = ['16amd64-8n2c-cpusets', '16amd64-8n2c-cpusets-xml', '16em64t-4s2ca2c-cpusetreorder', '32amd64-4s2n4c-cgroup2', '4fake-4gr1nu1pu'];

/** hwloc's tests whose lstopo options change the objects it prints (--merge, --filter, --no-caches, --disallowed). */
const LEFT_OUT = [
  '16amd64-4n4c-cgroup-distance-merge',
  '16amd64-8n2c-cpusets-disallowed',
  '16em64t-4s2c2t-merge',
  '16em64t-4s2c2t-nocaches',
  '16em64t-4s2ca2c-cpusetreorder-merge',
];

describe("readTopology against hwloc's tests on every snapshot", () => {
  const tests = hwlocTests();
  const names = tests.map((t) => t.name);
  const descriptors = readdirSync(FIXTURES).some((f) => f.endsWith('.test'));

  it('finds the snapshots the fixtures README lists', () => {
    expect(names).toEqual(
      expect.arrayContaining([
        '16em64t-4s2c2t',
        '16em64t-4s2c2t-offlines',
        '48amd64-4pa2n6c-sparse',
        '96em64t-4no4pa3ca2co',
        'fakecpuid1f-64intel64-2p4d2n2c2t',
        '2arm-2c',
      ]),
    );
  });

  it("leaves out exactly the tests whose lstopo options change what hwloc prints, and the tables name only tests that exist", () => {
    expect(tests.filter((t) => t.leftOut !== undefined).map((t) => t.name)).toEqual(descriptors ? LEFT_OUT : []);
    const tabled = [...Object.keys(DISAGREEMENTS), ...CGROUP_RESTRICTED, ...LEFT_OUT];
    // With hwloc's descriptors every entry must name one of its tests; the shared fixtures agree everywhere.
    if (descriptors) expect(tabled.filter((n) => !names.includes(n))).toEqual([]);
    else expect(names.filter((n) => tabled.includes(n))).toEqual([]);
  });

  for (const test of tests.filter((t) => t.leftOut === undefined)) {
    const differs = DISAGREEMENTS[test.name]?.fields ?? [];
    const what = differs.length === 0 ? 'all agree' : `${FIELDS.filter((f) => !differs.includes(f)).join(', ')} agree; ${differs.join(', ')} differ as documented`;
    it(`${test.name} (${test.target}): ${what}`, async () => {
      const s = snap(test.source);
      const sysfsRoot = join(s.root, 'sys');
      const allowed = snapshotAllowedCpus(s.root);
      const free = await readTopology({ sysfsRoot });
      // hwloc honours the snapshot's cgroup cpuset; a running wayfinder gets the same from /proc/self/status.
      const restricted = allowed !== undefined && free.cpus.some((c) => !allowed.includes(c));
      expect(restricted, 'the cgroup disallows CPUs').toBe(CGROUP_RESTRICTED.includes(test.name));
      const t = restricted ? await readTopology({ sysfsRoot, allowedCpus: allowed }) : free;
      const hw = hwlocAnswer(test);
      expect(hw.pus.length).toBeGreaterThan(0);
      if (restricted) expect(free.cpus.length).toBeGreaterThan(hw.pus.length);
      const ours = ourFields(t);
      const theirs = hwlocFields(hw);
      for (const f of FIELDS) {
        if (differs.includes(f)) expect(ours[f], `${f} should differ: ${DISAGREEMENTS[test.name]?.why ?? ''}`).not.toEqual(theirs[f]);
        else expect(ours[f], f).toEqual(theirs[f]);
      }

      // Structure the allocator relies on: every usable CPU in exactly one core, LLC, package.
      for (const sets of [t.cores.map((c) => c.cpus), t.llcs, t.packages.map((p) => p.cpus)]) {
        expect(sets.flat().sort((a, b) => a - b)).toEqual(t.cpus);
      }
    });
  }

  it('offline CPUs (no top-level online file, cpuN/online = 0, no topology dir) are left out and listed', async () => {
    const t = await topoOf('16em64t-4s2c2t-offlines');
    expect(t.offline).toEqual([2, 5, 13, 14]);
    expect(t.cpus).toEqual([0, 1, 3, 4, 6, 7, 8, 9, 10, 11, 12, 15]);
    // Package P#2 lost CPUs 2 and 14: its two cores have one thread left each.
    expect(t.cores.filter((c) => c.cpus.length === 1).map((c) => c.cpus[0])).toEqual([6, 10]);
    // The kernel's thread_siblings for CPU 1 is 0x202 (its sibling 9 is online; 5 and 13 are not its siblings).
    expect(t.cores.find((c) => c.cpus.includes(1))?.cpus).toEqual([1, 9]);
  });

  it('sparse AMD: core ids repeat within a package, NUMA node ids are sparse', async () => {
    const t = await topoOf('48amd64-4pa2n6c-sparse');
    expect(t.cores).toHaveLength(48);
    expect(t.packages).toHaveLength(4);
    expect(t.llcs.map((l) => l.length)).toEqual(new Array(8).fill(6));
    expect(t.numaNodes.map((n) => n.id)).toEqual([0, 1, 2, 33, 34, 45, 72, 73]);
    // CPU 0 and CPU 6 both say physical_package_id 0, core_id 0: still two cores.
    const dir = join(snap('48amd64-4pa2n6c-sparse').root, 'sys/devices/system/cpu');
    const coreId = (c: number): string => readFileSync(join(dir, `cpu${c}/topology/core_id`), 'utf8').trim();
    expect(coreId(0)).toBe(coreId(6));
    expect(t.cores.find((c) => c.cpus.includes(0))?.cpus).toEqual([0]);
  });

  it('reads caches with size, ways and id', async () => {
    const t = await topoOf('fakecpuid1f-64intel64-2p4d2n2c2t');
    const l3 = t.caches.filter((c) => c.level === 3);
    expect(l3).toHaveLength(8);
    expect(l3[0]).toMatchObject({ type: 'Unified', sizeKiB: 16384, ways: 16, id: 0, cpus: parseCpuList('0-7') });
    expect(t.caches.some((c) => c.level === 1 && c.type === 'Instruction')).toBe(true);
  });

  it('a CPU without any data cache has its own core as its last-level domain (asymmetric caches)', async () => {
    const t = await topoOf('8em64t-2s4c-asymcaches');
    // CPUs 0 and 4 report only L1 caches; the others share L2s in pairs.
    expect(keys(t.llcs)).toEqual(keys([[0], [4], [2, 6], [1, 5], [3, 7]]));
  });
});

describe('readTopology options and fallbacks', () => {
  it('restricts every set to the allowed CPUs', async () => {
    const t = await readTopology({ sysfsRoot: join(snap('32intel64-2p8co2t+8ve').root, 'sys'), allowedCpus: [0, 1, 2, 16, 8, 200] });
    expect(t.cpus).toEqual([0, 1, 2, 8, 16]);
    expect(keys(t.cores.map((c) => c.cpus))).toEqual(keys([[0, 16], [1], [2], [8]]));
    expect(keys(t.packages.map((p) => p.cpus))).toEqual(keys([[0, 1, 2, 16], [8]]));
    expect(t.numaNodes.map((n) => n.id)).toEqual([0, 1]);
  });

  it('refuses an allowed set with no online CPU, naming both', async () => {
    await expect(readTopology({ sysfsRoot: join(snap('2arm-2c').root, 'sys'), allowedCpus: [5] })).rejects.toThrow(
      /no usable CPUs: online 0-1, allowed 5/,
    );
  });

  it('says where it looked when there is no sysfs', async () => {
    await expect(readTopology({ sysfsRoot: join(scratch, 'nothing') })).rejects.toThrow(/no CPUs under .*nothing/);
  });

  it('reads Cpus_allowed_list from a proc root, and uses it when given procRoot', async () => {
    const proc = join(scratch, 'proc');
    mkdirSync(join(proc, 'self'), { recursive: true });
    writeFileSync(join(proc, 'self/status'), 'Name:\tnode\nCpus_allowed:\tf0\nCpus_allowed_list:\t4-7\nMems_allowed_list:\t0\n');
    expect(await allowedCpusOfSelf(proc)).toEqual([4, 5, 6, 7]);
    expect(await allowedCpusOfSelf(join(scratch, 'noproc'))).toBeUndefined();
    const t = await readTopology({ sysfsRoot: join(snap('8em64t-2s2ca2c').root, 'sys'), procRoot: proc });
    expect(t.cpus).toEqual([4, 5, 6, 7]);
  });

  it('falls back to the masks on kernels without *_list files', async () => {
    // Take a modern snapshot and delete every *_list file: the answer must not change.
    const copy = join(scratch, 'nolists');
    cpSync(join(snap('fakecpuid1f-64intel64-2p4d2n2c2t').root, 'sys'), copy, { recursive: true });
    const removeLists = (dir: string): number => {
      let n = 0;
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) n += removeLists(p);
        else if (e.name.endsWith('_list') || e.name === 'cpulist') {
          unlinkSync(p);
          n++;
        }
      }
      return n;
    };
    expect(removeLists(join(copy, 'devices/system'))).toBeGreaterThan(100);
    const a = topologyJson(await topoOf('fakecpuid1f-64intel64-2p4d2n2c2t'));
    const b = topologyJson(await readTopology({ sysfsRoot: copy }));
    expect(b).toEqual(a);
  });

  it('hybrid hosts: core kinds from /sys/devices/cpu_core and cpu_atom', async () => {
    const copy = join(scratch, 'hybrid');
    cpSync(join(snap('8em64t-2s2ca2c').root, 'sys'), copy, { recursive: true });
    mkdirSync(join(copy, 'devices/cpu_core'), { recursive: true });
    mkdirSync(join(copy, 'devices/cpu_atom'), { recursive: true });
    writeFileSync(join(copy, 'devices/cpu_core/cpus'), '0-3\n');
    writeFileSync(join(copy, 'devices/cpu_atom/cpus'), '4-7\n');
    const t = await readTopology({ sysfsRoot: copy });
    expect(t.kinds).toEqual(['core', 'atom']);
    expect(t.cores.filter((c) => c.kind === 'atom').flatMap((c) => c.cpus)).toEqual([4, 5, 6, 7]);
    expect(formatTopology(t)).toMatch(/kind atom: CPUs 4-7/);
  });

  it("this machine's own /sys", async () => {
    const t = await readTopology();
    const online = parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));
    const allowed = await allowedCpusOfSelf();
    expect(t.cpus).toEqual(online.filter((c) => !allowed || allowed.includes(c)));
    expect(t.cores.flatMap((c) => c.cpus).sort((a, b) => a - b)).toEqual(t.cpus);
    expect(t.packages.length).toBeGreaterThanOrEqual(1);
    expect(t.numaNodes.length).toBeGreaterThanOrEqual(1);
    // Each core's set is what the kernel says for its first CPU.
    for (const core of t.cores) {
      const c = core.cpus[0] as number;
      const list = parseCpuList(
        readFileSync(`/sys/devices/system/cpu/cpu${c}/topology/thread_siblings_list`, 'utf8'),
      ).filter((x) => t.cpus.includes(x));
      expect(core.cpus).toEqual(list);
    }
  });
});

// A sysfs tree written by the test: per CPU its thread siblings, package, core_id and caches (as
// list and mask files, as the kernel writes them), and NUMA nodes. `edit` rewrites files after.
interface TreeSpec {
  cpus: number;
  /** Thread-sibling sets (core_cpus / thread_siblings). */
  cores: number[][];
  packages: number[][];
  coreIds?: number[];
  /** Shared sets of the L3 (the last level here). */
  l3?: number[][];
  /** Node id -> its CPUs (a node directory with an empty list where the CPUs are []). */
  nodes?: Record<number, number[]>;
}

function buildTree(name: string, spec: TreeSpec): string {
  const root = join(scratch, name);
  rmSync(root, { recursive: true, force: true });
  const put = (path: string, text: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  const setOf = (sets: number[][], c: number): number[] => sets.find((s) => s.includes(c)) ?? [c];
  const both = (dir: string, list: string, mask: string, set: number[]): void => {
    put(`${dir}/${list}`, `${cpuSetKey(set)}\n`);
    put(`${dir}/${mask}`, `${formatCpuMask(set, spec.cpus)}\n`);
  };
  put('devices/system/cpu/online', `0-${spec.cpus - 1}\n`);
  put('devices/system/cpu/present', `0-${spec.cpus - 1}\n`);
  for (let c = 0; c < spec.cpus; c++) {
    const topo = `devices/system/cpu/cpu${c}/topology`;
    both(topo, 'thread_siblings_list', 'thread_siblings', setOf(spec.cores, c));
    both(topo, 'core_siblings_list', 'core_siblings', setOf(spec.packages, c));
    put(`${topo}/core_id`, `${spec.coreIds?.[c] ?? c}\n`);
    put(`${topo}/physical_package_id`, `${spec.packages.findIndex((p) => p.includes(c))}\n`);
    if (spec.l3) {
      const idx = `devices/system/cpu/cpu${c}/cache/index3`;
      put(`${idx}/level`, '3\n');
      put(`${idx}/type`, 'Unified\n');
      both(idx, 'shared_cpu_list', 'shared_cpu_map', setOf(spec.l3, c));
    }
  }
  for (const [id, cpus] of Object.entries(spec.nodes ?? {})) {
    both(`devices/system/node/node${id}`, 'cpulist', 'cpumap', cpus);
  }
  return root;
}

const twoSockets: TreeSpec = {
  cpus: 8,
  cores: [[0, 4], [1, 5], [2, 6], [3, 7]],
  packages: [[0, 1, 4, 5], [2, 3, 6, 7]],
  coreIds: [0, 1, 0, 1, 0, 1, 0, 1],
  l3: [[0, 1, 4, 5], [2, 3, 6, 7]],
  nodes: { 0: [0, 1, 4, 5], 1: [2, 3, 6, 7] },
};

describe('quirks of real machines, on trees built here', () => {
  it('the built tree reads as built, without warnings', async () => {
    const t = await readTopology({ sysfsRoot: buildTree('plain', twoSockets) });
    expect(keys(t.cores.map((c) => c.cpus))).toEqual(keys(twoSockets.cores));
    expect(keys(t.llcs)).toEqual(keys(twoSockets.l3 ?? []));
    expect(t.numaNodes).toEqual([{ id: 0, cpus: [0, 1, 4, 5] }, { id: 1, cpus: [2, 3, 6, 7] }]);
    expect(t.warnings).toEqual([]);
    expect(formatTopology(t)).not.toMatch(/warning/);
  });

  it('CPUs that belong to no NUMA node (their node offline, or memoryless): a warning, and their jobs get no memory-node restriction', async () => {
    // Node 1 went offline with its memory: its directory is gone, CPUs 2,3,6,7 are in no node.
    const root = buildTree('orphans', { ...twoSockets, nodes: { 0: [0, 1, 4, 5] } });
    const t = await readTopology({ sysfsRoot: root });
    expect(t.cpus).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(t.numaNodes).toEqual([{ id: 0, cpus: [0, 1, 4, 5] }]);
    expect(t.warnings).toEqual([expect.stringMatching(/^CPUs belong to no NUMA node; .*\(CPUs 2-3,6-7 under /)]);
    expect(formatTopology(t)).toMatch(/^warning: CPUs belong to no NUMA node/m);
    expect(topologyJson(t).warnings).toEqual(t.warnings);
    // The allocator still places jobs there; their grant names no node (cpuset.mems: all the host allows).
    const a = new Allocator(t);
    const grants = [0, 1, 2, 3].map((i) => a.tryPlace({ id: `j${i}`, cores: 2, isolation: 'core' }));
    expect(grants.every((g) => g !== undefined)).toBe(true);
    const onOrphans = grants.find((g) => g?.cpus.includes(2));
    expect(onOrphans?.numaNodes).toEqual([]);
    expect(grants.find((g) => g?.cpus.includes(0))?.numaNodes).toEqual([0]);
  });

  it('a node directory that lists no CPU (memory-only) is no node of ours; with every node CPU-less, all CPUs are node 0 and it is said', async () => {
    const some = await readTopology({ sysfsRoot: buildTree('memonly', { ...twoSockets, nodes: { 0: [0, 1, 2, 3, 4, 5, 6, 7], 1: [] } }) });
    expect(some.numaNodes).toEqual([{ id: 0, cpus: [0, 1, 2, 3, 4, 5, 6, 7] }]);
    expect(some.warnings).toEqual([]);
    const none = await readTopology({ sysfsRoot: buildTree('nonodecpus', { ...twoSockets, nodes: { 0: [], 1: [] } }) });
    expect(none.numaNodes).toEqual([{ id: 0, cpus: [0, 1, 2, 3, 4, 5, 6, 7] }]);
    expect(none.warnings).toEqual([expect.stringMatching(/^no NUMA node lists any usable CPU/)]);
  });

  it('list and mask files with a trailing space, newline or NUL byte (as on ARM) read as the clean ones', async () => {
    const clean = topologyJson(await readTopology({ sysfsRoot: buildTree('clean', twoSockets) }));
    const root = buildTree('ragged', twoSockets);
    const endings = [' \n', '\n\n', ' ', '\n\0', '\n '];
    let n = 0;
    const rag = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) rag(p);
        else {
          writeFileSync(p, readFileSync(p, 'utf8').trimEnd() + (endings[n % endings.length] as string));
          n++;
        }
      }
    };
    rag(root);
    expect(n).toBeGreaterThan(60);
    expect(readFileSync(join(root, 'devices/system/cpu/online'), 'utf8')).toMatch(/[ \n\0]$/);
    expect(topologyJson(await readTopology({ sysfsRoot: root }))).toEqual(clean);
  });

  it('AMD compute units as hwloc counts them: siblings with different core ids are two cores, with one core id one core of two threads', async () => {
    // Bulldozer on older kernels: the two cores of a compute unit are "thread siblings" with core ids 0 and 1
    // (as in hwloc's 64amd64-4s2n4ca2co snapshot); hwloc makes one core per thread.
    const cu = { cpus: 4, cores: [[0, 1], [2, 3]], packages: [[0, 1, 2, 3]], l3: [[0, 1, 2, 3]] };
    const split = await readTopology({ sysfsRoot: buildTree('cu-split', { ...cu, coreIds: [0, 1, 2, 3] }) });
    expect(keys(split.cores.map((c) => c.cpus))).toEqual(keys([[0], [1], [2], [3]]));
    expect(split.warnings).toEqual([]);
    expect(capacityTable(split, [1]).find((r) => r.isolation === 'core')?.jobs).toBe(4);
    // Newer kernels give both the compute unit's id: one core with two threads, for hwloc too.
    const shared = await readTopology({ sysfsRoot: buildTree('cu-shared', { ...cu, coreIds: [0, 0, 1, 1] }) });
    expect(keys(shared.cores.map((c) => c.cpus))).toEqual(keys([[0, 1], [2, 3]]));
    expect(capacityTable(shared, [1]).find((r) => r.isolation === 'core')?.jobs).toBe(2);
  });

  it('a list file that disagrees with its mask: the mask is used (as hwloc does) and it is said once with a count', async () => {
    const root = buildTree('stale-lists', twoSockets);
    // Stale lists copied from CPU 0 on every CPU (hwloc's 64fake-4n2s2ca2c2t has such files).
    for (let c = 1; c < 8; c++) writeFileSync(join(root, `devices/system/cpu/cpu${c}/cache/index3/shared_cpu_list`), '0-1,4-5\n');
    const t = await readTopology({ sysfsRoot: root });
    expect(keys(t.llcs)).toEqual(keys(twoSockets.l3 ?? []));
    expect(t.warnings).toEqual([expect.stringMatching(/^a CPU list file disagrees with its mask; the mask is used, as hwloc does \(4 times, first .*cpu2\/cache\/index3\/shared_cpu_list: 0-1,4-5, mask 2-3,6-7\)$/)]);
  });

  it('package sets that contradict each other: a warning and one merged package (fewer parallel jobs at level socket)', async () => {
    const root = buildTree('conflict', twoSockets);
    writeFileSync(join(root, 'devices/system/cpu/cpu3/topology/core_siblings'), `${formatCpuMask([0, 1, 2, 3], 8)}\n`);
    const t = await readTopology({ sysfsRoot: root });
    expect(t.packages.map((p) => p.cpus)).toEqual([[0, 1, 2, 3, 4, 5, 6, 7]]);
    expect(t.warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/^package CPU sets overlap without being equal; merged into one \(fewer parallel jobs\)/)]),
    );
    const plain = await readTopology({ sysfsRoot: buildTree('noconflict', twoSockets) });
    const socketJobs = (x: Topology): number | undefined => capacityTable(x, [1]).find((r) => r.isolation === 'socket')?.jobs;
    expect([socketJobs(plain), socketJobs(t)]).toEqual([2, 1]);
  });

  it("a cache whose CPU set is empty (ia64) is its core's, as for hwloc", async () => {
    const root = buildTree('emptycache', twoSockets);
    for (let c = 0; c < 8; c++) {
      writeFileSync(join(root, `devices/system/cpu/cpu${c}/cache/index3/shared_cpu_map`), `${formatCpuMask([], 8)}\n`);
      writeFileSync(join(root, `devices/system/cpu/cpu${c}/cache/index3/shared_cpu_list`), '\n');
    }
    const t = await readTopology({ sysfsRoot: root });
    expect(keys(t.caches.filter((c) => c.level === 3).map((c) => c.cpus))).toEqual(keys(twoSockets.cores));
    expect(t.warnings).toEqual([expect.stringMatching(/^a cache's CPU set is empty/)]);
  });

  it('a CPU set file that does not parse is passed over and noted: the other form is used, never an error', async () => {
    const root = buildTree('garbage', twoSockets);
    writeFileSync(join(root, 'devices/system/cpu/cpu0/topology/thread_siblings'), 'zz,??\n');
    const t = await readTopology({ sysfsRoot: root });
    expect(keys(t.cores.map((c) => c.cpus))).toEqual(keys(twoSockets.cores));
    expect(t.warnings).toEqual([expect.stringMatching(/^a CPU set file does not parse; it is passed over \(.*cpu0\/topology\/thread_siblings: /)]);
  });

  it('no package files at all: one package, and it is said', async () => {
    const root = buildTree('nopackage', twoSockets);
    for (let c = 0; c < 8; c++) {
      for (const f of ['core_siblings', 'core_siblings_list', 'physical_package_id']) unlinkSync(join(root, `devices/system/cpu/cpu${c}/topology/${f}`));
    }
    const t = await readTopology({ sysfsRoot: root });
    expect(t.packages.map((p) => p.cpus)).toEqual([[0, 1, 2, 3, 4, 5, 6, 7]]);
    expect(t.warnings).toEqual([expect.stringMatching(/^the kernel names no package for some CPUs/)]);
  });
});

describe('topologyJson and formatTopology', () => {
  it('JSON carries cpus, packages, cores, caches and NUMA nodes as arrays of CPU numbers', async () => {
    const j = topologyJson(await topoOf('32intel64-2p8co2t+8ve'));
    const span = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);
    expect(j).toMatchObject({
      cpus: span(0, 31),
      cpuList: '0-31',
      packages: [{ cpus: [...span(0, 7), ...span(16, 23)] }, { cpus: [...span(8, 15), ...span(24, 31)] }],
      numaNodes: [
        { id: 0, cpus: [...span(0, 7), ...span(16, 23)] },
        { id: 1, cpus: [...span(8, 15), ...span(24, 31)] },
      ],
    });
    expect((j.cores as unknown[]).length).toBe(16);
    expect(j.caches).toEqual(expect.arrayContaining([expect.objectContaining({ level: 3, type: 'Unified', cpus: [...span(0, 7), ...span(16, 23)] })]));
  });

  it('text nests packages > caches > cores and ends with how many jobs fit', async () => {
    const t = await topoOf('16em64t-4s2c2t');
    const text = formatTopology(t, capacityTable(t, [1, 2, 4]));
    const lines = text.split('\n');
    const pkg = lines.findIndex((l) => l.startsWith('Package 0: CPUs 0,4,8,12'));
    expect(pkg).toBeGreaterThan(0);
    expect(lines[pkg + 1]).toMatch(/^ {2}L3 4 MiB: CPUs 0,4,8,12$/);
    expect(lines[pkg + 2]).toMatch(/^ {4}cores \[0,8\] \[4,12\]$/);
    // 8 cores x 2 threads in 4 packages: 2-CPU jobs fit 8 at level core, 4 at cache and socket, 1 at full.
    expect(text).toMatch(/^ {2}none +16 +8 +4$/m);
    expect(text).toMatch(/^ {2}core +8 +8 +4$/m);
    expect(text).toMatch(/^ {2}cache +4 +4 +4$/m);
    expect(text).toMatch(/^ {2}full +1 +1 +1$/m);
  });
});
