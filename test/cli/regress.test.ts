import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { marked } from 'marked';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, requireTool, tempDir, wayfinder, writeFile } from '../helpers.js';

const SLEEPER = join(ROOT, 'test', 'fixtures', 'regress', 'sleeper.sh');
const XSD = join(ROOT, 'test', 'fixtures', 'junit', 'junit.xsd');
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

/** An experiment whose one test is the sleeper; how long it sleeps comes from the environment. */
function setup(): { dir: string; file: string; workdir: string } {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const file = writeFile(
    dir,
    'exp.yaml',
    `
name: sleeper
params:
  - { name: MODE, type: string, only: [a, b], default: a, when: test }
test:
  name: nap
  script: ${SLEEPER}
  iterations: 3
metrics:
  - { name: elapsed_ms, parser: regex, pattern: 'elapsed_ms: ([0-9.]+)' }
objective: { metric: elapsed_ms, direction: minimize }
`,
  );
  return { dir, file, workdir: join(dir, '.wayfinder') };
}

function validJunit(path: string): void {
  const r = spawnSync('xmllint', ['--noout', '--schema', XSD, path], { encoding: 'utf8' });
  expect(r.status, `${r.stderr}\n${readFileSync(path, 'utf8')}`).toBe(0);
}

function noStack(stderr: string): void {
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('wayfinder regress', () => {
  it('saves a baseline; an unchanged run passes, a 20% slower one is a regression (exit 1)', async () => {
    requireTool('perl');
    requireTool('xmllint', 'libxml2-utils');
    const { dir, file, workdir } = setup();
    const base = join(dir, 'baseline.json');
    const save = await wayfinder(['regress', file, '-w', workdir, '--iterations', '10', '--save-baseline', base], { env: { SLEEPER_MS: '100' } });
    expect(save.status, save.stderr).toBe(0);
    noStack(save.stderr);
    const saved = JSON.parse(readFileSync(base, 'utf8'));
    expect(saved.format).toBe('wayfinder-baseline');
    expect(saved.wayfinder).toMatch(/^\d+\.\d+\.\d+/);
    expect(saved.host.cpu.cores).toBeGreaterThan(0);
    expect(saved.noise.tests.nap).toEqual({ isolation: expect.any(String), cores: 1, warmup: 1, iterations: 10 });
    expect(saved.configurations).toHaveLength(1);
    expect(saved.configurations[0].isDefault).toBe(true);
    expect(saved.configurations[0].params).toEqual({ MODE: 'a' });
    const samples: number[] = saved.configurations[0].metrics.elapsed_ms;
    expect(samples).toHaveLength(10);
    for (const s of samples) expect(s).toBeGreaterThanOrEqual(100);

    // Unchanged, against the stored measurement (an experiment id in the work directory).
    const same = await wayfinder(['regress', file, '-w', workdir, '--iterations', '10', '--baseline', saved.experiment.id, '--junit', join(dir, 'same.xml'), '--markdown', join(dir, 'same.md')], {
      env: { SLEEPER_MS: '100' },
    });
    expect(same.status, `${same.stdout}\n${same.stderr}`).toBe(0);
    expect(same.stdout).toMatch(/NO REGRESSION: 0 regressions, 0 inconclusive, 1 passed/);
    validJunit(join(dir, 'same.xml'));
    const sameXml = readFileSync(join(dir, 'same.xml'), 'utf8');
    expect(sameXml).toMatch(/<testcase classname="regress\.sleeper\.[0-9a-f]{12}\.default" name="elapsed_ms">/);
    // A fresh measurement, never a resume of the baseline's.
    const current = /<property name="current" value="([^"]+)"/.exec(sameXml)?.[1];
    expect(current).toMatch(/^sleeper-[0-9a-f]+-regress-/);
    expect(current).not.toBe(saved.experiment.id);
    const html = await marked.parse(readFileSync(join(dir, 'same.md'), 'utf8'), { gfm: true });
    expect(html).toMatch(/<table>[\s\S]*elapsed_ms[\s\S]*✅ pass[\s\S]*<\/table>/);

    // 20% slower, against the file.
    const slow = await wayfinder(['regress', file, '-w', workdir, '--iterations', '10', '--baseline', base, '--junit', join(dir, 'slow.xml'), '--markdown', join(dir, 'slow.md')], {
      env: { SLEEPER_MS: '120' },
    });
    expect(slow.status, `${slow.stdout}\n${slow.stderr}`).toBe(1);
    expect(slow.stdout).toMatch(/elapsed_ms .*\+(19|20|21)\.\d% \[.*REGRESSION/);
    expect(slow.stdout).toMatch(/^REGRESSION: 1 regression, 0 inconclusive, 0 passed/m);
    validJunit(join(dir, 'slow.xml'));
    expect(readFileSync(join(dir, 'slow.xml'), 'utf8')).toMatch(/tests="1" failures="1" errors="0" skipped="0"/);
    expect(await marked.parse(readFileSync(join(dir, 'slow.md'), 'utf8'), { gfm: true })).toMatch(/<h3>❌ wayfinder regress: sleeper<\/h3>[\s\S]*<table>[\s\S]*REGRESSION/);
  }, 180_000);

  it('identical code on a noisy host passes (the allowed worsening raised to the noise, said once); a change near the threshold is inconclusive (exit 3) with how many iterations would settle it', async () => {
    requireTool('perl');
    requireTool('xmllint', 'libxml2-utils');
    const { dir, file, workdir } = setup();
    const base = join(dir, 'baseline.json');
    // 20 ms plus up to 150 ms of noise in every run: the same code twice.
    const env = { SLEEPER_MS: '20', SLEEPER_JITTER_MS: '150', SLEEPER_SEED: '7' };
    const save = await wayfinder(['regress', file, '-w', workdir, '--iterations', '6', '--save-baseline', base, '-q'], { env });
    expect(save.status, save.stderr).toBe(0);
    const same = await wayfinder(['regress', file, '-w', workdir, '--iterations', '6', '--baseline', base, '--junit', join(dir, 'aa.xml')], { env: { ...env, SLEEPER_SEED: '8' } });
    expect(same.status, `${same.stdout}\n${same.stderr}`).toBe(0);
    expect(same.stdout).toMatch(/^warning: [0-9a-f]{12}: elapsed_ms: the spread of the measurements \(CV \d+\.\d% in the baseline, \d+\.\d% now, n=6 and 6\) cannot resolve changes under \d+\.\d%/m);
    expect(same.stdout).toMatch(/^NO REGRESSION: 0 regressions, 0 inconclusive, 1 passed \(threshold 5\.0%, raised by the noise to \d+\.\d%, confidence 95%\)/m);
    validJunit(join(dir, 'aa.xml'));

    // A quiet baseline (100 ms, up to 4 ms of seeded noise) and the same runs 5 ms slower: about +4.9%, the interval across +5%.
    const quiet = { SLEEPER_MS: '100', SLEEPER_JITTER_MS: '4', SLEEPER_SEED: '7' };
    const base2 = join(dir, 'quiet.json');
    expect((await wayfinder(['regress', file, '-w', workdir, '--iterations', '10', '--save-baseline', base2, '-q'], { env: quiet })).status).toBe(0);
    // --max-iterations 10: no second round, so the first round's verdict stands.
    const near = await wayfinder(['regress', file, '-w', workdir, '--iterations', '10', '--max-iterations', '10', '--baseline', base2, '--junit', join(dir, 'j.xml')], { env: { ...quiet, SLEEPER_MS: '105' } });
    expect(near.status, `${near.stdout}\n${near.stderr}`).toBe(3);
    expect(near.stdout).toMatch(/inconclusive: more iterations needed \((about \d+|more than \d+) iterations\)/);
    expect(near.stdout).toMatch(/^INCONCLUSIVE: 0 regressions, 1 inconclusive, 0 passed/m);
    validJunit(join(dir, 'j.xml'));
    expect(readFileSync(join(dir, 'j.xml'), 'utf8')).toMatch(/<error type="inconclusive" message="inconclusive: more iterations needed/);

    const lenient = await wayfinder(['regress', file, '-w', workdir, '--iterations', '10', '--max-iterations', '10', '--baseline', base2, '--inconclusive', 'pass', '--junit', join(dir, 'k.xml'), '-q'], { env: { ...quiet, SLEEPER_MS: '105' } });
    expect(lenient.status, `${lenient.stdout}\n${lenient.stderr}`).toBe(0);
    expect(lenient.stdout).toMatch(/INCONCLUSIVE/);
    validJunit(join(dir, 'k.xml'));
    expect(readFileSync(join(dir, 'k.xml'), 'utf8')).toMatch(/<skipped message="inconclusive: more iterations needed/);
  }, 240_000);

  it('a noisy moment during the comparison costs more iterations, pooled, instead of an inconclusive exit 3; --max-iterations bounds them', async () => {
    requireTool('perl');
    const { dir, file, workdir } = setup();
    const base = join(dir, 'baseline.json');
    const quiet = { SLEEPER_MS: '100', SLEEPER_JITTER_MS: '4', SLEEPER_SEED: '7' };
    expect((await wayfinder(['regress', file, '-w', workdir, '--iterations', '10', '--save-baseline', base, '-q'], { env: quiet })).status).toBe(0);
    // The same code, but its first 11 runs (the warm-up and the first round) up to 50 ms slower: the interval
    // straddles the allowed worsening (raised by that spread) with room on both sides.
    const noisy = (count: string) => ({ ...quiet, SLEEPER_JITTER_MS: '50', SLEEPER_COUNT_FILE: count, SLEEPER_NOISY_RUNS: '11' });

    const once = await wayfinder(['regress', file, '-w', workdir, '--iterations', '10', '--max-iterations', '10', '--baseline', base, '--json'], { env: noisy(join(dir, 'count-1')) });
    const first = JSON.parse(once.stdout) as { outcome: string; configs: { metrics: { iterationsNeeded?: number; current: { n: number } }[] }[] };
    expect(first.outcome, once.stdout).toBe('inconclusive');
    expect(once.status).toBe(3);
    expect(first.configs[0]?.metrics[0]?.current.n).toBe(10);
    expect(readFileSync(join(dir, 'count-1'), 'utf8')).toBe('11');

    const r = await wayfinder(['regress', file, '-w', workdir, '--iterations', '10', '--baseline', base, '--save-baseline', join(dir, 'pooled.json')], { env: noisy(join(dir, 'count-2')) });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^NO REGRESSION: 0 regressions, 0 inconclusive, 1 passed/m);
    expect(r.stderr).toMatch(/inconclusive: measuring it \d+ more times \(up to --max-iterations 30\)/);
    // One measurement, pooled: the saved baseline holds every sample and says how many iterations.
    const pooled = JSON.parse(readFileSync(join(dir, 'pooled.json'), 'utf8'));
    const n = (pooled.configurations[0].metrics.elapsed_ms as number[]).length;
    expect(n).toBeGreaterThan(10);
    expect(n).toBeLessThanOrEqual(30);
    expect(r.stdout).toContain(`n=${n}`);
    expect(pooled.configurations[0].metrics.elapsed_ms).toHaveLength(n);
    expect(pooled.noise.tests.nap.iterations).toBe(n);
    // The first 10 samples are the noisy round's, in the order taken.
    expect(Math.max(...(pooled.configurations[0].metrics.elapsed_ms as number[]).slice(10))).toBeLessThan(105);

    const bad = await wayfinder(['regress', file, '-w', workdir, '--iterations', '10', '--max-iterations', '5', '--baseline', base]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--max-iterations: 5 is fewer than the 10 iterations/);
    noStack(bad.stderr);
  }, 240_000);

  it('--configs best and ids pick configurations an earlier run explored; a run experiment serves as the baseline', async () => {
    requireTool('perl');
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const workdir = join(dir, '.wayfinder');
    // MODE=b is the faster configuration (lower elapsed_ms is better).
    const file = writeFile(
      dir,
      'exp.yaml',
      `
name: modes
params:
  - { name: MODE, type: string, only: [a, b], default: a, when: test }
test:
  name: nap
  run: 'if [ "$MODE" = b ]; then SLEEPER_MS=10; else SLEEPER_MS=30; fi; export SLEEPER_MS; exec ${SLEEPER}'
  iterations: 3
metrics:
  - { name: elapsed_ms, parser: regex, pattern: 'elapsed_ms: ([0-9.]+)' }
objective: { metric: elapsed_ms, direction: minimize }
`,
    );
    const run = await wayfinder(['run', file, '-w', workdir, '-q']);
    expect(run.status, run.stderr).toBe(0);
    const results = await wayfinder(['results', '-w', workdir, '--format', 'json']);
    const explored = JSON.parse(results.stdout) as { experiment: string; configurations: { config_id: string; MODE: string }[] };
    const idB = explored.configurations.find((c) => c.MODE === 'b')?.config_id as string;

    const both = await wayfinder(['regress', file, '-w', workdir, '--configs', 'best,default', '--iterations', '3', '--json']);
    expect(both.status, both.stderr).toBe(0);
    const m = JSON.parse(both.stdout).measurement as { configurations: { configId: string; params: { MODE: string }; isDefault: boolean; metrics: { elapsed_ms: number[] } }[] };
    expect(m.configurations.map((c) => [c.params.MODE, c.isDefault])).toEqual([
      ['b', false],
      ['a', true],
    ]);
    expect(m.configurations[0]?.configId).toBe(idB);
    expect(m.configurations.every((c) => c.metrics.elapsed_ms.length === 3)).toBe(true);

    // An id prefix, against the run's own measurements (three samples each) as the baseline.
    const vsRun = await wayfinder(['regress', file, '-w', workdir, '--configs', idB.slice(0, 8), '--iterations', '4', '--baseline', explored.experiment, '--json']);
    const report = JSON.parse(vsRun.stdout) as { exitStatus: number; baseline: { id: string }; configs: { configId: string; baselineConfigId: string; metrics: { metric: string; baseline: { n: number }; current: { n: number } }[] }[] };
    expect(vsRun.status, vsRun.stderr).toBe(report.exitStatus);
    expect(report.baseline.id).toBe(explored.experiment);
    expect(report.configs).toHaveLength(1);
    expect(report.configs[0]).toMatchObject({ configId: idB, baselineConfigId: idB });
    expect(report.configs[0]?.metrics[0]).toMatchObject({ metric: 'elapsed_ms', baseline: { n: 3 }, current: { n: 4 } });
  }, 180_000);

  it('applies the experiment\'s host settings while measuring, puts them back, and records both in the baseline', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    // A stand-in /proc and /sys: this machine's settings are never touched.
    const procRoot = join(dir, 'proc');
    const sysfsRoot = join(dir, 'sys');
    const aslr = join(procRoot, 'sys/kernel/randomize_va_space');
    mkdirSync(dirname(aslr), { recursive: true });
    writeFileSync(aslr, '2\n');
    mkdirSync(join(sysfsRoot, 'devices/system/cpu'), { recursive: true });
    writeFileSync(join(sysfsRoot, 'devices/system/cpu/online'), '0-1\n');
    const file = writeFile(
      dir,
      'exp.yaml',
      `
name: tuned
params:
  - { name: A, type: integer, only: [1, 2], default: 1, when: test }
test:
  run: 'echo "aslr=$(cat ${aslr})"'
metrics:
  - { name: aslr, parser: regex, pattern: 'aslr=(\\d+)' }
objective: { metric: aslr, direction: minimize }
host:
  aslr: false
  governor: performance
`,
    );
    const base = join(dir, 'baseline.json');
    const r = await wayfinder(['regress', file, '-w', join(dir, '.wayfinder'), '--iterations', '2', '--save-baseline', base], {
      env: { WAYFINDER_PROCFS_ROOT: procRoot, WAYFINDER_SYSFS_ROOT: sysfsRoot },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/wayfinder: host governor: no cpufreq driver/);
    const saved = JSON.parse(readFileSync(base, 'utf8'));
    // Every measured run saw ASLR off; afterwards it is back on.
    expect(saved.configurations[0].metrics.aslr).toEqual([0, 0]);
    expect(readFileSync(aslr, 'utf8')).toBe('2\n');
    expect(saved.noise.tuned).toEqual(['aslr=0 (was 2)']);
    expect(saved.noise.notes).toEqual(expect.arrayContaining([expect.stringMatching(/^host governor: no cpufreq driver/)]));
    expect(saved.noise.host).toMatchObject({ aslr: false, governor: 'performance' });
  }, 120_000);

  it('bad flags and files exit 2 with a clear message before anything is measured', async () => {
    const { dir, file, workdir } = setup();
    const notJson = writeFile(dir, 'not.json', '{ nope');
    const wrong = writeFile(dir, 'wrong.json', JSON.stringify({ format: 'wayfinder-baseline', version: 1, configurations: 3 }));
    const cases: [string[], RegExp][] = [
      [['--threshold', 'lots'], /--threshold: expected a percentage such as 5%, got "lots"/],
      [['--confidence', '1.5'], /--confidence: expected a level between 0\.5 and 1/],
      [['--inconclusive', 'maybe'], /--inconclusive: expected exit3 \(exit status 3\), pass or fail/],
      [['--iterations', '1'], /--iterations: expected a whole number ≥ 2/],
      [['--baseline', join(dir, 'missing.json')], /--baseline: ".*missing\.json" is neither a baseline file nor an experiment in/],
      [['--baseline', notJson], new RegExp(`${notJson}:1:1: not a baseline file \\(not JSON`)],
      [['--baseline', wrong], new RegExp(`${wrong}:1:1: not a wayfinder baseline: at wayfinder: `)],
      [['--configs', 'fast'], /--configs: "fast" is not default, best or a configuration id/],
      [['--configs', 'abcdef12'], /--configs: no configuration abcdef12 of sleeper in the baseline or the work directory/],
      [['--configs', 'best'], /--configs best: no measured configuration of sleeper in the work directory; explore it first with wayfinder run/],
      [['--junit', join(dir, 'no', 'such', 'dir', 'j.xml')], /--junit: directory .*no\/such\/dir does not exist/],
      [['--markdown', dir], /--markdown: .* is a directory/],
    ];
    for (const [args, message] of cases) {
      const r = await wayfinder(['regress', file, '-w', workdir, ...args]);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      noStack(r.stderr);
    }
    const missing = await wayfinder(['regress', join(dir, 'nope.yaml'), '-w', workdir]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('nope.yaml');
    // Nothing was measured: no work directory was even made.
    expect(existsSync(workdir)).toBe(false);
  }, 120_000);
});
