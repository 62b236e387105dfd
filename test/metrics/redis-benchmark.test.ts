import { describe, expect, it } from 'vitest';
import { ParseError } from '../../src/metrics/errors.js';
import { parseRedisBenchmark, testKey } from '../../src/metrics/redis-benchmark.js';
import { fixture } from './fixture.js';

describe('parseRedisBenchmark on recorded Redis 7 output', () => {
  it('reads -q lines, past the \\r-overwritten progress line', () => {
    expect(parseRedisBenchmark(fixture('redis-benchmark-q.txt'))).toEqual({
      set_rps: 68965.52,
      set_p50_ms: 0.367,
      get_rps: 80000.0,
      get_p50_ms: 0.223,
    });
  });

  it('reads --csv by its header', () => {
    expect(parseRedisBenchmark(fixture('redis-benchmark.csv'))).toEqual({
      set_rps: 90909.09,
      set_avg_ms: 0.284,
      set_min_ms: 0.112,
      set_p50_ms: 0.287,
      set_p95_ms: 0.359,
      set_p99_ms: 0.471,
      set_max_ms: 0.511,
      get_rps: 86956.52,
      get_avg_ms: 0.297,
      get_min_ms: 0.112,
      get_p50_ms: 0.279,
      get_p95_ms: 0.439,
      get_p99_ms: 0.943,
      get_max_ms: 1.223,
    });
  });

  it('reads the default output: throughput and latency summaries per block', () => {
    expect(parseRedisBenchmark(fixture('redis-benchmark-full.txt'))).toEqual({
      set_requests: 2000,
      set_duration_s: 0.03,
      set_rps: 76923.08,
      set_avg_ms: 0.378,
      set_min_ms: 0.16,
      set_p50_ms: 0.279,
      set_p95_ms: 0.567,
      set_p99_ms: 3.559,
      set_max_ms: 3.951,
      get_requests: 2000,
      get_duration_s: 0.02,
      get_rps: 90909.09,
      get_avg_ms: 0.27,
      get_min_ms: 0.064,
      get_p50_ms: 0.263,
      get_p95_ms: 0.343,
      get_p99_ms: 0.447,
      get_max_ms: 0.559,
    });
  });

  it('names every test of a full -q run, including the ones with spaces and parentheses', () => {
    const r = parseRedisBenchmark(fixture('redis-benchmark-all-q.txt'));
    expect(Object.keys(r)).toHaveLength(40);
    expect(r.ping_inline_rps).toBe(83333.34);
    expect(r.ping_inline_p50_ms).toBe(0.287);
    expect(r.lpush_needed_to_benchmark_lrange_rps).toBe(124999.99);
    expect(r.lrange_600_first_600_elements_p50_ms).toBe(0.911);
    expect(r.mset_10_keys_rps).toBe(124999.99);
    expect(r.spop_rps).toBe(76923.08);
  });

  it('names every test of a full --csv run', () => {
    const r = parseRedisBenchmark(fixture('redis-benchmark-all.csv'));
    expect(Object.keys(r)).toHaveLength(20 * 7);
    expect(r.rpop_p99_ms).toBe(0.767);
    expect(r.lrange_500_first_500_elements_rps).toBe(21276.6);
    expect(r.mset_10_keys_max_ms).toBe(0.455);
  });
});

describe('parseRedisBenchmark on older formats (constructed from Redis 6 output shapes)', () => {
  it('reads -q lines without p50', () => {
    expect(parseRedisBenchmark('SET: 81300.81 requests per second\nGET: 84033.61 requests per second\n')).toEqual({
      set_rps: 81300.81,
      get_rps: 84033.61,
    });
  });

  it('reads header-less CSV rows as test,rps', () => {
    expect(parseRedisBenchmark('"SET","81300.81"\n"GET","84033.61"\n')).toEqual({ set_rps: 81300.81, get_rps: 84033.61 });
  });

  it('reads a bare "requests per second" line inside a block', () => {
    const text = '====== SET ======\n  100000 requests completed in 1.23 seconds\n  50 parallel clients\n\n81300.81 requests per second\n';
    expect(parseRedisBenchmark(text)).toEqual({ set_rps: 81300.81, set_requests: 100000, set_duration_s: 1.23 });
  });
});

describe('parseRedisBenchmark failures and names', () => {
  it('lower-cases test names and turns runs of other characters into one _', () => {
    expect(testKey('LRANGE_100 (first 100 elements)')).toBe('lrange_100_first_100_elements');
    expect(testKey('MSET (10 keys)')).toBe('mset_10_keys');
    expect(testKey('PING_INLINE')).toBe('ping_inline');
  });

  it('does not take progress lines for results', () => {
    const progress = 'SET: rps=0.0 (overall: -nan) avg_msec=-nan (overall: -nan)\r';
    expect(() => parseRedisBenchmark(progress)).toThrow(/^redis-benchmark: no "requests per second" line/);
  });

  it('throws a ParseError on garbage and on CSV without numbers', () => {
    for (const text of ['', 'Could not connect to Redis at 127.0.0.1:1: Connection refused\n', 'x\u0000y']) {
      expect(() => parseRedisBenchmark(text)).toThrow(ParseError);
    }
    const header = '"test","rps","avg_latency_ms"\n';
    expect(() => parseRedisBenchmark(header)).toThrow(/redis-benchmark: no CSV row/);
    expect(() => parseRedisBenchmark(`${header}"SET","n/a","x"\n`)).toThrow(ParseError);
  });
});
