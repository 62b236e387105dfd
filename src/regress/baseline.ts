// A measurement of fixed configurations, as `regress` compares and saves it: per configuration and
// metric the raw samples, with what makes samples comparable (host facts, isolation and host tuning,
// the wayfinder version). A baseline is one saved to a file (--save-baseline), or read back from an
// experiment stored in the work directory.

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseExperiment } from '../spec/index.js';
import type { Store } from '../store/store.js';
import { InputError, type Config, type Experiment, type HostSettings, type Isolation } from '../types.js';

export interface NoiseControl {
  /** Per test: its isolation level, cores, warm-ups and measured iterations. */
  tests: Record<string, { isolation: Isolation; cores: number; warmup: number; iterations: number }>;
  /** Host tuning the experiment asks for (governor, turbo, SMT, ASLR, sysctls). */
  host: HostSettings;
  /** Configurations measured at once. */
  parallel: number;
  /** What isolation or host tuning could not be had on the host. */
  notes: string[];
  /** Host settings changed for the measurement ("governor=performance (was powersave)"). */
  tuned?: string[];
}

export interface MeasuredConfig {
  configId: string;
  params: Config;
  isDefault: boolean;
  /** Metric name -> the measured iterations' values, in order. */
  metrics: Record<string, number[]>;
  /** Set when the configuration failed to build or run. */
  failure?: string;
}

export interface Measurement {
  format: 'wayfinder-baseline';
  version: 1;
  wayfinder: string;
  createdAt: string;
  experiment: { name: string; id: string; file: string; hash: string };
  objective: { metric: string; direction: 'maximize' | 'minimize' };
  /** Host facts (src/study/host-facts.ts), as recorded when measuring. */
  host: Record<string, unknown> | null;
  noise: NoiseControl;
  configurations: MeasuredConfig[];
}

const value = z.union([z.number(), z.string(), z.boolean()]);
const schema = z.object({
  format: z.literal('wayfinder-baseline'),
  version: z.literal(1),
  wayfinder: z.string(),
  createdAt: z.string(),
  experiment: z.object({ name: z.string(), id: z.string(), file: z.string(), hash: z.string() }),
  objective: z.object({ metric: z.string(), direction: z.enum(['maximize', 'minimize']) }),
  host: z.record(z.string(), z.unknown()).nullable(),
  noise: z.object({
    tests: z.record(
      z.string(),
      z.object({ isolation: z.enum(['none', 'core', 'cache', 'socket', 'full']), cores: z.number(), warmup: z.number(), iterations: z.number() }),
    ),
    host: z.object({
      governor: z.string().optional(),
      turbo: z.boolean().optional(),
      smt: z.boolean().optional(),
      aslr: z.boolean().optional(),
      sysctls: z.record(z.string(), z.string()),
    }),
    parallel: z.number(),
    notes: z.array(z.string()),
    tuned: z.array(z.string()).optional(),
  }),
  configurations: z.array(
    z.object({
      configId: z.string(),
      params: z.record(z.string(), value),
      isDefault: z.boolean(),
      metrics: z.record(z.string(), z.array(z.number())),
      failure: z.string().optional(),
    }),
  ),
});

export function noiseControl(exp: Experiment, notes: string[] = [], tuned?: string[]): NoiseControl {
  const tests: NoiseControl['tests'] = {};
  for (const t of exp.tests) tests[t.name] = { isolation: t.isolation, cores: t.cores, warmup: t.warmup, iterations: t.iterations };
  return { tests, host: exp.host, parallel: exp.exploration.parallel, notes, ...(tuned ? { tuned } : {}) };
}

/** Read and check a baseline file; anything wrong with it is an input error naming the file. */
export function loadBaseline(path: string): Measurement {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read the baseline: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { file: path, line: 1, col: 1 });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(`not a baseline file (not JSON: ${(e as Error).message})`, { file: path, line: 1, col: 1 }, 'make one with wayfinder regress FILE --save-baseline PATH');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'the top level';
    throw new InputError(`not a wayfinder baseline: at ${where}: ${issue?.message ?? 'invalid'}`, { file: path, line: 1, col: 1 }, 'make one with wayfinder regress FILE --save-baseline PATH');
  }
  return parsed.data as Measurement;
}

