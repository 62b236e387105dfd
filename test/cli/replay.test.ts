// `wayfinder replay` on real CSV files (the NGINX factorial measured for bench/tables, and small
// tables written here), and replay targets run through `wayfinder run`: the whole pipeline on
// recorded data, including a run killed and resumed that asks what an uninterrupted run asks.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, ROOT, requireTool, tempDir, waitFor, wayfinder, writeFile } from '../helpers.js';

const TABLE = join(ROOT, 'bench', 'tables', 'linux-nginx-factorial.csv');
const SCRIPT = join(ROOT, 'scripts', 'test', 'replay-table.mjs');
const PARAMS = [
  'NGINX_WORKER_PROCESSES',
  'NGINX_ACCESS_LOG',
  'NGINX_SENDFILE',
  'NGINX_KEEPALIVE_TIMEOUT',
  'NGINX_OPEN_FILE_CACHE',
  'TCP_CONGESTION_CONTROL',
  'TCP_AUTOCORKING',
  'TCP_SLOW_START_AFTER_IDLE',
];

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

function dir(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

/** The recorded table read independently of the code under test: parameter values -> objective. */
function recorded(): Map<string, number> {
  const [head, ...rows] = readFileSync(TABLE, 'utf8').trim().split('\n').map((l) => l.split(','));
  const at = (name: string): number => head!.indexOf(name);
  return new Map(rows.map((r) => [PARAMS.map((p) => r[at(p)]).join(' '), Number(r[at('objective')])]));
}

interface JsonResult {
  strategy: string;
  budget: number;
  measure: 'ratio' | 'score';
  meanRatio: number;
  stdRatio: number;
  shareBest: number;
  share95: number;
  medianEvalsTo95: number | null;
}

describe('wayfinder replay', () => {
  it('prints mean, spread, found-best, reach-95% and evaluations-to-95% per strategy and budget, and plots best-so-far', async () => {
    const d = dir();
    const plot = join(d, 'best.svg');
    const r = await wayfinder(['replay', '--table', TABLE, '--objective', 'objective', '--budget', '10', '--budget', '20', '--seeds', '3', '--plot', plot]);
    expect(r.status, r.stderr).toBe(0);
    const best = Math.max(...recorded().values());
    expect(r.stdout).toContain(`256 configurations, 8 parameters (${PARAMS.join(', ')}); 0 failed; best objective = ${best} (higher is better)`);
    // In words, not camelCase.
    expect(r.stdout).toMatch(/^strategy\s+budget\s+mean ratio\s+spread\s+found the best\s+reached 0\.95\s+evaluations to 0\.95$/m);
    expect(r.stdout).toContain('A found value is judged by its ratio to the best value in the table (1 = the best)');
    expect(r.stdout.split('\nbest-so-far plot')[0]).not.toMatch(/[a-z][A-Z]/);
    for (const s of ['grid', 'random', 'bayesian']) {
      for (const b of [10, 20]) expect(r.stdout).toMatch(new RegExp(`^${s}\\s+${b}\\s+[01]\\.\\d{3}\\s+± \\d\\.\\d{3}\\s+\\d+%\\s+\\d+%\\s+(more than ${b}|[\\d.]+)$`, 'm'));
    }
    const svg = readFileSync(plot, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const s of ['grid', 'random', 'bayesian']) expect(svg).toContain(`>${s}<`);
    // Best-so-far in steps, as the report draws it: no sloping line, only horizontal and vertical
    // moves, never down (higher is better), and a dot where each curve starts and at each rise.
    expect(svg).not.toContain('<polyline');
    const paths = [...svg.matchAll(/<path class="best-so-far" d="([^"]*)"/g)].map((m) => m[1]!);
    expect(paths).toHaveLength(3);
    let rises = 0;
    for (const d of paths) {
      const cmds = [...d.matchAll(/([A-Za-z])([^A-Za-z]*)/g)].map((m) => [m[1]!, m[2]!.trim().split(/[\s,]+/).filter(Boolean).map(Number)] as const);
      expect(cmds[0]![0]).toBe('M');
      expect(cmds.slice(1).every(([c, n]) => (c === 'H' || c === 'V') && n.length === 1), d).toBe(true);
      let y = cmds[0]![1][1]!;
      for (const [c, [v]] of cmds.slice(1)) {
        if (c !== 'V') continue;
        // SVG's y grows downwards: a better value is a smaller y.
        expect(v!).toBeLessThan(y);
        y = v!;
        rises++;
      }
      expect(cmds.at(-1)![0]).toBe('H');
    }
    expect(svg.match(/<circle class="improvement"/g)).toHaveLength(rises + paths.length);
  });

  it('--json gives {"results": [...]} with the issue\'s fields; the whole table as budget always finds the best', async () => {
    const r = await wayfinder(['replay', '--table', TABLE, '--objective', 'objective', '--strategy', 'random', '--strategy', 'grid', '--budget', '5,256', '--seeds', '2', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { results: JsonResult[] };
    expect(Object.keys(out)).toEqual(['results']);
    expect(out.results.map((x) => [x.strategy, x.budget])).toEqual([
      ['random', 5],
      ['random', 256],
      ['grid', 5],
      ['grid', 256],
    ]);
    for (const x of out.results) {
      expect(Object.keys(x)).toEqual(['strategy', 'budget', 'measure', 'meanRatio', 'stdRatio', 'shareBest', 'share95', 'medianEvalsTo95']);
      expect(x.measure).toBe('ratio');
      expect(x.meanRatio).toBeGreaterThan(0);
      expect(x.meanRatio).toBeLessThanOrEqual(1);
    }
    const whole = out.results.filter((x) => x.budget === 256);
    for (const x of whole) {
      expect(x).toMatchObject({ meanRatio: 1, stdRatio: 0, shareBest: 1, share95: 1 });
      expect(x.medianEvalsTo95).toBeGreaterThanOrEqual(1);
      expect(x.medianEvalsTo95).toBeLessThanOrEqual(256);
    }
    // Five picks out of 256 rarely include the best: not every seed of both strategies can have.
    expect(out.results.filter((x) => x.budget === 5).every((x) => x.shareBest === 1)).toBe(false);
  });

  it('reads failures marked by --failure and minimises with --minimize', async () => {
    const d = dir();
    const file = writeFile(d, 'lat.csv', 'queue,mode,latency\n1,a,9\n1,b,7\n2,a,-1\n2,b,5\n4,a,4\n4,b,-1\n');
    const r = await wayfinder(['replay', '--table', file, '--objective', 'latency', '--minimize', '--failure', '-1', '--strategy', 'grid', '--budget', '6', '--seeds', '2']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('6 configurations, 2 parameters (queue, mode); 2 failed; best latency = 4 (lower is better)');
    expect(r.stdout).toMatch(/^grid\s+6\s+1\.000\s+± 0\.000\s+100%\s+100%/m);
  });

  it('a progress line on a terminal only; JSON names the measure (a score where values are not all positive)', async () => {
    requireTool('script', 'bsdutils');
    const d = dir();
    const args = ['replay', '--table', TABLE, '--objective', 'objective', '--budget', '20', '--seeds', '10'];
    const piped = await wayfinder(args);
    expect(piped.status).toBe(0);
    expect(piped.stderr).toBe('');
    // Under a pseudo-terminal (script(1)), stderr is a TTY: the line rewrites itself, then is cleared.
    const tty = spawnSync('script', ['-qec', [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' '), '/dev/null'], { encoding: 'utf8', timeout: 120_000 });
    expect(tty.status, tty.stderr).toBe(0);
    expect(tty.stdout).toMatch(/\r\x1b\[Kreplaying: \d+\/30 searches \((grid|random|bayesian)\)/);
    expect(tty.stdout).toContain('replaying: 30/30 searches (bayesian)');
    expect(tty.stdout).toMatch(/^strategy\s+budget\s+mean ratio/m);

    const signed = writeFile(d, 'signed.csv', 'a,b,v\n1,x,-3\n1,y,0\n2,x,4\n2,y,-1\n');
    const r = await wayfinder(['replay', '--table', signed, '--objective', 'v', '--strategy', 'random', '--budget', '2,4', '--seeds', '3', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { results: Record<string, unknown>[] };
    expect(Object.keys(out.results[0]!)).toEqual(['strategy', 'budget', 'measure', 'meanScore', 'stdScore', 'shareBest', 'share95', 'medianEvalsTo95']);
    expect(out.results[1]).toMatchObject({ measure: 'score', meanScore: 1, shareBest: 1 });
  }, 180_000);

  it('bad tables and flags: file:line:column, the reason, status 2, no stack trace', async () => {
    const d = dir();
    const good = 'a,b,v\nx,1,5\ny,1,6\nx,2,7\ny,2,8\n';
    const cases: [string, string[], RegExp][] = [
      ['unknown objective', ['--objective', 'nope'], /t\.csv:1:1: --objective: unknown objective column "nope"\n\s+columns: a, b, v/],
      ['unknown parameter', ['--objective', 'v', '--params', 'a,c'], /t\.csv:1:1: --params: unknown parameter column "c"/],
      ['missing value', ['--objective', 'v', '--csv', 'a,b,v\nx,1,5\ny,1,\nx,2,7\n'], /t\.csv:3:5: column "v": missing value/],
      ['single-valued', ['--objective', 'v', '--params', 'a,b', '--csv', 'a,b,v\nx,1,5\ny,1,6\n'], /t\.csv:1:3: parameter column "b" has a single value \(1\) in every row: nothing to choose\n\s+leave it out of --params/],
      ['nothing to choose', ['--objective', 'v', '--csv', 'a,b,v\nx,1,5\nx,1,6\n'], /t\.csv:1:1: no parameter column has two values: nothing to choose/],
      ['tie', ['--objective', 'v', '--params', 'a', '--csv', good], /t\.csv:4:1: this row ties with line 2: both are the configuration a=x/],
      ['not a number', ['--objective', 'v', '--csv', 'a,b,v\nx,1,5\ny,1,fast\nx,2,7\n'], /t\.csv:3:5: column "v": "fast" is not a number/],
      ['ragged row', ['--objective', 'v', '--csv', 'a,b,v\nx,1,5\ny,1\n'], /t\.csv:3:1: this row has 2 cells; the header has 3/],
      ['open quote', ['--objective', 'v', '--csv', 'a,b,v\nx,1,5\n"y,1,6\n'], /t\.csv:3:1: the file ends inside a quoted field/],
      ['unknown strategy', ['--objective', 'v', '--strategy', 'tpe'], /--strategy: unknown strategy "tpe" \(known: grid, random, bayesian\)/],
      ['bad budget', ['--objective', 'v', '--budget', '0'], /--budget: expected a whole number ≥ 1, got "0"/],
      ['bad failure', ['--objective', 'v', '--failure', 'none'], /--failure: expected a number, got "none"/],
      ['no objective', [], /--objective: the column that holds the measured objective is required/],
    ];
    for (const [what, args, expected] of cases) {
      const csv = args.includes('--csv') ? args[args.indexOf('--csv') + 1]! : good;
      const file = writeFile(d, 't.csv', csv);
      const flags = args.filter((_, i) => args[i] !== '--csv' && args[i - 1] !== '--csv');
      const r = await wayfinder(['replay', '--table', file, '--seeds', '1', ...flags]);
      expect(r.status, `${what}: ${r.stderr}`).toBe(2);
      expect(r.stderr, what).toMatch(expected);
      expect(r.stderr, what).not.toMatch(/\n\s+at /);
    }
    const missing = await wayfinder(['replay', '--table', join(d, 'none.csv'), '--objective', 'v']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('--table: cannot read');
  }, 180_000);
});

/** An experiment over the factorial's parameters whose test is the replay target. */
function replayExperiment(d: string, opts: { strategy: string; budget: number }): string {
  const params = [
    '  - { name: NGINX_WORKER_PROCESSES, type: string, only: ["auto", "1"], default: "auto", when: test }',
    '  - { name: NGINX_ACCESS_LOG, type: boolean, default: true, when: test }',
    '  - { name: NGINX_SENDFILE, type: boolean, default: true, when: test }',
    '  - { name: NGINX_KEEPALIVE_TIMEOUT, type: integer, only: [0, 75], default: 75, when: test }',
    '  - { name: NGINX_OPEN_FILE_CACHE, type: boolean, default: false, when: test }',
    '  - { name: TCP_CONGESTION_CONTROL, type: string, only: [cubic, reno], default: cubic, when: test }',
    '  - { name: TCP_AUTOCORKING, type: integer, only: [0, 1], default: 1, when: test }',
    '  - { name: TCP_SLOW_START_AFTER_IDLE, type: integer, only: [0, 1], default: 1, when: test }',
  ].join('\n');
  return writeFile(
    d,
    'replay.yaml',
    `
name: replay-test
params:
${params}
test:
  script: ${SCRIPT}
  env: { REPLAY_TABLE: ${TABLE} }
metrics:
  - { name: rps, parser: json, path: value }
objective: { metric: rps, direction: maximize }
exploration: { strategy: ${opts.strategy}, budget: ${opts.budget}, seed: 7, parallel: 1 }
`,
  );
}

function sequence(workdir: string): { params: Record<string, unknown>; objective: number | null; status: string }[] {
  const db = new Database(join(workdir, 'wayfinder.db'), { readonly: true });
  const rows = db.prepare('SELECT params_json, objective, status FROM configurations ORDER BY seq').all() as { params_json: string; objective: number | null; status: string }[];
  db.close();
  return rows.map((r) => ({ params: JSON.parse(r.params_json) as Record<string, unknown>, objective: r.objective, status: r.status }));
}

function lines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
}

describe('replay target through wayfinder run', () => {
  it('measures each configuration as its recorded row, through the queue, runner and store', async () => {
    const d = dir();
    const workdir = join(d, 'w');
    const r = await wayfinder(['run', replayExperiment(d, { strategy: 'bayesian', budget: 12 }), '--workdir', workdir, '--quiet'], { timeoutMs: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const table = recorded();
    const seq = sequence(workdir);
    // The default is measured first as the baseline and counts against the budget.
    expect(seq).toHaveLength(12);
    expect(seq[0]!.params).toMatchObject({ NGINX_KEEPALIVE_TIMEOUT: 75, TCP_CONGESTION_CONTROL: 'cubic' });
    for (const c of seq) {
      expect(c.status).toBe('done');
      expect(c.objective).toBe(table.get(PARAMS.map((p) => String(c.params[p])).join(' ')));
    }
    expect(new Set(seq.map((c) => JSON.stringify(c.params))).size).toBe(12);
  }, 180_000);

  it('a row recorded as failed fails its configuration; a configuration the table lacks is an error naming it', async () => {
    const d = dir();
    const table = writeFile(
      d,
      'small.csv',
      ['NGINX_KEEPALIVE_TIMEOUT,TCP_AUTOCORKING,rps', '0,0,10', '0,1,-1', '75,0,30', '75,1,40'].join('\n'),
    );
    const file = writeFile(
      d,
      'small.yaml',
      `
name: small
params:
  - { name: NGINX_KEEPALIVE_TIMEOUT, type: integer, only: [0, 75, 5], default: 75, when: test }
  - { name: TCP_AUTOCORKING, type: integer, only: [0, 1], default: 1, when: test }
test:
  script: ${SCRIPT}
  env: { REPLAY_TABLE: small.csv, REPLAY_OBJECTIVE: rps, REPLAY_FAILURE: "-1" }
metrics:
  - { name: rps, parser: json, path: value }
objective: { metric: rps, direction: maximize }
exploration: { strategy: grid, parallel: 1 }
`,
    );
    const workdir = join(d, 'w');
    const r = await wayfinder(['run', file, '--workdir', workdir, '--quiet'], { timeoutMs: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const byConfig = new Map(sequence(workdir).map((c) => [`${String(c.params.NGINX_KEEPALIVE_TIMEOUT)}/${String(c.params.TCP_AUTOCORKING)}`, c]));
    expect(byConfig.size).toBe(6);
    expect(byConfig.get('0/0')).toMatchObject({ status: 'done', objective: 10 });
    expect(byConfig.get('0/1')!.status).toBe('failed');
    expect(byConfig.get('75/1')).toMatchObject({ status: 'done', objective: 40 });
    // Keep-alive 5 was never recorded: those configurations fail, and the reason names the table.
    expect(byConfig.get('5/0')!.status).toBe('failed');
    const errs = await wayfinder(['results', '--workdir', workdir, '--format', 'json']);
    const rows = (JSON.parse(errs.stdout) as { configurations: { NGINX_KEEPALIVE_TIMEOUT: number; error?: string }[] }).configurations;
    expect(rows.find((c) => c.NGINX_KEEPALIVE_TIMEOUT === 5)!.error).toMatch(/NGINX_KEEPALIVE_TIMEOUT=5 never occurs in .*small\.csv/);
  }, 180_000);

});

describe('resume continues the strategy\'s sequence', () => {
  it('a run killed twice and resumed asks the same configurations, in the same order, as one never interrupted', async () => {
    // 6^6 = 46,656 configurations: the bayesian strategy samples and fits forests, so every pick
    // depends on its random state; a resumed run that lost that state would ask differently.
    const d = dir();
    const log = join(d, 'measured.log');
    const file = writeFile(
      d,
      'big.yaml',
      `
name: resume-sequence
params:
${['A', 'B', 'C', 'D', 'E', 'F'].map((p) => `  - { name: ${p}, type: integer, min: 1, max: 6, default: 1, when: test }`).join('\n')}
test:
  run: 'echo "v=$(( A * B + 3 * C - (D - 4) * (D - 4) + E * F ))"; echo "$WAYFINDER_CONFIG_ID" >> \${RESUME_LOG:-/dev/null}'
metrics:
  - { name: v, parser: regex, pattern: 'v=(-?\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { strategy: bayesian, budget: 16, seed: 7, parallel: 1 }
`,
    );
    const straight = join(d, 'straight');
    const a = await wayfinder(['run', file, '--workdir', straight, '--quiet'], { timeoutMs: 180_000 });
    expect(a.status, a.stderr).toBe(0);

    const killed = join(d, 'killed');
    for (const killAfter of [4, 10]) {
      const child = spawn(process.execPath, [CLI, 'run', file, '--workdir', killed, '--quiet'], { stdio: 'ignore', env: { ...process.env, RESUME_LOG: log } });
      await waitFor(() => lines(log).length >= killAfter, 120_000, `${killAfter} measured configurations`);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    const b = await wayfinder(['run', file, '--workdir', killed, '--quiet'], { timeoutMs: 180_000 });
    expect(b.status, b.stderr).toBe(0);

    const one = sequence(straight);
    const two = sequence(killed);
    expect(one).toHaveLength(16);
    expect(two.map((c) => c.params)).toEqual(one.map((c) => c.params));
    expect(two.map((c) => c.objective)).toEqual(one.map((c) => c.objective));
  }, 420_000);
});

describe('wayfinder replay: early stopping on a table with every iteration', () => {
  const ITERATIONS = join(ROOT, 'bench', 'tables', 'linux-nginx-iterations.csv');

  it('replays each search with and without the early-stopping rule and prints the benchmark-seconds of both', async () => {
    const args = ['replay', '--table', ITERATIONS, '--objective', 'objective', '--samples', 'wrk.requests_per_sec', '--seconds', 'wrk.duration_s', '--strategy', 'random', '--budget', '20', '--budget', '40', '--seeds', '3'];
    const json = await wayfinder([...args, '--json']);
    expect(json.status, json.stderr).toBe(0);
    const rows = (JSON.parse(json.stdout) as { earlyStop: { strategy: string; budget: number; qualityWithout: number; qualityWith: number; secondsWithout: number; secondsWith: number; stopped?: number }[] }).earlyStop;
    expect(rows.map((r) => [r.strategy, r.budget])).toEqual([['random', 20], ['random', 40]]);
    for (const r of rows) {
      // Five iterations of about a second each (wrk's measured seconds), a warm-up beside them: about 6 s a configuration without.
      expect(r.secondsWithout / r.budget).toBeGreaterThan(5);
      expect(r.secondsWith).toBeLessThan(r.secondsWithout);
      expect(r.qualityWith).toBeGreaterThan(0);
      expect(r.qualityWith).toBeLessThanOrEqual(1);
    }
    expect(rows[1]?.stopped).toBeGreaterThan(0);
    const text = await wayfinder(args);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toContain('Early stopping, replayed as a run applies it (5 iterations per configuration, looks after 1, 2, 4;');
    expect(text.stdout).toMatch(/strategy\s+budget\s+quality without\s+with\s+bench-s without\s+with\s+ratio/);
  }, 120_000);

  it('refuses --samples without --seconds, and a metric the table has no samples of', async () => {
    const alone = await wayfinder(['replay', '--table', ITERATIONS, '--objective', 'objective', '--samples', 'wrk.requests_per_sec']);
    expect(alone.status).toBe(2);
    expect(alone.stderr).toContain('--samples and --seconds go together');
    const unknown = await wayfinder(['replay', '--table', ITERATIONS, '--objective', 'objective', '--samples', 'wrk.nope', '--seconds', 'wrk.duration_s', '--seeds', '1']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('linux-nginx-iterations.csv:1:1: no column samples.wrk.nope');
    expect(unknown.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
