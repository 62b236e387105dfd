import { describe, expect, it } from 'vitest';
import { importanceWarnings, warningText } from '../../src/report/aliasing.js';
import { parseExperiment } from '../../src/spec/index.js';

const params = parseExperiment(
  `name: w
params:
  - { name: A, type: boolean, default: false }
  - { name: B, type: boolean, default: false }
  - { name: C, type: integer, only: [1, 2, 3], default: 1 }
  - { name: D, type: string, only: [x, y], default: x }
  - { name: E, type: integer, only: [0, 1], default: 0 }
test:
  run: 'true'
metrics:
  - { name: s, parser: regex, pattern: '(\\d+)' }
objective: { metric: s, direction: maximize }
`,
  'w.yaml',
).params;

describe('importance warnings', () => {
  it('finds parameters that move together, as groups, complements and unset values included', () => {
    // B is A's complement; C follows D one-to-one (1 with x, 3 with y); E varies on its own.
    const configs = [
      { A: true, B: false, C: 1, D: 'x', E: 0 },
      { A: false, B: true, C: 3, D: 'y', E: 0 },
      { A: true, B: false, C: 3, D: 'y', E: 1 },
      { A: false, B: true, C: 1, D: 'x', E: 1 },
      { A: true, B: false, C: 1, D: 'x', E: 1 },
    ];
    expect(importanceWarnings(params, configs)).toEqual([
      { kind: 'aliased', params: ['A', 'B'] },
      { kind: 'aliased', params: ['C', 'D'] },
    ]);
    // One configuration where C and D part ways (3 with x) breaks the alias; A and B stay aliased.
    expect(importanceWarnings(params, [...configs, { A: false, B: true, C: 3, D: 'x', E: 0 }])).toEqual([{ kind: 'aliased', params: ['A', 'B'] }]);
    // An unset parameter (inactive under a condition) is a value of its own: E is 1 when A is true,
    // unset when A is false, so it moves with A as much as B does.
    const unset = configs.map((c) => (c.A ? { ...c, E: 1 } : { A: c.A, B: c.B, C: c.C, D: c.D }));
    expect(importanceWarnings(params, unset)).toContainEqual({ kind: 'aliased', params: ['A', 'B', 'E'] });
  });

  it('says when there are fewer points than parameters and when a parameter was never varied', () => {
    const configs = [
      { A: true, B: true, C: 1, D: 'x', E: 0 },
      { A: false, B: true, C: 2, D: 'y', E: 0 },
      { A: true, B: true, C: 3, D: 'x', E: 0 },
      { A: false, B: true, C: 3, D: 'y', E: 0 },
    ];
    const w = importanceWarnings(params, configs);
    expect(w).toEqual([
      { kind: 'few-points', points: 4, params: 5 },
      { kind: 'constant', params: ['B', 'E'] },
      { kind: 'aliased', params: ['A', 'D'] },
    ]);
    expect(w.map(warningText)).toEqual([
      expect.stringContaining('Only 4 measured configurations for 5 parameters'),
      expect.stringContaining('B and E were never varied'),
      expect.stringContaining('A and D moved together'),
    ]);
  });
});
