// Workload-aware search (issue 20, point 1): one bayesian search over configuration x workload,
// expected improvement against each workload point's own incumbent (src/strategies/workloads.ts),
// against one independent bayesian search per workload value with the same total budget (run in
// turns), and against a search that takes the workload dimension for a knob (what the search did
// before it knew about workloads). Landscapes (test/strategies/workload-landscape.ts): 3 knobs
// (batch 8 values, mode 3, spare 4) x 6 workload values (flows); the best batch size moves with
// the flows ("moving") or does not ("static"); 2% measurement noise, judged on true values. Then
// the recorded tables of bench/tables whose NAME.json names workload columns ("workload": [...]),
// as pools (a search picks only measured pairs; the recorded values, noise and all, are the truth).
//
// Printed per landscape: evaluations until every workload point has a configuration within 95% of
// its best (median, quartiles, share of seeds that get there within the budget; not reaching it
// counts as budget + 1), the mean over points of best-found / best at half and full budget, and a
// paired Wilcoxon signed-rank test over seeds (shared against each other).
//
// Run: npx tsx bench/workloads.ts [--seeds 30] [--budget 120] [--seed-base 1000] [--tables-only]

import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  evaluationsToReach,
  independentSearches,
  meanShareOfBest,
  sharedSearch,
  tableLandscape,
  workloadLandscape,
  type Step,
  type WorkloadLandscape,
} from '../test/strategies/workload-landscape.js';
import { signedRank } from './wilcoxon.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) {
    console.error(`bench/workloads: ${name} wants a positive whole number, got ${JSON.stringify(process.argv[i + 1])}`);
    process.exit(2);
  }
  return v;
}

const SEEDS = arg('--seeds', 30);
const BUDGET = arg('--budget', 120);
const SEED_BASE = arg('--seed-base', 1000);
const NOISE = 0.02;

type Method = 'shared' | 'independent' | 'as-knob';
const METHODS: { name: Method; run: (l: WorkloadLandscape, seed: number, budget: number) => Step[] }[] = [
  { name: 'shared', run: (l, seed, budget) => sharedSearch(l, seed, budget, { noise: l.space ? 0 : NOISE }) },
  { name: 'independent', run: (l, seed, budget) => independentSearches(l, seed, budget, { noise: l.space ? 0 : NOISE }) },
  { name: 'as-knob', run: (l, seed, budget) => sharedSearch(l, seed, budget, { noise: NOISE, asKnob: true }) },
];

function quantile(sorted: number[], q: number): number {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
}


