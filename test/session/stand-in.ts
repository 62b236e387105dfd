// A host's /proc and /sys laid out in a temporary directory (WAYFINDER_PROCFS_ROOT and
// WAYFINDER_SYSFS_ROOT point host tuning at it), so this machine's settings are never touched:
// ASLR and vm.swappiness, two CPUs online, no cpufreq (the governor is "unavailable").

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface StandIn {
  env: Record<string, string>;
  roots: { procRoot: string; sysfsRoot: string };
  aslr: string;
  swappiness: string;
}

export function standIn(dir: string, values: { aslr?: string; swappiness?: string } = {}): StandIn {
  const procRoot = join(dir, 'proc');
  const sysfsRoot = join(dir, 'sys');
  const aslr = join(procRoot, 'sys/kernel/randomize_va_space');
  const swappiness = join(procRoot, 'sys/vm/swappiness');
  for (const [p, v] of [
    [aslr, values.aslr ?? '2'],
    [swappiness, values.swappiness ?? '60'],
  ] as const) {
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, `${v}\n`);
  }
  mkdirSync(join(sysfsRoot, 'devices/system/cpu'), { recursive: true });
  writeFileSync(join(sysfsRoot, 'devices/system/cpu/online'), '0-1\n');
  return { env: { WAYFINDER_PROCFS_ROOT: procRoot, WAYFINDER_SYSFS_ROOT: sysfsRoot }, roots: { procRoot, sysfsRoot }, aslr, swappiness };
}

export const value = (p: string): string => readFileSync(p, 'utf8').trim();
