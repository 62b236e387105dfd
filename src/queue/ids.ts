// Queue names and job ids, shared by every transport. Ids are deterministic: queuing the same work
// twice, or sending the same result twice, is a no-op, which is what makes a resumed study's
// re-submission and a re-run job's results idempotent. Work queued again after an infrastructure
// failure is new work (its `retry` is part of its id); an infrastructure failure's result is
// never a measurement, so its id is apart from the run's.

import type { ResultMessage } from '../wire.js';

// Names and ids become parts of Redis keys, where ':' separates parts.
const safe = (s: string): string => s.replace(/[^A-Za-z0-9._@-]/g, '_');
export const buildQueueName = (pool: string): string => `build.${safe(pool)}`;
export const testQueueName = (pool: string): string => `test.${safe(pool)}`;
/** The tests of configurations built by one worker: only that worker has their artifacts. */
export const workerQueueName = (workerId: string): string => `test@${safe(workerId)}`;
export const resultsQueueName = (experimentId: string): string => `results.${safe(experimentId)}`;

const again = (retry: number | undefined): string => (retry ? `.r${retry}` : '');

// Our ids are hex and names; BullMQ job ids may not contain ':'.
export function buildJobId(experimentId: string, buildId: string, retry?: number): string {
  return `b.${experimentId}.${buildId}${again(retry)}`;
}

/** Extra runs of a finished configuration (from iteration `first` on) are work of their own. */
export function testJobId(experimentId: string, configId: string, test: string, retry?: number, first?: number): string {
  return `t.${experimentId}.${configId}.${test}${first ? `.i${first}` : ''}${again(retry)}`;
}

export function runResultId(r: { experimentId: string; configId: string; test: string; iteration: number }): string {
  return `r.${r.experimentId}.${r.configId}.${r.test}.${r.iteration}`;
}

export function buildResultId(experimentId: string, buildId: string): string {
  return `rb.${experimentId}.${buildId}`;
}

export function resultJobId(msg: ResultMessage): string {
  if (msg.status === 'failed' && msg.failure === 'infra') {
    // One per retry of the work: the study acts on the first, and the measurement's own id stays free.
    return msg.kind === 'build' ? `rbi.${msg.experimentId}.${msg.buildId}.r${msg.retry ?? 0}` : `ri.${runResultId(msg).slice(2)}.r${msg.retry ?? 0}`;
  }
  return msg.kind === 'build' ? buildResultId(msg.experimentId, msg.buildId) : runResultId(msg);
}
