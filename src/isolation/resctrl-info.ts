// Discovery: is resctrl mounted, what does info/ allow, and which CPUs belong to each L3 domain.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { parseCpuList } from '../util/cpulist.js';
import type { ResctrlFs } from './resctrl-fs.js';
import { parseCbm, parseSchemata } from './resctrl-schemata.js';
import { popcount } from './resctrl-alloc.js';

export interface ResctrlMount {
  mountPoint: string;
  options: string[];
}

/** The resctrl entry of <procRoot>/mounts, if any. */
export async function findResctrlMount(procRoot = '/proc'): Promise<ResctrlMount | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(join(procRoot, 'mounts'), 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.split(/\s+/);
    if (f[2] === 'resctrl') return { mountPoint: f[1] as string, options: (f[3] ?? '').split(',') };
  }
  return undefined;
}

export interface CacheResource {
  name: string;
  cbmMask: number;
  cbmLen: number;
  minCbmBits: number;
  shareableBits: number;
  sparse: boolean;
  numClosids: number;
}

export interface BandwidthResource {
  numClosids: number;
  min: number;
  gran: number;
  /** The "unlimited" value: 100 percent, AMD's 2048 (1/8 GB/s units), or U32_MAX MiB/s under mba_MBps. */
  max: number;
  unit: 'percent' | 'amd' | 'MBps';
  linear?: boolean;
  throttleMode?: string;
}

export interface ResctrlInfo {
  mountOptions: string[];
  /** Allocation resources present (L3, L3CODE, L3DATA, L2, MB, SMBA…). */
  resources: string[];
  /** L3 geometry; with CDP this is L3CODE's (L3DATA has the same). */
  l3?: CacheResource;
  /** The schemata lines an L3 mask is written to: ['L3'] or, with CDP, ['L3CODE', 'L3DATA']. */
  l3Lines: string[];
  cdp: boolean;
  mb?: BandwidthResource;
  /** Smallest num_closids over the allocation resources: the kernel's limit. */
  numClosids: number;
  /** Groups that can be created besides the default one. */
  groupLimit: number;
  /** L3 cache ids, as schemata keys them. */
  domains: number[];
  /** L3 cache id -> the CPUs sharing that cache (from sysfs). */
  cpusOfDomain: Map<number, number[]>;
  /** Bytes of L3 per domain, when sysfs says. */
  l3SizeBytes?: number;
}

const MB_UNLIMITED_MBPS = 4294967295;
const MB_UNLIMITED_AMD = 2048;

async function readInt(fs: ResctrlFs, path: string, radix = 10): Promise<number | undefined> {
  if (!(await fs.exists(path))) return undefined;
  const text = (await fs.readFile(path)).trim();
  const n = parseInt(text, radix);
  if (!Number.isFinite(n)) throw new Error(`resctrl: ${fs.root}/${path} holds "${text}", expected a number`);
  return n;
}

async function readCache(fs: ResctrlFs, name: string): Promise<CacheResource> {
  const dir = `info/${name}`;
  const cbmText = (await fs.readFile(`${dir}/cbm_mask`)).trim();
  const cbmMask = parseCbm(cbmText);
  const cbmLen = popcount(cbmMask);
  if (cbmLen > 30) throw new Error(`resctrl: ${name} cbm_mask ${cbmText} is wider than the 30 bits this code handles`);
  return {
    name,
    cbmMask,
    cbmLen,
    minCbmBits: (await readInt(fs, `${dir}/min_cbm_bits`)) ?? 1,
    shareableBits: (await readInt(fs, `${dir}/shareable_bits`, 16)) ?? 0,
    // Absent on older kernels: only AMD allowed sparse masks then, and those kernels predate the file.
    sparse: ((await readInt(fs, `${dir}/sparse_masks`)) ?? 0) === 1,
    numClosids: (await readInt(fs, `${dir}/num_closids`)) ?? 0,
  };
}

async function readBandwidth(fs: ResctrlFs, options: string[]): Promise<BandwidthResource> {
  const min = (await readInt(fs, 'info/MB/min_bandwidth')) ?? 0;
  const throttle = (await fs.exists('info/MB/thread_throttle_mode'))
    ? (await fs.readFile('info/MB/thread_throttle_mode')).trim()
    : undefined;
  const linear = await readInt(fs, 'info/MB/delay_linear');
  // AMD exposes no throttle mode and a zero minimum; its values are 1/8 GB/s up to 2048.
  const unit = options.includes('mba_MBps') ? 'MBps' : throttle === undefined && min === 0 ? 'amd' : 'percent';
  return {
    numClosids: (await readInt(fs, 'info/MB/num_closids')) ?? 0,
    min,
    gran: (await readInt(fs, 'info/MB/bandwidth_gran')) ?? 1,
    max: unit === 'MBps' ? MB_UNLIMITED_MBPS : unit === 'amd' ? MB_UNLIMITED_AMD : 100,
    unit,
    ...(linear !== undefined ? { linear: linear === 1 } : {}),
    ...(throttle !== undefined ? { throttleMode: throttle } : {}),
  };
}

