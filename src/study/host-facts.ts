// Facts about the measuring host, recorded with every experiment so results stay comparable.

import si from 'systeminformation';
import { hostname } from 'node:os';

export interface HostFacts {
  hostname: string;
  cpu: { manufacturer: string; brand: string; cores: number; physicalCores: number; sockets: number; speedGHz: number };
  memoryBytes: number;
  os: { distro: string; release: string; kernel: string; arch: string };
  virtual: boolean;
  virtualHost?: string;
  node: string;
}

export async function hostFacts(): Promise<HostFacts> {
  const [cpu, mem, os, system] = await Promise.all([si.cpu(), si.mem(), si.osInfo(), si.system()]);
  return {
    hostname: hostname(),
    cpu: {
      manufacturer: cpu.manufacturer,
      brand: cpu.brand,
      cores: cpu.cores,
      physicalCores: cpu.physicalCores,
      sockets: cpu.processors,
      speedGHz: cpu.speed,
    },
    memoryBytes: mem.total,
    os: { distro: os.distro, release: os.release, kernel: os.kernel, arch: os.arch },
    virtual: system.virtual,
    ...(system.virtualHost ? { virtualHost: system.virtualHost } : {}),
    node: process.version,
  };
}
