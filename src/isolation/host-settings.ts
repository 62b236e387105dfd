// Which kernel files a HostSettings touches and what goes into each; what the host lacks is
// reported once per setting with the reason, not treated as an error.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { InputError, type HostSettings } from '../types.js';
import { parseCpuList } from '../util/cpulist.js';

export interface HostWrite {
  /** governor | turbo | smt | aslr | sysctl:<name> */
  setting: string;
  path: string;
  value: string;
}

export interface Unavailable {
  setting: string;
  reason: string;
}

export interface HostPlan {
  writes: HostWrite[];
  unavailable: Unavailable[];
}

export interface HostRoots {
  sysfsRoot: string;
  procRoot: string;
}

async function readTrimmed(path: string): Promise<string | undefined> {
  try {
    return (await fsp.readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

const SYSCTL_NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/;

/** The writes for `s`, in the order they are applied (SMT last: turning it off takes CPUs offline). */
export async function planHostSettings(s: HostSettings, roots: HostRoots): Promise<HostPlan> {
  const cpu = join(roots.sysfsRoot, 'devices/system/cpu');
  const writes: HostWrite[] = [];
  const unavailable: Unavailable[] = [];

  if (s.governor !== undefined) {
    const online = await readTrimmed(join(cpu, 'online'));
    const cpus = online !== undefined ? parseCpuList(online) : [];
    const found: HostWrite[] = [];
    const missing: number[] = [];
    let offered: string | undefined;
    for (const n of cpus) {
      const dir = join(cpu, `cpu${n}`, 'cpufreq');
      if ((await readTrimmed(join(dir, 'scaling_governor'))) === undefined) {
        missing.push(n);
        continue;
      }
      offered ??= await readTrimmed(join(dir, 'scaling_available_governors'));
      found.push({ setting: 'governor', path: join(dir, 'scaling_governor'), value: s.governor });
    }
    if (found.length === 0) {
      unavailable.push({ setting: 'governor', reason: `no cpufreq driver (${join(cpu, 'cpu*/cpufreq/scaling_governor')} missing)` });
    } else if (offered !== undefined && !offered.split(/\s+/).includes(s.governor)) {
      unavailable.push({ setting: 'governor', reason: `governor "${s.governor}" not offered (available: ${offered})` });
    } else {
      writes.push(...found);
      if (missing.length > 0) unavailable.push({ setting: 'governor', reason: `no cpufreq on CPUs ${missing.join(',')}` });
    }
  }

  if (s.turbo !== undefined) {
    const noTurbo = join(cpu, 'intel_pstate/no_turbo');
    const boost = join(cpu, 'cpufreq/boost');
    if ((await readTrimmed(noTurbo)) !== undefined) writes.push({ setting: 'turbo', path: noTurbo, value: s.turbo ? '0' : '1' });
    else if ((await readTrimmed(boost)) !== undefined) writes.push({ setting: 'turbo', path: boost, value: s.turbo ? '1' : '0' });
    else unavailable.push({ setting: 'turbo', reason: 'neither intel_pstate/no_turbo nor cpufreq/boost exists' });
  }

  if (s.aslr !== undefined) {
    const path = join(roots.procRoot, 'sys/kernel/randomize_va_space');
    if ((await readTrimmed(path)) !== undefined) writes.push({ setting: 'aslr', path, value: s.aslr ? '2' : '0' });
    else unavailable.push({ setting: 'aslr', reason: `${path} missing` });
  }

  for (const [name, value] of Object.entries(s.sysctls)) {
    if (!SYSCTL_NAME.test(name)) throw new InputError(`host: sysctl name "${name}" is not a dotted name like vm.swappiness`);
    const path = join(roots.procRoot, 'sys', ...name.split('.'));
    if ((await readTrimmed(path)) !== undefined) writes.push({ setting: `sysctl:${name}`, path, value: String(value) });
    else unavailable.push({ setting: `sysctl:${name}`, reason: `no such sysctl (${path} missing)` });
  }

  if (s.smt !== undefined) {
    const path = join(cpu, 'smt/control');
    const state = await readTrimmed(path);
    if (state === 'on' || state === 'off') writes.push({ setting: 'smt', path, value: s.smt ? 'on' : 'off' });
    else unavailable.push({ setting: 'smt', reason: state === undefined ? `${path} missing` : `SMT control is "${state}"` });
  }
  return { writes, unavailable };
}
