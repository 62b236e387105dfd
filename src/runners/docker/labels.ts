// Labels every job container carries: which work directory (so a wayfinder restarted on it
// finds its killed predecessor's containers), which experiment and which job.

import { createHash } from 'node:crypto';

export const LABEL_WORKDIR = 'org.wayfinder.workdir-hash';
export const LABEL_EXPERIMENT = 'org.wayfinder.experiment';
export const LABEL_JOB = 'org.wayfinder.job';

/** Stable per work directory, and never the path itself (labels are visible to every docker user). */
export function workdirHash(workdir: string): string {
  return createHash('sha256').update(workdir).digest('hex').slice(0, 16);
}

export function jobLabels(workdir: string, experimentId: string, job: string): Record<string, string> {
  return { [LABEL_WORKDIR]: workdirHash(workdir), [LABEL_EXPERIMENT]: experimentId, [LABEL_JOB]: job };
}

/** A container name that says whose it is; the suffix keeps retries and leftovers apart. */
export function containerName(workdir: string, job: string): string {
  const safe = job.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 80);
  return `wf-${workdirHash(workdir).slice(0, 8)}-${safe}-${Math.random().toString(36).slice(2, 8)}`;
}
