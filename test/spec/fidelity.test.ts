// A test's fidelity (test.fidelity): parsed into the JobSpec, and every misuse refused at the line
// and column of the key at fault.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../../src/spec/index.js';
import { InputError } from '../../src/types.js';

const FILE = join(import.meta.dirname, '..', 'fixtures', 'spec', 'inline.yaml');
const HEAD = 'name: t\nparams:\n  - name: A\n    type: integer\n    only: [1, 2]\n'; // lines 1-5
const TAIL = "metrics:\n  - name: m\n    parser: regex\n    pattern: 'v=(\\d+)'\nobjective:\n  maximize: m\n";

function errorOf(text: string): InputError {
  try {
    parseExperiment(text, FILE);
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('expected the file to be refused');
}

function expectError(test: string, line: number, col: number, message: string | RegExp): void {
  const e = errorOf(HEAD + test + TAIL);
  expect({ line: e.loc?.line, col: e.loc?.col }).toEqual({ line, col });
  expect(e.message).toMatch(message);
  expect(e.loc?.file).toBe(FILE);
  expect(e.format()).not.toMatch(/\n\s+at /);
}

describe('test.fidelity', () => {
  it('parses env, cheap and full values (as strings) and the cheap look iterations (default 2)', () => {
    const e = parseExperiment(`${HEAD}test:\n  run: echo 1\n  iterations: 5\n  fidelity: { env: DURATION, cheap: 2, full: "10" }\n${TAIL}`, FILE);
    expect(e.tests[0]?.fidelity).toEqual({ env: 'DURATION', cheap: '2', full: '10', iterations: 2 });
    const three = parseExperiment(`${HEAD}test:\n  run: echo 1\n  fidelity: { env: D, cheap: 1s, full: 10s, iterations: 3 }\n${TAIL}`, FILE);
    expect(three.tests[0]?.fidelity?.iterations).toBe(3);
    expect(parseExperiment(`${HEAD}test:\n  run: echo 1\n${TAIL}`, FILE).tests[0]?.fidelity).toBeUndefined();
  });

  it('refuses a missing value, an unknown key, a bad variable name and one cheap look iteration', () => {
    expectError('test:\n  run: echo 1\n  fidelity:\n    env: D\n    cheap: 2\n', 9, 5, /full/);
    expectError('test:\n  run: echo 1\n  fidelity:\n    env: D\n    cheap: 2\n    full: 10\n    fast: 1\n', 12, 5, "unknown key 'fast'");
    expectError('test:\n  run: echo 1\n  fidelity:\n    env: 9D\n    cheap: 2\n    full: 10\n', 9, 10, /env/);
    expectError('test:\n  run: echo 1\n  fidelity:\n    env: D\n    cheap: 2\n    full: 10\n    iterations: 1\n', 12, 17, /iterations/);
  });

  it('refuses a variable that is a parameter, or set in env too, and equal cheap and full values', () => {
    expectError('test:\n  run: echo 1\n  fidelity:\n    env: A\n    cheap: 2\n    full: 10\n', 9, 10, 'fidelity.env A is a parameter: name a variable of its own, which only the fidelity sets');
    expectError('test:\n  run: echo 1\n  env: { D: 3 }\n  fidelity:\n    env: D\n    cheap: 2\n    full: 10\n', 10, 10, "fidelity.env D is also set in the test's env: the fidelity sets it (to its cheap or full value)");
    expectError('test:\n  run: echo 1\n  fidelity:\n    env: D\n    cheap: 10\n    full: "10"\n', 10, 12, "fidelity: cheap and full are both '10': a cheap look must differ from a full measurement");
  });

  it('refuses a fidelity in an experiment of several tests', () => {
    expectError('test:\n  - name: a\n    run: echo 1\n    fidelity: { env: D, cheap: 2, full: 10 }\n  - name: b\n    run: echo 2\n', 9, 5, 'fidelity needs an experiment of one test (this one has 2): cheap looks are per configuration');
  });
});
