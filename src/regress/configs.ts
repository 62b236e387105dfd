// Which configurations `regress` measures: `default` (every parameter at its default), `best` (the
// best one an earlier `wayfinder run` of this experiment found in the work directory), or
// configuration ids (prefixes) known from the baseline or the work directory; comma-separated.

import { configChecksum, defaultConfig, Space } from '../generator/index.js';
import type { ConfigRow } from '../store/store.js';
import { rankConfigs } from '../study/summary.js';
import type { Config, Experiment } from '../types.js';
import type { MeasuredConfig } from './baseline.js';

export class ConfigChoiceError extends Error {}

export interface ConfigSources {
  /** Configurations of this experiment's exploration in the work directory (for `best` and ids). */
  explored: ConfigRow[];
  /** The baseline's configurations (for ids). */
  baseline: MeasuredConfig[];
}

export function chooseConfigs(spec: string, exp: Experiment, sources: ConfigSources): Config[] {
  const space = new Space(exp.params);
  const names = exp.params.map((p) => p.name);
  const tokens = spec
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (tokens.length === 0) throw new ConfigChoiceError('--configs: expected default, best or configuration ids');
  const out: Config[] = [];
  for (const t of tokens) {
    if (t === 'default') {
      out.push(space.normalize(defaultConfig(exp.params)));
    } else if (t === 'best') {
      const best = rankConfigs(sources.explored, exp.objective)[0];
      if (!best) throw new ConfigChoiceError(`--configs best: no measured configuration of ${exp.name} in the work directory; explore it first with wayfinder run`);
      out.push(space.normalize(best.params));
    } else {
      if (!/^[0-9a-f]{4,32}$/.test(t)) throw new ConfigChoiceError(`--configs: "${t}" is not default, best or a configuration id (4 to 32 hex digits)`);
      const candidates = new Map<string, Config>();
      const add = (params: Config): void => {
        if (names.some((n) => !(n in params)) || Object.keys(params).some((k) => !names.includes(k))) return; // another parameter set
        const c = space.normalize(params);
        candidates.set(configChecksum(exp.params, c), c);
      };
      add(defaultConfig(exp.params));
      for (const r of sources.explored) add(r.params);
      for (const b of sources.baseline) add(b.params);
      const hits = [...candidates].filter(([id]) => id.startsWith(t));
      if (hits.length === 0) throw new ConfigChoiceError(`--configs: no configuration ${t} of ${exp.name} in the baseline or the work directory`);
      if (hits.length > 1) throw new ConfigChoiceError(`--configs: ${t} is ambiguous (${hits.map(([id]) => id.slice(0, 12)).join(', ')}); give more digits`);
      out.push((hits[0] as [string, Config])[1]);
    }
  }
  return out;
}
