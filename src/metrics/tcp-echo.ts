// Demikernel's tcp-echo example client (examples/tcp-echo/client.rs). With --log N it prints,
// every N seconds, a report for the interval since the previous one:
//   INFO: <requests> requests, <rps> rps, p50 <ns> ns, p99 <ns> ns
// where requests and rps are Rust f64 Debug values (`4096.0`, possibly `1e16` or `inf`) counted over
// the interval, while p50/p99 come from a latency histogram that is never reset, so the last report
// holds the whole run's percentiles. At the end it prints `INFO: stopping, <n> bytes transferred`
// (or `... all clients disconnected <n> bytes transferred`).
// Older versions of the client printed only `rps: <n>`, computed over the whole run so far.

import { ParseError } from './errors.js';
import type { MetricParser } from './parser.js';
import { parseNumber } from './units.js';

const F64 = String.raw`([-+]?(?:\d+(?:\.\d*)?(?:e[-+]?\d+)?|inf|NaN))`;
const REPORT = new RegExp(String.raw`^INFO: ${F64} requests, ${F64} rps, p50 (\d+) ns, p99 (\d+) ns\s*$`);
const STOPPING = /^INFO: stopping, (?:all clients disconnected )?(\d+) bytes transferred\s*$/;
const OLD_RPS = /^rps: (\d+(?:\.\d+)?)\s*$/;

/**
 * requests (summed over the reports), rps (those requests over the reports' total time), p50_ns and
 * p99_ns (the last report's), reports (how many), bytes (from the stopping line, when printed);
 * from the old client only rps (its last line).
 */
export function parseTcpEcho(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  let requests = 0;
  let seconds = 0;
  let counted = 0;
  let reports = 0;
  let oldRps: number | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    let m: RegExpMatchArray | null;
    if ((m = line.match(REPORT))) {
      const req = parseNumber(m[1]!);
      const rps = parseNumber(m[2]!);
      reports++;
      if (req !== undefined) requests += req;
      // An interval's length is requests/rps; inf or NaN rate (an interval under a second) gives none.
      if (req !== undefined && rps !== undefined && rps > 0) {
        seconds += req / rps;
        counted += req;
      }
      out.p50_ns = Number(m[3]);
      out.p99_ns = Number(m[4]);
    } else if ((m = line.match(STOPPING))) {
      out.bytes = Number(m[1]);
    } else if ((m = line.match(OLD_RPS))) {
      oldRps = Number(m[1]);
    }
  }
  if (reports > 0) {
    out.reports = reports;
    out.requests = requests;
    if (seconds > 0) out.rps = counted / seconds;
    else if (requests === 0) out.rps = 0;
  } else if (oldRps !== undefined) {
    out.rps = oldRps;
  } else {
    throw new ParseError('tcp-echo', 'no "INFO: N requests, R rps, p50 X ns, p99 Y ns" or "rps: N" line in the output');
  }
  return out;
}

export const tcpEchoParser: MetricParser = {
  name: 'tcp-echo',
  description: "Demikernel's tcp-echo client reports: requests, rps, p50/p99 latency, bytes",
  yields: 'many',
  fields: { names: ['requests', 'rps', 'p50_ns', 'p99_ns', 'reports', 'bytes'] },
  options: [],
  parse: (text) => parseTcpEcho(text),
};
