// Which way is worse for a metric: the objective says so for its metric; the fields of the
// multi-value parsers (wrk, redis-benchmark, tcp-echo) are known by name; any other metric's
// direction is unknown and it is shown without a verdict.

import type { Objective } from '../types.js';
import type { Direction } from './compare.js';

const HIGHER_IS_BETTER = /(^|_)(rps|requests_per_sec|transfer_bytes_per_sec)$/;
const LOWER_IS_BETTER = /^latency_|(^|_)(p\d+(_\d+)?|avg|min|max)_(ms|us|ns)$/;

export function metricDirection(metric: string, objective: Pick<Objective, 'metric' | 'direction'>): Direction | undefined {
  if (metric === objective.metric) return objective.direction;
  const dot = metric.lastIndexOf('.');
  if (dot < 0) return undefined; // a regex or json metric: only its author knows
  const field = metric.slice(dot + 1);
  if (HIGHER_IS_BETTER.test(field)) return 'maximize';
  if (LOWER_IS_BETTER.test(field)) return 'minimize';
  return undefined;
}
