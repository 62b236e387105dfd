// The registries refuse what would make an experiment file ambiguous (a name or key taken twice, a
// key every entry already has), and their lists of common keys are the schema's.

import { describe, expect, it } from 'vitest';
import { METRIC_ENTRY_KEYS, metricParsers, registerMetricParser } from '../../src/metrics/registry.js';
import type { MetricParser } from '../../src/metrics/parser.js';
import { experimentJsonSchema } from '../../src/spec/index.js';
import { registerStrategy } from '../../src/strategies/registry.js';
import { PARAM_KEYS, paramKinds, registerParamKind } from '../../src/targets/params/registry.js';

const parser = (name: string, keys: string[] = []): MetricParser => ({
  name,
  description: 'x',
  yields: 'one',
  options: keys.map((key) => ({ key, description: 'x', required: false })),
  parse: () => 1,
});

describe('registration', () => {
  it('refuses a metric parser whose name or options collide', () => {
    expect(() => registerMetricParser(parser('regex'))).toThrow('a metric parser named "regex" is already registered');
    expect(() => registerMetricParser(parser('Two Words'))).toThrow(/must be lower-case letters/);
    expect(() => registerMetricParser(parser('p1', ['scale']))).toThrow('metric parser "p1": option "scale" is a key of every metrics entry');
    expect(() => registerMetricParser(parser('p2', ['a', 'a']))).toThrow('metric parser "p2" declares option "a" twice');
    expect(metricParsers().map((p) => p.name)).toEqual(['wrk', 'redis-benchmark', 'regex', 'json', 'tcp-echo']);
  });

  it('refuses a strategy whose name is taken, `list` (the study\'s own) included', () => {
    const create = () => {
      throw new Error('not called');
    };
    expect(() => registerStrategy({ name: 'grid', description: 'x', create })).toThrow('a strategy named "grid" is already registered');
    expect(() => registerStrategy({ name: 'list', description: 'x', create })).toThrow('a strategy named "list" is already registered');
  });

  it('refuses a parameter kind whose name or key is taken', () => {
    const applies = () => false;
    expect(() => registerParamKind({ name: 'patch', description: 'x', applies })).toThrow('a parameter kind named "patch" is already registered');
    expect(() => registerParamKind({ name: 'k1', description: 'x', applies, key: { name: 'when', description: 'x', schema: {} as never } })).toThrow(
      'parameter kind "k1": "when" is a key of every parameter',
    );
    expect(() => registerParamKind({ name: 'k2', description: 'x', applies, key: { name: 'patch', description: 'x', schema: {} as never } })).toThrow(
      `parameter kind "k2": key "patch" is already parameter kind "patch"'s`,
    );
    expect(paramKinds().map((k) => k.name)).toEqual(['env', 'patch', 'kconfig']);
  });
});

describe("the registries' common keys", () => {
  const defs = (experimentJsonSchema() as { $defs: Record<string, { properties: Record<string, unknown> }> }).$defs;

  it('are the keys the schema gives every metrics entry, beside the parsers\' options', () => {
    const options = metricParsers().flatMap((p) => p.options.map((o) => o.key));
    expect(Object.keys(defs.metric?.properties ?? {}).filter((k) => !options.includes(k)).sort()).toEqual([...METRIC_ENTRY_KEYS].sort());
  });

  it('are the keys the schema gives every parameter, beside the kinds\' keys', () => {
    const keys = paramKinds().flatMap((k) => (k.key ? [k.key.name] : []));
    expect(Object.keys(defs.param?.properties ?? {}).filter((k) => !keys.includes(k)).sort()).toEqual([...PARAM_KEYS].sort());
  });
});
