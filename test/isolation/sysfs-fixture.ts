// A sysfs tree (<T>/sys/devices/system) laid out as resctrl.md §1.10 B describes: the 2-socket
// Xeon Gold 6326, and a modelled AMD machine with one L3 per CCX, for discovery and host tuning tests.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { formatCpuList, formatCpuMask } from '../../src/util/cpulist.js';

export interface Topology {
  ncpus: number;
  socketOf(n: number): number;
  siblingOf(n: number): number;
  coreIdOf(n: number): number;
  l3Of(n: number): number;
  l3SizeK: number;
  l3Ways: number;
  /** Present: intel_pstate cpufreq files and no_turbo; absent: no cpufreq at all. */
  cpufreq?: 'intel_pstate' | 'acpi-cpufreq';
  smt: string;
}

const CORE_IDS = [0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25];

export const GOLD_6326: Topology = {
  ncpus: 64,
  socketOf: (n) => Math.floor((n % 32) / 16),
  siblingOf: (n) => (n < 32 ? n + 32 : n - 32),
  coreIdOf: (n) => CORE_IDS[n % 16] as number,
  l3Of: (n) => Math.floor((n % 32) / 16),
  l3SizeK: 24576,
  l3Ways: 12,
  cpufreq: 'intel_pstate',
  smt: 'on',
};

/** Modelled: 2 sockets x 8 CCX x 2 cores x 2 threads, L3 id = CCX index 0..15 (16 domains, as resctrl.md's AMD flavour). */
export const AMD_16CCX: Topology = {
  ncpus: 64,
  socketOf: (n) => Math.floor((n % 32) / 16),
  siblingOf: (n) => (n < 32 ? n + 32 : n - 32),
  coreIdOf: (n) => n % 16,
  l3Of: (n) => Math.floor((n % 32) / 2),
  l3SizeK: 32768,
  l3Ways: 16,
  cpufreq: 'acpi-cpufreq',
  smt: 'on',
};