console.log(`workload-aware search: ${SEEDS} seeds (${SEED_BASE}..${SEED_BASE + SEEDS - 1}), budget ${BUDGET} evaluations in all (${BUDGET / 6} per workload value for the independent searches), noise ${NOISE * 100}%`);
console.log(`load average at start: ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
/** Compares the methods over SEEDS searches; `landscape(i)` is the landscape of search i. */
function compare(title: string, landscape: (i: number) => WorkloadLandscape, budget: number, methods: typeof METHODS): void {
  const names = methods.map((m) => m.name);
  const evals = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Method, number[]>;
  const half = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Method, number[]>;
  const full = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Method, number[]>;
  const seconds = Object.fromEntries(names.map((n) => [n, 0])) as Record<Method, number>;
  let repeats = 0;
  for (let i = 0; i < SEEDS; i++) {
    const l = landscape(SEED_BASE + i);
    for (const m of methods) {
      const t0 = performance.now();
      const steps = m.run(l, SEED_BASE + i, budget);
      seconds[m.name] += (performance.now() - t0) / 1000;
      repeats += steps.length - new Set(steps.map((s) => s.key)).size;
      evals[m.name].push(evaluationsToReach(l, steps) ?? budget + 1);
      half[m.name].push(meanShareOfBest(l, steps.slice(0, Math.floor(budget / 2))));
      full[m.name].push(meanShareOfBest(l, steps));
    }
  }
  const fmt = (v: number): string => (v > budget ? `>${budget}` : v.toFixed(v % 1 === 0 ? 0 : 1));
  console.log(`\n${title}`);
  console.log(`  method        evaluations to 95% of every point's best: median [quartiles]  reached   mean best/optimum at ${Math.floor(budget / 2)} / ${budget}   seconds`);
  for (const m of methods) {
    const v = [...evals[m.name]].sort((a, b) => a - b);
    const reached = v.filter((x) => x <= budget).length;
    const mean = (a: number[]): string => (a.reduce((s, x) => s + x, 0) / a.length).toFixed(3);
    console.log(
      `  ${m.name.padEnd(12)}  ${fmt(quantile(v, 0.5)).padStart(6)} [${fmt(quantile(v, 0.25))}, ${fmt(quantile(v, 0.75))}]`.padEnd(76) +
        `${String(reached).padStart(2)}/${SEEDS}      ${mean(half[m.name])} / ${mean(full[m.name])}       ${seconds[m.name].toFixed(1)}`,
    );
  }
  for (const other of methods.slice(1)) {
    const t = signedRank(evals.shared, evals[other.name]);
    const fewer = evals.shared.filter((x, i) => x < evals[other.name][i]!).length;
    const more = evals.shared.filter((x, i) => x > evals[other.name][i]!).length;
    console.log(
      `  shared against ${other.name}: fewer evaluations on ${fewer}, more on ${more} of ${SEEDS} seeds; Wilcoxon signed-rank over seeds p = ${t.p.toExponential(2)} (${t.p < 0.05 ? 'significant' : 'not significant'} at 5%)`,
    );
  }
  for (const other of methods.slice(1)) {
    const t = signedRank(full.shared, full[other.name]);
    const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length;
    console.log(
      `  mean best/optimum at ${budget}, shared against ${other.name}: ${mean(full.shared).toFixed(3)} against ${mean(full[other.name]).toFixed(3)}; Wilcoxon signed-rank over seeds p = ${t.p.toExponential(2)} (${t.p < 0.05 ? 'significant' : 'not significant'} at 5%)`,
    );
  }
  console.log(`  repeated (configuration, workload) pairs within a search: ${repeats}`);
}

for (const kind of process.argv.includes('--tables-only') ? [] : (['moving', 'static'] as const)) {
  const moved = kind === 'moving' ? 'the best batch size moves with the flows' : 'the best batch size is the same at every flow count';
  compare(`${kind}: ${moved}; a landscape instance per seed`, (i) => workloadLandscape(kind, i), BUDGET, METHODS);
}

// Recorded tables with workload columns (their NAME.json names them under "workload"): pools, so a
// search picks only measured pairs; half the table as the budget.
const TABLES_DIR = fileURLToPath(new URL('./tables/', import.meta.url));
for (const f of readdirSync(TABLES_DIR).filter((n) => n.endsWith('.json')).sort()) {
  const opts = JSON.parse(readFileSync(join(TABLES_DIR, f), 'utf8')) as { objective: string; minimize?: boolean; workload?: string[] };
  if (!opts.workload) continue;
  const name = f.replace(/\.json$/, '');
  const l = tableLandscape(name, readFileSync(join(TABLES_DIR, `${name}.csv`), 'utf8'), { objective: opts.objective, ...(opts.minimize ? { minimize: true } : {}), workload: opts.workload });
  const rows = Number(l.space!.size);
  compare(
    `${name} (recorded, bench/tables): ${rows} pairs, ${l.points.length} workload points of ${opts.workload.join(' x ')}, ${opts.minimize ? 'minimise' : 'maximise'} ${opts.objective}; one table, seeds vary the searches`,
    () => l,
    Math.floor(rows / 2),
    METHODS.filter((m) => m.name !== 'as-knob'),
  );
}
console.log(`\nload average at end: ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
