// Strategy benchmark: our strategies (grid, random, bayesian) beside two baselines people would
// pick instead (bench/baselines: Optuna's default TPE, SMAC-like random-forest BO), on synthetic
// landscapes over many instance seeds and on the real tables of bench/tables/ (replayed as pools);
// the targets checked on the 256-configuration factorial; and the bayesian strategy's ask
// latency on a 300-parameter space. Run: npx tsx bench/strategies.ts
// (optionally: --seeds N, --only NAME[,NAME] (landscapes or tables), --strategies A,B, --no-latency).

import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { simulate, type SearchFactory } from '../src/strategies/simulate.js';
import { loadTable, summarizeTraces, type ReplayResult } from '../src/strategies/replay.js';
import { createStrategy } from '../src/strategies/registry.js';
import { configKey } from '../src/strategies/encoding.js';
import type { StrategyName } from '../src/types.js';
import { Rng } from '../src/util/random.js';
import { rfBo } from './baselines/rf-bo.js';
import { tpe, tpeDedup } from './baselines/tpe.js';
import { LANDSCAPES, latencySpace, type Landscape } from './landscapes.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const SEEDS = Number(opt('--seeds') ?? 30);
const ONLY = opt('--only')?.split(',');
const ALL: (StrategyName | SearchFactory)[] = ['grid', 'random', 'bayesian', tpe, tpeDedup, rfBo];
const label = (s: StrategyName | SearchFactory): string => (typeof s === 'string' ? s : s.name);
const WANTED = opt('--strategies')?.split(',');
const STRATEGIES = ALL.filter((s) => !WANTED || WANTED.includes(label(s)));
const BUDGETS = [10, 20, 40, 100];
const MAX = Math.max(...BUDGETS);

function fmt(r: ReplayResult, repeats: number): string {
  const med = Number.isFinite(r.medianEvalsTo95) ? String(r.medianEvalsTo95) : `>${r.budget}`;
  return [
    r.strategy.padEnd(9),
    String(r.budget).padStart(6),
    r.meanRatio.toFixed(3).padStart(9),
    r.stdRatio.toFixed(3).padStart(7),
    (100 * r.shareBest).toFixed(0).padStart(9) + '%',
    (100 * r.share95).toFixed(0).padStart(9) + '%',
    med.padStart(12),
    String(repeats).padStart(8),
  ].join(' ');
}
const HEADER = 'strategy  budget meanRatio     std  found-best  reach-95%  evals-to-95  repeats';

/** Every strategy on every instance; prints the figures and returns them by strategy. */
interface Figures {
  results: ReplayResult[];
  repeats: number;
}

function compare(instances: Landscape[], title: string): Map<string, Figures> {
  const t0 = performance.now();
  const l0 = instances[0]!;
  console.log(`\n== ${title}: ${l0.space.params.length} parameters, ${l0.space.size} configurations, ${l0.direction}, ${instances.length} seeds`);
  console.log(HEADER);
  const out = new Map<string, Figures>();
  for (const strategy of STRATEGIES) {
    let repeats = 0;
    const traces = instances.map((l, s) => {
      const t = simulate(l.space, (c) => l.evaluate(c), strategy, { budget: MAX, seed: 1000 + s, direction: l.direction });
      repeats += t.repeats;
      return { bestSoFar: t.bestSoFar, optimum: l.optimum };
    });
    const results = summarizeTraces(label(strategy), traces, BUDGETS, l0.direction);
    out.set(label(strategy), { results, repeats });
    for (const r of results) console.log(fmt(r, repeats));
  }
  console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return out;
}

/** The targets on the 256-configuration factorial, with how far its top 1% stands above the median. */
function checkTargets(instances: Landscape[], figures: Map<string, Figures>): void {
  const lifts = instances.map((l) => {
    const v: number[] = [];
    for (let i = 0n; i < l.space.size; i++) v.push(l.evaluate(l.space.at(i))!);
    v.sort((a, b) => a - b);
    return v[Math.floor(0.99 * v.length)]! / v[v.length >> 1]!;
  });
  lifts.sort((a, b) => a - b);
  console.log(`top 1% / median over the instances: min ${lifts[0]!.toFixed(2)}x, median ${lifts[lifts.length >> 1]!.toFixed(2)}x`);
  const b = figures.get('bayesian');
  if (!b) return;
  const at = (budget: number): ReplayResult => b.results.find((r) => r.budget === budget)!;
  const checks: [string, boolean][] = [
    [`mean best-found at 20 >= 0.95 (${at(20).meanRatio.toFixed(3)})`, at(20).meanRatio >= 0.95],
    [`mean best-found at 40 >= 0.99 (${at(40).meanRatio.toFixed(3)})`, at(40).meanRatio >= 0.99],
    [`runs reaching 95% at 40 >= 97% (${(100 * at(40).share95).toFixed(0)}%)`, at(40).share95 >= 0.97],
    [`median evaluations to 95% <= 15 (${at(100).medianEvalsTo95})`, at(100).medianEvalsTo95 <= 15],
    [`no repeated configuration (${b.repeats} repeats)`, b.repeats === 0],
  ];
  for (const [what, ok] of checks) console.log(`  target ${ok ? 'met   ' : 'MISSED'} ${what}`);
}

const seeds = Array.from({ length: SEEDS }, (_, s) => s + 1);
for (const [name, make] of Object.entries(LANDSCAPES)) {
  if (ONLY && !ONLY.includes(name)) continue;
  const instances = seeds.map(make);
  const figures = compare(instances, instances[0]!.name);
  if (name === 'factorial256') checkTargets(instances, figures);
}

// Real tables: one instance, many strategy seeds (the instance is fixed, so seeds vary the search).
const tablesDir = fileURLToPath(new URL('./tables/', import.meta.url));
for (const file of readdirSync(tablesDir).filter((f) => f.endsWith('.csv'))) {
  const name = file.replace(/\.csv$/, '');
  if (ONLY && !ONLY.includes(name)) continue;
  const spec = JSON.parse(readFileSync(`${tablesDir}${name}.json`, 'utf8')) as { objective: string; minimize?: boolean; params?: string[] };
  const table = loadTable(readFileSync(`${tablesDir}${file}`, 'utf8'), spec, file);
  const direction = table.minimize ? 'minimize' : 'maximize';
  const instance: Landscape = {
    name: `table ${file}`,
    space: table.space,
    direction,
    evaluate: (c) => table.values[table.space.rowIndex(c)!],
    optimum: table.best,
  };
  const sorted = table.values.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  compare(seeds.map(() => instance), instance.name);
  console.log(`best ${table.best}, median ${sorted[sorted.length >> 1]}, top 1% / median ${(sorted[Math.floor(0.99 * sorted.length)]! / sorted[sorted.length >> 1]!).toFixed(2)}x`);
}

if (!args.includes('--no-latency')) {
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
