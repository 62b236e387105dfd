// redis-benchmark's results, from any of its output forms:
//   -q:      `SET: 68965.52 requests per second, p50=0.367 msec` (Redis 7; Redis 6 has no p50)
//   --csv:   a header `"test","rps","avg_latency_ms",...` then one row per test (Redis 7);
//            Redis 6 prints rows `"SET","81300.81"` without a header
//   default: `====== SET ======` blocks with `throughput summary: N requests per second` and a
//            `latency summary (msec):` table (Redis 7), or a bare `N requests per second` (Redis 6).
// Progress lines (`SET: rps=... (overall: ...)`) are overwritten on a terminal with \r, so the text is
// split on \r as well as \n, and they never match because they lack "requests per second".

import { ParseError } from './errors.js';
import type { MetricParser } from './parser.js';
import { parseNumber } from './units.js';

/** `LRANGE_100 (first 100 elements)` -> `lrange_100_first_100_elements`. */
export function testKey(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** A CSV column name as a metric suffix: `p50_latency_ms` -> `p50_ms`, `rps` -> `rps`. */
function columnKey(column: string): string {
  const m = column.match(/^(.*)_latency_ms$/);
  return testKey(m ? `${m[1]}_ms` : column);
}

function csvFields(line: string): string[] | undefined {
  const fields: string[] = [];
  const re = /"((?:[^"]|"")*)"(,|$)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) {
    fields.push(m[1]!.replace(/""/g, '"'));
    if (m[2] === '') return re.lastIndex === line.length ? fields : undefined;
  }
  return undefined;
}

function parseCsv(lines: string[], out: Record<string, number>): void {
  let header: string[] | undefined;
  for (const line of lines) {
    const fields = csvFields(line);
    if (!fields || fields.length < 2) continue;
    if (fields[0] === 'test') {
      header = fields;
      continue;
    }
    const test = testKey(fields[0]!);
    const columns = header ?? ['test', 'rps'];
    for (let i = 1; i < fields.length && i < columns.length; i++) {
      const v = parseNumber(fields[i]!);
      if (v !== undefined) out[`${test}_${columnKey(columns[i]!)}`] = v;
    }
  }
}

const QUIET = /^(.+?): (\d+(?:\.\d+)?) requests per second(?:, p50=(\d+(?:\.\d+)?) msec)?$/;
const BLOCK = /^====== (.+) ======$/;
const THROUGHPUT = /^(?:throughput summary: )?(\d+(?:\.\d+)?) requests per second$/;
const COMPLETED = /^(\d+) requests completed in (\d+(?:\.\d+)?) seconds$/;

function parseText(lines: string[], out: Record<string, number>): void {
  let test: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    let m: RegExpMatchArray | null;
    if ((m = line.match(BLOCK))) {
      test = testKey(m[1]!);
    } else if (test && (m = line.match(THROUGHPUT))) {
      // Checked before the -q form, which `throughput summary: N requests per second` also fits.
      out[`${test}_rps`] = Number(m[1]);
    } else if ((m = line.match(QUIET))) {
      const t = testKey(m[1]!);
      out[`${t}_rps`] = Number(m[2]);
      if (m[3] !== undefined) out[`${t}_p50_ms`] = Number(m[3]);
    } else if (test && (m = line.match(COMPLETED))) {
      out[`${test}_requests`] = Number(m[1]);
      out[`${test}_duration_s`] = Number(m[2]);
    } else if (test && line === 'latency summary (msec):') {
      // A row of column names (avg min p50 p95 p99 max), then a row of values.
      const names = (lines[i + 1] ?? '').trim().split(/\s+/);
      const values = (lines[i + 2] ?? '').trim().split(/\s+/).map(parseNumber);
      if (names.length === values.length && values.every((v) => v !== undefined)) {
        names.forEach((n, j) => (out[`${test}_${testKey(n)}_ms`] = values[j]!));
        i += 2;
      }
    }
  }
}

/** Per test: `<test>_rps`, and where printed `<test>_avg_ms`, `_min_ms`, `_p50_ms`, `_p95_ms`, `_p99_ms`, `_max_ms`. */
export function parseRedisBenchmark(text: string): Record<string, number> {
  const lines = text.split(/\r\n|\r|\n/);
  const out: Record<string, number> = {};
  const csv = lines.some((l) => l.startsWith('"'));
  if (csv) parseCsv(lines, out);
  else parseText(lines, out);
  if (Object.keys(out).length === 0) {
    throw new ParseError(
      'redis-benchmark',
      csv ? 'no CSV row with a test name and numbers in the output' : 'no "requests per second" line in the output',
    );
  }
  return out;
}

export const redisBenchmarkParser: MetricParser = {
  name: 'redis-benchmark',
  description: "redis-benchmark's results (default, -q or --csv output): requests/s and latencies per test",
  yields: 'many',
  // Per test (its name as testKey gives it): set_rps, get_p50_ms, lrange_100_first_100_elements_rps...
  fields: {
    names: [],
    shapes: [{ pattern: /^[a-z0-9_]+_(?:rps|requests|duration_s|(?:avg|min|max|p\d+(?:_\d+)?)_ms)$/, example: 'set_rps' }],
  },
  options: [],
  parse: (text) => parseRedisBenchmark(text),
};
