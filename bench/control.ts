// The reference dataplane's figures for docs/control.md ("Reproducing adaptive tuning"), each a
// bounded run on loopback, variants interleaved, the load average printed with every figure:
//
//   npx tsx bench/control.ts peak [--reps 3] [--ms 800] [--out peak.csv]   peak throughput per RX_BATCH_SIZE and flow count
//   npx tsx bench/control.ts overhead [--pairs 100] [--ms 600]             throughput with the protocol on against off, paired
//   npx tsx bench/control.ts latency [--policy policy.json] [--ms 3000]    observation to applied decision: native (spin, sleep) and Node, where the p99 goes
//   npx tsx bench/control.ts ramp [--repeats 8] [--statics 1,2,4,...]     the controller against static batch sizes over the ramp, paired
//   npx tsx bench/control.ts suite                                         ramp, latency, overhead in one go (about 11–12 minutes; `npm run bench control`)
//
// --pin CPU,CPU (default 1,0 on a machine with two or more CPUs; --pin none for none): the dataplane,
// which busy-polls, alone on the first CPU; the load generator and the controller on the second.
//
// The processes run in sessions of their own with scheduler autogroup nice -10 (NICE=… to change,
// NICE=none for none): on a 2-core machine shared with other work, the default weight leaves a
// busy-polling dataplane a fraction of a core.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControllerLink } from '../src/control/controller-link.js';
import { controllerSource } from '../src/control/controller-c.js';
import { totalsOf } from '../src/control/dynamic.js';
import { parseMicros } from '../src/control/dynamic-spec.js';
import { buildReference, compileC } from '../src/control/reference.js';
import { mannWhitney } from '../src/metrics/two-sample.js';
import { pairedRatio, rampBench } from './control-ramp.js';
import { signedRank } from './wilcoxon.js';
import { decide } from '../src/policy/policy.js';
import { readPolicy } from '../src/policy/policy-file.js';

