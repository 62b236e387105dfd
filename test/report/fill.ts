// Results databases for report tests, filled through the store's own API the way the study loop
// fills them: an experiment row, configurations, their measured runs, then the aggregate.

import { join } from 'node:path';
import { buildChecksum, configChecksum } from '../../src/generator/checksum.js';
import { parseExperiment } from '../../src/spec/index.js';
import { Store } from '../../src/store/store.js';
import { aggregateRuns } from '../../src/study/aggregate.js';
import { experimentId } from '../../src/study/identity.js';
import type { Config, Experiment, Failure } from '../../src/types.js';

export interface Filled {
  store: Store;
  exp: Experiment;
  id: string;
}

export function openExperiment(dir: string, yaml: string, strategy = 'random'): Filled {
  const file = join(dir, 'exp.yaml');
  const exp = parseExperiment(yaml, file);
  const store = new Store(join(dir, 'wayfinder.db'));
  const id = experimentId(exp);
  store.upsertExperiment({
    id,
    name: exp.name,
    file,
    text: yaml,
    hash: exp.hash,
    format: exp.format,
    spaceSize: '0',
    host: { hostname: 'test-host', cpu: { brand: 'Test CPU', cores: 4 } },
    strategy,
  });
  store.setExperimentState(id, 'running');
  return { store, exp, id };
}

let clock = 1_700_000_000_000;

/** A configuration measured with these objective samples (one run each), or failed with a cause. */
export function measure(f: Filled, config: Config, samples: number[] | { failure: Failure }, opts: { isDefault?: boolean; strategy?: string } = {}): string {
  const { store, exp, id } = f;
  const configId = configChecksum(exp.params, config);
  store.addConfiguration({
    experimentId: id,
    configId,
    buildId: buildChecksum(exp.params, config),
    params: config,
    isDefault: opts.isDefault ?? false,
    strategy: opts.strategy ?? 'random',
  });
  const metric = exp.objective.metric;
  const list = Array.isArray(samples) ? samples : [NaN];
  list.forEach((v, i) => {
    clock += 1000;
    store.recordRun({
      kind: 'run',
      experimentId: id,
      configId,
      test: 't',
      iteration: i + 1,
      status: Array.isArray(samples) ? 'ok' : 'failed',
      ...(Array.isArray(samples) ? {} : { failure: samples.failure, error: `failed: ${samples.failure}` }),
      metrics: Array.isArray(samples) ? { [metric]: v } : {},
      durationMs: 400,
      attempts: 1,
      placement: { host: 'test-host', cpus: [0], isolation: 'none' },
      startedAt: clock,
    });
  });
  const agg = aggregateRuns(store.runs(id, configId), exp.objective);
  store.finishConfiguration(id, configId, {
    status: agg.status,
    ...(agg.objective !== undefined ? { objective: agg.objective } : {}),
    summary: agg.summary,
    ...(agg.failure ? { failure: agg.failure } : {}),
    ...(agg.error ? { error: agg.error } : {}),
  });
  return configId;
}

/** Every combination of the given values, in order. */
export function grid(values: Record<string, (number | string)[]>): Config[] {
  let out: Config[] = [{}];
  for (const [k, vs] of Object.entries(values)) out = out.flatMap((c) => vs.map((v) => ({ ...c, [k]: v })));
  return out;
}
