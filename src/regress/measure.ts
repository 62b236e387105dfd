// Measure fixed configurations through the same pipeline as an exploration (study loop, queue,
// host worker, scheduler, isolation), each configuration on its own so that they do not disturb
// each other, under a fresh experiment id so that a second measurement is never a resume.

import { configChecksum, defaultConfig, Space } from '../generator/index.js';
import type { MeasurementSession } from '../session/session.js';
import { experimentId } from '../study/identity.js';
import type { Study } from '../study/study.js';
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
 * Measure `configs` in an open session: the experiment's host settings are held from before its
 * first job to after its last, and what they changed and could not change is recorded.
 */
export async function measure(
  session: MeasurementSession,
  exp: Experiment,
  configs: Config[],
  hooks: { onStudy?: (s: Study) => void } = {},
): Promise<Measurement> {
  const ws = session.ws;
  const id = measurementId(exp);
  const m = await session.begin(exp, { baseline: false, configs, id });
  const { study, host, tuning } = m;
  try {
    hooks.onStudy?.(study);
    await study.run();
  } finally {
    await m.end();
  }
  const defaultId = configChecksum(exp.params, new Space(exp.params).normalize(defaultConfig(exp.params)));
  return {
    format: 'wayfinder-baseline',
    version: 1,
    wayfinder: wayfinderVersion(),
    createdAt: new Date().toISOString(),
    experiment: { name: exp.name, id, file: exp.file, hash: exp.hash },
    objective: { metric: exp.objective.metric, direction: exp.objective.direction },
    host: host ? (host as unknown as Record<string, unknown>) : null,
    // Host settings the host lacks are in the runs' placement notes too: said once.
    noise: noiseControl(exp, [...new Set([...tuning.unavailable, ...placementNotes(ws.store, id)])], tuning.tuned),
    configurations: configurationsFromStore(ws.store, id).map((c) => ({ ...c, isDefault: c.configId === defaultId })),
  };
}
