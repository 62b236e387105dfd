// Param, JobSpec and Experiment objects built directly, as the spec loader would produce them.

import type { Experiment, JobSpec, Param, Value } from '../../src/types.js';

type Extra = Partial<Omit<Param, 'name' | 'domain'>>;

export function list(name: string, values: Value[], extra: Extra = {}): Param {
  const type = extra.type ?? (typeof values[0] === 'number' ? 'integer' : typeof values[0] === 'boolean' ? 'boolean' : 'string');
  return { name, type, domain: { kind: 'list', values }, when: 'build', ...extra };
}

export function range(
  name: string,
  min: number,
  max: number,
  step: number,
  stepMode: 'increment' | 'power' = 'increment',
  extra: Extra = {},
): Param {
  return { name, type: 'integer', domain: { kind: 'range', min, max, step, stepMode }, when: 'build', ...extra };
}

export function job(name: string, phase: 'build' | 'test', extra: Partial<JobSpec> = {}): JobSpec {
  return {
    name,
    phase,
    run: 'true',
    cores: 1,
    isolation: 'none',
    timeoutSec: 60,
    retries: 0,
    iterations: 1,
    warmup: 0,
    devices: [],
    capabilities: [],
    privileged: false,
    inputs: [],
    outputs: [],
    resources: {},
    env: {},
    ...extra,
  };
}

export function experiment(params: Param[], extra: Partial<Experiment> = {}): Experiment {
  return {
    name: 'test',
    format: 'native',
    file: '/tmp/x.yaml',
    dir: '/tmp',
    text: '',
    hash: '',
    params,
    build: job('build', 'build'),
    tests: [job('bench', 'test')],
    metrics: [],
    objective: { metric: 'rps', direction: 'maximize' },
    exploration: { strategy: 'grid', seed: 1, parallel: 1, randomStart: false },
    host: { sysctls: {} },
    pool: 'default',
    ...extra,
  };
}

/** Wayfinder's paper-era Unikraft NGINX job (lancs-net/wayfinder examples/unikraft-nginx/job.yaml). */
export function unikraftNginx(): Param[] {
  return [
    list('LWIP_NUM_TCPCON', [8, 16, 32, 64]),
    list('LWIP_NUM_TCPLISTENERS', [8, 16, 32, 64]),
    list('LWIP_UKNETDEV_POLLONLY', ['y', 'n']),
    list('LWIP_POOLS', ['y', 'n']),
    list('ACCESS_LOG', ['y', 'n']),
    list('KEEPALIVE_TIMEOUT', [0, 60]),
    list('OPEN_FILE_CACHE', ['caching', 'nocaching']),
    list('WORKER_CONNECTIONS', [63]),
    list('PAYLOAD_SIZE', [612]),
    list('NUM_PARALLEL_CONNS', [30]),
  ];
}
