// Host tuning around a measurement (governor, turbo, SMT, ASLR, sysctls, as the experiment's
// `host` asks): what a killed earlier measurement left is put back first, the settings are applied,
// and put back afterwards. What was changed and what the host could not do are recorded.

import { HostTuning, type HostReport } from './host.js';
import type { HostSettings } from '../types.js';
import { hostTuningPath } from '../workdir.js';

export interface TunedHost {
  /** "setting=value" for each file written, and "setting: reason" for each setting the host lacks. */
  tuned: string[];
  unavailable: string[];
  restore(): Promise<void>;
}

export function describeHostReport(r: HostReport): { tuned: string[]; unavailable: string[] } {
  const tuned = [...new Set(r.applied.map((c) => `${c.setting}=${c.to} (was ${c.from})`))];
  return { tuned, unavailable: r.unavailable.map((u) => `host ${u.setting}: ${u.reason}`) };
}

export async function tuneHost(workdir: string, settings: HostSettings, roots: { sysfsRoot?: string; procRoot?: string } = {}): Promise<TunedHost> {
  const stateFile = hostTuningPath(workdir);
  await HostTuning.recover(stateFile);
  const tuning = new HostTuning({ stateFile, ...roots });
  const report = await tuning.apply(settings);
  return { ...describeHostReport(report), restore: () => tuning.restore() };
}
