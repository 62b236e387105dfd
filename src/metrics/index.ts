// The metrics module's public surface: output parsers and their registry, extraction by an
// experiment's metric specs, and summaries of measured iterations.
export { ParseError } from './errors.js';
export { extractMetrics } from './extract.js';
export { parseJson } from './json.js';
export type { ManyValueParser, MetricParser, OneValueParser, ParserOption, ParserOptions } from './parser.js';
export { metricParser, metricParserNames, metricParsers, produces, producedNames, registerMetricParser, type ProducedNames } from './registry.js';
export { parseRedisBenchmark } from './redis-benchmark.js';
export { parseRegex } from './regex.js';
export { improvement, summarize, type Summary, type SummaryOptions } from './stats.js';
export { parseTcpEcho } from './tcp-echo.js';
export { parseWrk } from './wrk.js';
