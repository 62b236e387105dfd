import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extractMetrics } from '../../src/metrics/extract.js';
import type { MetricSpec } from '../../src/types.js';
import { fixture } from './fixture.js';

const stdout: MetricSpec['source'] = { kind: 'stdout' };
const file = (path: string): MetricSpec['source'] => ({ kind: 'file', path });

let dir: string;
let outside: string;
beforeEach(() => {
  const base = mkdtempSync(join(tmpdir(), 'wf-metrics-'));
  dir = join(base, 'out');
  outside = join(base, 'elsewhere');
  mkdirSync(dir);
  mkdirSync(outside);
});
afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

describe('extractMetrics', () => {
  it('names multi-value metrics name.field and single values by name', async () => {
    const specs: MetricSpec[] = [
      { name: 'http', parser: 'wrk', source: stdout },
      { name: 'rps', parser: 'regex', source: stdout, pattern: String.raw`^Requests/sec:\s+([\d.]+)` },
    ];
    const { values, errors } = await extractMetrics(specs, 'load', fixture('wrk-latency.txt'), dir);
    expect(errors).toEqual([]);
    expect(values['http.requests_per_sec']).toBe(65829.66);
    expect(values['http.latency_p99_ms']).toBeCloseTo(1.22, 9);
    expect(values['http.non_2xx']).toBe(0);
    expect(values.rps).toBe(65829.66);
    expect(Object.keys(values).filter((k) => !k.startsWith('http.'))).toEqual(['rps']);
  });

  it('reads file sources relative to the output directory, and redis-benchmark and tcp-echo by prefix', async () => {
    mkdirSync(join(dir, 'results'));
    writeFileSync(join(dir, 'results', 'bench.csv'), fixture('redis-benchmark.csv'));
    writeFileSync(join(dir, 'summary.json'), '{"throughput": {"ops": [10, 20.5]}}');
    writeFileSync(join(dir, 'echo.log'), fixture('tcp-echo-constructed.txt'));
    const specs: MetricSpec[] = [
      { name: 'redis', parser: 'redis-benchmark', source: file('results/bench.csv') },
      { name: 'ops', parser: 'json', source: file('summary.json'), path: 'throughput.ops.1' },
      { name: 'echo', parser: 'tcp-echo', source: file('./echo.log') },
    ];
    const { values, errors } = await extractMetrics(specs, 't', 'stdout is not read here', dir);
    expect(errors).toEqual([]);
    expect(values['redis.set_rps']).toBe(90909.09);
    expect(values['redis.get_p99_ms']).toBe(0.943);
    expect(values.ops).toBe(20.5);
    expect(values['echo.p99_ns']).toBe(40959);
  });

  it('runs only the specs for this test (or for every test)', async () => {
    const specs: MetricSpec[] = [
      { name: 'a', parser: 'regex', source: stdout, pattern: 'a=(\\d+)', test: 'first' },
      { name: 'b', parser: 'regex', source: stdout, pattern: 'b=(\\d+)', test: 'second' },
      { name: 'c', parser: 'regex', source: stdout, pattern: 'c=(\\d+)' },
    ];
    expect(await extractMetrics(specs, 'first', 'a=1 c=3', dir)).toEqual({ values: { a: 1, c: 3 }, errors: [] });
    expect(await extractMetrics(specs, 'second', 'b=2 c=3', dir)).toEqual({ values: { b: 2, c: 3 }, errors: [] });
  });

  it('multiplies by scale, every field of a multi-value parser too', async () => {
    const specs: MetricSpec[] = [
      { name: 'lat_us', parser: 'regex', source: stdout, pattern: 'lat=([\\d.]+)ms', scale: 1000 },
      { name: 'k', parser: 'redis-benchmark', source: stdout, scale: 0.001 },
    ];
    const { values } = await extractMetrics(specs, 't', 'lat=1.5ms\nSET: 2000.00 requests per second, p50=0.5 msec\n', dir);
    expect(values).toEqual({ lat_us: 1500, 'k.set_rps': 2, 'k.set_p50_ms': 0.0005 });
  });

  it('reports parse failures by metric name and keeps the metrics that did parse', async () => {
    const specs: MetricSpec[] = [
      { name: 'http', parser: 'wrk', source: stdout },
      { name: 'x', parser: 'regex', source: stdout, pattern: 'x=(\\d+)' },
      { name: 'y', parser: 'json', source: stdout, path: 'y' },
      { name: 'nopattern', parser: 'regex', source: stdout },
      { name: 'nopath', parser: 'json', source: stdout },
    ];
    const { values, errors } = await extractMetrics(specs, 't', 'x=5\n', dir);
    expect(values).toEqual({ x: 5 });
    expect(errors).toEqual([
      'metric "http": wrk: no "Requests/sec:" line in the output',
      'metric "y": json: the output is not a JSON document and has no line that is one',
      'metric "nopattern": the regex parser needs a pattern',
      'metric "nopath": the json parser needs a path',
    ]);
  });

  it('refuses file paths that leave the output directory, by .. or absolute path or symbolic link', async () => {
    writeFileSync(join(outside, 'secret.txt'), 'v=1\n');
    symlinkSync(join(outside, 'secret.txt'), join(dir, 'link.txt'));
    const spec = (name: string, path: string): MetricSpec => ({ name, parser: 'regex', source: file(path), pattern: 'v=(\\d+)' });
    const { values, errors } = await extractMetrics(
      [spec('dotdot', '../elsewhere/secret.txt'), spec('abs', join(outside, 'secret.txt')), spec('link', 'link.txt'), spec('dir', '.')],
      't',
      '',
      dir,
    );
    expect(values).toEqual({});
    expect(errors).toHaveLength(4);
    expect(errors[0]).toMatch(/^metric "dotdot": file "\.\.\/elsewhere\/secret\.txt" is outside the output directory/);
    expect(errors[1]).toMatch(/^metric "abs": file ".*secret\.txt" is outside the output directory/);
    expect(errors[2]).toMatch(/^metric "link": file "link\.txt" leads outside the output directory/);
    expect(errors[3]).toMatch(/^metric "dir": file "\." is outside the output directory/);
  });

  it('reports a missing file', async () => {
    const { errors } = await extractMetrics([{ name: 'm', parser: 'json', source: file('none.json'), path: 'a' }], 't', '', dir);
    expect(errors).toEqual([`metric "m": cannot read "none.json" in ${dir}: ENOENT`]);
  });
});
