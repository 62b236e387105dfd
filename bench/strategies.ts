// Strategy benchmark: our strategies (grid, random, bayesian) beside the optimisers people would
// pick instead (bench/baselines: SMAC-like random-forest BO, a BoTorch-like GP with one-hot
// categories, Optuna's default TPE), on synthetic landscapes (bench/landscapes.ts), the project's
// measured tables (bench/tables) and recorded pools of real Linux configurations
// (../shared/data/eurosys26-pools, read in place), over many seeds, with a paired test per cell
// (Wilcoxon signed-rank over seeds, ours against each other strategy); the issue's targets checked;
// the bayesian strategy's ask latency on 300 parameters and its replay time on 2,000-row pools.
// Runs of one strategy on one landscape are jobs shared out over worker threads (one per core).
//
// Run: npm run bench:strategies [-- --quick]. Options: --seeds N (30; --quick: 10), --seed-base B
// (search seeds B..B+N-1, default 1000: development runs use others than the reported table),
// --only NAME[,NAME] (landscapes, tables, pools, "pools" or "early-stop"), --strategies A,B, --workers K,
// --no-latency, --no-pools.

import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { simulate, type SearchFactory } from '../src/strategies/simulate.js';
import { loadTable, ratioTo, summarizeTraces, type ReplayResult, type Table } from '../src/strategies/replay.js';
import type { PriorExperiment } from '../src/strategies/prior.js';
import { createStrategy } from '../src/strategies/registry.js';
import { configKey } from '../src/strategies/encoding.js';
import type { Observation, StrategyName } from '../src/types.js';
import { Rng } from '../src/util/random.js';
import { gpBo } from './baselines/gp-bo.js';
import { rfBo } from './baselines/rf-bo.js';
import { tpe, tpeDedup } from './baselines/tpe.js';
import { LANDSCAPES, latencySpace, type Landscape } from './landscapes.js';
import { signedRank } from './wilcoxon.js';
import { studentTQuantile } from '../src/metrics/stats.js';
import { compareArms, loadIterationTable } from './early-stop.js';

const OURS = 'bayesian';
const BUDGETS = [10, 20, 40, 100];
const POOL_BUDGETS = [10, 20, 40, 50, 100];
const ALPHA = 0.05;
const ALL: (StrategyName | SearchFactory)[] = ['bayesian', 'random', 'grid', rfBo, gpBo, tpe, tpeDedup];
/**
 * Ours warm-started (StrategyOptions.prior) from the other sysctl pools' rows, as a new experiment
 * would be from earlier ones in the same store: on the sysctl pools only (the other pools have no
 * earlier experiment over their parameters here).
 */
const WARM = 'warm-start';
/** Run unless --strategies names others: tpe-dedup (Optuna's FAQ recipe) costs more than the rest together on small spaces. */
const DEFAULT = ['bayesian', 'random', 'grid', 'rf-bo', 'gp-bo', 'tpe', WARM];
const label = (s: StrategyName | SearchFactory): string => (typeof s === 'string' ? s : s.name);

/** Where a suite's landscapes come from (workers rebuild them from this). */
type SuiteRef = { kind: 'landscape'; name: string } | { kind: 'table'; file: string } | { kind: 'pool'; file: string };

interface Job {
  id: number;
  ref: SuiteRef;
  strategy: string;
  seeds: number;
  seedBase: number;
  budget: number;
}

interface JobResult {
  id: number;
  traces: { bestSoFar: number[]; optimum: number }[];
  repeats: number;
  seconds: number;
}

// Recorded pools of real Linux configurations (see their README), read where the workplace keeps them.
const POOLS_DIR = fileURLToPath(new URL('../../shared/data/eurosys26-pools/', import.meta.url));
const POOLS: { file: string; objective: string; minimize: boolean; failure: number; sysctl: boolean }[] = [
  { file: 'linux-redis_3_only_OS_single_core.csv', objective: 'throughput', minimize: false, failure: -1, sysctl: true },
  { file: 'linux-sqlite_13_only_OS_random_single_core.csv', objective: 'throughput', minimize: true, failure: -1, sysctl: true },
  { file: 'linux-hpc_default_56.csv', objective: 'throughput', minimize: false, failure: 0, sysctl: true },
  { file: 'linux-riscv.csv', objective: 'memory_bytes', minimize: true, failure: -1, sysctl: false },
];
const TABLES_DIR = fileURLToPath(new URL('./tables/', import.meta.url));

