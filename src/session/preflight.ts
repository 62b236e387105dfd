// What a measurement session checks before anything is queued: what this user may do on this host
// (cpuset cgroups, resctrl, host settings) and whether the container engine answers. What the user
// may not do either changes how jobs are confined (CPU affinity instead of cpuset cgroups, no cache
// partitions), said once and recorded with the results, or stops the session at start with one
// line (PreflightError, exit status 2), never a failure of every configuration.

import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CpusetManager } from '../isolation/cpuset.js';
import { planHostSettings } from '../isolation/host-settings.js';
import type { JobIsolationOptions } from '../isolation/job-isolation.js';
import { preflightRunners } from '../runners/kinds.js';
import { dockerTarget, requireDocker } from '../runners/docker/engine.js';
import type { Experiment } from '../types.js';

/** The session cannot measure as asked: one line, exit status 2. */
export class PreflightError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PreflightError';
  }
}

/** What this user may do here, as recorded with each experiment's host facts. */
export interface Confinement {
  uid: number;
  /** How a job's CPUs are enforced: a cpuset cgroup per job, or sched affinity only. */
  cpus: 'cpuset cgroup' | 'affinity';
  /** Cache ways and memory bandwidth may be partitioned (where the host has resctrl). */
  partitions: boolean;
  /** What this user may not do, and what it gets instead. */
  limits: string[];
}

export interface HostAccess {
  isolation: Omit<JobIsolationOptions, 'workdir'>;
  confinement: Confinement;
  /** The one line said at start when the user may not do everything, else undefined. */
  line?: string;
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function resctrlMountPoint(procRoot = '/proc'): string | undefined {
  try {
    for (const line of readFileSync(join(procRoot, 'mounts'), 'utf8').split('\n')) {
      const f = line.split(/\s+/);
      if (f[2] === 'resctrl') return f[1];
    }
  } catch {
    // no /proc/mounts: no resctrl either
  }
  return undefined;
}

/**
 * Whether this user can make cpuset cgroups and resctrl groups; `base` is the isolation asked for
 * (WAYFINDER_CGROUP_ROOT / WAYFINDER_RESCTRL_ROOT, or the kernel's), narrowed to what is allowed.
 */
export function checkHostAccess(base: Omit<JobIsolationOptions, 'workdir'>, uid = process.geteuid?.() ?? 0): HostAccess {
  const limits: string[] = [];
  let cgroupRoot = base.cgroupRoot;
  let cpus: Confinement['cpus'] = 'cpuset cgroup';
  if (cgroupRoot === false) cpus = 'affinity';
  else {
    const mgr = new CpusetManager({ root: cgroupRoot ?? '/sys/fs/cgroup', prefix: 'wayfinder' });
    const version = mgr.detect();
    // Our groups go in a folder made beside the others (parentDir's parent): it must take a new folder.
    const where = version === 'none' ? undefined : dirname(mgr.parentDir(version));
    if (version === 'none') cpus = 'affinity';
    else if (where && !writable(where)) {
      cgroupRoot = false;
      cpus = 'affinity';
      limits.push(`CPUs confined by affinity only (cannot make cpuset cgroups in ${where})`);
    }
  }
  let resctrl = base.resctrl;
  let partitions = resctrl !== false;
  if (resctrl === undefined && uid !== 0) {
    // Without root, resctrl can be neither mounted nor, as mounted by root, written.
    const mount = resctrlMountPoint();
    if (!mount || !writable(mount)) {
      resctrl = false;
      partitions = false;
      limits.push(mount ? `no cache-way or bandwidth partitions (cannot write ${mount})` : 'no cache-way or bandwidth partitions (resctrl needs root)');
    }
  }
  const who = uid === 0 ? 'root' : `uid ${uid}, not root`;
  return {
    isolation: { ...base, ...(cgroupRoot !== undefined ? { cgroupRoot } : {}), ...(resctrl !== undefined ? { resctrl } : {}) },
    confinement: { uid, cpus, partitions, limits },
    ...(limits.length > 0 ? { line: `wayfinder: running as ${who}: ${limits.join('; ')}` } : {}),
  };
}

/** A --docker-socket given explicitly must answer at start, whatever the experiments will need. */
export async function checkEngine(socket: string): Promise<void> {
  await requireDocker(dockerTarget(socket));
}

/**
 * Before an experiment's first job: the preflight of every runner kind it uses (a container job's
 * engine, images, devices and networks; a memory limit with no cgroup to enforce it; an unknown
 * kind), and whether this user may write every host setting it asks for that differs from the
 * host's value.
 */
export async function checkExperiment(exp: Experiment, o: { dockerSocket?: string; roots: { sysfsRoot?: string; procRoot?: string } }): Promise<void> {
  await preflightRunners(exp, o.dockerSocket ? { dockerSocket: o.dockerSocket } : {});
  const plan = await planHostSettings(exp.host, { sysfsRoot: o.roots.sysfsRoot ?? '/sys', procRoot: o.roots.procRoot ?? '/proc' });
  const denied = new Map<string, string>();
  for (const w of plan.writes) {
    if (denied.has(w.setting) || !existsSync(w.path)) continue;
    let now: string;
    try {
      now = readFileSync(w.path, 'utf8').trim();
    } catch {
      now = '';
    }
    if (now === w.value) continue;
    if (!writable(w.path)) denied.set(w.setting, w.path);
  }
  if (denied.size > 0) {
    const uid = process.geteuid?.() ?? 0;
    const list = [...denied].map(([s, p]) => `${s} (${p})`).join(', ');
    throw new PreflightError(
      `host: ${exp.file}: this user (uid ${uid}) may not change ${list}; run as root, or remove ${denied.size === 1 ? 'it' : 'them'} from the experiment's host:`,
    );
  }
}
