import { describe, expect, it } from 'vitest';
import { ParseError } from '../../src/metrics/errors.js';
import { parseRegex } from '../../src/metrics/regex.js';
import { fixture } from './fixture.js';

describe('parseRegex', () => {
  it('takes group 1 of the last match', () => {
    const text = 'progress: 10 ops/s\nprogress: 20 ops/s\nfinal: 31.5 ops/s\n';
    expect(parseRegex(text, String.raw`(\d+(?:\.\d+)?) ops/s`)).toBe(31.5);
  });

  it('takes the named group value over group 1', () => {
    expect(parseRegex('run 7: 123.25 ms', String.raw`run (\d+): (?<value>[\d.]+) ms`)).toBe(123.25);
  });

  it('reads lines with ^ and $, as multiline text', () => {
    expect(parseRegex('a 1\nb 2\na 3\n', String.raw`^a (\d+)$`)).toBe(3);
  });

  it('reads a figure out of a recorded wrk run', () => {
    expect(parseRegex(fixture('wrk-basic.txt'), String.raw`^Requests/sec:\s+([\d.]+)`)).toBe(56865.89);
  });

  it('accepts signs and exponents', () => {
    expect(parseRegex('delta=-2.5e3', 'delta=(\\S+)')).toBe(-2500);
  });

  it('says what went wrong', () => {
    expect(() => parseRegex('nothing here', String.raw`(\d+) ops`)).toThrow(/^regex: no match for \/\(\\d\+\) ops\//);
    expect(() => parseRegex('12 ops', String.raw`\d+ ops`)).toThrow(/has no capture group/);
    expect(() => parseRegex('12 ops', String.raw`\(\d+\) ops`)).toThrow(/has no capture group/);
    expect(() => parseRegex('x = abc', String.raw`x = (\w+)`)).toThrow(/captured "abc", which is not a number/);
    expect(() => parseRegex('x = 1', String.raw`x = (\d+`)).toThrow(/invalid pattern/);
    expect(() => parseRegex('x = ', String.raw`x = (\d+)?`)).toThrow(/captured nothing/);
    expect(() => parseRegex('1,234', '([\\d,]+)')).toThrow(ParseError);
  });
});