/** The emulated costs of experiments/dataplane-ramp.dynamic.yaml: one landscape for every figure. */
export const COSTS = ['--round-ns', '40000', '--slot-ns', '2000', '--stack-ns', '4000', '--work-ns', '16000'];
const NICE = process.env.NICE === 'none' ? undefined : Number(process.env.NICE ?? -10);
const bins = buildReference();
const args = process.argv.slice(2);
const mode = args[0];
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const pinArg = opt('pin', availableParallelism() >= 2 ? '1,0' : 'none');
/** The dataplane's CPU and the other processes' CPU (taskset lists), or none. */
const PIN = pinArg === 'none' ? undefined : { dataplane: pinArg.split(',')[0]!, other: pinArg.split(',')[1] ?? pinArg.split(',')[0]! };
const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Proc {
  child: ChildProcess;
  out: string;
  err: string;
  exited: Promise<void>;
}
function start(bin: string, a: string[], cpus?: string): Proc {
  // taskset execs the program: the pid, and so the autogroup written below, are the program's.
  const [cmd, argv] = cpus ? ['taskset', ['-c', cpus, bin, ...a]] : [bin, a];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: NICE !== undefined });
  const p: Proc = { child, out: '', err: '', exited: new Promise((r) => child.on('exit', () => r())) };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (p.out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (p.err += d));
  if (NICE !== undefined) writeFileSync(`/proc/${child.pid}/autogroup`, String(NICE));
  return p;
}
async function portOf(p: Proc): Promise<string> {
  for (let i = 0; i < 500 && !/^port \d+$/m.test(p.out); i++) await sleep(10);
  return /^port (\d+)$/m.exec(p.out)![1]!;
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.round(q * (s.length - 1)))]!;
}
function shuffle<T>(xs: T[], seed: number): T[] {
  let s = seed;
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Served requests per second of one dataplane under an offered load above its capacity. */
async function peak(batch: number, flows: number, ms: number, region?: string): Promise<number> {
  const dp = start(bins.dataplane, ['--port', '0', '--batch', String(batch), '--duration-ms', String(ms + 1500), ...COSTS, ...(region ? ['--region', region] : [])], PIN?.dataplane);
  const port = await portOf(dp);
  let beat: NodeJS.Timeout | undefined;
  let link: ControllerLink | undefined;
  if (region) {
    // The protocol on: a controller attached and beating, the dataplane reading its knob block every round.
    link = ControllerLink.open(region);
    link.beat();
    link.tune({ RX_BATCH_SIZE: batch });
    beat = setInterval(() => link!.beat(), 10);
  }
  const lg = start(bins.loadgen, ['--server', `127.0.0.1:${port}`, '--phase', `${ms}:${flows}:60000`, '--out', '/dev/null', '--timeout-ms', '50'], PIN?.other);
  await lg.exited;
  clearInterval(beat);
  link?.close();
  dp.child.kill('SIGTERM');
  await dp.exited;
  return totalsOf(lg.err).served_rate!;
}

async function peakBench(): Promise<void> {
  const reps = Number(opt('reps', '3'));
  const ms = Number(opt('ms', '800'));
  const out = opt('out', join(tmpdir(), 'wayfinder-peak.csv'));
  const cells = [1, 4, 16, 64].flatMap((f) => [1, 2, 4, 8, 16, 32, 64].map((b) => ({ f, b })));
  const got = new Map<string, number[]>();
  const loads: string[] = [];
  for (let r = 0; r < reps; r++) {
    loads.push(loadavg());
    for (const { f, b } of shuffle(cells, r + 1)) {
      const v = await peak(b, f, ms);
      got.set(`${b},${f}`, [...(got.get(`${b},${f}`) ?? []), v]);
    }
  }
  loads.push(loadavg());
  const lines = ['RX_BATCH_SIZE,FLOWS,throughput'];
  console.log(`peak throughput (served requests/s under 60,000/s offered, ${ms} ms per run, median of ${reps} interleaved runs); load average ${loads.join(' → ')}`);
  console.log(`flows  ${[1, 2, 4, 8, 16, 32, 64].map((b) => `B=${b}`.padStart(8)).join('')}`);
  for (const f of [1, 4, 16, 64]) {
    const row = [1, 2, 4, 8, 16, 32, 64].map((b) => median(got.get(`${b},${f}`)!));
    console.log(`${String(f).padStart(5)}  ${row.map((v) => Math.round(v).toLocaleString('en-US').padStart(8)).join('')}`);
    [1, 2, 4, 8, 16, 32, 64].forEach((b, i) => lines.push(`${b},${f},${Math.round(row[i]!)}`));
  }
  writeFileSync(out, `${lines.join('\n')}\n`);
  console.log(`table: ${out}`);
}

async function overheadBench(): Promise<void> {
  const pairs = Number(opt('pairs', '100'));
  const ms = Number(opt('ms', '600'));
  const on: number[] = [];
  const off: number[] = [];
  const before = loadavg();
  for (let i = 0; i < pairs; i++) {
    // on, off, off, on, ...: drift hits both alike; each pair is two neighbouring runs.
    const order = i % 2 ? ['off', 'on'] : ['on', 'off'];
    for (const which of order) {
      const region = which === 'on' ? `/dev/shm/wayfinder-bench-${process.pid}` : undefined;
      const v = await peak(16, 16, ms, region);
      (which === 'on' ? on : off).push(v);
      if (region) rmSync(region, { force: true });
    }
  }
  const r = pairedRatio(on, off);
  const mw = mannWhitney(on, off);
  console.log(`protocol on/off: served requests/s at RX_BATCH_SIZE=16, 16 flows, ${pairs} interleaved pairs of ${ms} ms; ${pinText()}; load average ${before} → ${loadavg()}`);
  console.log(`  on  median ${Math.round(median(on))} (${on.map(Math.round).join(' ')})`);
  console.log(`  off median ${Math.round(median(off))} (${off.map(Math.round).join(' ')})`);
  console.log(
    `  on/off = ${r.ratio.toFixed(3)} (geometric mean of the ${pairs} pair ratios, 95% bootstrap CI ${r.ci[0].toFixed(3)}–${r.ci[1].toFixed(3)}: ${r.ci[0] >= 0.98 ? 'shown ≥ 0.98' : 'NOT shown ≥ 0.98'}; ` +
      `ratio of medians ${(median(on) / median(off)).toFixed(3)}; Mann-Whitney two-sided p=${Math.min(1, 2 * Math.min(mw.pGreater, mw.pLess)).toFixed(3)})`,
  );
}

function pinText(): string {
  return PIN ? `dataplane on CPU ${PIN.dataplane}, load generator and controller on CPU ${PIN.other}` : 'not pinned';
}

/** applied_ns - observed_ns per epoch, and its two parts: the controller's (published - observed) and the dataplane's (applied - published). */
function delays(decisions: { epoch: number; observedNs: bigint; publishedNs: bigint }[], traceText: string): { total: number[]; ctl: number[]; dp: number[] } {
  const applied = new Map<number, bigint>();
  for (const l of traceText.trim().split('\n').slice(1)) {
    const [t, e] = l.split(',');
    if (!applied.has(Number(e))) applied.set(Number(e), BigInt(t!));
  }
  const got = decisions.filter((d) => applied.has(d.epoch));
  return {
    total: got.map((d) => Number(applied.get(d.epoch)! - d.observedNs) / 1000),
    ctl: got.map((d) => Number(d.publishedNs - d.observedNs) / 1000),
    dp: got.map((d) => Number(applied.get(d.epoch)! - d.publishedNs) / 1000),
  };
}

/** CPU time and time spent runnable but waiting for a CPU (/proc/PID/schedstat), in ns. */
function schedstat(pid: number | undefined): { run: number; wait: number } {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ').map(Number);
    return { run: run!, wait: wait! };
  } catch {
    return { run: NaN, wait: NaN };
  }
}

