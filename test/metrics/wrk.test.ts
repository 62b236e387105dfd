import { describe, expect, it } from 'vitest';
import { ParseError } from '../../src/metrics/errors.js';
import { parseWrk } from '../../src/metrics/wrk.js';
import { fixture } from './fixture.js';

const KiB = 1024;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** Compares every expected field to 9 decimals, and that no other field is present. */
function expectFields(got: Record<string, number>, want: Record<string, number>): void {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  for (const [k, v] of Object.entries(want)) expect(got[k], k).toBeCloseTo(v, 9);
}

const NO_ERRORS = {
  socket_errors_connect: 0,
  socket_errors_read: 0,
  socket_errors_write: 0,
  socket_errors_timeout: 0,
  non_2xx: 0,
};

describe('parseWrk on recorded runs', () => {
  it('reads a plain run (no --latency): us and ms latencies, MB transfer', () => {
    expectFields(parseWrk(fixture('wrk-basic.txt')), {
      requests_per_sec: 56865.89,
      transfer_bytes_per_sec: 13.02 * MiB,
      requests: 170752,
      duration_s: 3.0,
      read_bytes: 39.08 * MiB,
      latency_avg_ms: 0.21467,
      latency_stdev_ms: 0.33187,
      latency_max_ms: 6.85,
      ...NO_ERRORS,
    });
  });

  it('reads the --latency percentiles', () => {
    expectFields(parseWrk(fixture('wrk-latency.txt')), {
      requests_per_sec: 65829.66,
      transfer_bytes_per_sec: 15.07 * MiB,
      requests: 197571,
      duration_s: 3.0,
      read_bytes: 45.22 * MiB,
      latency_avg_ms: 0.17423,
      latency_stdev_ms: 0.25083,
      latency_max_ms: 5.92,
      latency_p50_ms: 0.139,
      latency_p75_ms: 0.157,
      latency_p90_ms: 0.195,
      latency_p99_ms: 1.22,
      ...NO_ERRORS,
    });
  });

  it('reads GB transfers and ms percentiles (1 MiB responses)', () => {
    expectFields(parseWrk(fixture('wrk-big.txt')), {
      requests_per_sec: 2478.83,
      transfer_bytes_per_sec: 2.42 * GiB,
      requests: 7684,
      duration_s: 3.1,
      read_bytes: 7.51 * GiB,
      latency_avg_ms: 1.61,
      latency_stdev_ms: 0.22599,
      latency_max_ms: 5.45,
      latency_p50_ms: 1.57,
      latency_p75_ms: 1.64,
      latency_p90_ms: 1.8,
      latency_p99_ms: 2.3,
      ...NO_ERRORS,
    });
  });

  it('counts non-2xx responses (a 404 path)', () => {
    const r = parseWrk(fixture('wrk-404.txt'));
    expect(r.non_2xx).toBe(259268);
    expect(r.requests).toBe(259268);
    expect(r.requests_per_sec).toBeCloseTo(83654.19, 9);
    expect(r.transfer_bytes_per_sec).toBeCloseTo(24.57 * MiB, 6);
    expect(r.socket_errors_timeout).toBe(0);
  });

  it('reads the socket-error line (responses slower than --timeout)', () => {
    expectFields(parseWrk(fixture('wrk-timeout.txt')), {
      requests_per_sec: 3.99,
      transfer_bytes_per_sec: 14.22 * KiB,
      requests: 20,
      duration_s: 5.01,
      read_bytes: 71.28 * KiB,
      latency_avg_ms: 0,
      latency_stdev_ms: 0,
      latency_max_ms: 0,
      socket_errors_connect: 0,
      socket_errors_read: 0,
      socket_errors_write: 0,
      socket_errors_timeout: 20,
      non_2xx: 0,
    });
  });

  it('reads latencies printed in seconds and KB transfers', () => {
    const r = parseWrk(fixture('wrk-seconds.txt'));
    expect(r.latency_avg_ms).toBeCloseTo(1000, 9);
    expect(r.latency_stdev_ms).toBeCloseTo(0.03394, 9);
    expect(r.latency_max_ms).toBeCloseTo(1000, 9);
    expect(r.requests).toBe(2);
    expect(r.requests_per_sec).toBeCloseTo(1.99, 9);
    expect(r.transfer_bytes_per_sec).toBeCloseTo(10.3 * KiB, 9);
    expect(r.read_bytes).toBeCloseTo(10.33 * KiB, 9);
  });

  it('reads a run in which nothing completed ("-nan%" columns)', () => {
    const r = parseWrk(fixture('wrk-zero.txt'));
    expect(r.requests).toBe(0);
    expect(r.requests_per_sec).toBe(0);
    expect(r.duration_s).toBeCloseTo(1.0, 9);
    expect(r.transfer_bytes_per_sec).toBeCloseTo(3.99 * KiB, 9);
    expect(r.read_bytes).toBeCloseTo(4 * KiB, 9);
  });

  it('throws a ParseError naming wrk on its connection-failure message', () => {
    expect(() => parseWrk(fixture('wrk-closed-port.txt'))).toThrow(ParseError);
    expect(() => parseWrk(fixture('wrk-closed-port.txt'))).toThrow(/^wrk: no "Requests\/sec:" line/);
  });
});