/** Parameter columns of a pool: every column but the identifiers and the objective that varies over its rows. */
function poolParams(text: string, objective: string): string[] {
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  const header = lines[0]!.split(',');
  const rows = lines.slice(1).map((l) => l.split(','));
  return header.filter((h, c) => !['index', 'perm_id', objective].includes(h) && new Set(rows.map((r) => r[c])).size > 1);
}

function readPool(file: string): string {
  try {
    return readFileSync(`${POOLS_DIR}${file}`, 'utf8');
  } catch (e) {
    console.error(`bench: cannot read ${POOLS_DIR}${file} (${(e as Error).message}); the pools are kept in ../shared/data/eurosys26-pools/ beside the repository`);
    process.exit(2);
  }
}

/** A recorded table as a landscape (a pool: only its rows can be picked). */
function tableLandscape(table: Table, name: string): Landscape {
  return {
    name,
    space: table.space,
    direction: table.minimize ? 'minimize' : 'maximize',
    evaluate: (c) => table.values[table.space.rowIndex(c)!],
    optimum: table.best,
  };
}

const loaded = new Map<string, { instances: (seeds: number) => Landscape[]; note: string }>();
/** The landscapes of a suite (instance s is searched with seed base + s) and a line about it. */
function suite(ref: SuiteRef): { instances: (seeds: number) => Landscape[]; note: string } {
  const key = JSON.stringify(ref);
  const hit = loaded.get(key);
  if (hit) return hit;
  let out: { instances: (seeds: number) => Landscape[]; note: string };
  if (ref.kind === 'landscape') {
    const make = LANDSCAPES[ref.name]!;
    // The plateau factorial is one fixed landscape (the seeds vary the search); the others are drawn afresh per seed.
    out = { instances: (n) => Array.from({ length: n }, (_, s) => make(s + 1)), note: '' };
  } else if (ref.kind === 'table') {
    const name = ref.file.replace(/\.csv$/, '');
    const spec = JSON.parse(readFileSync(`${TABLES_DIR}${name}.json`, 'utf8')) as { objective: string; minimize?: boolean; params?: string[] };
    const table = loadTable(readFileSync(`${TABLES_DIR}${ref.file}`, 'utf8'), spec, ref.file);
    const l = tableLandscape(table, `table ${ref.file}`);
    const ok = table.values.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
    out = { instances: (n) => Array.from({ length: n }, () => l), note: `best ${table.best}, median ${ok[ok.length >> 1]}` };
  } else {
    const pool = POOLS.find((p) => p.file === ref.file)!;
    const table = poolTable(pool);
    const l = tableLandscape(table, `pool ${pool.file.replace(/\.csv$/, '')}`);
    const failed = table.values.filter((v) => v === undefined).length;
    const ok = table.values.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
    out = {
      instances: (n) => Array.from({ length: n }, () => l),
      note: `${table.rows.length} rows, ${((100 * failed) / table.rows.length).toFixed(0)}% failed; best ${table.best}, median ${ok[ok.length >> 1]!.toPrecision(6)}`,
    };
  }
  loaded.set(key, out);
  return out;
}

function poolTable(pool: (typeof POOLS)[number]): Table {
  const text = readPool(pool.file);
  return loadTable(text, { objective: pool.objective, minimize: pool.minimize, failure: pool.failure, params: poolParams(text, pool.objective) }, pool.file);
}

/** Every row of the other sysctl pools, as the measurements of two earlier experiments. */
function warmPrior(file: string): PriorExperiment[] {
  return POOLS.filter((p) => p.sysctl && p.file !== file).map((p) => {
    const t = poolTable(p);
    const observations: Observation[] = t.rows.map((config, i) => {
      const value = t.values[i];
      return value === undefined ? { config, configId: String(i), status: 'failed' } : { config, configId: String(i), value, status: 'ok' };
    });
    return { direction: p.minimize ? 'minimize' : 'maximize', observations };
  });
}