/** One latency variant: "native spin 1us", "node busy-poll", ...; `lgCpu`: where the load generator runs. */
async function latencyRun(variant: string, ctl: string, policyFile: string, ms: number, lgCpu: string | undefined, pin: typeof PIN, quiet = false): Promise<{ median: number; p99: number; cpu: number; applied: number }> {
  const dir = tmpdir();
  const region = `/dev/shm/wayfinder-lat-${process.pid}`;
  const trace = join(dir, `wf-lat-${process.pid}.trace`);
  // No emulated costs: a round is then the protocol's read and the system calls (about a microsecond), so the figure is the path's, not the landscape's 40 µs rounds.
  const dp = start(bins.dataplane, ['--port', '0', '--batch', '4', '--duration-ms', String(ms + 15000), '--region', region, '--trace', trace, '--controller-timeout-ms', '200'], pin?.dataplane);
  const port = await portOf(dp);
  // The native controller, or our side in a process of its own with the same scheduler weight and
  // CPU: a synchronous busy loop on the event loop's thread (nodeController below). Each writes one
  // row per published decision: epoch, the observation's time, the publish time.
  const log = join(dir, `wf-lat-${process.pid}.log`);
  const [kind, wait, period] = variant.split(' ');
  const c =
    kind === 'native'
      ? start(ctl, [region, '--period-us', String(parseMicros(period!)!), '--wait', wait!, '--always', '--duration-ms', String(ms), '--log', log], pin?.other)
      : start(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'node-controller', region, String(ms), policyFile, log], pin?.other);
  // Traffic once the controller is attached (Node takes a second or more to start here).
  for (let i = 0; i < 1000 && !/^ready$/m.test(c.out) && kind !== 'native'; i++) await sleep(10);
  const lg = start(bins.loadgen, ['--server', `127.0.0.1:${port}`, '--phase', `${ms + 500}:16:8000`, '--out', '/dev/null'], lgCpu);
  const s0 = { c: schedstat(c.child.pid), dp: schedstat(dp.child.pid) };
  const t0 = Date.now();
  await sleep(Math.max(0, ms - 400));
  const s1 = { c: schedstat(c.child.pid), dp: schedstat(dp.child.pid) };
  const span = (Date.now() - t0) * 1e6;
  await c.exited;
  const decisions = readFileSync(log, 'utf8').trim().split('\n').filter((l) => /^\d/.test(l)).map((l) => {
    const [e, o, p] = l.split(',');
    return { epoch: Number(e), observedNs: BigInt(o!), publishedNs: BigInt(p!) };
  });
  const t = totalsOf(c.out);
  rmSync(log, { force: true });
  lg.child.kill('SIGTERM');
  dp.child.kill('SIGTERM');
  await Promise.all([lg.exited, dp.exited]);
  const d = delays(decisions, readFileSync(trace, 'utf8'));
  rmSync(trace, { force: true });
  rmSync(region, { force: true });
  const under = d.total.filter((x) => x <= 50).length / (d.total.length || 1);
  const pct = (x: number): string => (Number.isFinite(x) ? `${((100 * x) / span).toFixed(1)}%` : 'n/a');
  const where = `${pin ? `dp CPU ${pin.dataplane}, ctl CPU ${pin.other}, loadgen CPU ${lgCpu ?? 'any'}` : 'not pinned'}`;
  const res = { median: median(d.total), p99: quantile(d.total, 0.99), cpu: t.cpu_s! / t.seconds!, applied: d.total.length };
  if (quiet) return res;
  console.log(
    `  ${variant.padEnd(18)} ${where}: ${d.total.length} applied of ${decisions.length}; median ${median(d.total).toFixed(1)}, p99 ${quantile(d.total, 0.99).toFixed(1)} µs, ≤50 µs ${(100 * under).toFixed(1)}%; ` +
      `parts (median/p99): controller ${median(d.ctl).toFixed(1)}/${quantile(d.ctl, 0.99).toFixed(1)}, dataplane ${median(d.dp).toFixed(1)}/${quantile(d.dp, 0.99).toFixed(1)} µs; ` +
      `controller CPU ${((100 * t.cpu_s!) / t.seconds!).toFixed(1)}% of a core; waiting for a CPU while runnable: controller ${pct(s1.c.wait - s0.c.wait)}, dataplane ${pct(s1.dp.wait - s0.dp.wait)} of the time (load ${loadavg()})`,
  );
  return res;
}

