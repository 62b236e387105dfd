// A dynamic experiment file (docs/control.md, "Dynamic experiments"): a workload schedule run
// against static configurations and controllers of the reference dataplane. Every complaint names
// file:line:column.

import { dirname, resolve } from 'node:path';
import { SourceDoc, type Path } from '../spec/document.js';
import { InputError } from '../types.js';

export interface Phase {
  durationMs: number;
  flows: number;
  rate: number;
  loss: number;
}

export interface ControllerVariant {
  policy: string;
  periodUs: number;
  wait: 'spin' | 'sleep';
  label: string;
}

export type Objective = 'p50_us' | 'p90_us' | 'p99_us' | 'p999_us' | 'max_us';
export const OBJECTIVES: readonly Objective[] = ['p50_us', 'p90_us', 'p99_us', 'p999_us', 'max_us'];

/** The reference dataplane's options (native/dataplane/dataplane.c), by its flag names. */
const DATAPLANE_OPTIONS = ['batch', 'round-ns', 'slot-ns', 'stack-ns', 'work-ns', 'controller-timeout-ms'] as const;
export type DataplaneOptions = Partial<Record<(typeof DATAPLANE_OPTIONS)[number], number>>;

export interface DynamicSpec {
  file: string;
  text: string;
  name: string;
  windowUs: number;
  objective: Objective;
  timeoutMs: number;
  repeats: number;
  dataplane: DataplaneOptions;
  schedule: Phase[];
  /** The knob and the values run as static configurations. */
  knob: string;
  statics: number[];
  controllers: ControllerVariant[];
}

/** A duration with a unit (50us, 1ms, 2s) in microseconds; undefined when it is not one. */
export function parseMicros(v: unknown): number | undefined {
  const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(us|µs|ms|s)\s*$/.exec(v) : null;
  if (!m) return undefined;
  const us = Number(m[1]) * { us: 1, µs: 1, ms: 1000, s: 1e6 }[m[2] as 'us' | 'µs' | 'ms' | 's'];
  return Number.isFinite(us) ? Math.round(us) : undefined;
}