function runJob(job: Job): JobResult {
  const t0 = performance.now();
  const strategy = job.strategy === WARM ? 'bayesian' : ALL.find((s) => label(s) === job.strategy)!;
  const prior = job.strategy === WARM && job.ref.kind === 'pool' ? warmPrior(job.ref.file) : undefined;
  let repeats = 0;
  const traces = suite(job.ref)
    .instances(job.seeds)
    .map((l, s) => {
      const t = simulate(l.space, (c) => l.evaluate(c), strategy, { budget: job.budget, seed: job.seedBase + s, direction: l.direction, ...(prior ? { prior } : {}) });
      repeats += t.repeats;
      return { bestSoFar: t.bestSoFar, optimum: l.optimum };
    });
  return { id: job.id, traces, repeats, seconds: (performance.now() - t0) / 1000 };
}

if (!isMainThread) {
  parentPort!.on('message', (job: Job | null) => {
    if (job === null) process.exit(0);
    parentPort!.postMessage(runJob(job));
  });
} else {
  await main();
}

interface Cell {
  strategy: string;
  results: ReplayResult[];
  /** Best-found / optimum per seed at each budget (index as the suite's budgets). */
  ratios: number[][];
  repeats: number;
  seconds: number;
}

interface Suite {
  ref: SuiteRef;
  key: string;
  budgets: number[];
  /** Budgets at which ours must beat random search significantly. */
  beatRandomAt: number[];
  jobs: Job[];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const QUICK = args.includes('--quick');
  const SEEDS = Number(opt('--seeds') ?? (QUICK ? 10 : 30));
  const SEED_BASE = Number(opt('--seed-base') ?? 1000);
  const ONLY = opt('--only')?.split(',');
  const WANTED = opt('--strategies')?.split(',');
  const STRATEGIES = [...ALL.map(label), WARM].filter((s) => (WANTED ? WANTED.includes(s) : DEFAULT.includes(s)));
  const WORKERS = Number(opt('--workers') ?? Math.min(2, availableParallelism()));
  const started = performance.now();
  console.log(
    `strategy benchmark: ${SEEDS} seeds from ${SEED_BASE}${QUICK ? ' (quick)' : ''}, ${WORKERS} worker threads; ` +
      `load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; ${new Date().toISOString()}`,
  );

  const suites: Suite[] = [];
  const jobs: Job[] = [];
  const add = (ref: SuiteRef, key: string, budgets: number[], beatRandomAt: number[] = []): void => {
    if (ONLY && !ONLY.includes(key) && !(ref.kind === 'pool' && ONLY.includes('pools'))) return;
    const s: Suite = { ref, key, budgets, beatRandomAt, jobs: [] };
    for (const strategy of STRATEGIES) {
      if (strategy === WARM && !(ref.kind === 'pool' && POOLS.find((p) => p.file === ref.file)?.sysctl)) continue;
      const job: Job = { id: jobs.length, ref, strategy, seeds: SEEDS, seedBase: SEED_BASE, budget: Math.max(...budgets) };
      jobs.push(job);
      s.jobs.push(job);
    }
    suites.push(s);
  };
  for (const name of Object.keys(LANDSCAPES)) add({ kind: 'landscape', name }, name, BUDGETS);
  for (const file of readdirSync(TABLES_DIR).filter((f) => f.endsWith('.csv'))) add({ kind: 'table', file }, file.replace(/\.csv$/, ''), BUDGETS);
  if (!args.includes('--no-pools')) for (const p of POOLS) add({ kind: 'pool', file: p.file }, p.file.replace(/\.csv$/, ''), POOL_BUDGETS, p.sysctl ? [50, 100] : []);

