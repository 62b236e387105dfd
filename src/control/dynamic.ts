// One run of a dynamic experiment's variant: the reference dataplane (with a static batch size, or
// its default and a control region), a controller generated from a policy when the variant is
// one, and the load generator through the schedule; then the generator's windows joined with the
// knob values the dataplane ran with (its trace), by time on the shared monotonic clock.
// Every process is bounded by its own duration and stops by itself; a region left by a crash is
// removed at the end (and replaced by the next dataplane's wfc_create anyway).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DynamicWindow } from '../types.js';
import type { DynamicSpec, Phase } from './dynamic-spec.js';
import type { ReferenceBinaries } from './reference.js';

export interface Variant {
  label: string;
  kind: 'static' | 'controller';
  /** static: the knob's value; controller: the compiled controller and its period. */
  value?: number;
  controller?: { binary: string; periodUs: number; wait: 'spin' | 'sleep'; policy: string };
}

export interface RunOutcome {
  windows: DynamicWindow[];
  summary: Record<string, number | string>;
}

/** The load generator's --phase arguments. */
export function phaseArgs(schedule: readonly Phase[]): string[] {
  return schedule.flatMap((p) => ['--phase', `${p.durationMs}:${p.flows}:${p.rate}:${p.loss}`]);
}

/** key=value pairs of a summary line. */
export function totalsOf(line: string): Record<string, number> {
  return Object.fromEntries([...line.matchAll(/(\w+)=(-?[\d.]+)/g)].map((m) => [m[1]!, Number(m[2])]));
}

interface Child {
  child: ChildProcess;
  out: string;
  err: string;
  exited: Promise<number | null>;
}

/** Which CPUs (a taskset list such as "1" or "0,1") each process of a run may use; unset: any. */
export interface RunCpus {
  dataplane?: string;
  controller?: string;
  loadgen?: string;
}

function start(bin: string, args: string[], nice: number | undefined, cpus?: string): Child {
  // Its own session, so its own scheduler autogroup: --nice weighs the run against the rest of the
  // machine without touching anyone else's priority; it ends with the process. taskset execs the
  // program, so the pid (and its autogroup) is the program's.
  const [cmd, argv] = cpus ? ['taskset', ['-c', cpus, bin, ...args]] : [bin, args];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: nice !== undefined });
  const c: Child = { child, out: '', err: '', exited: new Promise((r) => child.on('exit', (code) => r(code))) };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (c.out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (c.err += d));
  if (nice !== undefined && child.pid) {
    try {
      writeFileSync(`/proc/${child.pid}/autogroup`, String(nice));
    } catch {
      // No autogroups in this kernel, or not allowed: the run goes on at the default weight.
    }
  }
  return c;
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The loadgen's CSV: its start on the monotonic clock and one record per window. */
export function parseWindows(text: string): { startNs: bigint; rows: Record<string, number>[] } {
  const lines = text.trim().split('\n');
  const m = /start_ns=(\d+)/.exec(lines[0] ?? '');
  if (!m) throw new Error(`the load generator's output has no start time: ${lines[0]}`);
  const head = lines[1]!.split(',');
  return { startNs: BigInt(m[1]!), rows: lines.slice(2).map((l) => Object.fromEntries(l.split(',').map((v, i) => [head[i]!, v === 'nan' || v === '-nan' ? NaN : Number(v)]))) };
}

/** The dataplane's trace: (time, knob value) at each change, in time order. */
export function parseTrace(text: string): { tNs: bigint; value: number }[] {
  return text
    .trim()
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((l) => {
      const [t, , b] = l.split(',');
      return { tNs: BigInt(t!), value: Number(b) };
    });
}

/** Each window with the knob value in effect at its end. */
export function joinWindows(startNs: bigint, windowUs: number, rows: Record<string, number>[], trace: { tNs: bigint; value: number }[], knob: string): DynamicWindow[] {
  let j = 0;
  const val = (x: number): number | null => (Number.isFinite(x) ? x : null);
  return rows.map((r) => {
    const endNs = startNs + BigInt(Math.round((r.t_us! + windowUs) * 1000));
    while (j + 1 < trace.length && trace[j + 1]!.tNs <= endNs) j++;
    return {
      tUs: r.t_us!,
      flows: r.flows!,
      rate: r.rate!,
      loss: r.loss ?? 0,
      sent: r.sent!,
      received: r.received!,
      lost: r.lost!,
      dropped: r.dropped!,
      p50Us: val(r.p50_us!),
      p90Us: val(r.p90_us!),
      p99Us: val(r.p99_us!),
      p999Us: val(r.p999_us!),
      maxUs: val(r.max_us!),
      knobs: trace.length ? { [knob]: trace[j]!.value } : {},
    };
  });
}

