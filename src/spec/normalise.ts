// From a Draft (any format) to the Experiment every other module reads: defaults filled in,
// cross-references checked, every problem reported where it was written.

import { createHash } from 'node:crypto';
import { DEFAULT_STRATEGY } from '../strategies/registry.js';
import { InputError, type Experiment, type Exploration, type HostSettings } from '../types.js';
import type { SourceDoc } from './document.js';
import type { Draft } from './draft.js';
import { checkFidelity, checkTestNames, normaliseJob } from './jobs.js';
import { impliedPrefixes, normaliseMetrics, normaliseObjective } from './metrics.js';
import { normaliseParams } from './params.js';

export function normalise(draft: Draft, src: SourceDoc, file: string, dir: string): Experiment {
  const params = normaliseParams(draft.params, src);
  const build = draft.build ? normaliseJob(draft.build, src, dir) : undefined;
  const tests = draft.tests.map((t) => normaliseJob(t, src, dir));
  checkTestNames(tests, draft.tests, src);
  checkFidelity(tests, draft.tests, params.map((p) => p.name), src);
  const metrics = normaliseMetrics(draft.metrics, tests, src);
  const objective = normaliseObjective(draft.objective, metrics, src, impliedPrefixes(tests));
  const experiment: Experiment = {
    name: draft.name,
    format: draft.format,
    file,
    dir,
    text: src.text,
    hash: createHash('sha256').update(src.text).digest('hex'),
    params,
    tests,
    metrics,
    objective,
    exploration: explorationOf(draft.exploration, src),
    host: hostOf(draft.host),
    pool: draft.pool ?? 'default',
  };
  partitionTests(tests, experiment.host);
  if (draft.description !== undefined) experiment.description = draft.description.trim();
  if (build) experiment.build = build;
  return experiment;
}

function explorationOf(e: Draft['exploration'], src: SourceDoc): Exploration {
  const out: Exploration = {
    strategy: e?.strategy ?? DEFAULT_STRATEGY,
    seed: e?.seed ?? 1,
    parallel: e?.parallel ?? 1,
    randomStart: e?.random_start ?? false,
  };
  if (e?.budget !== undefined) out.budget = e.budget;
  if (e?.warm_start !== undefined) {
    if (out.strategy !== 'bayesian') {
      throw new InputError(`exploration.warm_start: only the bayesian strategy starts from earlier experiments; this one searches with ${out.strategy}`, src.loc(['exploration', 'warm_start']));
    }
    out.warmStart = [...e.warm_start];
  }
  return out;
}

function hostOf(h: Draft['host']): HostSettings {
  const out: HostSettings = {
    sysctls: Object.fromEntries(Object.entries(h?.sysctls ?? {}).map(([k, v]) => [k, String(v)])),
  };
  if (h?.governor !== undefined) out.governor = h.governor;
  if (h?.turbo !== undefined) out.turbo = h.turbo;
  if (h?.smt !== undefined) out.smt = h.smt;
  if (h?.aslr !== undefined) out.aslr = h.aslr;
  const cp = h?.cache_partition;
  if (cp) {
    out.cachePartition = {};
    if (cp.l3_ways !== undefined) out.cachePartition.l3Ways = cp.l3_ways;
    if (cp.mb_percent !== undefined) out.cachePartition.mbPercent = cp.mb_percent;
  }
  return out;
}

/** The experiment's cache partition goes to every test job that names no cache ways or bandwidth itself. */
function partitionTests(tests: Experiment['tests'], host: HostSettings): void {
  const cp = host.cachePartition;
  if (!cp) return;
  for (const t of tests) {
    if (t.resources.l3Ways !== undefined || t.resources.mbPercent !== undefined) continue;
    if (cp.l3Ways !== undefined) t.resources.l3Ways = cp.l3Ways;
    if (cp.mbPercent !== undefined) t.resources.mbPercent = cp.mbPercent;
  }
}