async function latencyBench(): Promise<void> {
  const policyFile = opt('policy', fileURLToPath(new URL('../experiments/dataplane/policy.json', import.meta.url)));
  const ms = Number(opt('ms', '3000'));
  const policy = readPolicy(policyFile);
  const ctl = compileC('controller', controllerSource(policy));
  console.log(
    `observation → applied decision (µs: the round the dataplane applies the epoch − the dataplane's publish of the signals it was decided from; parts: publish of the decision − publish of the signals, and the rest), ` +
      `${ms} ms each, 16 flows at 8,000/s, every decision published (--always); load average ${loadavg()}`,
  );
  // Native and Node under the same pinning and the same period (every new signal generation); then
  // the load generator moved onto the dataplane's CPU, and the sleeping controllers for their CPU.
  const variants: [string, string | undefined, typeof PIN][] = [
    ['native spin 1us', PIN?.other, PIN],
    ['node busy-poll', PIN?.other, PIN],
    ['native spin 1us', PIN?.dataplane, PIN],
    ['native spin 1us', undefined, undefined],
    ['native sleep 50us', PIN?.other, PIN],
    ['native sleep 1ms', PIN?.other, PIN],
  ];
  for (const [v, lgCpu, pin] of variants) await latencyRun(v, ctl, policyFile, ms, lgCpu, pin);
  // Native against Node: interleaved pairs under the same pinning, each deciding on every new
  // signal generation, compared run by run.
  const pairs = Number(opt('latency-pairs', '6'));
  const pms = Number(opt('pair-ms', '2000'));
  const got: Record<'native' | 'node', { median: number; p99: number; cpu: number; applied: number }[]> = { native: [], node: [] };
  const before = loadavg();
  for (let i = 0; i < pairs; i++) {
    for (const k of i % 2 ? (['node', 'native'] as const) : (['native', 'node'] as const)) {
      got[k].push(await latencyRun(k === 'native' ? 'native spin 1us' : 'node busy-poll', ctl, policyFile, pms, PIN?.other, PIN, true));
    }
  }
  console.log(`native against Node, ${pairs} interleaved pairs of ${pms} ms (${pinText()}); load average ${before} → ${loadavg()}`);
  for (const k of ['native', 'node'] as const)
    console.log(
      `  ${k.padEnd(7)} median per run ${got[k].map((r) => r.median.toFixed(1)).join(' ')} µs; p99 ${got[k].map((r) => Math.round(r.p99)).join(' ')} µs; ` +
        `decisions applied a second ${Math.round(median(got[k].map((r) => r.applied)) / (pms / 1000))}; CPU ${(100 * median(got[k].map((r) => r.cpu))).toFixed(0)}% of a core (medians)`,
    );
  for (const f of ['median', 'p99'] as const) {
    const a = got.node.map((r) => Math.max(r[f], 0.1));
    const b = got.native.map((r) => Math.max(r[f], 0.1));
    const r = pairedRatio(a, b);
    const w = signedRank(a, b);
    console.log(`  Node / native, ${f}: ${r.ratio.toFixed(2)} (95% bootstrap CI ${r.ci[0].toFixed(2)}–${r.ci[1].toFixed(2)}; Wilcoxon signed-rank p=${w.p.toFixed(3)}; Node higher in ${a.filter((x, i) => x > b[i]!).length} of ${pairs})`);
  }
}

