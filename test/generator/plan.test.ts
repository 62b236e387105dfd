import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Space, defaultConfig, paramEnv, planConfiguration, planExperiment } from '../../src/generator/index.js';
import { job, experiment, list, range, unikraftNginx } from './helpers.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

// A and B change the build; T only the test.
const params = () => [
  list('A', [1, 2], { when: 'build' }),
  list('B', ['x', 'y'], { when: 'build' }),
  list('T', [10, 20, 30], { when: 'test' }),
];
const tests = () => [job('wrk', 'test', { warmup: 2, iterations: 3 }), job('lat', 'test', { iterations: 1 })];

describe('planConfiguration', () => {
  it('names the configuration, its build and its runs, warm-ups first', () => {
    const exp = experiment(params(), { tests: tests() });
    const plan = planConfiguration(exp, { A: 1, B: 'x', T: 20 });
    expect(plan.configId).toBe(md5('A=1\nB=x\nT=20\n'));
    // printf 'A=1\nB=x\n' | md5sum
    expect(plan.buildId).toBe('5bdbb703209eee8b1c2aabfd7dcd7ba5');
    expect(plan.build).toBe('build');
    expect(plan.config).toEqual({ A: 1, B: 'x', T: 20 });
    expect(plan.runs).toEqual([
      { test: 'wrk', iteration: 0, warmup: true },
      { test: 'wrk', iteration: 1, warmup: true },
      { test: 'wrk', iteration: 0, warmup: false },
      { test: 'wrk', iteration: 1, warmup: false },
      { test: 'wrk', iteration: 2, warmup: false },
      { test: 'lat', iteration: 0, warmup: false },
    ]);
  });

  it('shares the build between configurations that differ only in test parameters', () => {
    const exp = experiment(params(), { tests: tests() });
    const a = planConfiguration(exp, { A: 2, B: 'y', T: 10 });
    const b = planConfiguration(exp, { A: 2, B: 'y', T: 30 });
    const c = planConfiguration(exp, { A: 1, B: 'y', T: 30 });
    expect(a.buildId).toBe(b.buildId);
    expect(a.configId).not.toBe(b.configId);
    expect(c.buildId).not.toBe(b.buildId);
  });

  it('identifies a configuration by its normalised values', () => {
    const ps = [list('NET', ['y', 'n']), list('BUF', [8, 16], { if: 'NET == y', default: 16 })];
    const exp = experiment(ps);
    const a = planConfiguration(exp, { NET: 'n', BUF: 8 });
    const b = planConfiguration(exp, { NET: 'n', BUF: 16 });
    expect(a.config).toEqual({ NET: 'n', BUF: 16 });
    expect(a.configId).toBe(b.configId);
    expect(a.configId).toBe(md5('NET=n\nBUF=16\n'));
  });

  it('plans no build job when the experiment has none', () => {
    const exp = experiment(params(), { build: undefined });
    expect(planConfiguration(exp, { A: 1, B: 'x', T: 10 }).build).toBeUndefined();
    expect(planExperiment(exp).builds).toBe(0);
  });
});

describe('planExperiment', () => {
  it('plans the whole small space, one build per distinct build checksum', () => {
    const plan = planExperiment(experiment(params(), { tests: tests() }));
    expect(plan.size).toBe(12n);
    expect(plan.distinct).toBe(12n);
    expect(plan.configs).toHaveLength(12);
    expect(plan.builds).toBe(4);
    expect(plan.tests).toBe(12 * (2 + 3 + 1));
    expect(new Set(plan.configs.map((c) => c.buildId)).size).toBe(4);
    expect(plan.configs.map((c) => `${c.config.A}${c.config.B}${c.config.T}`).slice(0, 4)).toEqual([
      '1x10',
      '1x20',
      '1x30',
      '1y10',
    ]);
  });

  it('stops at the budget, in grid order', () => {
    const exp = experiment(params(), { tests: tests() });
    exp.exploration.budget = 5;
    const plan = planExperiment(exp);
    expect(plan.configs.map((c) => `${c.config.A}${c.config.B}${c.config.T}`)).toEqual(['1x10', '1x20', '1x30', '1y10', '1y20']);
    expect(plan.builds).toBe(2);
    expect(plan.tests).toBe(5 * 6);
  });

  it('counts a space larger than the limit without listing it', () => {
    const plan = planExperiment(experiment(params(), { tests: tests() }), { limit: 10 });
    expect(plan.configs).toEqual([]);
    expect(plan.size).toBe(12n);
    expect(plan.distinct).toBeUndefined();
    expect(plan.builds).toBe(4);
    expect(plan.tests).toBe(72);
  });

  it('counts builds of a huge space arithmetically', () => {
    const ps = [range('A', 1, 1000, 1), range('B', 1, 2 ** 20, 2, 'power'), range('T', 1, 10 ** 9, 1, 'increment', { when: 'test' })];
    const plan = planExperiment(experiment(ps));
    expect(plan.size).toBe(1000n * 21n * 1_000_000_000n);
    expect(plan.builds).toBe(21_000);
    expect(plan.tests).toBe(21_000_000_000_000);
    expect(plan.configs).toEqual([]);
  });

  it('plans a configuration that normalisation merges only once', () => {
    const ps = [list('NET', ['y', 'n']), list('BUF', [8, 16, 32], { if: 'NET == y', default: 16 }), list('T', [1, 2], { when: 'test' })];
    const plan = planExperiment(experiment(ps));
    expect(plan.size).toBe(12n);
    expect(plan.distinct).toBe(8n);
    expect(plan.configs).toHaveLength(8);
    expect(new Set(plan.configs.map((c) => c.configId)).size).toBe(8);
    expect(plan.builds).toBe(4); // y/8, y/16, y/32, n/16
    expect(plan.tests).toBe(8);
  });

  it('plans the Unikraft NGINX space with one build per configuration', () => {
    const exp = experiment(unikraftNginx(), { tests: [job('wrk', 'test', { warmup: 1, iterations: 5 })] });
    const plan = planExperiment(exp);
    expect(plan.size).toBe(512n);
    expect(plan.builds).toBe(512);
    expect(plan.tests).toBe(512 * 6);
    expect(plan.configs[0]?.config).toEqual(new Space(unikraftNginx()).at(0n));
  });
});

describe('paramEnv and defaultConfig', () => {
  it('passes every parameter under its own name as text', () => {
    const ps = [list('N', [16]), list('S', ['caching']), list('F', [false, true])];
    expect(paramEnv(ps, { N: 16, S: 'caching', F: true })).toEqual({ N: '16', S: 'caching', F: 'true' });
    expect(() => paramEnv(ps, { N: 16, S: 'x' })).toThrow(/no value for parameter 'F'/);
  });

  it("takes each parameter's default, else its first value", () => {
    const ps = [list('N', [8, 16], { default: 16 }), range('R', 4, 64, 2, 'power'), list('F', [], { type: 'boolean' }), list('S', ['a', 'b'], { default: 'b' })];
    expect(defaultConfig(ps)).toEqual({ N: 16, R: 4, F: false, S: 'b' });
  });
});
