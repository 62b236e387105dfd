// `wayfinder plan` against what a run does: for every registered strategy, with one and with
// several configurations in flight, the configurations the plan lists are the first ones the study
// loop queues, in the same order, the default first; and where a strategy chooses from its
// measurements, the plan stops listing and says how many remain.

import { describe, expect, it } from 'vitest';
import { MemoryTransport, type Execute } from '../../src/queue/memory-transport.js';
import { parseExperiment } from '../../src/spec/index.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { strategyNames } from '../../src/strategies/index.js';
import { planRun } from '../../src/study/run-plan.js';
import { Study } from '../../src/study/study.js';
import type { Experiment } from '../../src/types.js';

/** Three build parameters and two test parameters; the value measured depends on all of them. */
const SPACE = `
params:
  - { name: A, type: integer, only: [1, 2, 3], default: 2, when: build }
  - { name: B, type: boolean, default: true, when: build }
  - { name: C, type: string, only: [x, y, z], when: build }
  - { name: D, type: integer, min: 1, max: 4, default: 4, when: test }
  - { name: E, type: integer, only: [0, 1], when: test, if: "D > 2" }
build:
  run: 'true'
test:
  run: 'true'
  iterations: 2
  warmup: 1
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
`;

function experiment(exploration: string): Experiment {
  return parseExperiment(`name: plan\n${SPACE}exploration: ${exploration}\n`, '/tmp/wayfinder-plan-test/exp.yaml');
}

/** The configurations a real study loop queues, in order (measured in memory: a made-up landscape). */
async function queued(exp: Experiment): Promise<string[]> {
  const execute: Execute = (w, iteration) => {
    if (w.kind === 'build') return { status: 'ok' };
    const e = w.env;
    const v = Number(e.A) * 7 + (e.B === 'true' ? 3 : 0) + e.C!.charCodeAt(0) + Number(e.D) * 5 + Number(e.E) + (iteration as number);
    return { status: 'ok', metrics: { v } };
  };
  const transport = new MemoryTransport();
  transport.addWorker({ id: 'w1', concurrency: 4, execute });
  const store = new MemoryStore();
  const study = new Study(exp, store, transport);
  const order: string[] = [];
  study.on('config-queued', (r) => order.push(r.configId));
  await study.run();
  return order;
}

describe('plan = run', () => {
  for (const strategy of strategyNames()) {
    for (const parallel of [1, 3]) {
      it(`${strategy}, ${parallel} in parallel: the listed configurations are the first the run measures, the default first`, async () => {
        const exp = experiment(`{ strategy: ${strategy}, budget: 20, seed: 7, parallel: ${parallel} }`);
        const plan = planRun(exp);
        const run = await queued(exp);
        expect(plan.total).toBe(20n);
        expect(run).toHaveLength(20);
        expect(plan.queued.length).toBeGreaterThanOrEqual(2);
        expect(run.slice(0, plan.queued.length)).toEqual(plan.queued.map((c) => c.configId));
        if (plan.complete) expect(run).toEqual(plan.queued.map((c) => c.configId));
        else expect(plan.chooses).toBe(true);
        // Builds: exact for what is listed, an upper bound covering the run's.
        const builds = new Set(run.map((id) => plan.queued.find((c) => c.configId === id)?.buildId ?? id));
        expect(plan.builds.atMost).toBeGreaterThanOrEqual(BigInt(new Set(plan.queued.map((c) => c.buildId)).size));
        if (plan.complete) expect(BigInt(builds.size)).toBe(plan.builds.atMost);
      });
    }
  }

  it('grid and random list every configuration of the budget; bayesian only those before its model chooses', () => {
    for (const s of ['grid', 'random']) {
      const plan = planRun(experiment(`{ strategy: ${s}, budget: 12, seed: 3 }`));
      expect({ s, complete: plan.complete, chooses: plan.chooses, n: plan.queued.length }).toEqual({ s, complete: true, chooses: false, n: 12 });
    }
    const b = planRun(experiment('{ strategy: bayesian, budget: 12, seed: 3 }'));
    expect(b.complete).toBe(false);
    expect(b.chooses).toBe(true);
    expect(b.queued.length).toBeLessThan(12);
    expect(b.builds.listed).toBeLessThanOrEqual(b.queued.length);
    expect(b.builds.atMost).toBe(BigInt(Math.min(18, b.builds.listed + 12 - b.queued.length)));
  });

  it('the default is measured first whatever the strategy proposes, and counts against the budget', () => {
    const plan = planRun(experiment('{ strategy: grid, budget: 3 }'));
    expect(plan.queued[0]?.config).toEqual({ A: 2, B: true, C: 'x', D: 4, E: 0 });
    expect(plan.queued).toHaveLength(3);
    // Grid order begins at A=1, not at the default.
    expect(plan.queued[1]?.config.A).toBe(1);
  });

  it('without a budget the whole space, counted with conditions (E only when D > 2)', () => {
    const plan = planRun(experiment('{ strategy: random, seed: 1 }'));
    // 3 * 2 * 3 builds, each with D in 1..2 (E inactive) or D in 3..4 with E 0/1: 2 + 4 tests.
    expect(plan.total).toBe(18n * 6n);
    expect(plan.complete).toBe(true);
    expect(plan.builds).toEqual({ listed: 18, atMost: 18n });
    expect(plan.runsPerConfig).toBe(3);
  });
});