export async function runVariant(spec: DynamicSpec, v: Variant, bins: ReferenceBinaries, dir: string, o: { nice?: number; tag: string; cpus?: RunCpus }): Promise<RunOutcome> {
  const totalMs = spec.schedule.reduce((s, p) => s + p.durationMs, 0);
  const lifeMs = totalMs + spec.timeoutMs + 3000;
  const region = v.controller ? `/dev/shm/wayfinder-dynamic-${process.pid}-${o.tag}` : undefined;
  const trace = join(dir, `${o.tag}.trace.csv`);
  const windows = join(dir, `${o.tag}.windows.csv`);
  const log = join(dir, `${o.tag}.decisions.csv`);
  const d = spec.dataplane;
  const args = ['--port', '0', '--batch', String(v.value ?? d.batch ?? 4), '--duration-ms', String(lifeMs), '--trace', trace];
  for (const k of ['round-ns', 'slot-ns', 'stack-ns', 'work-ns', 'controller-timeout-ms'] as const) if (d[k] !== undefined) args.push(`--${k}`, String(d[k]));
  if (region) args.push('--region', region);
  const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const dp = start(bins.dataplane, args, o.nice, o.cpus?.dataplane);
  let ctl: Child | undefined;
  try {
    await until(() => /^port \d+$/m.test(dp.out) || dp.child.exitCode !== null, 5000, 'the dataplane to listen');
    const port = /^port (\d+)$/m.exec(dp.out)?.[1];
    if (!port) throw new Error(`the dataplane did not start: ${dp.err.trim()}`);
    if (v.controller) {
      ctl = start(v.controller.binary, [region!, '--period-us', String(v.controller.periodUs), '--wait', v.controller.wait, '--duration-ms', String(lifeMs), '--log', log], o.nice, o.cpus?.controller);
    }
    const lg = start(bins.loadgen, ['--server', `127.0.0.1:${port}`, ...phaseArgs(spec.schedule), '--window-us', String(spec.windowUs), '--timeout-ms', String(spec.timeoutMs), '--out', windows], o.nice, o.cpus?.loadgen);
    const code = await lg.exited;
    if (code !== 0) throw new Error(`the load generator failed (${code}): ${lg.err.trim()}`);
    ctl?.child.kill('SIGTERM');
    dp.child.kill('SIGTERM');
    await Promise.all([dp.exited, ctl?.exited]);
    const w = parseWindows(readFileSync(windows, 'utf8'));
    const tr = existsSync(trace) ? parseTrace(readFileSync(trace, 'utf8')) : [];
    const lgTotals = totalsOf(lg.err);
    const dpTotals = totalsOf(/^done .*$/m.exec(dp.out)?.[0] ?? '');
    const ctlTotals = ctl ? totalsOf(/^controller .*$/m.exec(ctl.out)?.[0] ?? '') : {};
    const summary: Record<string, number | string> = {
      loadavg,
      requests: lgTotals.requests ?? NaN,
      received: lgTotals.received ?? NaN,
      lost: lgTotals.lost ?? NaN,
      p50_us: lgTotals.p50_us ?? NaN,
      p99_us: lgTotals.p99_us ?? NaN,
      p999_us: lgTotals.p999_us ?? NaN,
      dataplane_cpu_s: dpTotals.cpu_s ?? NaN,
      knob_changes: Math.max(0, tr.length - 1),
    };
    if (o.cpus) summary.cpus = `dataplane ${o.cpus.dataplane ?? 'any'}, controller ${o.cpus.controller ?? 'any'}, load generator ${o.cpus.loadgen ?? 'any'}`;
    if (ctl) {
      summary.controller_cpu_s = ctlTotals.cpu_s ?? NaN;
      summary.controller_published = ctlTotals.published ?? NaN;
    }
    return { windows: joinWindows(w.startNs, spec.windowUs, w.rows, tr, spec.knob), summary };
  } finally {
    for (const c of [dp, ctl]) if (c && c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    if (region) rmSync(region, { force: true });
  }
}