describe('parseWrk units and missing lines', () => {
  const basic = fixture('wrk-basic.txt');

  it('converts every time unit wrk prints (us, ms, s, m) to ms', () => {
    const text = basic.replace('214.67us  331.87us   6.85ms', '1.50s    250.00us   2.50m').replace('3.00s,', '1.10m,');
    const r = parseWrk(text);
    expect(r.latency_avg_ms).toBeCloseTo(1500, 9);
    expect(r.latency_stdev_ms).toBeCloseTo(0.25, 9);
    expect(r.latency_max_ms).toBeCloseTo(150_000, 9);
    expect(r.duration_s).toBeCloseTo(66, 9);
  });

  it('converts B, KB, MB, GB and TB with 1024-based prefixes', () => {
    for (const [printed, bytes] of [
      ['512.00B', 512],
      ['1.50KB', 1536],
      ['2.00MB', 2 * MiB],
      ['3.25GB', 3.25 * GiB],
      ['1.00TB', 1024 ** 4],
    ] as const) {
      const r = parseWrk(basic.replace('13.02MB', printed).replace('39.08MB read', `${printed} read`));
      expect(r.transfer_bytes_per_sec, printed).toBeCloseTo(bytes, 6);
      expect(r.read_bytes, printed).toBeCloseTo(bytes, 6);
    }
  });

  it('names a missing required line', () => {
    const without = (re: RegExp) => basic.split('\n').filter((l) => !re.test(l)).join('\n');
    expect(() => parseWrk(without(/^Transfer\/sec/))).toThrow(/wrk: no "Transfer\/sec:" line/);
    expect(() => parseWrk(without(/requests in/))).toThrow(/wrk: no "N requests in T, B read" line/);
    expect(() => parseWrk(without(/^\s+Latency/))).toThrow(/wrk: no "Latency avg stdev max" line/);
    expect(() => parseWrk(without(/^Requests\/sec/))).toThrow(/wrk: no "Requests\/sec:" line/);
  });

  it('keeps the percentile lines that are there, and refuses a header with none', () => {
    const latency = fixture('wrk-latency.txt');
    const r = parseWrk(latency.replace(/^\s+90%.*\n/m, ''));
    expect(r.latency_p90_ms).toBeUndefined();
    expect(r.latency_p50_ms).toBeCloseTo(0.139, 9);
    const bare = latency.replace(/^\s+\d+%.*\n/gm, '');
    expect(() => parseWrk(bare)).toThrow(/Latency Distribution" header without percentile lines/);
  });

  it('throws a ParseError on garbage', () => {
    for (const text of ['', 'hello world\n', '\u0000\u0001binary', 'Requests/sec: fast\n']) {
      expect(() => parseWrk(text)).toThrow(ParseError);
    }
  });
});
