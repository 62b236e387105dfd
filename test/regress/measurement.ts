// A measurement as `regress` saves and compares it, made in a test from samples it chose.

import type { MeasuredConfig, Measurement } from '../../src/regress/baseline.js';

export interface MeasurementShape {
  name?: string;
  objective?: Measurement['objective'];
  host?: Record<string, unknown> | null;
  /** The one test's name and its noise control. */
  test?: string;
  cores?: number;
  iterations?: number;
  file?: string;
}

export function measurement(id: string, configurations: MeasuredConfig[], o: MeasurementShape = {}): Measurement {
  return {
    format: 'wayfinder-baseline',
    version: 1,
    wayfinder: '0.1.0',
    createdAt: '2026-01-02T03:04:05.000Z',
    experiment: { name: o.name ?? 'sim', id, file: o.file ?? '/x/sim.yaml', hash: 'h' },
    objective: o.objective ?? { metric: 't', direction: 'minimize' },
    host: o.host === undefined ? null : o.host,
    noise: { tests: { [o.test ?? 'bench']: { isolation: 'core', cores: o.cores ?? 1, warmup: 1, iterations: o.iterations ?? 10 } }, host: { sysctls: {} }, parallel: 1, notes: [] },
    configurations,
  };
}
