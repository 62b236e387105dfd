// A stand-in for the kernel's resctrl mount (resctrl.md §1.10): the tree lives in a temp dir as
// plain files that production code reads directly, and every mkdir/rmdir/write goes through the
// kernel's rules (fs/resctrl: rdtgroup_schemata_write, parse_line, cbm_validate, bw_validate,
// __init_one_rdt_domain, rdtgroup_tasks_write, cpus_ctrl_write), including the messages it leaves in
// info/last_cmd_status and the errno it returns.
import { existsSync, mkdirSync, mkdtempSync, promises as fsp, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ResctrlFs } from '../../src/isolation/resctrl-fs.js';
import { formatCpuList, formatCpuMask, parseCpuList, parseCpuMask } from '../../src/util/cpulist.js';
import { AMD_16CCX, GOLD_6326, sharedSysfs, type Topology } from './sysfs-fixture.js';

export type Variant = 'gold6326' | 'cdp' | 'old-kernel' | 'amd' | 'mba_MBps' | 'no-rdt';
export const VARIANTS: readonly Variant[] = ['gold6326', 'cdp', 'old-kernel', 'amd', 'mba_MBps', 'no-rdt'];

export interface FakeOptions {
  variant?: Variant;
  /** Haswell-like parts need 2. */
  minCbmBits?: number;
  shareableBits?: number;
  mbClosids?: number;
  /** The kernel offers resctrl (in /proc/filesystems) but it is not in /proc/mounts yet. */
  unmounted?: boolean;
}

interface Model {
  cacheNames: string[];
  cbmLen: number;
  minCbmBits: number;
  shareable: number;
  sparse: boolean;
  cacheClosids: number;
  mb: { min: number; gran: number; max: number; closids: number; throttle?: string; linear: number; mbps: boolean };
  oldFormat: boolean;
  topo: Topology;
  mountOptions: string;
}

type Mode = 'shareable' | 'exclusive';
interface Group {
  ctrl: Map<string, Map<number, number>>;
  tasks: number[];
  cpus: Set<number>;
  mode: Mode;
}

class Errno extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

function model(opts: FakeOptions): Model {
  const v = opts.variant ?? 'gold6326';
  const m: Model = {
    cacheNames: v === 'cdp' ? ['L3CODE', 'L3DATA'] : ['L3'],
    cbmLen: 12,
    minCbmBits: 1,
    shareable: 0,
    sparse: false,
    cacheClosids: v === 'cdp' ? 8 : 16,
    mb: { min: 10, gran: 10, max: 100, closids: 8, throttle: 'per-thread', linear: 1, mbps: v === 'mba_MBps' },
    oldFormat: v === 'old-kernel',
    topo: GOLD_6326,
    mountOptions: v === 'cdp' ? 'rw,relatime,cdp' : v === 'mba_MBps' ? 'rw,relatime,mba_MBps' : 'rw,relatime',
  };
  if (v === 'mba_MBps') m.mb.max = 4294967295;
  if (v === 'amd') {
    Object.assign(m, { cbmLen: 16, minCbmBits: 0, sparse: true, topo: AMD_16CCX });
    m.mb = { min: 0, gran: 1, max: 2048, closids: 16, linear: 0, mbps: false };
  }
  if (opts.minCbmBits !== undefined) m.minCbmBits = opts.minCbmBits;
  if (opts.shareableBits !== undefined) m.shareable = opts.shareableBits;
  if (opts.mbClosids !== undefined) m.mb.closids = opts.mbClosids;
  return m;
}

const full = (len: number) => (1 << len) - 1;
const popcount = (x: number) => {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
};

export class FakeResctrl implements ResctrlFs {
  readonly root: string;
  readonly sysfsRoot: string;
  readonly procRoot: string;
  private readonly m: Model;
  private readonly domains: number[];
  private readonly groups = new Map<string, Group>();

  /** Lay the tree out in a new temp dir. `base` is removed by dispose(). */
  constructor(
    opts: FakeOptions = {},
    readonly base = mkdtempSync(join(tmpdir(), 'wf-resctrl-')),
  ) {
    this.m = model(opts);
    this.sysfsRoot = sharedSysfs(this.m.topo);
    this.procRoot = join(base, 'proc');
    this.root = join(base, 'sys/fs/resctrl');
    const t = this.m.topo;
    this.domains = [...new Set(Array.from({ length: t.ncpus }, (_, n) => t.l3Of(n)))].sort((a, b) => a - b);
    const rdt = opts.variant !== 'no-rdt';
    const mounts = ['proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0', 'sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0'];
    if (rdt && !opts.unmounted) mounts.push(`resctrl /sys/fs/resctrl resctrl ${this.m.mountOptions} 0 0`);
    this.put(join(this.procRoot, 'mounts'), mounts.join('\n'));
    this.put(join(this.procRoot, 'filesystems'), ['nodev\tsysfs', 'nodev\tproc', ...(rdt ? ['nodev\tresctrl'] : [])].join('\n'));
    if (rdt) this.layoutMount();
  }

