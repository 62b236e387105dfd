import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capacityTable } from '../../src/scheduler/allocator.js';
import {
  allowedCpusOfSelf,
  formatTopology,
  readTopology,
  topologyJson,
  type Topology,
} from '../../src/scheduler/topology.js';
import { cpuSetKey, parseCpuList } from '../../src/util/cpulist.js';
import { parseConsole, snapshotNames, unpackAll, type Snapshot, UNPACK_TIMEOUT_MS } from './snapshots.js';

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

describe('readTopology against hwloc on every snapshot', () => {
  const names = snapshotNames();

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

  for (const name of names) {
    it(`${name}: PUs, packages, cores, last-level caches, dies and NUMA nodes match lstopo`, async () => {
      const t = await topoOf(name);
      const hw = parseConsole(snap(name).console);
      expect(hw.pus.length).toBeGreaterThan(0);
      expect(t.cpus).toEqual(hw.pus);
      expect(keys(t.packages.map((p) => p.cpus))).toEqual(keys(hw.packages));
      expect(keys(t.cores.map((c) => c.cpus))).toEqual(keys(hw.cores));

      // The last level: L3 where the machine has one, else its highest level (2arm-2c reports none).
      const hwLevels = [...hw.caches.keys()];
      const ourLevels = t.caches.filter((c) => c.type !== 'Instruction').map((c) => c.level);
      expect(Math.max(0, ...ourLevels)).toBe(Math.max(0, ...hwLevels));
      if (hwLevels.length > 0) {
        const top = Math.max(...hwLevels);
        const ours = t.caches.filter((c) => c.level === top && c.type !== 'Instruction').map((c) => c.cpus);
        expect(keys(ours)).toEqual(keys(hw.caches.get(top) ?? []));
      }

      // No disagreement with hwloc was found on these snapshots. hwloc's Group objects (the NUMA groups of
      // 96em64t, the half-LLC groups of fakecpuid1f) are its own inference, not kernel objects: not compared.
      if (hw.dies.length > 0) expect(keys(t.packages.flatMap((p) => p.dies))).toEqual(keys(hw.dies));
      else expect(t.packages.every((p) => p.dies.length === 1 && cpuSetKey(p.dies[0] ?? []) === cpuSetKey(p.cpus))).toBe(true);

      expect(t.numaNodes.map((n) => ({ id: n.id, cpus: cpuSetKey(n.cpus) }))).toEqual(
        [...hw.numa].sort((a, b) => a.id - b.id).map((n) => ({ id: n.id, cpus: cpuSetKey(n.cpus) })),
      );

      // Structure the allocator relies on: every usable CPU in exactly one core, LLC, package.
      for (const sets of [t.cores.map((c) => c.cpus), t.llcs, t.packages.map((p) => p.cpus)]) {
        expect(sets.flat().sort((a, b) => a - b)).toEqual(t.cpus);
      }
      expect(t.kinds).toEqual(['default']);
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