/** Samples per metric of each configuration of a stored experiment; failed runs count for nothing. */
export function configurationsFromStore(store: Store, experimentId: string): MeasuredConfig[] {
  const out: MeasuredConfig[] = [];
  for (const c of store.configurations(experimentId)) {
    if (c.status === 'running' || c.status === 'pending' || c.status === 'duplicate') continue;
    const metrics: Record<string, number[]> = {};
    for (const r of store.runs(experimentId, c.configId)) {
      // The configuration's own runs: confirmation and drift-check runs were measured later, apart.
      if (r.status !== 'ok' || r.extra !== undefined) continue;
      for (const [k, v] of Object.entries(r.metrics)) if (Number.isFinite(v)) (metrics[k] ??= []).push(v);
    }
    out.push({
      configId: c.configId,
      params: c.params,
      isDefault: c.isDefault,
      metrics,
      ...(c.status === 'failed' ? { failure: `${c.failure ?? 'failed'}${c.error ? `: ${c.error}` : ''}` } : {}),
    });
  }
  return out;
}

/** What the runs' placements say could not be had (no resctrl, no cpuset...), each once. */
export function placementNotes(store: Store, experimentId: string): string[] {
  const notes = new Set<string>();
  for (const r of store.runs(experimentId)) for (const n of (r.placement as { notes?: string[] } | null)?.notes ?? []) notes.add(n);
  return [...notes];
}

/** An experiment stored in the work directory (a `run` or an earlier `regress`) as a baseline. */
export function baselineFromStore(store: Store, ref: string): Measurement | undefined {
  const row = store.findExperiment(ref);
  if (!row) return undefined;
  const exp = parseExperiment(row.text, row.file);
  const configurations = configurationsFromStore(store, row.id);
  // A regress measurement overrides iterations and warm-ups: the runs say how many there were.
  const noise = noiseControl(exp, placementNotes(store, row.id));
  return {
    format: 'wayfinder-baseline',
    version: 1,
    wayfinder: 'unknown (stored experiment)',
    createdAt: new Date(row.createdAt).toISOString(),
    experiment: { name: row.name, id: row.id, file: row.file, hash: row.hash },
    objective: { metric: exp.objective.metric, direction: exp.objective.direction },
    host: (row.host as Record<string, unknown> | undefined) ?? null,
    noise,
    configurations,
  };
}

/** Differences between two hosts' facts that make timings incomparable, as "what: a vs b". */
export function hostDifferences(a: Record<string, unknown> | null, b: Record<string, unknown> | null): string[] {
  if (!a || !b) return [`host facts missing on the ${!a ? 'baseline' : 'current'} side`];
  const get = (o: Record<string, unknown>, path: string): unknown => path.split('.').reduce<unknown>((x, k) => (x as Record<string, unknown> | undefined)?.[k], o);
  const fields = ['hostname', 'cpu.brand', 'cpu.cores', 'cpu.physicalCores', 'cpu.sockets', 'memoryBytes', 'os.distro', 'os.release', 'os.kernel', 'os.arch', 'virtual'];
  const out: string[] = [];
  for (const f of fields) {
    const x = get(a, f);
    const y = get(b, f);
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push(`${f}: ${String(x)} (baseline) vs ${String(y)} (now)`);
  }
  return out;
}

/** Differences in isolation and host tuning between the baseline and now. */
export function noiseDifferences(a: NoiseControl, b: NoiseControl): string[] {
  const out: string[] = [];
  for (const [name, t] of Object.entries(b.tests)) {
    const o = a.tests[name];
    if (!o) continue;
    if (o.isolation !== t.isolation) out.push(`test ${name}: isolation ${o.isolation} (baseline) vs ${t.isolation} (now)`);
    if (o.cores !== t.cores) out.push(`test ${name}: ${o.cores} cores (baseline) vs ${t.cores} (now)`);
  }
  if (JSON.stringify(a.host) !== JSON.stringify(b.host)) out.push(`host tuning: ${JSON.stringify(a.host)} (baseline) vs ${JSON.stringify(b.host)} (now)`);
  else if (a.tuned && b.tuned && JSON.stringify([...a.tuned].sort()) !== JSON.stringify([...b.tuned].sort())) {
    out.push(`host settings changed for the measurement: ${a.tuned.join(', ') || 'none'} (baseline) vs ${b.tuned.join(', ') || 'none'} (now)`);
  }
  if (a.parallel !== b.parallel) out.push(`configurations at once: ${a.parallel} (baseline) vs ${b.parallel} (now)`);
  return out;
}
