// Mounting resctrl where the kernel offers it (the CPU has RDT) but nobody has mounted it, and
// unmounting it afterwards. Only root can mount; a marker file next to the default group's saved
// schemata says we mounted it, so that a process started after a crash unmounts it too.

import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { readIfExists, removeIfExists, writeFileAtomic } from './atomic-file.js';

const run = promisify(execFile);

export interface MountCommands {
  /** argv prefix; `-t resctrl resctrl TARGET` is appended (default: mount). */
  mount?: string[];
  /** argv prefix; `TARGET` is appended (default: umount). */
  umount?: string[];
}

export interface MountPlan extends MountCommands {
  procRoot: string;
  /** Where to mount (default /sys/fs/resctrl under the sysfs root). */
  target: string;
  /** The marker file: it holds the target while the mount is ours. */
  marker: string;
}

export function markerFor(stateFile: string): string {
  return join(dirname(stateFile), 'resctrl-mounted-by-wayfinder');
}

/** The kernel registers the resctrl filesystem only when the CPU has RDT. */
export async function kernelOffersResctrl(procRoot: string): Promise<boolean> {
  const text = await fsp.readFile(join(procRoot, 'filesystems'), 'utf8').catch(() => '');
  return text.split('\n').some((l) => l.trim().split(/\s+/).pop() === 'resctrl');
}

/** Mount resctrl if we are root and the kernel offers it; true when it is now mounted by us. */
export async function mountResctrl(p: MountPlan): Promise<boolean> {
  if (process.getuid?.() !== 0 || !(await kernelOffersResctrl(p.procRoot))) return false;
  const [cmd, ...args] = p.mount ?? ['mount'];
  try {
    await run(cmd as string, [...args, '-t', 'resctrl', 'resctrl', p.target]);
  } catch {
    return false;
  }
  await writeFileAtomic(p.marker, `${p.target}\n`);
  return true;
}

/** Unmount what the marker says we mounted (this process or a killed predecessor), then drop the marker. */
export async function unmountIfOurs(marker: string, cmds: MountCommands = {}): Promise<boolean> {
  const target = (await readIfExists(marker))?.trim();
  if (!target) return false;
  const [cmd, ...args] = cmds.umount ?? ['umount'];
  await run(cmd as string, [...args, target]);
  await removeIfExists(marker);
  return true;
}
