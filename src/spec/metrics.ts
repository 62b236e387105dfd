// Metrics (where each number comes from) and the objective (which number to optimise).

import { metricParser, metricParsers, producedNames, produces } from '../metrics/registry.js';
import { InputError, type JobSpec, type MetricSpec, type Objective } from '../types.js';
import type { Path, SourceDoc } from './document.js';
import type { Draft, DraftMetric } from './draft.js';
import { didYouMean } from './suggest.js';

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
    // The schema let only registered parsers through (formats that imply a metric name one too).
    const parser = metricParser(raw.parser);
    if (!parser) throw new InputError(`unknown parser '${raw.parser}'; expected one of ${metricParsers().map((p) => p.name).join(', ')}`, at('parser'));
    for (const other of metricParsers()) {
      for (const o of other.options) {
        if (raw[o.key] === undefined || parser.options.some((p) => p.key === o.key)) continue;
        const owners = metricParsers().filter((p) => p.options.some((x) => x.key === o.key)).map((p) => p.name);
        throw new InputError(`'${o.key}' applies only to the ${owners.join(' and ')} parser${owners.length > 1 ? 's' : ''}, not ${raw.parser}`, keyAt(o.key));
      }
    }
    for (const o of parser.options) {
      const value = raw[o.key];
      if (value === undefined) {
        if (o.required) throw new InputError(`metric '${raw.name}' uses the ${parser.name} parser and needs a '${o.key}'`, at());
        continue;
      }
      const problem = o.check?.(value as string);
      if (problem !== undefined) throw new InputError(problem, at(o.key));
      metric[o.key] = value;
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

/** Names the metrics entries produce, spelt out (a shape by its example), for messages and suggestions. */
function shownNames(metrics: MetricSpec[]): string[] {
  return metrics.flatMap((m) => {
    const { exact, shapes } = producedNames(m);
    return [...exact, ...shapes.map((s) => s.example)];
  });
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
  if (!metrics.some((m) => produces(m, metric)) && !implied.some((p) => new RegExp(`^${p}\\.[A-Za-z0-9_]+$`).test(metric))) {
    const known = [...shownNames(metrics), ...implied.map((p) => `${p}.<field>`)];
    // A misspelt field of a known entry is closest to one of its fields; a misspelt entry name, to the entry.
    const guess = didYouMean(metric, known) || didYouMean(metric.split('.')[0] ?? metric, metrics.map((m) => m.name));
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