  const targets: [string, boolean][] = [];
  const target = (what: string, ok: boolean): void => {
    targets.push([what, ok]);
    console.log(`  target ${ok ? 'met   ' : 'MISSED'} ${what}`);
  };
  const replayTimes: string[] = [];
  const report = (s: Suite, results: Map<number, JobResult>): void => {
    const { instances, note } = suite(s.ref);
    const l0 = instances(1)[0]!;
    const cells = new Map<string, Cell>();
    for (const job of s.jobs) {
      const r = results.get(job.id)!;
      cells.set(job.strategy, {
        strategy: job.strategy,
        results: summarizeTraces(job.strategy, r.traces, s.budgets, l0.direction),
        ratios: s.budgets.map((b) => r.traces.map((t) => ratioTo(t.optimum, t.bestSoFar.slice(0, b).at(-1) ?? NaN, l0.direction))),
        repeats: r.repeats,
        seconds: r.seconds,
      });
    }
    printSuite(l0, SEEDS, note, s.budgets, cells);
    const ours = cells.get(OURS);
    const rnd = cells.get('random');
    if (s.key === 'plateauFactorial' && ours) {
      const at = (budget: number): ReplayResult => ours.results.find((r) => r.budget === budget)!;
      target(`exact best found at 40 in >= 90% of runs (${(100 * at(40).shareBest).toFixed(0)}%)`, at(40).shareBest >= 0.9);
      target(`95% of the best reached at 40 in every run (${(100 * at(40).share95).toFixed(0)}%)`, at(40).share95 >= 1);
      target(`mean best-found at 20 >= 0.96 (${at(20).meanRatio.toFixed(3)})`, at(20).meanRatio >= 0.96);
      target(`median evaluations to 95% <= 15 (${at(100).medianEvalsTo95})`, at(100).medianEvalsTo95 <= 15);
    }
    if (ours) target(`no repeated configuration (${ours.repeats})`, ours.repeats === 0);
    // Against random search per budget; the warm start is measured as such: beside the cold search, not in its place.
    for (const [cell, prefix] of [
      [ours, ''],
      [cells.get(WARM), 'warm-started: '],
    ] as const) {
      if (!cell || !rnd) continue;
      s.budgets.forEach((b, k) => {
        const t = signedRank(cell.ratios[k]!, rnd.ratios[k]!);
        const diff = mean(cell.ratios[k]!) - mean(rnd.ratios[k]!);
        const figures = `p=${t.p.toFixed(3)}, ${pairedInterval(cell.ratios[k]!, rnd.ratios[k]!)}`;
        if (s.beatRandomAt.includes(b)) target(`${prefix}significantly better than random at ${b} (${figures})`, t.p < ALPHA && diff > 0);
        else target(`${prefix}not significantly worse than random at ${b} (${figures})`, !(t.p < ALPHA && diff < 0));
      });
    }
    if (s.beatRandomAt.length > 0 && rnd) {
      // "Where no peer is": every other strategy against random search at the budgets that matter here.
      for (const [name, cell] of cells) {
        if (name === OURS || name === WARM || name === 'random') continue;
        const parts = s.budgets
          .map((b, k) => [b, k] as const)
          .filter(([b]) => s.beatRandomAt.includes(b))
          .map(([b, k]) => `${b}: p=${signedRank(cell.ratios[k]!, rnd.ratios[k]!).p.toFixed(3)}, ${pairedInterval(cell.ratios[k]!, rnd.ratios[k]!)}`);
        console.log(`  peer ${name} minus random  ${parts.join('  ')}`);
      }
    }
    if (ours && s.ref.kind === 'pool' && l0.space.size >= 2000n) {
      const per20 = (ours.seconds * 20) / SEEDS;
      replayTimes.push(`${s.key}: ${ours.seconds.toFixed(1)} s for ${SEEDS} seeds x ${Math.max(...s.budgets)} evaluations, ${per20.toFixed(1)} s per 20 seeds (target 60 s)`);
    }
  };
  // Each suite is printed as soon as its jobs are done, in order, so a long run shows its tables as it goes.
  let next = 0;
  await runAll(jobs, WORKERS, (results) => {
    while (next < suites.length && suites[next]!.jobs.every((j) => results.has(j.id))) report(suites[next++]!, results);
  });
  if (replayTimes.length > 0) {
    console.log(`\n== ${OURS} replay time on the 2,000-row pools (one worker thread each)`);
    for (const t of replayTimes) console.log(`  ${t}`);
  }
  if (!ONLY || ONLY.includes('early-stop')) earlyStopping(SEEDS, SEED_BASE, target);
  if (!args.includes('--no-latency')) latency();
  const met = targets.filter(([, ok]) => ok).length;
  console.log(`\n${met} of ${targets.length} targets met${met < targets.length ? ` (missed: ${targets.filter(([, ok]) => !ok).map(([w]) => w).join('; ')})` : ''}`);
  console.log(`${((performance.now() - started) / 60000).toFixed(1)} min in all; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}

/**
 * Benchmark-seconds with early stopping against without, on each recorded table whose .json names
 * its per-iteration columns (`iterations`, `sample`, `seconds`): see bench/early-stop.ts.
 */
function earlyStopping(seeds: number, seedBase: number, target: (what: string, ok: boolean) => void): void {
  for (const file of readdirSync(TABLES_DIR).filter((f) => f.endsWith('.json'))) {
    const spec = JSON.parse(readFileSync(`${TABLES_DIR}${file}`, 'utf8')) as { iterations?: number; sample?: string; seconds?: string };
    if (!spec.iterations || !spec.sample || !spec.seconds) continue;
    const csv = file.replace(/\.json$/, '.csv');
    const t = loadIterationTable(`${TABLES_DIR}${csv}`, { objective: 'objective', sample: spec.sample, seconds: spec.seconds, iterations: spec.iterations });
    console.log(
      `\n== early stopping on ${csv}: ${t.table.rows.length} configurations x ${t.iterations} iterations (each with one warm-up as long as a median iteration), ` +
        `benchmark-seconds = seconds ${spec.seconds} measured; ${seeds} seeds, paired; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
    );
    const seedList = Array.from({ length: seeds }, (_, i) => seedBase + i);
    for (const strategy of ['random', OURS]) {
      const t0 = performance.now();
      const r = compareArms(t, strategy, seedList, [20, 40, 100]);
      for (const line of r.lines) console.log(line);
      console.log(`  (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      if (strategy === OURS) {
        target(`early stopping: at most half the benchmark-seconds to 95% of the best (median paired ratio ${r.secondsRatio.toFixed(2)})`, r.secondsRatio <= 0.5);
        target(`early stopping: final quality not significantly worse at 20, 40, 100${r.worseAt.length ? ` (worse at ${r.worseAt.join(', ')})` : ''}`, r.worseAt.length === 0);
      }
    }
  }
}

/** Runs the jobs on worker threads, longest-running kinds first so the last ones finish together. */
async function runAll(jobs: Job[], workers: number, progress: (done: Map<number, JobResult>) => void): Promise<Map<number, JobResult>> {
  const out = new Map<number, JobResult>();
  const queue = [...jobs];
  // A worker does not inherit tsx's loader: it registers it, then loads this file.
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((t) => { t.register(); return import(${JSON.stringify(import.meta.url)}); });`;
  const pool = Array.from({ length: Math.max(1, workers) }, () => new Worker(boot, { eval: true }));
  await Promise.all(
    pool.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          const next = (): void => {
            const job = queue.shift();
            if (!job) {
              w.postMessage(null);
              resolve();
              return;
            }
            w.postMessage(job);
          };
          w.on('message', (r: JobResult) => {
            out.set(r.id, r);
            progress(out);
            next();
          });
          w.on('error', reject);
          next();
        }),
    ),
  );
  return out;
}

