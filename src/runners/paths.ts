// Where a job's files live in a work directory. Every module asks here, so the layout is one decision.

import { join } from 'node:path';

export function experimentDir(workdir: string, experimentId: string): string {
  return join(workdir, 'experiments', experimentId);
}

export function buildDir(workdir: string, experimentId: string, buildId: string): string {
  return join(experimentDir(workdir, experimentId), 'builds', buildId);
}

export function configDir(workdir: string, experimentId: string, configId: string): string {
  return join(experimentDir(workdir, experimentId), 'configs', configId);
}

/** The folder of one test run; warm-ups get their own so they never mix with measured output. */
export function runDir(workdir: string, experimentId: string, configId: string, test: string, iteration: number, warmup: boolean): string {
  return join(configDir(workdir, experimentId, configId), test, warmup ? `warmup-${iteration}` : `${iteration}`);
}

export function registryDir(workdir: string): string {
  return join(workdir, 'running');
}

export function logsDir(workdir: string): string {
  return join(workdir, 'logs');
}
