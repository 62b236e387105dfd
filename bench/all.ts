// `npm run bench`: every benchmark in turn, each in its own process so one's heap and timers do not
// disturb the next. Each prints its own figures; this prints which one runs and how long it took.
//
//   npx tsx bench/all.ts [NAME ...]     (names as in BENCHES; default: all)

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Benchmark file (in bench/) and the arguments that keep `npm run bench` to a few minutes. */
const BENCHES: Record<string, string[]> = {
  scheduler: ['scheduler.ts', '10'],
  strategies: ['strategies.ts', '--seeds', '20'],
  daemon: ['daemon.ts', '1000'],
  report: ['report.ts'],
  policy: ['policy.ts'],
  workloads: ['workloads.ts'],
  // The reference dataplane's figures of docs/control.md: the controller against every static batch
  // size over the ramp (paired repeats), observation-to-decision latency, native against Node, and
  // the protocol's throughput cost: about 10 minutes.
  control: ['control.ts', 'suite'],
  // The Node controller's own costs: guard rails, counters, period lateness (docs/control.md).
  controller: ['controller.ts', '3'],
};

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!(name in BENCHES)) {
    console.error(`bench: unknown benchmark '${name}' (have: ${Object.keys(BENCHES).join(', ')})`);
    process.exit(2);
  }
}
let failed = 0;
for (const [name, [file, ...args]] of Object.entries(BENCHES)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(`\n=== ${name} ===`);
  const started = Date.now();
  const r = spawnSync('npx', ['tsx', fileURLToPath(new URL(file!, import.meta.url)), ...args], { stdio: 'inherit' });
  console.log(`=== ${name}: ${r.status === 0 ? 'done' : `failed (${r.status ?? r.signal})`} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