function printSuite(l0: Landscape, seeds: number, note: string, budgets: number[], cells: Map<string, Cell>): void {
  const size = l0.space.size < 10n ** 12n ? String(l0.space.size) : `~10^${l0.space.size.toString().length - 1}`;
  console.log(`\n== ${l0.name}: ${l0.space.params.length} parameters, ${size} configurations, ${l0.direction}, ${seeds} seeds${note ? `; ${note}` : ''}`);
  console.log('strategy   ' + budgets.map((b) => `at ${b}`.padStart(7)).join(' ') + '  best@40  95%@40  evals-to-95  repeats      s');
  for (const c of cells.values()) {
    const at40 = c.results.find((r) => r.budget === 40)!;
    const last = c.results.at(-1)!;
    const med = Number.isFinite(last.medianEvalsTo95) ? String(last.medianEvalsTo95) : `>${last.budget}`;
    console.log(
      c.strategy.padEnd(10) +
        ' ' +
        c.results.map((r) => r.meanRatio.toFixed(3).padStart(7)).join(' ') +
        `${(100 * at40.shareBest).toFixed(0).padStart(8)}%${(100 * at40.share95).toFixed(0).padStart(7)}%${med.padStart(13)}${String(c.repeats).padStart(9)}${c.seconds.toFixed(1).padStart(7)}`,
    );
  }
  const ours = cells.get(OURS);
  if (!ours) return;
  // Ours against each other strategy per budget: mean difference of best-found / optimum over the
  // paired seeds and the two-sided Wilcoxon signed-rank p (one test per cell, not corrected for their number).
  console.log(`paired, ${OURS} minus peer (Wilcoxon signed-rank over seeds; + / - significant at p < ${ALPHA}, = not):`);
  for (const [name, peer] of cells) {
    if (name === OURS) continue;
    const parts = budgets.map((b, k) => {
      const t = signedRank(ours.ratios[k]!, peer.ratios[k]!);
      const diff = mean(ours.ratios[k]!) - mean(peer.ratios[k]!);
      const mark = t.p < ALPHA && diff !== 0 ? (diff > 0 ? '+' : '-') : '=';
      return `${b}: ${mark} ${(diff >= 0 ? '+' : '') + diff.toFixed(3)} p=${t.p < 0.001 ? '<.001' : t.p.toFixed(3).replace(/^0/, '')}`;
    });
    console.log(`  vs ${name.padEnd(10)} ${parts.join('  ')}`);
  }
}