/** The Node controller of the latency figure: ControllerLink, decide(), tune() in a busy loop. */
async function nodeController(): Promise<void> {
  const [region, ms, policyFile, log] = args.slice(1);
  const policy = readPolicy(policyFile!);
  const link = ControllerLink.open(region!);
  console.log('ready');
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(ms!) * 1_000_000n;
  const rows: string[] = [];
  let lastGen = 0n;
  let lastBeat = 0n;
  for (let now = process.hrtime.bigint(); now < end; now = process.hrtime.bigint()) {
    if (now - lastBeat > 1_000_000n) {
      link.beat();
      lastBeat = now;
    }
    const s = link.signals();
    if (!s || s.generation === lastGen) continue;
    lastGen = s.generation;
    const d = decide(policy, policy.features.map((f) => s.values[f.name.toLowerCase()]!));
    const epoch = link.tune({ RX_BATCH_SIZE: Number(d.params.RX_BATCH_SIZE) }, now);
    if (epoch !== null) rows.push(`${epoch},${s.timeNs},${process.hrtime.bigint()}`);
  }
  const u = process.cpuUsage(c0);
  link.close();
  writeFileSync(log!, `${rows.join('\n')}\n`);
  console.log(`node-controller seconds=${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(3)} cpu_s=${((u.user + u.system) / 1e6).toFixed(3)}`);
}

async function ramp(): Promise<void> {
  await rampBench({
    file: opt('ramp', fileURLToPath(new URL('../experiments/dataplane/ramp.yaml', import.meta.url))),
    repeats: Number(opt('repeats', '8')),
    statics: opt('statics', '1,2,4,8,16,32,64').split(',').map(Number),
    cpus: PIN ? { dataplane: PIN.dataplane, loadgen: PIN.other, controller: PIN.other } : undefined,
    nice: NICE,
    log: (l) => console.log(l),
    loadavg,
  });
}

if (mode === 'peak') await peakBench();
else if (mode === 'node-controller') await nodeController();
else if (mode === 'overhead') await overheadBench();
else if (mode === 'latency') await latencyBench();
else if (mode === 'ramp') await ramp();
else if (mode === 'suite') {
  // Every figure of docs/control.md's "Measured here" but the peak table, in one bounded run.
  const t0 = Date.now();
  console.log(`suite: ramp, latency, overhead; ${pinText()}; load average ${loadavg()}`);
  await ramp();
  await latencyBench();
  await overheadBench();
  console.log(`suite done in ${((Date.now() - t0) / 60000).toFixed(1)} min; load average ${loadavg()}`);
}
else {
  console.error('usage: npx tsx bench/control.ts peak|overhead|latency|ramp|suite [options] (see the top of bench/control.ts)');
  process.exit(2);
}
