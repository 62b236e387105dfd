import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, wayfinder, writeFile } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

function setup(yaml: string): { dir: string; file: string } {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  return { dir, file: writeFile(dir, 'exp.yaml', yaml) };
}

interface ResultRow {
  config_id: string;
  status: string;
  failure?: string;
  error?: string;
  objective: number | null;
  [k: string]: unknown;
}

async function results(dir: string): Promise<ResultRow[]> {
  const r = await wayfinder(['results', '--workdir', join(dir, '.wayfinder'), '--format', 'json']);
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { configurations: ResultRow[] }).configurations;
}

async function experimentId(dir: string): Promise<string | undefined> {
  const r = await wayfinder(['results', '--workdir', join(dir, '.wayfinder'), '--format', 'json']);
  return (JSON.parse(r.stdout) as { experiment?: string }).experiment;
}

describe('wayfinder run', () => {
  it('measures every configuration, passes parameters and cores in the environment, compares with the default', async () => {
    const { dir, file } = setup(`
name: env-check
params:
  - { name: A, type: integer, min: 1, max: 4, step: 2, step_mode: power, default: 2, when: test }
  - { name: B, type: string, only: [x, yy], default: x }
build:
  run: 'printf %s "$B" > "$WAYFINDER_BUILD_DIR/artifact"'
test:
  name: t
  run: 'echo "cores=$WAYFINDER_CORES core0=$WAYFINDER_CORE_ID0 it=$WAYFINDER_ITERATION id=$WAYFINDER_CONFIG_ID"; echo "score: $(( A * 10 + $(wc -c < "$WAYFINDER_BUILD_DIR/artifact") ))"'
  iterations: 2
  warmup: 1
metrics:
  - { name: score, parser: regex, pattern: 'score: (\\d+)' }
objective: { metric: score, direction: maximize }
`);
    const r = await wayfinder(['run', file, '--workdir', join(dir, '.wayfinder')], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const rows = await results(dir);
    // A in {1, 2, 4} x B in {x, yy}: six configurations, two builds.
    expect(rows).toHaveLength(6);
    expect(rows.every((row) => row.status === 'done')).toBe(true);
    for (const row of rows) expect(row.objective).toBe((row.A as number) * 10 + String(row.B).length);
    expect(r.stdout).toMatch(/Best \(provisional\) \S+: score = 42\.0/);
    expect(r.stdout).toMatch(/Default\s+\S+: score = 21\.0/);
    expect(r.stdout).toContain('2.000× the default');
    expect(r.stdout).toMatch(/Confirmed: the best is 2\.00× \(95% CI 2\.00–2\.00, p=0\.\d+\) higher score than the default/);
    // Each run's output folder holds what the job printed, with its identity.
    const best = rows.find((row) => row.A === 4 && row.B === 'yy') as ResultRow;
    const exp = (await experimentId(dir)) as string;
    const out = readFileSync(join(dir, '.wayfinder', 'experiments', exp, 'configs', best.config_id, 't', '1', 'stdout.log'), 'utf8');
    expect(out).toMatch(new RegExp(`^cores=[0-9,]+ core0=\\d+ it=1 id=${best.config_id}$`, 'm'));
  });

  it('a failed build fails its configurations, records why, and the experiment goes on', async () => {
    const { dir, file } = setup(`
name: failing-build
params:
  - { name: A, type: integer, only: [1, 2, 3], default: 1, when: test }
  - { name: B, type: string, only: [good, bad], default: good }
build:
  run: 'if [ "$B" = bad ]; then echo "compiler exploded on $B" >&2; exit 7; fi'
test:
  run: 'echo "v=$A"'
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize, failure: 0 }
`);
    const r = await wayfinder(['run', file, '--workdir', join(dir, '.wayfinder')], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const rows = await results(dir);
    expect(rows).toHaveLength(6);
    const bad = rows.filter((row) => row.B === 'bad');
    const good = rows.filter((row) => row.B === 'good');
    expect(bad.map((row) => row.status)).toEqual(['failed', 'failed', 'failed']);
    for (const row of bad) {
      expect(row.failure).toBe('build');
      expect(row.error).toContain('exit status 7');
      expect(row.error).toContain('compiler exploded on bad');
    }
    expect(good.every((row) => row.status === 'done')).toBe(true);
    expect(r.stdout).toContain('6 configurations measured: 3 ok, 3 failed.');
  });

  it('a test that runs past its timeout is killed and its configuration recorded as timed out', async () => {
    const { dir, file } = setup(`
name: slow-test
params:
  - { name: SLEEP, type: integer, only: [0, 30], default: 0, when: test }
test:
  run: 'sleep $SLEEP; echo "v=1"'
  timeout: 1s
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
`);
    const started = Date.now();
    const r = await wayfinder(['run', file, '--workdir', join(dir, '.wayfinder')], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(25_000);
    const rows = await results(dir);
    const slow = rows.find((row) => row.SLEEP === 30) as ResultRow;
    expect(slow.status).toBe('failed');
    expect(slow.failure).toBe('timeout');
    expect(rows.find((row) => row.SLEEP === 0)?.status).toBe('done');
  });

  it('a metric the output lacks fails the configuration as a parse failure, with the reason', async () => {
    const { dir, file } = setup(`
name: no-metric
params:
  - { name: A, type: integer, only: [1], default: 1 }
test:
  run: 'echo nothing useful'
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
`);
    const r = await wayfinder(['run', file, '--workdir', join(dir, '.wayfinder')], { cwd: dir });
    expect(r.status).toBe(1); // nothing measured successfully
    const rows = await results(dir);
    expect(rows[0]?.status).toBe('failed');
    expect(rows[0]?.failure).toBe('parse');
    expect(rows[0]?.error).toMatch(/metric "v"/);
  });
});
