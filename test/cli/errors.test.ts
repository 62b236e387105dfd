import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, wayfinder, writeFile } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

function dir(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

describe('errors at the command line', () => {
  it('a bad experiment file: file:line:column, what was expected, status 2, no stack trace', async () => {
    const d = dir();
    const file = writeFile(d, 'bad.yaml', 'name: x\nparams:\n  - name: A\n    type: integer\n    only: [1, 2]\ntest:\n  run: echo\n  itrations: 3\nmetrics:\n  - { name: v, parser: regex, pattern: "v=(\\\\d+)" }\nobjective: { metric: v, direction: maximize }\n');
    for (const args of [['plan', file], ['run', file, '--workdir', join(d, 'w')]]) {
      const r = await wayfinder(args);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`${file}:8:3:`);
      expect(r.stderr).toContain("did you mean 'iterations'");
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('a missing file, an unknown flag, a bad flag value and an empty work directory exit 2 with a reason', async () => {
    const d = dir();
    const missing = await wayfinder(['plan', join(d, 'nope.yaml')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('nope.yaml');
    expect(missing.stderr).not.toMatch(/\n\s+at /);

    const flag = await wayfinder(['run', '--bogus']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain("unknown option '--bogus'");

    const file = writeFile(d, 'ok.yaml', 'name: x\nparams:\n  - { name: A, type: integer, only: [1] }\ntest: { run: "echo v=1" }\nmetrics:\n  - { name: v, parser: regex, pattern: "v=(\\\\d+)" }\nobjective: { metric: v, direction: maximize }\n');
    const budget = await wayfinder(['run', file, '--budget', 'lots', '--workdir', join(d, 'w')]);
    expect(budget.status).toBe(2);
    expect(budget.stderr).toContain('--budget: expected a whole number');

    const results = await wayfinder(['results', '--workdir', join(d, 'empty')]);
    expect(results.status).toBe(2);
    expect(results.stderr).toContain('no results in');
  });

  it('--help of each command says what it does', async () => {
    for (const cmd of ['run', 'plan', 'results']) {
      const r = await wayfinder([cmd, '--help']);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`Usage: wayfinder ${cmd}`);
    }
    const run = await wayfinder(['run', '--help']);
    expect(run.stdout).toContain('run on this host as the current user');
  });
});
