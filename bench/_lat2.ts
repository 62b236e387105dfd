import { performance } from 'node:perf_hooks';
import { createStrategy } from '../src/strategies/strategy.js';
import { BayesianStrategy } from '../src/strategies/bayesian.js';
import { configKey } from '../src/strategies/encoding.js';
import { Rng } from '../src/util/random.js';
import { latencySpace } from './landscapes.js';
const acc: Record<string, number> = {};
const P = BayesianStrategy.prototype as any;
for (const m of ['fit', 'localSearch', 'localStarts', 'candidate', 'modelPick', 'allCandidates']) {
  const orig = P[m];
  P[m] = function (...a: unknown[]) { const t = process.cpuUsage(); try { return orig.apply(this, a); } finally { const d = process.cpuUsage(t); acc[m] = (acc[m] ?? 0) + (d.user + d.system) / 1000; } };
}
const space = latencySpace();
for (const n of [100, 1000]) {
  const rng = new Rng(n);
  const strategy = createStrategy('bayesian', space, { seed: 7, direction: 'maximize' });
  const obs = [];
  for (let i = 0; i < n; i++) {
    const config = space.normalize(space.sample(rng));
    obs.push({ config, configId: configKey(space, config), value: rng.normal(), status: 'ok' as const });
  }
  strategy.tell(obs);
  for (const k of Object.keys(acc)) delete acc[k];
  const times: number[] = []; const cpu: number[] = [];
  for (let k = 0; k < 15; k++) {
    const t = performance.now(); const c0 = process.cpuUsage();
    const [c] = strategy.ask(1);
    times.push(performance.now() - t); const d = process.cpuUsage(c0); cpu.push((d.user + d.system) / 1000);
    strategy.tell([{ config: c!, configId: configKey(space, c!), value: rng.normal(), status: 'ok' }]);
  }
  times.sort((a, b) => a - b); cpu.sort((a, b) => a - b);
  console.log(n, 'wall', times[7]!.toFixed(1), times[14]!.toFixed(1), 'cpu', cpu[7]!.toFixed(1), cpu[14]!.toFixed(1), JSON.stringify(Object.fromEntries(Object.entries(acc).map(([k, v]) => [k, +(v / 15).toFixed(1)]))));
}