function put(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${content}\n`);
}

function cpusWhere(t: Topology, pred: (n: number) => boolean): number[] {
  const out: number[] = [];
  for (let n = 0; n < t.ncpus; n++) if (pred(n)) out.push(n);
  return out;
}

/** Lay out <base>/sys/devices/system for `t`; returns the sysfs root (<base>/sys). */
export function layoutSysfs(base: string, t: Topology): string {
  const sys = join(base, 'sys');
  const cpu = join(sys, 'devices/system/cpu');
  const all = `0-${t.ncpus - 1}`;
  for (const f of ['online', 'possible', 'present']) put(join(cpu, f), all);
  put(join(cpu, 'offline'), '');
  put(join(cpu, 'isolated'), '');
  put(join(cpu, 'kernel_max'), '8191');
  put(join(cpu, 'smt/control'), t.smt);
  put(join(cpu, 'smt/active'), t.smt === 'on' ? '1' : '0');
  if (t.cpufreq === 'intel_pstate') put(join(cpu, 'intel_pstate/no_turbo'), '0');
  if (t.cpufreq === 'acpi-cpufreq') put(join(cpu, 'cpufreq/boost'), '1');
  const sockets = [...new Set(cpusWhere(t, () => true).map(t.socketOf))].sort((a, b) => a - b);
  for (let n = 0; n < t.ncpus; n++) {
    const d = join(cpu, `cpu${n}`);
    const s = t.socketOf(n);
    const sib = t.siblingOf(n);
    const core = [Math.min(n, sib), Math.max(n, sib)];
    const pkg = cpusWhere(t, (m) => t.socketOf(m) === s);
    const l3 = cpusWhere(t, (m) => t.l3Of(m) === t.l3Of(n));
    if (n > 0) put(join(d, 'online'), '1');
    const topo = join(d, 'topology');
    put(join(topo, 'physical_package_id'), String(s));
    put(join(topo, 'die_id'), '0');
    put(join(topo, 'core_id'), String(t.coreIdOf(n)));
    for (const f of ['core_cpus_list', 'thread_siblings_list']) put(join(topo, f), formatCpuList(core));
    for (const f of ['core_cpus', 'thread_siblings']) put(join(topo, f), formatCpuMask(core, t.ncpus));
    for (const f of ['package_cpus_list', 'core_siblings_list', 'die_cpus_list']) put(join(topo, f), formatCpuList(pkg));
    for (const f of ['package_cpus', 'core_siblings', 'die_cpus']) put(join(topo, f), formatCpuMask(pkg, t.ncpus));
    const caches: Array<[number, string, string, number, number, number[], number]> = [
      [1, 'Data', '48K', 12, 64, core, 64 * s + t.coreIdOf(n)],
      [1, 'Instruction', '32K', 8, 64, core, 64 * s + t.coreIdOf(n)],
      [2, 'Unified', '1280K', 20, 1024, core, 64 * s + t.coreIdOf(n)],
      [3, 'Unified', `${t.l3SizeK}K`, t.l3Ways, 32768, l3, t.l3Of(n)],
    ];
    caches.forEach(([level, type, size, ways, sets, shared, id], i) => {
      const c = join(d, `cache/index${i}`);
      put(join(c, 'level'), String(level));
      put(join(c, 'type'), type);
      put(join(c, 'size'), size);
      put(join(c, 'ways_of_associativity'), String(ways));
      put(join(c, 'number_of_sets'), String(sets));
      put(join(c, 'coherency_line_size'), '64');
      put(join(c, 'physical_line_partition'), '1');
      put(join(c, 'shared_cpu_list'), formatCpuList(shared));
      put(join(c, 'shared_cpu_map'), formatCpuMask(shared, t.ncpus));
      put(join(c, 'id'), String(id));
    });
    if (t.cpufreq) {
      const f = join(d, 'cpufreq');
      put(join(f, 'scaling_driver'), t.cpufreq);
      put(join(f, 'scaling_governor'), t.cpufreq === 'intel_pstate' ? 'powersave' : 'ondemand');
      put(
        join(f, 'scaling_available_governors'),
        t.cpufreq === 'intel_pstate' ? 'performance powersave' : 'conservative ondemand userspace powersave performance schedutil',
      );
      put(join(f, 'cpuinfo_max_freq'), '3500000');
      put(join(f, 'cpuinfo_min_freq'), '800000');
      put(join(f, 'base_frequency'), '2900000');
      put(join(f, 'scaling_min_freq'), '800000');
      put(join(f, 'scaling_max_freq'), '3500000');
    }
    mkdirSync(join(d, `node${s}`), { recursive: true });
  }
  const node = join(sys, 'devices/system/node');
  const nodes = formatCpuList(sockets);
  for (const f of ['online', 'possible', 'has_cpu', 'has_memory', 'has_normal_memory']) put(join(node, f), nodes);
  for (const s of sockets) {
    const pkg = cpusWhere(t, (m) => t.socketOf(m) === s);
    put(join(node, `node${s}/cpulist`), formatCpuList(pkg));
    put(join(node, `node${s}/cpumap`), formatCpuMask(pkg, t.ncpus));
    put(join(node, `node${s}/distance`), sockets.map((o) => (o === s ? '10' : '20')).join(' '));
  }
  return sys;
}

const shared = new Map<Topology, string>();

/**
 * A read-only sysfs tree for `t`, laid out once per test process (thousands of files) and removed at
 * exit. Tests that write into sysfs (host tuning) lay out their own with layoutSysfs.
 */
export function sharedSysfs(t: Topology): string {
  let root = shared.get(t);
  if (!root) {
    const base = mkdtempSync(join(tmpdir(), 'wf-sysfs-'));
    process.once('exit', () => rmSync(base, { recursive: true, force: true }));
    root = layoutSysfs(base, t);
    shared.set(t, root);
  }
  return root;
}

/** Remove the shared trees (call from afterAll: test workers may end without an 'exit' event). */
export function disposeSharedSysfs(): void {
  for (const root of shared.values()) rmSync(dirname(root), { recursive: true, force: true });
  shared.clear();
}
