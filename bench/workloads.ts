// Workload-aware search (issue 20, point 1): one bayesian search over configuration x workload,
// expected improvement against each workload point's own incumbent (src/strategies/workloads.ts),
// against one independent bayesian search per workload value with the same total budget (run in
// turns), and against a search that takes the workload dimension for a knob (what the search did
// before it knew about workloads). Landscapes (test/strategies/workload-landscape.ts): 3 knobs
// (batch 8 values, mode 3, spare 4) x 6 workload values (flows); the best batch size moves with
// the flows ("moving") or does not ("static"); 2% measurement noise, judged on true values.
//
// Printed per landscape: evaluations until every workload point has a configuration within 95% of
// its best (median, quartiles, share of seeds that get there within the budget; not reaching it
// counts as budget + 1), the mean over points of best-found / best at half and full budget, and a
// paired Wilcoxon signed-rank test over seeds (shared against each other).
//
// Run: npx tsx bench/workloads.ts [--seeds 30] [--budget 120] [--seed-base 1000]

import { loadavg } from 'node:os';
import {
  evaluationsToReach,
  independentSearches,
  meanShareOfBest,
  sharedSearch,
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
const METHODS: { name: Method; run: (l: WorkloadLandscape, seed: number) => Step[] }[] = [
  { name: 'shared', run: (l, seed) => sharedSearch(l, seed, BUDGET, { noise: NOISE }) },
  { name: 'independent', run: (l, seed) => independentSearches(l, seed, BUDGET, { noise: NOISE }) },
  { name: 'as-knob', run: (l, seed) => sharedSearch(l, seed, BUDGET, { noise: NOISE, asKnob: true }) },
];

function quantile(sorted: number[], q: number): number {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
}

const fmt = (v: number): string => (v > BUDGET ? `>${BUDGET}` : v.toFixed(v % 1 === 0 ? 0 : 1));

console.log(`workload-aware search: ${SEEDS} seeds (${SEED_BASE}..${SEED_BASE + SEEDS - 1}), budget ${BUDGET} evaluations in all (${BUDGET / 6} per workload value for the independent searches), noise ${NOISE * 100}%`);
console.log(`load average at start: ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
for (const kind of ['moving', 'static'] as const) {
  const evals: Record<Method, number[]> = { shared: [], independent: [], 'as-knob': [] };
  const half: Record<Method, number[]> = { shared: [], independent: [], 'as-knob': [] };
  const full: Record<Method, number[]> = { shared: [], independent: [], 'as-knob': [] };
  const seconds: Record<Method, number> = { shared: 0, independent: 0, 'as-knob': 0 };
  let repeats = 0;
  for (let i = 0; i < SEEDS; i++) {
    // A landscape instance per seed: judged over many landscapes of one shape, never tuned to one.
    const l = workloadLandscape(kind, SEED_BASE + i);
    for (const m of METHODS) {
      const t0 = performance.now();
      const steps = m.run(l, SEED_BASE + i);
      seconds[m.name] += (performance.now() - t0) / 1000;
      repeats += steps.length - new Set(steps.map((s) => s.key)).size;
      evals[m.name].push(evaluationsToReach(l, steps) ?? BUDGET + 1);
      half[m.name].push(meanShareOfBest(l, steps.slice(0, BUDGET / 2)));
      full[m.name].push(meanShareOfBest(l, steps));
    }
  }
  const moved = kind === 'moving' ? 'the best batch size moves with the flows' : 'the best batch size is the same at every flow count';
  console.log(`\n${kind}: ${moved}`);
  console.log('  method        evaluations to 95% of every point\'s best: median [quartiles]  reached   mean best/optimum at ' + `${BUDGET / 2} / ${BUDGET}   seconds`);
  for (const m of METHODS) {
    const v = [...evals[m.name]].sort((a, b) => a - b);
    const reached = v.filter((x) => x <= BUDGET).length;
    const mean = (a: number[]): string => (a.reduce((s, x) => s + x, 0) / a.length).toFixed(3);
    console.log(
      `  ${m.name.padEnd(12)}  ${fmt(quantile(v, 0.5)).padStart(6)} [${fmt(quantile(v, 0.25))}, ${fmt(quantile(v, 0.75))}]`.padEnd(76) +
        `${String(reached).padStart(2)}/${SEEDS}      ${mean(half[m.name])} / ${mean(full[m.name])}       ${seconds[m.name].toFixed(1)}`,
    );
  }
  for (const other of ['independent', 'as-knob'] as const) {
    const t = signedRank(evals.shared, evals[other]);
    const fewer = evals.shared.filter((x, i) => x < evals[other][i]!).length;
    console.log(
      `  shared against ${other}: fewer evaluations on ${fewer} of ${SEEDS} seeds; Wilcoxon signed-rank over seeds p = ${t.p.toExponential(2)} (${t.p < 0.05 ? 'significant' : 'not significant'} at 5%)`,
    );
  }
  console.log(`  repeated (configuration, workload) pairs within a search: ${repeats}`);
}
console.log(`\nload average at end: ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
