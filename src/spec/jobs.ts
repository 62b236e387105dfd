// Build and test jobs: command or script, where they run, how long they may take, and what they
// may touch. Defaults differ by phase: builds share cores freely, tests get a core to themselves.

import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { InputError, type Isolation, type JobResources, type JobSpec, type PathMapping, type RunnerKind, type VmSpec } from '../types.js';
import type { RawVm } from './schema.js';
import type { Path, SourceDoc } from './document.js';
import type { DraftJob } from './draft.js';
import { didYouMean } from './suggest.js';
import { LINUX_CAPABILITIES, parseDuration, parseSize } from './units.js';

const DEFAULTS = {
  build: { isolation: 'none' as Isolation, timeoutSec: 3600 },
  test: { isolation: 'core' as Isolation, timeoutSec: 600 },
};

export function normaliseJob(d: DraftJob, src: SourceDoc, dir: string): JobSpec {
  const { raw } = d;
  const path = (key: string, ...rest: Array<string | number>): Path => [...d.path, ...(d.rename?.[key] ?? [key]), ...rest];
  const at = (key: string, ...rest: Array<string | number>) => src.loc(path(key, ...rest));

  if (raw.run !== undefined && raw.script !== undefined) {
    throw new InputError(`give either 'run' or 'script', not both`, src.keyLoc(path('script')));
  }
  // A VM test may only boot and measure: its command (a load generator) is optional.
  if (raw.run === undefined && raw.script === undefined && raw.vm === undefined) {
    throw new InputError(`the ${d.phase} job needs a command: 'run' (a command line) or 'script' (a file)`, src.loc(d.path));
  }
  const defaults = DEFAULTS[d.phase];
  const job: JobSpec = {
    name: raw.name ?? d.phase,
    phase: d.phase,
    kind: kindOf(raw, () => at('runner')),
    cores: raw.cores ?? 1,
    isolation: raw.isolation ?? defaults.isolation,
    timeoutSec: raw.timeout === undefined ? defaults.timeoutSec : timeoutOf(raw.timeout, at('timeout')),
    retries: raw.retries ?? 0,
    iterations: d.phase === 'build' ? 1 : (raw.iterations ?? 1),
    warmup: d.phase === 'build' ? 0 : (raw.warmup ?? 0),
    devices: [...new Set(raw.devices ?? [])],
    capabilities: (raw.capabilities ?? []).map((c, i) => capabilityOf(c, at('capabilities', i))),
    privileged: raw.privileged ?? false,
    inputs: (raw.inputs ?? []).map((m, i) => mappingOf(m, at('inputs', i))),
    outputs: (raw.outputs ?? []).map((m, i) => mappingOf(m, at('outputs', i))),
    resources: resourcesOf(raw.resources, (k) => at('resources', k)),
    env: Object.fromEntries(Object.entries(raw.env ?? {}).map(([k, v]) => [k, String(v)])),
    loc: src.loc(d.path),
  };
  if (raw.run !== undefined) job.run = raw.run;
  if (raw.script !== undefined) job.script = scriptOf(raw.script, dir, at('script'));
  if (raw.image !== undefined) job.image = raw.image;
  if (raw.network !== undefined) job.network = raw.network;
  if (raw.vm !== undefined) job.vm = vmOf(raw.vm, job.cores, (...rest) => src.loc(path('vm', ...rest)));
  if (raw.kconfig !== undefined) {
    job.kconfig = { config: raw.kconfig.config ?? '.config', resolve: raw.kconfig.resolve ?? 'make olddefconfig' };
    if (raw.kconfig.base !== undefined) job.kconfig.base = raw.kconfig.base;
    if (raw.kconfig.sources !== undefined) job.kconfig.sources = raw.kconfig.sources;
  }
  if (raw.source !== undefined) job.source = raw.source;
  if (raw.archives !== undefined) job.archives = raw.archives;
  if (raw.fidelity !== undefined) {
    const f = raw.fidelity;
    if (f.env in job.env) throw new InputError(`fidelity.env ${f.env} is also set in the test's env: the fidelity sets it (to its cheap or full value)`, at('fidelity', 'env'));
    const cheap = String(f.cheap);
    const full = String(f.full);
    if (cheap === full) throw new InputError(`fidelity: cheap and full are both '${cheap}': a cheap look must differ from a full measurement`, at('fidelity', 'cheap'));
    job.fidelity = { env: f.env, cheap, full, iterations: f.iterations ?? 2 };
  }
  return job;
}

