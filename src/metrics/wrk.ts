// wrk's end-of-run summary. wrk formats times with us/ms/s/m (below 1 s it prints us or ms; from 1 s
// on, s or m) and byte counts with 1024-based K/M/G/T prefixes; every value here is converted to
// milliseconds or bytes. The socket-error and non-2xx lines are printed only when non-zero.

import { ParseError } from './errors.js';
import type { MetricParser } from './parser.js';
import { toBytes, toMs } from './units.js';

const NUM = String.raw`(\d+(?:\.\d+)?)`;
const TIME = String.raw`${NUM}(us|ms|s|m|h)`;
const BYTES = String.raw`${NUM}([KMGTP]?)B`;

const RPS = new RegExp(String.raw`^Requests/sec:\s+${NUM}\s*$`, 'm');
const TRANSFER = new RegExp(String.raw`^Transfer/sec:\s+${BYTES}\s*$`, 'm');
const TOTALS = new RegExp(String.raw`^\s*(\d+) requests in ${TIME}, ${BYTES} read\s*$`, 'm');
const LATENCY = new RegExp(String.raw`^\s*Latency\s+${TIME}\s+${TIME}\s+${TIME}`, 'm');
const SOCKET_ERRORS = /^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)\s*$/m;
const NON_2XX = /^\s*Non-2xx or 3xx responses: (\d+)\s*$/m;
const DISTRIBUTION = /^\s*Latency Distribution\b.*$/m;
const PERCENTILE = new RegExp(String.raw`^\s*${NUM}%\s+${TIME}\s*$`);

function need(m: RegExpMatchArray | null, what: string): RegExpMatchArray {
  if (!m) throw new ParseError('wrk', `no ${what} in the output`);
  return m;
}

/** `50` -> `latency_p50_ms`, `99.9` -> `latency_p99_9_ms`. */
function percentileKey(p: string): string {
  return `latency_p${p.replace(/\.0*$/, '').replace('.', '_')}_ms`;
}

/**
 * The numbers of one wrk run: requests_per_sec, transfer_bytes_per_sec, requests, duration_s,
 * read_bytes, latency_avg_ms, latency_stdev_ms, latency_max_ms, socket_errors_connect/read/write/timeout,
 * non_2xx, and with --latency latency_p50_ms, latency_p75_ms, latency_p90_ms, latency_p99_ms.
 */
export function parseWrk(text: string): Record<string, number> {
  const rps = need(text.match(RPS), '"Requests/sec:" line');
  const transfer = need(text.match(TRANSFER), '"Transfer/sec:" line');
  const totals = need(text.match(TOTALS), '"N requests in T, B read" line');
  const lat = need(text.match(LATENCY), '"Latency avg stdev max" line');

  const out: Record<string, number> = {
    requests_per_sec: Number(rps[1]),
    transfer_bytes_per_sec: toBytes(Number(transfer[1]), transfer[2]!),
    requests: Number(totals[1]),
    duration_s: toMs(Number(totals[2]), totals[3]!) / 1000,
    read_bytes: toBytes(Number(totals[4]), totals[5]!),
    latency_avg_ms: toMs(Number(lat[1]), lat[2]!),
    latency_stdev_ms: toMs(Number(lat[3]), lat[4]!),
    latency_max_ms: toMs(Number(lat[5]), lat[6]!),
  };

  const sock = text.match(SOCKET_ERRORS);
  out.socket_errors_connect = sock ? Number(sock[1]) : 0;
  out.socket_errors_read = sock ? Number(sock[2]) : 0;
  out.socket_errors_write = sock ? Number(sock[3]) : 0;
  out.socket_errors_timeout = sock ? Number(sock[4]) : 0;
  const non2xx = text.match(NON_2XX);
  out.non_2xx = non2xx ? Number(non2xx[1]) : 0;

  // With --latency, the percentile lines directly follow the "Latency Distribution" header.
  const dist = text.match(DISTRIBUTION);
  if (dist) {
    const after = text.slice(dist.index! + dist[0].length).split('\n').slice(1);
    let found = 0;
    for (const line of after) {
      const m = line.match(PERCENTILE);
      if (!m) break;
      out[percentileKey(m[1]!)] = toMs(Number(m[2]), m[3]!);
      found++;
    }
    if (found === 0) throw new ParseError('wrk', 'a "Latency Distribution" header without percentile lines');
  }
  return out;
}

export const wrkParser: MetricParser = {
  name: 'wrk',
  description: "wrk's end-of-run summary: requests/s, transfer, latency (and its percentiles with --latency), errors",
  yields: 'many',
  fields: {
    names: [
      'requests_per_sec', 'transfer_bytes_per_sec', 'requests', 'duration_s', 'read_bytes',
      'latency_avg_ms', 'latency_stdev_ms', 'latency_max_ms',
      'socket_errors_connect', 'socket_errors_read', 'socket_errors_write', 'socket_errors_timeout', 'non_2xx',
      'latency_p50_ms', 'latency_p75_ms', 'latency_p90_ms', 'latency_p99_ms',
    ],
    // wrk2 and scripts print other percentiles (99.9%: latency_p99_9_ms).
    shapes: [{ pattern: /^latency_p\d+(?:_\d+)?_ms$/, example: 'latency_p99_9_ms' }],
  },
  options: [],
  parse: (text) => parseWrk(text),
};
