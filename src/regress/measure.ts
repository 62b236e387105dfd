// Measure fixed configurations through the same pipeline as an exploration (study loop, queue,
// host worker, scheduler, isolation), each configuration on its own so that they do not disturb
// each other, under a fresh experiment id so that a second measurement is never a resume.

import { configChecksum, defaultConfig, Space } from '../generator/index.js';
import { hostFacts } from '../study/host-facts.js';
import { experimentId } from '../study/identity.js';
import { Study } from '../study/study.js';
import type { Workspace } from '../study/workspace.js';
import type { Config, Experiment } from '../types.js';
import { wayfinderVersion } from '../util/version.js';
import { configurationsFromStore, noiseControl, placementNotes, type Measurement } from './baseline.js';

export interface MeasureOptions {
  /** Measured iterations per test. */
  iterations: number;
  /** Warm-ups per test (at least the experiment's own). */
  warmup: number;
}

/** The experiment as regress runs it: its tests with these iterations and warm-ups, one configuration at a time. */
export function regressExperiment(exp: Experiment, o: MeasureOptions): Experiment {
  return {
    ...exp,
    tests: exp.tests.map((t) => ({ ...t, iterations: o.iterations, warmup: Math.max(t.warmup, o.warmup) })),
    exploration: { ...exp.exploration, parallel: 1 },
  };
}

/** A new id for each measurement: the experiment's identity, then when (base 36 milliseconds). */
export function measurementId(exp: Experiment, now = Date.now()): string {
  return `${experimentId(exp)}-regress-${now.toString(36)}`;
}

/**
 * Measure `configs` in an open work directory; `tuning` is what the experiment's host settings
 * changed and could not change (applied when the work directory was opened, before any job).
 */
export async function measure(
  ws: Workspace,
  exp: Experiment,
  configs: Config[],
  tuning: { tuned: string[]; unavailable: string[] },
  hooks: { onStudy?: (s: Study) => void } = {},
): Promise<Measurement> {
  const host = { ...(await hostFacts()), tuning: { changed: tuning.tuned, unavailable: tuning.unavailable } };
  const id = measurementId(exp);
  const study = new Study(exp, ws.store, ws.transport, { host, baseline: false, configs, id });
  hooks.onStudy?.(study);
  await study.run();
  const defaultId = configChecksum(exp.params, new Space(exp.params).normalize(defaultConfig(exp.params)));
  return {
    format: 'wayfinder-baseline',
    version: 1,
    wayfinder: wayfinderVersion(),
    createdAt: new Date().toISOString(),
    experiment: { name: exp.name, id, file: exp.file, hash: exp.hash },
    objective: { metric: exp.objective.metric, direction: exp.objective.direction },
    host: host as unknown as Record<string, unknown>,
    noise: noiseControl(exp, [...tuning.unavailable, ...placementNotes(ws.store, id)], tuning.tuned),
    configurations: configurationsFromStore(ws.store, id).map((c) => ({ ...c, isDefault: c.configId === defaultId })),
  };
}