/**
 * A test's fidelity variable must not be a parameter (the fidelity, not the configuration, sets it),
 * and only an experiment of one test can have one (its stages are per configuration).
 */
export function checkFidelity(tests: JobSpec[], drafts: DraftJob[], paramNames: readonly string[], src: SourceDoc): void {
  tests.forEach((t, i) => {
    if (!t.fidelity) return;
    const d = drafts[i] as DraftJob;
    const at = (...rest: Array<string | number>) => src.loc([...d.path, 'fidelity', ...rest]);
    if (paramNames.includes(t.fidelity.env)) throw new InputError(`fidelity.env ${t.fidelity.env} is a parameter: name a variable of its own, which only the fidelity sets`, at('env'));
    if (tests.length > 1) throw new InputError(`fidelity needs an experiment of one test (this one has ${tests.length}): cheap looks are per configuration`, src.keyLoc([...d.path, 'fidelity']));
  });
}

/**
 * The runner kind: named by `runner`, else implied by the built-in kinds' keys (image: a container,
 * vm: a VM, neither: a host process). Whether a named kind exists is the runners' to say at preflight.
 */
function kindOf(raw: DraftJob['raw'], loc: () => ReturnType<SourceDoc['loc']>): RunnerKind {
  // Both: the VM boots and the command runs in a container beside it (Wayfinder's kernel + benchtool).
  const implied =
    raw.image !== undefined && raw.vm !== undefined ? VM_CONTAINER : raw.image !== undefined ? 'container' : raw.vm !== undefined ? 'vm' : undefined;
  if (raw.runner === undefined) return implied ?? 'process';
  if (implied !== undefined && raw.runner !== implied) {
    const keys = implied === VM_CONTAINER ? "'image' and 'vm'" : `'${implied === 'container' ? 'image' : 'vm'}'`;
    const what = implied === VM_CONTAINER ? 'a VM with its command in a container' : `a ${implied}`;
    throw new InputError(`'runner: ${raw.runner}' contradicts ${keys}, which run${implied === VM_CONTAINER ? '' : 's'} the job as ${what}`, loc());
  }
  return raw.runner;
}

/** The kind of a job with both a VM and an image (src/runners/vm-container.ts). */
export const VM_CONTAINER = 'vm-container';

function vmOf(v: RawVm, jobCores: number, at: (...rest: Array<string | number>) => ReturnType<SourceDoc['loc']>): VmSpec {
  const memory = typeof v.memory === 'number' ? `${v.memory}M` : (v.memory ?? '64M');
  // A size that names a parameter is checked when the run expands it.
  if (!memory.includes('${') && parseSize(memory) === undefined) {
    throw new InputError(`bad size '${memory}' for 'memory'; expected MiB or a number with K, M or G (64M)`, at('memory'));
  }
  const marker = v.marker ?? '.';
  try {
    new RegExp(marker);
  } catch (e) {
    throw new InputError(`marker ${JSON.stringify(marker)} is not a valid regular expression: ${(e as Error).message.split(': ').pop()}`, at('marker'));
  }
  const forward = [...new Set(v.forward ?? [])];
  const vm: VmSpec = {
    kernel: v.kernel,
    memory,
    cores: v.cores ?? jobCores,
    accel: v.accel ?? 'auto',
    net: v.net ?? (forward.length > 0 || v.probe !== undefined ? 'user' : 'none'),
    forward,
    marker,
    bootTimeoutSec: v.boot_timeout === undefined ? 60 : timeoutOf(v.boot_timeout, at('boot_timeout')),
  };
  if (v.initrd !== undefined) vm.initrd = v.initrd;
  if (v.args !== undefined) vm.args = v.args;
  if (v.probe !== undefined) {
    const p = typeof v.probe === 'number' ? { port: v.probe } : v.probe;
    vm.probe = { kind: typeof v.probe === 'number' ? 'http' : (v.probe.kind ?? 'http'), port: p.port, path: ('path' in p && p.path) || '/' };
    if (!vm.forward.includes(p.port)) vm.forward.push(p.port);
    if (vm.net === 'none') throw new InputError(`'probe' needs networking; remove 'net: none'`, at('probe'));
  }
  if (vm.net !== 'user' && vm.forward.length > 0 && v.forward !== undefined) {
    throw new InputError(`'forward' needs 'net: user' (with a tap the guest is reached at its own address)`, at('forward'));
  }
  if (vm.net === 'tap') {
    vm.forward = [];
    vm.tap = { host: v.tap?.host ?? '10.0.3.1/24', guest: v.tap?.guest ?? '10.0.3.2' };
    if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(vm.tap.host)) throw new InputError(`tap host address must be an IPv4 CIDR like 10.0.3.1/24`, at('tap', 'host'));
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(vm.tap.guest)) throw new InputError(`tap guest address must be an IPv4 address like 10.0.3.2`, at('tap', 'guest'));
  } else if (v.tap !== undefined) {
    throw new InputError(`'tap' applies only with 'net: tap'`, at('tap'));
  }
  if (v.arch !== undefined) vm.arch = v.arch;
  if (v.disks !== undefined) vm.disks = v.disks.map((d) => (typeof d === 'string' ? { path: d, format: 'raw' } : { path: d.path, format: d.format ?? 'raw' }));
  if (v.start_delay !== undefined) vm.startDelaySec = v.start_delay;
  if (v.footprint !== undefined && v.footprint !== false) {
    vm.footprint = v.footprint === true ? { min: 8, max: 1024 } : { min: v.footprint.min, max: v.footprint.max, ...(v.footprint.step_kib !== undefined ? { stepKiB: v.footprint.step_kib } : {}) };
    if (vm.footprint.min > vm.footprint.max) throw new InputError(`footprint min (${vm.footprint.min}) is greater than its max (${vm.footprint.max})`, at('footprint'));
  }
  return vm;
}

