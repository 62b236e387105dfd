// `host: { cache_partition: ... }`: every test job gets cache ways / bandwidth of its own unless it
// names its own resources; builds never do.
import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../../src/spec/index.js';
import type { InputError } from '../../src/types.js';

const exp = (host: string) =>
  parseExperiment(
    `
name: part
params:
  - { name: A, type: integer, only: [1, 2], default: 1 }
build:
  run: 'true'
test:
  - { name: plain, run: 'echo v=1' }
  - { name: own, run: 'echo v=1', resources: { mb_percent: 50 } }
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
${host}
`,
    'part.yaml',
  );

describe('host.cache_partition', () => {
  it('goes to every test job that names no cache ways or bandwidth of its own', () => {
    const e = exp('host: { cache_partition: { l3_ways: 3, mb_percent: 40 } }');
    expect(e.host.cachePartition).toEqual({ l3Ways: 3, mbPercent: 40 });
    expect(e.tests.find((t) => t.name === 'plain')?.resources).toEqual({ l3Ways: 3, mbPercent: 40 });
    expect(e.tests.find((t) => t.name === 'own')?.resources).toEqual({ mbPercent: 50 });
    expect(e.build?.resources).toEqual({});
  });

  it('is optional, and a bad value is reported where it was written', () => {
    expect(exp('').tests[0]?.resources).toEqual({});
    const err = (() => {
      try {
        exp('host: { cache_partition: { l3_ways: 0 } }');
      } catch (e) {
        return e as InputError;
      }
      throw new Error('accepted l3_ways: 0');
    })();
    expect(err.format()).toMatch(/^part\.yaml:13:\d+: 'l3_ways' must be at least 1/);
    expect(() => exp('host: { cache_partition: { ways: 2 } }')).toThrow(/ways/);
  });
});