/** The mean paired difference a - b with its 95% t-interval over the seeds: "+0.0027 (95% CI +0.0012 to +0.0042)". */
function pairedInterval(a: number[], b: number[]): string {
  const d = a.map((x, i) => x - b[i]!);
  const m = mean(d);
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - m) ** 2, 0) / Math.max(1, d.length - 1));
  const h = d.length > 1 ? (studentTQuantile(0.95, d.length - 1) * sd) / Math.sqrt(d.length) : NaN;
  const sign = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(4)}`;
  return `mean difference ${sign(m)} (95% CI ${sign(m - h)} to ${sign(m + h)}, sd ${sd.toFixed(4)})`;
}

function mean(v: number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

function latency(): void {
    // A study asks from one process throughout, so its asks run compiled code. A fresh process
    // compiles the strategy's hot functions over its first 10-15 asks (the first takes ~80 ms), and
    // asks in that stretch can take two to three times the steady state: a throwaway strategy warms
    // the compiler first, then every ask of the measured one from its first is timed.
    const WARM = 15;
    const TIMED = 40;
    console.log(`\n== bayesian ask latency, 300 parameters (one configuration per ask; ${WARM} asks of a throwaway strategy warm the compiler, then ${TIMED} timed)`);
    console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on this machine: wall time includes waiting for a CPU; CPU time (all threads: the compiler and garbage collector run beside) does not`);
    const space = latencySpace();
    const q = (sorted: number[], p: number): string => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!.toFixed(1);
    /** A strategy told n random observations, and the objective it was told. */
    const setup = (n: number, seed: number): { strategy: ReturnType<typeof createStrategy>; value: (c: Record<string, unknown>) => number } => {
      const rng = new Rng(seed);
      const weights = space.params.map(() => rng.normal());
      const strategy = createStrategy('bayesian', space, { seed: 7, direction: 'maximize' });
      const value = (config: Record<string, unknown>): number =>
        space.params.slice(0, 20).reduce((a, p, j) => a + weights[j]! * Number(typeof config[p.name] === 'string' ? (config[p.name] as string).charCodeAt(0) % 3 : config[p.name]), 0);
      const obs = [];
      for (let i = 0; i < n; i++) {
        const config = space.normalize(space.sample(rng));
        obs.push({ config, configId: configKey(space, config), value: value(config), status: 'ok' as const });
      }
      strategy.tell(obs);
      return { strategy, value };
    };
    const askAndTell = (s: ReturnType<typeof setup>): { wall: number; cpu: number } => {
      const t = performance.now();
      const c0 = process.cpuUsage();
      const [c] = s.strategy.ask(1);
      const d = process.cpuUsage(c0);
      const wall = performance.now() - t;
      s.strategy.tell([{ config: c!, configId: configKey(space, c!), value: s.value(c!), status: 'ok' }]);
      return { wall, cpu: (d.user + d.system) / 1000 };
    };
    const warm = setup(100, 1);
    for (let k = 0; k < WARM; k++) askAndTell(warm);
    for (const n of [100, 1000]) {
      const s = setup(n, n);
      const wall: number[] = [];
      const cpu: number[] = [];
      for (let k = 0; k < TIMED; k++) {
        const t = askAndTell(s);
        wall.push(t.wall);
        cpu.push(t.cpu);
      }
      wall.sort((a, b) => a - b);
      cpu.sort((a, b) => a - b);
      const target = n <= 100 ? 20 : 200;
      console.log(
        `${String(n).padStart(5)} observations: wall median ${q(wall, 0.5)} ms, p90 ${q(wall, 0.9)}, max ${q(wall, 1)}; ` +
          `CPU median ${q(cpu, 0.5)}, p90 ${q(cpu, 0.9)}, max ${q(cpu, 1)} (target ${target} ms)`,
      );
    }
}
