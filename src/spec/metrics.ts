// Metrics (where each number comes from) and the objective (which number to optimise).

import { InputError, type JobSpec, type MetricSpec, type Objective, type ParserKind } from '../types.js';
import type { Path, SourceDoc } from './document.js';
import type { Draft, DraftMetric } from './draft.js';
import { didYouMean } from './suggest.js';

/** Parsers that yield several numbers, named `<metric>.<field>`. */
export const MULTI_VALUE_PARSERS: readonly ParserKind[] = ['wrk', 'redis-benchmark', 'tcp-echo'];

export function normaliseMetrics(drafts: DraftMetric[], tests: JobSpec[], src: SourceDoc): MetricSpec[] {
  const names = new Set<string>();
  const testNames = tests.map((t) => t.name);
  return drafts.map((d) => {
    const { raw } = d;
    const at = (...rest: Array<string | number>) => src.loc(d.path ? [...d.path, ...rest] : []);
    const keyAt = (key: string) => src.keyLoc(d.path ? [...d.path, key] : []);
    if (names.has(raw.name)) throw new InputError(`duplicate metric name '${raw.name}'`, at('name'));
    names.add(raw.name);

    if (raw.source !== undefined && raw.file !== undefined) {
      throw new InputError(`give either 'source' or its shorthand 'file', not both`, keyAt('file'));
    }
    const file = raw.file ?? (typeof raw.source === 'object' ? raw.source.file : undefined);
    const metric: MetricSpec = {
      name: raw.name,
      parser: raw.parser,
      source: file !== undefined ? { kind: 'file', path: file } : { kind: 'stdout' },
    };
    if (raw.parser === 'regex') {
      if (raw.pattern === undefined) throw new InputError(`metric '${raw.name}' uses the regex parser and needs a 'pattern'`, at());
      checkPattern(raw.pattern, at('pattern'));
      metric.pattern = raw.pattern;
    } else if (raw.pattern !== undefined) {
      throw new InputError(`'pattern' applies only to the regex parser, not ${raw.parser}`, keyAt('pattern'));
    }
    if (raw.parser === 'json') {
      if (raw.path === undefined) throw new InputError(`metric '${raw.name}' uses the json parser and needs a 'path'`, at());
      if (!/^[^.]+(\.[^.]+)*$/.test(raw.path)) {
        throw new InputError(`bad json path '${raw.path}'; expected dotted keys and indices like a.b.0.c`, at('path'));
      }
      metric.path = raw.path;
    } else if (raw.path !== undefined) {
      throw new InputError(`'path' applies only to the json parser, not ${raw.parser}`, keyAt('path'));
    }
    if (raw.scale !== undefined) metric.scale = raw.scale;
    if (raw.test !== undefined) {
      if (!testNames.includes(raw.test)) {
        throw new InputError(
          `metric '${raw.name}' names test '${raw.test}', but there is no such test${didYouMean(raw.test, testNames) || `; tests here: ${testNames.join(', ')}`}`,
          at('test'),
        );
      }
      metric.test = raw.test;
    }
    if (d.path) metric.loc = at();
    return metric;
  });
}

function checkPattern(pattern: string, loc: ReturnType<SourceDoc['loc']>): void {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (e) {
    // The engine's reason is the useful part ("Unterminated group"); the rest repeats the pattern.
    const reason = e instanceof Error ? (e.message.split(': ').pop() ?? '') : '';
    throw new InputError(`pattern ${JSON.stringify(pattern)} is not a valid regular expression: ${reason}`, loc);
  }
  const groups = (new RegExp(`${re.source}|`).exec('')?.length ?? 1) - 1;
  if (groups < 1) {
    throw new InputError(`pattern ${JSON.stringify(pattern)} needs a capture group around the number, like 'rps=(\\d+)'`, loc);
  }
}

/** Names the metrics entries produce, for checking and suggesting the objective's metric. */
function producedNames(metrics: MetricSpec[]): string[] {
  return metrics.map((m) => (MULTI_VALUE_PARSERS.includes(m.parser) ? `${m.name}.<field>` : m.name));
}

/** Metrics wayfinder measures itself, named `<prefix>.<field>`: a VM test's boot time, image size... */
export function impliedPrefixes(tests: JobSpec[]): string[] {
  return tests.some((t) => t.vm) ? ['vm'] : [];
}

export function normaliseObjective(o: Draft['objective'], metrics: MetricSpec[], src: SourceDoc, implied: string[] = []): Objective {
  const { raw } = o;
  const here = (key?: string): Path => (o.path ? (key ? [...o.path, key] : o.path) : []);
  const given = (['metric', 'maximize', 'minimize'] as const).filter((k) => raw[k] !== undefined);
  if (given.length === 0) {
    throw new InputError(`the objective needs a 'metric' and a 'direction' (or 'maximize: <metric>' / 'minimize: <metric>')`, src.loc(here()));
  }
  if (given.length > 1) {
    throw new InputError(`the objective names its metric twice: give only one of 'metric', 'maximize', 'minimize'`, src.keyLoc(here(given[1])));
  }
  const key = given[0] as 'metric' | 'maximize' | 'minimize';
  let direction: Objective['direction'];
  if (key === 'metric') {
    if (raw.direction === undefined) throw new InputError(`the objective needs a 'direction': maximize or minimize`, src.loc(here()));
    direction = raw.direction;
  } else {
    if (raw.direction !== undefined && raw.direction !== key) {
      throw new InputError(`'direction: ${raw.direction}' contradicts '${key}'`, src.loc(here('direction')));
    }
    direction = key;
  }
  const metric = raw[key] as string;
  if (!metricExists(metric, metrics) && !implied.some((p) => new RegExp(`^${p}\\.[A-Za-z0-9_]+$`).test(metric))) {
    const known = [...producedNames(metrics), ...implied.map((p) => `${p}.<field>`)];
    const prefixes = metrics.map((m) => m.name);
    const guess = didYouMean(metric.split('.')[0] ?? metric, prefixes) || didYouMean(metric, known);
    throw new InputError(
      `objective metric '${metric}' is produced by no metrics entry${guess}`,
      src.loc(here(key)),
      `metrics here: ${known.join(', ')}`,
    );
  }
  const objective: Objective = { metric, direction };
  if (raw.failure !== undefined) objective.failureValue = raw.failure;
  return objective;
}

function metricExists(name: string, metrics: MetricSpec[]): boolean {
  return metrics.some((m) => {
    if (!MULTI_VALUE_PARSERS.includes(m.parser)) return m.name === name;
    // wrk and redis-benchmark yield several numbers; the field set belongs to src/metrics.
    return name.startsWith(`${m.name}.`) && /^[A-Za-z0-9_.-]+$/.test(name.slice(m.name.length + 1));
  });
}
