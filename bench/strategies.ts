// Strategy benchmark: every strategy on every landscape shape, over many instance seeds and budgets,
// and the bayesian strategy's ask latency on a 300-parameter space. Run: npx tsx bench/strategies.ts
// (optionally: --seeds N, --only NAME[,NAME], --no-latency).

import { performance } from 'node:perf_hooks';
import { simulate } from '../src/strategies/simulate.js';
import { summarizeTraces, type ReplayResult } from '../src/strategies/replay.js';
import { createStrategy } from '../src/strategies/strategy.js';
import { configKey } from '../src/strategies/encoding.js';
import type { StrategyName } from '../src/types.js';
import { Rng } from '../src/util/random.js';
import { LANDSCAPES, latencySpace } from './landscapes.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const SEEDS = Number(opt('--seeds') ?? 30);
const ONLY = opt('--only')?.split(',');
const STRATEGIES: StrategyName[] = (opt('--strategies')?.split(',') as StrategyName[] | undefined) ?? ['grid', 'random', 'bayesian'];
const BUDGETS = [10, 20, 40, 100];
const MAX = Math.max(...BUDGETS);

function fmt(r: ReplayResult, repeats: number): string {
  const med = Number.isFinite(r.medianEvalsTo95) ? String(r.medianEvalsTo95) : `>${r.budget}`;
  return [
    r.strategy.padEnd(9),
    String(r.budget).padStart(6),
    r.meanRatio.toFixed(3).padStart(9),
    r.stdRatio.toFixed(3).padStart(7),
    (100 * r.shareBest).toFixed(0).padStart(7) + '%',
    (100 * r.share95).toFixed(0).padStart(7) + '%',
    med.padStart(9),
    String(repeats).padStart(8),
  ].join(' ');
}

for (const [name, make] of Object.entries(LANDSCAPES)) {
  if (ONLY && !ONLY.includes(name)) continue;
  const t0 = performance.now();
  const instances = Array.from({ length: SEEDS }, (_, s) => make(s + 1));
  const l0 = instances[0]!;
  console.log(`\n== ${l0.name}: ${l0.space.params.length} parameters, ${l0.space.size} configurations, ${l0.direction}, ${SEEDS} seeds`);
  console.log('strategy  budget meanRatio    std  found-best  reach-95%  evals-to-95  repeats');
  for (const strategy of STRATEGIES) {
    let repeats = 0;
    const traces = instances.map((l, s) => {
      const t = simulate(l.space, (c) => l.evaluate(c), strategy, { budget: MAX, seed: 1000 + s, direction: l.direction });
      repeats += t.repeats;
      return { bestSoFar: t.bestSoFar, optimum: l.optimum };
    });
    for (const r of summarizeTraces(strategy, traces, BUDGETS, l0.direction)) console.log(fmt(r, repeats));
  }
  console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

if (!args.includes('--no-latency')) {
  console.log('\n== bayesian ask latency, 300 parameters (one configuration per ask; median of 15 asks)');
  const space = latencySpace();
  for (const n of [100, 1000]) {
    const rng = new Rng(n);
    const weights = space.params.map(() => rng.normal());
    const strategy = createStrategy('bayesian', space, { seed: 7, direction: 'maximize' });
    const obs = [];
    for (let i = 0; i < n; i++) {
      const config = space.normalize(space.sample(rng));
      const v = space.params.slice(0, 20).reduce((a, p, j) => a + weights[j]! * Number(typeof config[p.name] === 'string' ? (config[p.name] as string).charCodeAt(0) % 3 : config[p.name]), 0);
      obs.push({ config, configId: configKey(space, config), value: v, status: 'ok' as const });
    }
    strategy.tell(obs);
    const times: number[] = [];
    for (let k = 0; k < 15; k++) {
      const t = performance.now();
      const [c] = strategy.ask(1);
      times.push(performance.now() - t);
      strategy.tell([{ config: c!, configId: configKey(space, c!), value: rng.normal(), status: 'ok' }]);
    }
    times.sort((a, b) => a - b);
    console.log(`${String(n).padStart(5)} observations: median ${times[7]!.toFixed(1)} ms, max ${times[14]!.toFixed(1)} ms`);
  }
}
