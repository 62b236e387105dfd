import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';
import { ParseError } from '../../src/metrics/errors.js';
import { parseRegex, parseRegexOffThread } from '../../src/metrics/regex.js';
import { extractMetrics } from '../../src/metrics/extract.js';
import type { MetricSpec } from '../../src/types.js';
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

describe('matching off the main thread, with a time limit', () => {
  it('fails a pattern that backtracks for ever, clearly, while the event loop keeps running; the next match works', async () => {
    const text = `${'a'.repeat(40)}!`;
    let ticks = 0;
    const tick = setInterval(() => ticks++, 10);
    const started = Date.now();
    const err = await parseRegexOffThread(text, '(a+)+$', 300).catch((e: unknown) => e);
    clearInterval(tick);
    expect(err).toBeInstanceOf(ParseError);
    expect((err as Error).message).toMatch(/\/\(a\+\)\+\$\/ over 41 characters of output: matching took longer than 0\.3 s and was stopped/);
    expect(Date.now() - started).toBeLessThan(5_000);
    // On the main thread the loop would not have ticked at all for the whole match.
    expect(ticks).toBeGreaterThanOrEqual(10);
    expect(await parseRegexOffThread('x=1\nx=42\n', 'x=(\\d+)')).toBe(42);
  });

  it('lets a process that used it exit (an idle thread holds nothing open)', () => {
    const mod = join(ROOT, 'dist', 'metrics', 'regex.js');
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const { parseRegexOffThread } = await import(${JSON.stringify(mod)}); console.log(await parseRegexOffThread('v=7', 'v=([0-9]+)'));`], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.error).toBeUndefined();
    expect(r.stdout, r.stderr).toBe('7\n');
    expect(r.status).toBe(0);
  });

  it('is how extraction reads a regex metric: a slow pattern fails that metric as a parse error', async () => {
    const spec = { name: 'v', parser: 'regex', pattern: '(a+)+$', source: { kind: 'stdout' } } as unknown as MetricSpec;
    const t0 = Date.now();
    const { errors } = await extractMetrics([spec], 't', `${'a'.repeat(40)}!`, '/nonexistent');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^metric "v": .*took longer than 2 s and was stopped/);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});