/** L3 cache id -> CPUs, from <sysfsRoot>/devices/system/cpu/cpuN/cache/indexK/{level,id,shared_cpu_list}. */
export async function l3Domains(sysfsRoot = '/sys'): Promise<{ cpus: Map<number, number[]>; sizeBytes?: number }> {
  const cpuDir = join(sysfsRoot, 'devices/system/cpu');
  const cpus = new Map<number, Set<number>>();
  let sizeBytes: number | undefined;
  let entries: string[] = [];
  try {
    entries = await fsp.readdir(cpuDir);
  } catch {
    return { cpus: new Map() };
  }
  for (const e of entries) {
    if (!/^cpu\d+$/.test(e)) continue;
    const cacheDir = join(cpuDir, e, 'cache');
    let indexes: string[] = [];
    try {
      indexes = (await fsp.readdir(cacheDir)).filter((i) => /^index\d+$/.test(i));
    } catch {
      continue; // offline CPUs have no cache directory
    }
    for (const idx of indexes) {
      const read = (f: string) => fsp.readFile(join(cacheDir, idx, f), 'utf8').then((t) => t.trim());
      try {
        if ((await read('level')) !== '3') continue;
        const id = Number(await read('id'));
        const set = cpus.get(id) ?? new Set<number>();
        for (const c of parseCpuList(await read('shared_cpu_list'))) set.add(c);
        cpus.set(id, set);
        if (sizeBytes === undefined) sizeBytes = parseCacheSize(await read('size').catch(() => ''));
      } catch {
        continue; // kernels before 4.14 have no cache id: the domain cannot be placed
      }
    }
  }
  const out = new Map<number, number[]>();
  for (const [id, set] of [...cpus].sort((a, b) => a[0] - b[0])) out.set(id, [...set].sort((a, b) => a - b));
  return sizeBytes !== undefined ? { cpus: out, sizeBytes } : { cpus: out };
}

function parseCacheSize(text: string): number | undefined {
  const m = /^(\d+)([KMG]?)$/.exec(text);
  if (!m) return undefined;
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2] as '' | 'K' | 'M' | 'G'];
  return Number(m[1]) * mult;
}

/** Read info/ and the default group's schemata into the facts allocation needs. */
export async function readInfo(fs: ResctrlFs, options: string[], sysfsRoot = '/sys'): Promise<ResctrlInfo> {
  const names = (await fs.readdir('info')).filter((n) => !n.endsWith('_MON') && n !== 'last_cmd_status');
  const resources: string[] = [];
  const caches = new Map<string, CacheResource>();
  let mb: BandwidthResource | undefined;
  for (const n of names.sort()) {
    if (await fs.exists(`info/${n}/cbm_mask`)) {
      caches.set(n, await readCache(fs, n));
      resources.push(n);
    } else if (n === 'MB') {
      mb = await readBandwidth(fs, options);
      resources.push(n);
    } else if (await fs.exists(`info/${n}/num_closids`)) {
      resources.push(n); // SMBA and future resources count toward the CLOSID limit
    }
  }
  const cdp = caches.has('L3CODE');
  const l3 = caches.get(cdp ? 'L3CODE' : 'L3');
  const l3Lines = !l3 ? [] : cdp ? ['L3CODE', 'L3DATA'] : ['L3'];
  let numClosids = Infinity;
  for (const n of resources) {
    const c = caches.get(n)?.numClosids ?? (n === 'MB' ? mb?.numClosids : await readInt(fs, `info/${n}/num_closids`));
    if (c !== undefined && c > 0) numClosids = Math.min(numClosids, c);
  }
  if (!Number.isFinite(numClosids)) numClosids = 1;

  const root = parseSchemata(await fs.readFile('schemata'));
  const keyLine = root.get(l3Lines[0] ?? 'MB');
  const domains = keyLine ? [...keyLine.keys()].sort((a, b) => a - b) : [];
  const sys = await l3Domains(sysfsRoot);
  const cpusOfDomain = new Map<number, number[]>();
  for (const d of domains) cpusOfDomain.set(d, sys.cpus.get(d) ?? []);
  return {
    mountOptions: options,
    resources,
    ...(l3 ? { l3 } : {}),
    l3Lines,
    cdp,
    ...(mb ? { mb } : {}),
    numClosids,
    groupLimit: numClosids - 1,
    domains,
    cpusOfDomain,
    ...(sys.sizeBytes !== undefined ? { l3SizeBytes: sys.sizeBytes } : {}),
  };
}
