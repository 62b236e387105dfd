// The Node-side controller's own costs (docs/control.md, "Running a controller"): what one period of
// the guard rails costs, what reading Linux's counters costs, and how late `wayfinder control`'s
// periods start at 1 ms and 10 ms, beside a bare timer loop doing nothing in the same run (the
// peer: what Node's timers alone give on this machine at this moment).
//
//   npx tsx bench/controller.ts [SECONDS per loop, default 3]

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseControlConfig } from '../src/control/config.js';
import { runController, type ControlRecorder } from '../src/control/controller.js';
import { Rails } from '../src/control/rails.js';
import { Sources } from '../src/control/sources.js';
import type { Policy } from '../src/policy/policy.js';

const seconds = Number(process.argv[2] ?? 3);
const policy: Policy = {
  format: 'wayfinder-policy',
  version: 1,
  objective: { name: 'latency', direction: 'minimize' },
  features: [{ name: 'flows', min: 1, max: 64 }],
  knobs: [{ name: 'BATCH', type: 'integer' }],
  leaves: [{ params: { BATCH: 4 }, points: 1, regret: 0 }, { params: { BATCH: 16 }, points: 1, regret: 0 }, { params: { BATCH: 64 }, points: 1, regret: 0 }],
  tree: { feature: 'flows', le: 10, left: { leaf: 0 }, right: { feature: 'flows', le: 40, left: { leaf: 1 }, right: { leaf: 2 } } },
  fallback: { params: { BATCH: 8 }, why: 'static-best' },
  regret: { trained: { mean: 0, max: 0, points: 3, unmeasured: 0 } },
  source: { kind: 'table', file: 'bench' },
  createdAt: new Date().toISOString(),
};
const q = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

console.log(`load average at start: ${load()}`);
{
  const r = new Rails({
    policy,
    domains: { BATCH: { kind: 'range', min: 1, max: 64, integer: true } },
    guard: { dwellMs: 1000, hysteresis: 0.05, rate: { changes: 4, windowMs: 60_000 }, revert: { periods: 3, noise: 0.05 } },
    objective: { signal: 'latency', direction: 'minimize' },
    initial: { BATCH: 4 },
  });
  const n = 200_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) r.step(i, { flows: ((i >> 10) % 60) + 1, latency: 100 + (i % 7) });
  console.log(`guard rails, one period (hysteresis, dwell, rate limit, revert on): ${(Number(process.hrtime.bigint() - t0) / n / 1000).toFixed(2)} us`);
}
{
  const c = parseControlConfig(
    'signals:\n  a: { snmp: Tcp.RetransSegs, rate: true }\n  b: { netstat: TcpExt.TCPTimeouts }\n  c: { pressure: cpu.some.avg10 }\n  d: { sockets: TCP.inuse }\n  e: { interface: lo.rx_packets, rate: true }\nknobs:\n  K: { sysctl: a.b }\n',
    'bench.yaml',
  );
  const s = new Sources(c.signals, { procRoot: '/proc', sysRoot: '/sys' }, () => undefined);
  const n = 5000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await s.sample(i);
  console.log(`Linux counters, one sample (snmp, netstat, pressure, sockstat, an interface counter): ${(Number(process.hrtime.bigint() - t0) / n / 1000).toFixed(1)} us`);
}

const dir = mkdtempSync(join(tmpdir(), 'wf-bench-control-'));
try {
  writeFileSync(join(dir, 'flows'), '20\n');
  for (const periodMs of [1, 10]) {
    // The peer: a bare loop on the same schedule, no work.
    const bareAt: number[] = [];
    const start = performance.now();
    for (let k = 0; performance.now() - start < seconds * 1000; k++) {
      bareAt.push(performance.now());
      const wait = start + (k + 1) * periodMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const config = parseControlConfig(
      `period: ${periodMs}ms\nsignals:\n  flows: { file: ${join(dir, 'flows')} }\n  r: { snmp: Tcp.RetransSegs, rate: true }\nknobs:\n  BATCH: { command: "true", values: [4, 16, 64, 8] }\n`,
      join(dir, 'c.yaml'),
    );
    const seen: number[] = [];
    const recorder: ControlRecorder = { start: () => undefined, decision: () => undefined, observation: (o) => seen.push(o.timeMs), note: () => undefined, end: () => undefined };
    const r = await runController({ config, policy, policyFile: 'bench', roots: { procRoot: '/proc', sysRoot: '/sys' }, stateFile: join(dir, 'state.json'), recorder, durationMs: seconds * 1000, now: () => performance.now() });
    // The time between the starts of consecutive periods, for both.
    const gaps = (ts: number[]): number[] => ts.slice(1).map((t, i) => t - ts[i]!);
    const gap = gaps(seen);
    const bareGap = gaps(bareAt);
    console.log(
      `period ${periodMs} ms, ${seconds} s: wayfinder control ran ${r.periods} of ${Math.round((seconds * 1000) / periodMs)} periods (${r.overruns} skipped after overruns), ` +
        `time between period starts median ${q(gap, 0.5).toFixed(2)} ms, p99 ${q(gap, 0.99).toFixed(2)} ms, max ${Math.max(...gap).toFixed(1)} ms; ` +
        `a bare timer loop: median ${q(bareGap, 0.5).toFixed(2)} ms, p99 ${q(bareGap, 0.99).toFixed(2)} ms, max ${Math.max(...bareGap).toFixed(1)} ms`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`load average at end: ${load()}`);