  dispose(): void {
    rmSync(this.base, { recursive: true, force: true });
  }

  private put(path: string, content: string): void {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content === '' ? '' : `${content}\n`);
  }

  private get numClosids(): number {
    return Math.min(this.m.cacheClosids, this.m.mb.closids);
  }

  private layoutMount(): void {
    const m = this.m;
    const info = join(this.root, 'info');
    for (const name of m.cacheNames) {
      const d = join(info, name);
      this.put(join(d, 'cbm_mask'), full(m.cbmLen).toString(16));
      this.put(join(d, 'min_cbm_bits'), String(m.minCbmBits));
      this.put(join(d, 'num_closids'), String(m.cacheClosids));
      this.put(join(d, 'shareable_bits'), m.shareable.toString(16));
      this.put(join(d, 'sparse_masks'), m.sparse ? '1' : '0');
    }
    const mb = join(info, 'MB');
    this.put(join(mb, 'bandwidth_gran'), String(m.mb.gran));
    this.put(join(mb, 'delay_linear'), String(m.mb.linear));
    this.put(join(mb, 'min_bandwidth'), String(m.mb.min));
    this.put(join(mb, 'num_closids'), String(m.mb.closids));
    if (m.mb.throttle) this.put(join(mb, 'thread_throttle_mode'), m.mb.throttle);
    this.put(join(info, 'L3_MON/num_rmids'), '128');
    this.put(join(info, 'L3_MON/mon_features'), 'llc_occupancy\nmbm_total_bytes\nmbm_local_bytes');
    this.put(join(info, 'L3_MON/max_threshold_occupancy'), '196608');
    this.put(join(info, 'last_cmd_status'), 'ok');
    const ctrl = new Map<string, Map<number, number>>();
    for (const name of m.cacheNames) ctrl.set(name, new Map(this.domains.map((d) => [d, full(m.cbmLen)])));
    ctrl.set('MB', new Map(this.domains.map((d) => [d, m.mb.max])));
    const all = Array.from({ length: m.topo.ncpus }, (_, n) => n);
    this.groups.set('', { ctrl, tasks: [1, 2, 3], cpus: new Set(all), mode: 'shareable' });
    this.renderGroup('', true);
    this.renderBitUsage();
  }

  // ---- rendering state into files -------------------------------------------------------------

  private dirOf(group: string): string {
    return group === '' ? this.root : join(this.root, group);
  }

  private lineOrder(): string[] {
    // Current kernels print in reverse creation order; old ones printed the caches first.
    return this.m.oldFormat ? [...this.m.cacheNames, 'MB'] : ['MB', ...[...this.m.cacheNames].reverse()];
  }

  private renderLines(g: Group, size: boolean): string {
    const m = this.m;
    const bytesPerBit = (m.topo.l3SizeK * 1024) / m.cbmLen;
    return this.lineOrder()
      .map((name) => {
        const values = g.ctrl.get(name) as Map<number, number>;
        const cells = this.domains.map((d) => {
          const v = values.get(d) as number;
          let text: string;
          if (name === 'MB') text = m.oldFormat && !size ? String(v).padStart(Math.max(3, String(m.mb.max).length), ' ') : String(v);
          else if (size) text = String(bytesPerBit * popcount(v));
          else text = m.oldFormat ? v.toString(16).padStart((m.cbmLen + 3) >> 2, '0') : v.toString(16);
          return `${d}=${text}`;
        });
        // A CDP-capable L3 counts as if its name had the 4-character suffix when aligning names.
        return `${m.oldFormat ? name : name.padStart(6, ' ')}:${cells.join(';')}`;
      })
      .join('\n');
  }

  private renderGroup(group: string, create = false): void {
    const g = this.groups.get(group) as Group;
    const dir = this.dirOf(group);
    const ncpus = this.m.topo.ncpus;
    this.put(join(dir, 'schemata'), this.renderLines(g, false));
    this.put(join(dir, 'size'), this.renderLines(g, true));
    this.put(join(dir, 'tasks'), g.tasks.join('\n'));
    this.put(join(dir, 'cpus'), formatCpuMask(g.cpus, ncpus));
    writeFileSync(join(dir, 'cpus_list'), `${formatCpuList(g.cpus)}\n`);
    this.put(join(dir, 'mode'), g.mode);
    if (!create) return;
    if (this.m.mb.mbps) this.put(join(dir, 'mba_MBps_event'), 'mbm_local_bytes');
    mkdirSync(join(dir, 'mon_groups'), { recursive: true });
    for (const d of this.domains) {
      const mon = join(dir, `mon_data/mon_L3_${String(d).padStart(2, '0')}`);
      this.put(join(mon, 'llc_occupancy'), group === '' && d === 0 ? '1507328' : '0');
      this.put(join(mon, 'mbm_total_bytes'), '0');
      this.put(join(mon, 'mbm_local_bytes'), '0');
    }
  }

  private renderBitUsage(): void {
    const m = this.m;
    for (const name of m.cacheNames) {
      const cells = this.domains.map((d) => {
        let chars = '';
        for (let bit = m.cbmLen - 1; bit >= 0; bit--) {
          let sw = false;
          let excl = false;
          for (const g of this.groups.values()) {
            for (const n of m.cacheNames) {
              if (((g.ctrl.get(n)?.get(d) ?? 0) >> bit) & 1) {
                sw = true;
                if (g.mode === 'exclusive') excl = true;
              }
            }
          }
          const hw = (m.shareable >> bit) & 1;
          chars += hw ? (sw ? 'X' : 'H') : excl ? 'E' : sw ? 'S' : '0';
        }
        return `${d}=${chars}`;
      });
      this.put(join(this.root, 'info', name, 'bit_usage'), cells.join(';'));
    }
  }

  private status(msg?: string): void {
    this.put(join(this.root, 'info/last_cmd_status'), msg ?? 'ok');
  }

  /** Set the status message and return the error to throw. */
  private fail(code: string, msg?: string): Errno {
    if (msg !== undefined) this.status(msg);
    return new Errno(code, msg ?? '(no message)');
  }

  // ---- ResctrlFs -------------------------------------------------------------------------------

  async readFile(path: string): Promise<string> {
    return fsp.readFile(join(this.root, path), 'utf8');
  }

  async readdir(path: string): Promise<string[]> {
    return fsp.readdir(join(this.root, path));
  }

  async exists(path: string): Promise<boolean> {
    return existsSync(join(this.root, path));
  }

  async mkdir(path: string): Promise<void> {
    const parts = path.split('/').filter(Boolean);
    if (parts.length !== 1) throw new Errno('EPERM', `fake resctrl: mkdir ${path}: only top-level groups are modelled`);
    const name = parts[0] as string;
    if (existsSync(join(this.root, name))) throw new Errno('EEXIST', `mkdir ${name}`);
    if (name.includes('\n')) throw new Errno('EINVAL', 'newline in group name');
    this.status();
    if (this.groups.size - 1 >= this.numClosids - 1) throw this.fail('ENOSPC', 'Out of CLOSIDs');
    const ctrl = new Map<string, Map<number, number>>();
    for (const res of this.m.cacheNames) {
      const line = new Map<number, number>();
      for (const d of this.domains) {
        const v = this.initialCbm(res, d);
        if (popcount(v) < this.m.minCbmBits) throw this.fail('ENOSPC', `No space on ${res}:${d}`);
        line.set(d, v);
      }
      ctrl.set(res, line);
    }
    ctrl.set('MB', new Map(this.domains.map((d) => [d, this.m.mb.max])));
    this.groups.set(name, { ctrl, tasks: [], cpus: new Set(), mode: 'shareable' });
    this.renderGroup(name, true);
    this.renderBitUsage();
  }

  /** __init_one_rdt_domain: shareable bits, every shareable group's bits and unused bits, cut to the lowest run. */
  private initialCbm(res: string, d: number): number {
    const m = this.m;
    let ctrl = m.shareable;
    let used = m.shareable;
    for (const g of this.groups.values()) {
      const v = g.ctrl.get(res)?.get(d) ?? 0;
      used |= v;
      if (g.mode === 'shareable') ctrl |= v;
    }
    ctrl |= ~used & full(m.cbmLen);
    if (ctrl === 0) return 0;
    const first = Math.log2(ctrl & -ctrl);
    let end = first;
    while ((ctrl >> end) & 1) end++;
    return m.sparse ? ctrl : full(end - first) << first;
  }

  async rmdir(path: string): Promise<void> {
    const name = path.split('/').filter(Boolean).join('/');
    if (name === '' || name === 'info') throw new Errno('EPERM', `rmdir ${path}`);
    const g = this.groups.get(name);
    if (!g) {
      if (existsSync(join(this.root, name))) throw new Errno('EPERM', `rmdir ${path}: not a group`);
      throw new Errno('ENOENT', `rmdir ${path}`);
    }
    const root = this.groups.get('') as Group;
    root.tasks.push(...g.tasks);
    for (const c of g.cpus) root.cpus.add(c);
    this.groups.delete(name);
    rmSync(join(this.root, name), { recursive: true, force: true });
    this.renderGroup('');
    this.renderBitUsage();
  }

  async writeFile(path: string, text: string): Promise<void> {
    const parts = path.split('/').filter(Boolean);
    const group = parts.length === 2 ? (parts[0] as string) : parts.length === 1 ? '' : undefined;
    const file = parts[parts.length - 1] as string;
    if (group === undefined || !this.groups.has(group)) {
      if (existsSync(join(this.root, path))) throw new Errno('EACCES', `${path} is read-only`);
      throw new Errno('ENOENT', path);
    }
    switch (file) {
      case 'schemata':
        this.writeSchemata(group, text);
        break;
      case 'tasks':
        this.writeTasks(group, text);
        break;
      case 'cpus':
      case 'cpus_list':
        this.writeCpus(group, text, file === 'cpus_list');
        break;
      case 'mode':
        this.writeMode(group, text);
        break;
      default:
        if (existsSync(join(this.root, path))) throw new Errno('EACCES', `${path} is read-only`);
        throw new Errno('ENOENT', path);
    }
  }

  private writeSchemata(group: string, text: string): void {
    // Checked before the status is cleared, so a missing newline leaves the previous message.
    if (text.length === 0 || !text.endsWith('\n')) throw new Errno('EINVAL', 'schemata write without trailing newline');
    this.status();
    const g = this.groups.get(group) as Group;
    const staged = new Map<string, Map<number, number>>();
    for (const raw of text.slice(0, -1).split('\n')) {
      const colon = raw.indexOf(':');
      if (colon < 0) throw this.fail('EINVAL', "Missing ':'");
      const resname = raw.slice(0, colon).trim();
      const rest = raw.slice(colon + 1);
      if (rest === '') throw this.fail('EINVAL', `Missing '${resname}' value`);
      if (resname !== 'MB' && !this.m.cacheNames.includes(resname)) {
        throw this.fail('EINVAL', `Unknown or unsupported resource name '${resname}'`);
      }
      const line = staged.get(resname) ?? new Map<number, number>();
      staged.set(resname, line);
      for (const entry of rest.split(';')) {
        if (entry === '') continue;
        const eq = entry.indexOf('=');
        const id = eq < 0 ? '' : entry.slice(0, eq);
        // kstrtoul: digits only, no surrounding blanks.
        if (eq < 0 || !/^\d+$/.test(id)) throw this.fail('EINVAL', "Missing '=' or non-numeric domain");
        const d = Number(id);
        if (!this.domains.includes(d)) throw this.fail('EINVAL'); // the kernel leaves no message here
        if (line.has(d)) throw this.fail('EINVAL', `Duplicate domain ${d}`);
        const value = entry.slice(eq + 1).trim();
        line.set(d, resname === 'MB' ? this.parseMb(value) : this.parseCbm(group, g, resname, d, value));
      }
    }
    for (const [res, line] of staged) for (const [d, v] of line) g.ctrl.get(res)?.set(d, v);
    this.renderGroup(group);
    this.renderBitUsage();
  }

  private parseMb(value: string): number {
    if (!/^\d+$/.test(value) || Number(value) > 4294967295) throw this.fail('EINVAL', `Invalid MB value ${value}`);
    const bw = Number(value);
    const mb = this.m.mb;
    if (mb.mbps) return bw;
    if (bw < mb.min || bw > mb.max) throw this.fail('EINVAL', `MB value ${bw} out of range [${mb.min},${mb.max}]`);
    return Math.ceil(bw / mb.gran) * mb.gran;
  }

  private parseCbm(group: string, g: Group, res: string, d: number, value: string): number {
    const m = this.m;
    const hex = value.replace(/^0x/i, '');
    if (!/^[0-9a-f]+$/i.test(hex)) throw this.fail('EINVAL', `Non-hex character in the mask ${value}`);
    const val = parseInt(hex, 16);
    if ((m.minCbmBits > 0 && val === 0) || val > full(m.cbmLen)) throw this.fail('EINVAL', 'Mask out of range');
    if (val !== 0) {
      const first = Math.log2(val & -val);
      let zero = first;
      while ((val >> zero) & 1) zero++;
      if (!m.sparse && val >> zero !== 0) throw this.fail('EINVAL', `The mask ${val.toString(16)} has non-consecutive 1-bits`);
      if (zero - first < m.minCbmBits) throw this.fail('EINVAL', `Need at least ${m.minCbmBits} bits in the mask`);
    }
    if (this.overlaps(group, d, val, true)) throw this.fail('EINVAL', 'Overlaps with exclusive group');
    if (g.mode === 'exclusive' && this.overlaps(group, d, val, false)) throw this.fail('EINVAL', 'Overlaps with other group');
    return val;
  }

  /** rdtgroup_cbm_overlaps: against exclusive groups only, or against every group and the hardware-shared bits. */
  private overlaps(self: string, d: number, cbm: number, exclusiveOnly: boolean): boolean {
    if (!exclusiveOnly && cbm & this.m.shareable) return true;
    for (const [name, g] of this.groups) {
      if (name === self || (exclusiveOnly && g.mode !== 'exclusive')) continue;
      for (const res of this.m.cacheNames) if ((g.ctrl.get(res)?.get(d) ?? 0) & cbm) return true;
    }
    return false;
  }

  private writeMode(group: string, text: string): void {
    if (!text.endsWith('\n')) throw new Errno('EINVAL', 'mode write without trailing newline');
    this.status();
    const g = this.groups.get(group) as Group;
    const want = text.trim();
    if (want === g.mode) return;
    if (want === 'shareable') g.mode = 'shareable';
    else if (want === 'exclusive') {
      for (const res of this.m.cacheNames) {
        for (const d of this.domains) {
          if (this.overlaps(group, d, g.ctrl.get(res)?.get(d) ?? 0, false)) throw this.fail('EINVAL', 'schemata overlaps');
        }
      }
      g.mode = 'exclusive';
    } else throw this.fail('EINVAL', 'Unknown or unsupported mode');
    this.renderGroup(group);
    this.renderBitUsage();
  }

  private writeTasks(group: string, text: string): void {
    this.status();
    const g = this.groups.get(group) as Group;
    let error: Errno | undefined;
    for (const raw of text.split(',')) {
      const s = raw.trim();
      if (s === '') break;
      if (!/^[+-]?\d+$/.test(s)) {
        error = this.fail('EINVAL', `Task list parsing error pid ${s}`);
        break;
      }
      const pid = Number(s);
      if (pid < 0) {
        error = this.fail('EINVAL', `Invalid pid ${pid}`);
        break;
      }
      const tid = pid === 0 ? process.pid : pid;
      if (!existsSync(`/proc/${tid}`)) {
        error = this.fail('ESRCH', `No task ${tid}\nError while processing task ${tid}`);
        break;
      }
      for (const other of this.groups.values()) other.tasks = other.tasks.filter((t) => t !== tid);
      g.tasks.push(tid);
    }
    // Tasks moved before a failure stay moved, as in the kernel.
    for (const name of this.groups.keys()) this.renderGroup(name);
    if (error) throw error;
  }

  private writeCpus(group: string, text: string, isList: boolean): void {
    this.status();
    const g = this.groups.get(group) as Group;
    const ncpus = this.m.topo.ncpus;
    let cpus: number[];
    try {
      cpus = isList ? parseCpuList(text) : parseCpuMask(text);
    } catch {
      throw this.fail('EINVAL', 'Bad CPU list/mask');
    }
    if (cpus.some((c) => c >= ncpus)) throw this.fail('EINVAL', 'Can only assign online CPUs');
    const root = this.groups.get('') as Group;
    const dropped = [...g.cpus].filter((c) => !cpus.includes(c));
    if (dropped.length > 0 && group === '') throw this.fail('EINVAL', "Can't drop CPUs from default group");
    for (const c of dropped) root.cpus.add(c);
    for (const [name, other] of this.groups) if (name !== group) for (const c of cpus) other.cpus.delete(c);
    g.cpus = new Set(cpus);
    for (const name of this.groups.keys()) this.renderGroup(name);
  }
}
