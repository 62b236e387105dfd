// Every metric parser by name. The built-in ones are registered here; another is one module
// exporting a MetricParser plus one registerMetricParser call. The experiment schema's `parser`
// enum, its per-parser options, the objective's check and extraction all read this table.

import type { MetricSpec } from '../types.js';
import { jsonParser } from './json.js';
import type { MetricParser } from './parser.js';
import { redisBenchmarkParser } from './redis-benchmark.js';
import { regexParser } from './regex.js';
import { tcpEchoParser } from './tcp-echo.js';
import { wrkParser } from './wrk.js';

/** Keys of a metrics entry that belong to every parser; no parser option may take one of them. */
export const METRIC_ENTRY_KEYS: readonly string[] = ['name', 'parser', 'source', 'file', 'scale', 'test'];

const NAME = /^[a-z0-9][a-z0-9._-]*$/;

const parsers = new Map<string, MetricParser>();

/** Make a parser known by its name: experiment files may name it from now on (in this process). */
export function registerMetricParser(parser: MetricParser): void {
  if (!NAME.test(parser.name)) throw new Error(`metric parser name "${parser.name}" must be lower-case letters, digits, ".", "_" or "-"`);
  if (parsers.has(parser.name)) throw new Error(`a metric parser named "${parser.name}" is already registered`);
  const keys = new Set<string>();
  for (const o of parser.options) {
    if (METRIC_ENTRY_KEYS.includes(o.key)) throw new Error(`metric parser "${parser.name}": option "${o.key}" is a key of every metrics entry`);
    if (!/^[a-z][a-z0-9_]*$/.test(o.key)) throw new Error(`metric parser "${parser.name}": option key "${o.key}" must be a lower-case identifier`);
    if (keys.has(o.key)) throw new Error(`metric parser "${parser.name}" declares option "${o.key}" twice`);
    keys.add(o.key);
  }
  parsers.set(parser.name, parser);
}

for (const p of [wrkParser, redisBenchmarkParser, regexParser, jsonParser, tcpEchoParser]) registerMetricParser(p);

export function metricParser(name: string): MetricParser | undefined {
  return parsers.get(name);
}

/** Every registered parser, in the order registered (built-ins first). */
export function metricParsers(): readonly MetricParser[] {
  return [...parsers.values()];
}

export function metricParserNames(): string[] {
  return [...parsers.keys()];
}

/**
 * What a metrics entry can produce: its own name (one-value parsers), or `<name>.<field>` for the
 * fields its parser declares (`names`: each one spelt out; `shapes`: patterns with an example each).
 */
export interface ProducedNames {
  exact: string[];
  shapes: { prefix: string; pattern: RegExp; example: string }[];
}

export function producedNames(spec: Pick<MetricSpec, 'name' | 'parser'>): ProducedNames {
  const parser = parsers.get(spec.parser);
  if (!parser) throw new Error(`unknown metric parser "${spec.parser}" (known: ${metricParserNames().join(', ')})`);
  if (parser.yields === 'one') return { exact: [spec.name], shapes: [] };
  return {
    exact: parser.fields.names.map((f) => `${spec.name}.${f}`),
    shapes: (parser.fields.shapes ?? []).map((s) => ({ prefix: spec.name, pattern: s.pattern, example: `${spec.name}.${s.example}` })),
  };
}

/** Whether the metrics entry can produce a metric of this name. */
export function produces(spec: Pick<MetricSpec, 'name' | 'parser'>, metric: string): boolean {
  const { exact, shapes } = producedNames(spec);
  return exact.includes(metric) || shapes.some((s) => metric.startsWith(`${s.prefix}.`) && s.pattern.test(metric.slice(s.prefix.length + 1)));
}
