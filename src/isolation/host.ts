// Host tuning for an experiment (governor, turbo, SMT, ASLR, sysctls), undone afterwards. The values
// found are saved before anything is written, so a later process can undo a run that was killed.
import { promises as fsp } from 'node:fs';
import type { HostSettings } from '../types.js';
import { readIfExists, removeIfExists, writeFileAtomic } from './atomic-file.js';
import { planHostSettings, type Unavailable } from './host-settings.js';

export interface HostChange {
  setting: string;
  path: string;
  from: string;
  to: string;
}

export interface HostReport {
  /** Files written (those already at the wanted value are left alone and not listed). */
  applied: HostChange[];
  unavailable: Unavailable[];
}

export interface HostTuningOptions {
  stateFile: string;
  sysfsRoot?: string;
  procRoot?: string;
}

interface Snapshot {
  version: 1;
  pid: number;
  createdAt: string;
  /** Values found before the run, in the order they were applied. */
  entries: Array<{ setting: string; path: string; value: string }>;
  unavailable: Unavailable[];
}

const normalise = (v: string) => v.trim().replace(/\s+/g, ' ');

async function writeValue(path: string, value: string): Promise<void> {
  await fsp.writeFile(path, `${value}\n`);
}

/** Put every saved value back, last applied first; the errors of those that failed. */
async function restoreSnapshot(snap: Snapshot): Promise<string[]> {
  const errors: string[] = [];
  for (const e of [...snap.entries].reverse()) {
    try {
      const now = await fsp.readFile(e.path, 'utf8');
      if (normalise(now) !== normalise(e.value)) await writeValue(e.path, e.value);
    } catch (err) {
      errors.push(`${e.setting} (${e.path} back to "${e.value}"): ${(err as Error).message}`);
    }
  }
  return errors;
}

async function loadSnapshot(stateFile: string): Promise<Snapshot | undefined> {
  const text = await readIfExists(stateFile);
  if (text === undefined) return undefined;
  try {
    const snap = JSON.parse(text) as Snapshot;
    if (snap.version !== 1 || !Array.isArray(snap.entries)) throw new Error('unknown format');
    return snap;
  } catch (e) {
    throw new Error(`host: cannot read the saved host settings in ${stateFile}: ${(e as Error).message}`);
  }
}

async function restoreFile(stateFile: string, snap: Snapshot): Promise<void> {
  const errors = await restoreSnapshot(snap);
  // Kept on failure, so a later recover() can try again.
  if (errors.length > 0) throw new Error(`host: could not restore (snapshot kept in ${stateFile}):\n  ${errors.join('\n  ')}`);
  await removeIfExists(stateFile);
}

export class HostTuning {
  private readonly stateFile: string;
  private readonly roots: { sysfsRoot: string; procRoot: string };
  /** What apply() saved: the only files write() may change, since only they are put back. */
  private saved: Snapshot | undefined;

  constructor(opts: HostTuningOptions) {
    this.stateFile = opts.stateFile;
    this.roots = { sysfsRoot: opts.sysfsRoot ?? '/sys', procRoot: opts.procRoot ?? '/proc' };
  }

  /** At start: undo what a killed run left (its snapshot), then delete the snapshot. True when there was one. */
  static async recover(stateFile: string): Promise<boolean> {
    const snap = await loadSnapshot(stateFile);
    if (!snap) return false;
    await restoreFile(stateFile, snap);
    return true;
  }

  async apply(settings: HostSettings): Promise<HostReport> {
    if ((await readIfExists(this.stateFile)) !== undefined) {
      throw new Error(`host: ${this.stateFile} holds settings saved by an earlier run; HostTuning.recover must restore them first`);
    }
    const plan = await planHostSettings(settings, this.roots);
    const snap: Snapshot = { version: 1, pid: process.pid, createdAt: new Date().toISOString(), entries: [], unavailable: plan.unavailable };
    for (const w of plan.writes) snap.entries.push({ setting: w.setting, path: w.path, value: (await fsp.readFile(w.path, 'utf8')).trim() });
    await writeFileAtomic(this.stateFile, `${JSON.stringify(snap, null, 1)}\n`);
    this.saved = snap;

    const applied: HostChange[] = [];
    for (const [i, w] of plan.writes.entries()) {
      const from = (snap.entries[i] as Snapshot['entries'][number]).value;
      if (normalise(from) === normalise(w.value)) continue;
      try {
        await writeValue(w.path, w.value);
      } catch (e) {
        const undo = await restoreSnapshot(snap);
        if (undo.length === 0) await removeIfExists(this.stateFile);
        throw new Error(
          `host: setting ${w.setting} to "${w.value}" (${w.path}) failed: ${(e as Error).message}` +
            (undo.length > 0 ? `; restoring also failed:\n  ${undo.join('\n  ')}` : '; earlier settings were restored'),
        );
      }
      applied.push({ setting: w.setting, path: w.path, from, to: w.value });
    }
    return { applied, unavailable: plan.unavailable };
  }

  /**
   * Change one setting apply() saved, again (a controller moving a sysctl while it runs): its value
   * before apply() is in the saved snapshot already, so restore() and recover() put that back.
   */
  async write(setting: string, value: string): Promise<void> {
    const e = this.saved?.entries.find((x) => x.setting === setting);
    if (!e) throw new Error(`host: ${setting} was not saved by apply(), so it would not be put back; refusing to write it`);
    await writeValue(e.path, value);
  }

  /** The value a saved setting has now. */
  async read(setting: string): Promise<string> {
    const e = this.saved?.entries.find((x) => x.setting === setting);
    if (!e) throw new Error(`host: ${setting} was not saved by apply()`);
    return normalise(await fsp.readFile(e.path, 'utf8'));
  }

  /** Put back the values found by apply(); nothing to do when nothing was applied. */
  async restore(): Promise<void> {
    const snap = await loadSnapshot(this.stateFile);
    if (snap) await restoreFile(this.stateFile, snap);
    this.saved = undefined;
  }
}

/** Roots for host tuning: WAYFINDER_SYSFS_ROOT and WAYFINDER_PROCFS_ROOT point it at a stand-in tree (tests). */
export function hostRootsFromEnv(env: NodeJS.ProcessEnv = process.env): { sysfsRoot?: string; procRoot?: string } {
  return {
    ...(env.WAYFINDER_SYSFS_ROOT ? { sysfsRoot: env.WAYFINDER_SYSFS_ROOT } : {}),
    ...(env.WAYFINDER_PROCFS_ROOT ? { procRoot: env.WAYFINDER_PROCFS_ROOT } : {}),
  };
}