function scriptOf(script: string, dir: string, loc: ReturnType<SourceDoc['loc']>): string {
  const full = isAbsolute(script) ? script : resolve(dir, script);
  if (!existsSync(full) || !statSync(full).isFile()) {
    throw new InputError(`script file '${script}' not found (looked for ${full})`, loc);
  }
  return full;
}

function timeoutOf(t: number | string, loc: ReturnType<SourceDoc['loc']>): number {
  const sec = typeof t === 'number' ? t : parseDuration(t);
  if (sec === undefined) {
    throw new InputError(`bad duration '${t}' for 'timeout'; expected seconds or a number with s, m or h (90s, 10m, 1h)`, loc);
  }
  if (!(sec > 0)) throw new InputError(`'timeout' must be longer than 0 seconds`, loc);
  return sec;
}

function capabilityOf(c: string, loc: ReturnType<SourceDoc['loc']>): string {
  const name = c.trim().toUpperCase().replace(/^CAP_/, '');
  if (!LINUX_CAPABILITIES.includes(name)) {
    throw new InputError(`unknown Linux capability '${c}'${didYouMean(name, LINUX_CAPABILITIES)}`, loc);
  }
  return name;
}

function mappingOf(m: string | PathMapping, loc: ReturnType<SourceDoc['loc']>): PathMapping {
  if (typeof m !== 'string') return { source: m.source, destination: m.destination };
  const i = m.indexOf(':');
  const source = i < 0 ? '' : m.slice(0, i).trim();
  const destination = i < 0 ? '' : m.slice(i + 1).trim();
  if (source === '' || destination === '') {
    throw new InputError(`expected "source:destination" or a mapping with source and destination, got '${m}'`, loc);
  }
  return { source, destination };
}

function resourcesOf(
  r: { l3_ways?: number; mb_percent?: number; memory?: number | string } | undefined,
  at: (key: string) => ReturnType<SourceDoc['loc']>,
): JobResources {
  const out: JobResources = {};
  if (!r) return out;
  if (r.l3_ways !== undefined) out.l3Ways = r.l3_ways;
  if (r.mb_percent !== undefined) out.mbPercent = r.mb_percent;
  if (r.memory !== undefined) {
    const bytes = typeof r.memory === 'number' ? r.memory : parseSize(r.memory);
    if (bytes === undefined) {
      throw new InputError(`bad size '${r.memory}' for 'memory'; expected bytes or a number with K, M, G or T (512M)`, at('memory'));
    }
    out.memoryBytes = bytes;
  }
  return out;
}

/** Test names must differ: metrics and results refer to tests by name. */
export function checkTestNames(tests: JobSpec[], drafts: DraftJob[], src: SourceDoc): void {
  const seen = new Set<string>();
  tests.forEach((t, i) => {
    if (seen.has(t.name)) {
      const d = drafts[i] as DraftJob;
      const where = src.has([...d.path, 'name']) ? src.loc([...d.path, 'name']) : src.loc(d.path);
      throw new InputError(`duplicate test name '${t.name}'; each test needs a name of its own`, where);
    }
    seen.add(t.name);
  });
}
