// A small policy for the controller's tests: BATCH over flows, three leaves (the last one outside
// the knob's declared domain, so a clamp has work), and a fallback.

import type { Policy } from '../../src/policy/policy.js';

export function batchPolicy(): Policy {
  return {
    format: 'wayfinder-policy',
    version: 1,
    objective: { name: 'latency', direction: 'minimize' },
    features: [{ name: 'flows', min: 1, max: 64 }],
    knobs: [{ name: 'BATCH', type: 'integer' }],
    leaves: [
      { params: { BATCH: 4 }, points: 2, regret: 0 },
      { params: { BATCH: 16 }, points: 2, regret: 0 },
      { params: { BATCH: 128 }, points: 2, regret: 0 },
    ],
    tree: { feature: 'flows', le: 10, left: { leaf: 0 }, right: { feature: 'flows', le: 40, left: { leaf: 1 }, right: { leaf: 2 } } },
    fallback: { params: { BATCH: 8 }, why: 'static-best' },
    regret: { trained: { mean: 0, max: 0, points: 6, unmeasured: 0 } },
    source: { kind: 'table', file: 'test' },
    createdAt: '2026-12-05T00:00:00.000Z',
  };
}
