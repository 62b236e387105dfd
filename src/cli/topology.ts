// `wayfinder topology`: the CPUs, caches and sockets jobs are placed on, and how many fit at once.

import { capacityTable } from '../scheduler/allocator.js';
import { allowedCpusOfSelf, formatTopology, readTopology, topologyJson } from '../scheduler/topology.js';
import { parseCpuList } from '../util/cpulist.js';
import { UsageError } from './errors.js';

export async function topologyCommand(o: { sysfs?: string; cpus?: string; json?: boolean }): Promise<number> {
  let allowed: number[] | undefined;
  if (o.cpus !== undefined) {
    try {
      allowed = parseCpuList(o.cpus);
    } catch {
      throw new UsageError(`--cpus: not a CPU list: "${o.cpus}"`);
    }
  } else if (o.sysfs === undefined) {
    allowed = await allowedCpusOfSelf();
  }
  const topo = await readTopology({ ...(o.sysfs ? { sysfsRoot: o.sysfs } : {}), ...(allowed ? { allowedCpus: allowed } : {}) }).catch((e: unknown) => {
    // A tree that is not a sysfs (or CPUs outside it) is the flags' fault: say which.
    if (o.sysfs === undefined && o.cpus === undefined) throw e;
    throw new UsageError(`${o.sysfs !== undefined ? '--sysfs' : '--cpus'}: ${(e as Error).message}`);
  });
  if (topo.cpus.length === 0) throw new UsageError(`no usable CPUs found under ${o.sysfs ?? '/sys'}${o.cpus ? ` within --cpus ${o.cpus}` : ''}`);
  if (o.json) process.stdout.write(`${JSON.stringify({ ...topologyJson(topo), capacity: capacityTable(topo) }, null, 2)}\n`);
  else process.stdout.write(`${formatTopology(topo, capacityTable(topo))}\n`);
  return 0;
}
