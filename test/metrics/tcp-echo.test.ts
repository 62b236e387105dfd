import { describe, expect, it } from 'vitest';
import { ParseError } from '../../src/metrics/errors.js';
import { parseTcpEcho } from '../../src/metrics/tcp-echo.js';
import { fixture } from './fixture.js';

// No Demikernel run could be recorded here: the fixtures are constructed from the client's println! formats.
describe('parseTcpEcho', () => {
  it('sums the interval reports, takes the last (cumulative) percentiles and the bytes', () => {
    // 61440 + 122880 + 59392 requests over 1 + 2 + 2 s.
    expect(parseTcpEcho(fixture('tcp-echo-constructed.txt'))).toEqual({
      reports: 3,
      requests: 243712,
      rps: 243712 / 5,
      p50_ns: 15359,
      p99_ns: 40959,
      bytes: 31457280,
    });
  });

  it('reads the old client, whose last rps line covers the whole run', () => {
    expect(parseTcpEcho(fixture('tcp-echo-old-constructed.txt'))).toEqual({ rps: 51234 });
  });

  it('leaves intervals with an inf rate (under a second) out of the rate, not out of the count', () => {
    const text = [
      'INFO: 1000.0 requests, inf rps, p50 100 ns, p99 200 ns',
      'INFO: 3000.0 requests, 3000.0 rps, p50 110 ns, p99 210 ns',
      'INFO: 1e4 requests, 5000.0 rps, p50 120 ns, p99 220 ns',
    ].join('\n');
    const r = parseTcpEcho(text);
    expect(r.requests).toBe(14000);
    expect(r.rps).toBe(13000 / 3);
    expect(r.p99_ns).toBe(220);
  });

  it('gives rps 0 when every interval was empty', () => {
    expect(parseTcpEcho('INFO: 0.0 requests, 0.0 rps, p50 0 ns, p99 0 ns\n').rps).toBe(0);
  });

  it('throws a ParseError when there is no report', () => {
    for (const text of ['', 'INFO: 1 clients connected\nINFO: stopping, 10 bytes transferred\n', 'rps: fast']) {
      expect(() => parseTcpEcho(text)).toThrow(ParseError);
    }
    expect(() => parseTcpEcho('garbage')).toThrow(/^tcp-echo: no "INFO: N requests/);
  });
});
