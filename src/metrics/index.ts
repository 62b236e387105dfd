// The metrics module's public surface: output parsers, extraction by an experiment's metric specs,
// and summaries of measured iterations.
export { ParseError } from './errors.js';
export { extractMetrics } from './extract.js';
export { parseJson } from './json.js';
export { parseRedisBenchmark } from './redis-benchmark.js';
export { parseRegex } from './regex.js';
export { improvement, summarize, type Summary, type SummaryOptions } from './stats.js';
export { parseTcpEcho } from './tcp-echo.js';
export { parseWrk } from './wrk.js';
