import { describe, expect, it } from 'vitest';
import { ParseError } from '../../src/metrics/errors.js';
import { parseJson } from '../../src/metrics/json.js';

const doc = JSON.stringify({
  jobs: [{ name: 'read', read: { iops: 51234.5, lat_ns: { mean: '812.25' } } }],
  ok: true,
  total: 7,
});

describe('parseJson', () => {
  it('walks keys and array indices', () => {
    expect(parseJson(doc, 'jobs.0.read.iops')).toBe(51234.5);
    expect(parseJson(doc, 'total')).toBe(7);
  });

  it('accepts numeric strings', () => {
    expect(parseJson(doc, 'jobs.0.read.lat_ns.mean')).toBe(812.25);
  });

  it('reads the whole document with an empty path', () => {
    expect(parseJson('42\n', '')).toBe(42);
  });

  it('finds the last JSON line after log lines', () => {
    const text = `starting\n{"value": 1}\nwarming up\n{"value": 2.5}\ndone\n`;
    expect(parseJson(text, 'value')).toBe(2.5);
  });

  it('says where the path broke', () => {
    expect(() => parseJson(doc, 'jobs.1.read')).toThrow(/^json: index 1 is past the end of the array at "jobs" \(length 1\)/);
    expect(() => parseJson(doc, 'jobs.x')).toThrow(/"x" is not an index of the array at "jobs"/);
    expect(() => parseJson(doc, 'nope')).toThrow(/no key "nope" at the top level/);
    expect(() => parseJson(doc, 'total.x')).toThrow(/cannot take "x" of the number at "total"/);
    expect(() => parseJson(doc, 'ok')).toThrow(/the value at "ok" is true, not a number/);
    expect(() => parseJson(doc, 'jobs.0.name')).toThrow(/"read", not a number/);
    expect(() => parseJson(doc, 'jobs.0')).toThrow(ParseError);
  });

  it('refuses text that holds no JSON', () => {
    for (const text of ['', 'hello', '{broken', 'x\u0000']) expect(() => parseJson(text, 'a')).toThrow(ParseError);
    expect(() => parseJson('hello', 'a')).toThrow(/^json: the output is not a JSON document/);
  });

  it('does not follow inherited properties', () => {
    expect(() => parseJson('{}', 'constructor')).toThrow(/no key "constructor"/);
  });
});