export function parseDynamicSpec(text: string, file: string): DynamicSpec {
  const doc = SourceDoc.parse(text, file);
  const top = doc.value as Record<string, unknown>;
  const fail = (path: Path, msg: string): never => {
    throw new InputError(msg, doc.loc(path));
  };
  const known = (path: Path, obj: Record<string, unknown>, keys: readonly string[]): void => {
    for (const k of Object.keys(obj)) if (!keys.includes(k)) throw new InputError(`unknown key "${k}" (known: ${keys.join(', ')})`, doc.keyLoc([...path, k]));
  };
  const map = (path: Path, v: unknown, what: string): Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(path, `${what} must be a mapping`);
  const num = (path: Path, v: unknown, what: string, o: { min?: number; max?: number; integer?: boolean } = {}): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || (o.integer && !Number.isInteger(v)) || (o.min !== undefined && v < o.min) || (o.max !== undefined && v > o.max))
      fail(path, `${what} must be ${o.integer ? 'a whole number' : 'a number'}${o.min !== undefined ? ` ≥ ${o.min}` : ''}${o.max !== undefined ? ` and ≤ ${o.max}` : ''}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const micros = (path: Path, v: unknown, what: string, min: number): number => {
    const us = parseMicros(v);
    if (us === undefined || us < min) fail(path, `${what} must be a duration such as 50us, 1ms or 2s, at least ${min} µs; got ${JSON.stringify(v)}`);
    return us!;
  };

  known([], top, ['name', 'window', 'objective', 'timeout', 'repeats', 'dataplane', 'schedule', 'statics', 'controllers']);
  const name = typeof top.name === 'string' && /^[A-Za-z0-9._-]+$/.test(top.name) ? top.name : fail(['name'], 'name: letters, digits, ".", "_" and "-" (it names the runs in the store)');
  const windowUs = top.window === undefined ? 1000 : micros(['window'], top.window, 'window', 100);
  const objective = (top.objective ?? 'p99_us') as Objective;
  if (!OBJECTIVES.includes(objective)) fail(['objective'], `objective must be one of ${OBJECTIVES.join(', ')} (lower is better), got ${JSON.stringify(top.objective)}`);
  const timeoutUs = top.timeout === undefined ? 100_000 : micros(['timeout'], top.timeout, 'timeout', 1000);
  const repeats = top.repeats === undefined ? 1 : num(['repeats'], top.repeats, 'repeats', { min: 1, max: 100, integer: true });

  const dataplane: DataplaneOptions = {};
  if (top.dataplane !== undefined) {
    const d = map(['dataplane'], top.dataplane, 'dataplane');
    known(['dataplane'], d, DATAPLANE_OPTIONS);
    for (const k of DATAPLANE_OPTIONS) if (d[k] !== undefined) dataplane[k] = num(['dataplane', k], d[k], k, { min: k === 'batch' || k === 'controller-timeout-ms' ? 1 : 0, integer: true });
  }

  if (!Array.isArray(top.schedule) || top.schedule.length === 0) fail(['schedule'], 'schedule must be a list of phases: { duration: 1s, flows: 4, rate: 10000, loss: 0 }');
  const schedule = (top.schedule as unknown[]).map((p, i): Phase => {
    const m = map(['schedule', i], p, `schedule[${i}]`);
    known(['schedule', i], m, ['duration', 'flows', 'rate', 'loss']);
    const durationUs = micros(['schedule', i, 'duration'], m.duration, 'duration', 1000);
    if (durationUs % 1000) fail(['schedule', i, 'duration'], 'duration must be whole milliseconds');
    return {
      durationMs: durationUs / 1000,
      flows: num(['schedule', i, 'flows'], m.flows, 'flows', { min: 1, max: 4096, integer: true }),
      rate: num(['schedule', i, 'rate'], m.rate, 'rate (requests per second)', { min: 0 }),
      loss: m.loss === undefined ? 0 : num(['schedule', i, 'loss'], m.loss, 'loss (a share)', { min: 0, max: 1 }),
    };
  });

  let knob = 'RX_BATCH_SIZE';
  let statics: number[] = [];
  if (top.statics !== undefined) {
    const s = map(['statics'], top.statics, 'statics');
    known(['statics'], s, ['RX_BATCH_SIZE']);
    const v = s.RX_BATCH_SIZE;
    if (!Array.isArray(v) || !v.length) fail(['statics', 'RX_BATCH_SIZE'], 'statics.RX_BATCH_SIZE must be a list of batch sizes');
    statics = (v as unknown[]).map((x, i) => num(['statics', 'RX_BATCH_SIZE', i], x, 'a batch size', { min: 1, max: 1024, integer: true }));
    knob = 'RX_BATCH_SIZE';
  }
  const base = dirname(resolve(file));
  const controllers = ((top.controllers ?? []) as unknown[]).map((c, i): ControllerVariant => {
    if (!Array.isArray(top.controllers)) fail(['controllers'], 'controllers must be a list: - { policy: policy.json, period: 1ms }');
    const m = map(['controllers', i], c, `controllers[${i}]`);
    known(['controllers', i], m, ['policy', 'period', 'wait', 'label']);
    const policy = typeof m.policy === 'string' && m.policy ? resolve(base, m.policy) : fail(['controllers', i, 'policy'], 'policy: the path of a policy.json (relative to this file)');
    const periodUs = m.period === undefined ? 1000 : micros(['controllers', i, 'period'], m.period, 'period', 1);
    const wait = (m.wait ?? 'sleep') as 'spin' | 'sleep';
    if (wait !== 'spin' && wait !== 'sleep') fail(['controllers', i, 'wait'], `wait must be spin (poll on its core) or sleep, got ${JSON.stringify(m.wait)}`);
    const label = typeof m.label === 'string' ? m.label : `controller ${periodUs >= 1000 ? `${periodUs / 1000} ms` : `${periodUs} µs`}`;
    return { policy, periodUs, wait, label };
  });
  if (!statics.length && !controllers.length) fail([], 'nothing to run: give statics (RX_BATCH_SIZE values) or controllers, or both');
  return { file, text, name, windowUs, objective, timeoutMs: Math.ceil(timeoutUs / 1000), repeats, dataplane, schedule, knob, statics, controllers };
}
