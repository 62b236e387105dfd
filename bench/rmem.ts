// Does the best UDP receive buffer of the reference dataplane depend on the offered load on this
// machine? An offline grid for docs/control.md ("The same loop on Linux"). The buffer a socket gets
// is net.core.rmem_default, but in a network namespace this kernel (6.18) shows that sysctl
// read-only, and on the host it is every process's default on a shared machine: so the grid sets
// the same size on the dataplane's socket itself (--rcvbuf, SO_RCVBUFFORCE), in a namespace of its
// own. The load generator runs at three levels relative to the capacity measured first; values and
// levels interleaved, each repeat in another order; the load average printed with the figures.
//
//   npx tsx bench/rmem.ts [--reps 3] [--ms 1500] [--values 8192,32768,212992,1048576,4194304] [--out grid.csv]

import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { totalsOf } from '../src/control/dynamic.js';
import { buildReference } from '../src/control/reference.js';
// The emulated costs of bench/control.ts (COSTS): the same landscape as the other figures.
const COSTS_ARGS = ['--round-ns', '40000', '--slot-ns', '2000', '--stack-ns', '4000', '--work-ns', '16000'];

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const reps = Number(opt('reps', '3'));
const ms = Number(opt('ms', '1500'));
const values = opt('values', '8192,32768,212992,1048576,4194304').split(',').map(Number);
const out = opt('out', join(tmpdir(), 'wayfinder-rmem.csv'));
const FLOWS = 16;
const BATCH = 8;
const TIMEOUT_MS = 100;
const bins = buildReference();
const ns = `wfrmem-${process.pid}`;
const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));
const inNs = (cmd: string[]): string[] => ['ip', 'netns', 'exec', ns, ...cmd];

interface Proc {
  child: ChildProcess;
  out: string;
  err: string;
  exited: Promise<void>;
}
function start(cmd: string[]): Proc {
  // Its own session and autogroup nice -10, as bench/control.ts: a shared 2-core machine otherwise
  // leaves a busy dataplane a fraction of a core.
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const p: Proc = { child, out: '', err: '', exited: new Promise((r) => child.on('exit', () => r())) };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (p.out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (p.err += d));
  try {
    writeFileSync(`/proc/${child.pid}/autogroup`, '-10');
  } catch {
    /* gone already: its output says why */
  }
  return p;
}

/** One run: the loadgen's totals at `rate` requests/s with a receive buffer of `rmem` bytes. */
async function run(rmem: number, rate: number): Promise<Record<string, number>> {
  const dp = start(inNs([bins.dataplane, '--port', '0', '--batch', String(BATCH), '--rcvbuf', String(rmem), '--duration-ms', String(ms + 3000), ...COSTS_ARGS]));
  for (let i = 0; i < 500 && !/^port \d+$/m.test(dp.out); i++) await sleep(10);
  const port = /^port (\d+)$/m.exec(dp.out)?.[1];
  if (!port) throw new Error(`the dataplane did not start: ${dp.err}`);
  const rcvbuf = Number(/^rcvbuf (\d+)$/m.exec(dp.out)?.[1]);
  const lg = start(inNs([bins.loadgen, '--server', `127.0.0.1:${port}`, '--phase', `${ms}:${FLOWS}:${rate}`, '--out', '/dev/null', '--timeout-ms', String(TIMEOUT_MS)]));
  await lg.exited;
  dp.child.kill('SIGTERM');
  await dp.exited;
  const t = totalsOf(/^loadgen .*$/m.exec(lg.err)?.[0] ?? '');
  if (!Number.isFinite(t.p99_us)) throw new Error(`no totals from the load generator: ${lg.err}`);
  return { ...t, rcvbuf };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    const before = loadavg();
    // Capacity: served requests/s under 60,000/s offered, with the dataplane's usual 4 MiB buffer.
    const caps: number[] = [];
    for (let i = 0; i < 3; i++) caps.push((await run(4 << 20, 60_000)).served_rate!);
    const capacity = median(caps);
    const levels = [0.4, 0.7, 1.0].map((f) => ({ f, rate: Math.round(capacity * f) }));
    console.log(`capacity at RX_BATCH_SIZE=${BATCH}, ${FLOWS} flows: ${caps.map(Math.round).join(', ')} served/s (median ${Math.round(capacity)}); load average ${before}`);
    const rows: string[] = ['rcvbuf_asked,level,rate,repeat,rcvbuf,p50_us,p99_us,lost,received,requests,loadavg'];
    const got = new Map<string, number[]>();
    const loads = [loadavg()];
    const cells = levels.flatMap((l) => values.map((v) => ({ l, v })));
    for (let r = 0; r < reps; r++) {
      // Each repeat in another order (a rotation, then reversed every other repeat): drift hits all alike.
      const rotated = [...cells.slice((r * 7) % cells.length), ...cells.slice(0, (r * 7) % cells.length)];
      for (const { l, v } of r % 2 ? rotated.reverse() : rotated) {
        const t = await run(v, l.rate);
        const la = loadavg().split(' ')[0]!;
        rows.push([v, l.f, l.rate, r, t.rcvbuf, t.p50_us, t.p99_us, t.lost, t.received, t.requests, la].join(','));
        got.set(`${l.f},${v}`, [...(got.get(`${l.f},${v}`) ?? []), t.p99_us!]);
        process.stderr.write('.');
      }
      loads.push(loadavg());
    }
    process.stderr.write('\n');
    writeFileSync(out, `${rows.join('\n')}\n`);
    console.log(`p99 in µs (a lost request counts as ${TIMEOUT_MS} ms), ${ms} ms per run, ${reps} interleaved repeats; load average ${loads.join(' → ')}`);
    console.log(`level        ${values.map((v) => `buf=${v}`.padStart(16)).join('')}`);
    for (const l of levels) {
      const cellsText = values.map((v) => got.get(`${l.f},${v}`)!.map((x) => Math.round(x)).join('/').padStart(16));
      console.log(`${`${l.f}× ${l.rate}/s`.padEnd(13)}${cellsText.join('')}`);
    }
    console.log(`rows: ${out}`);
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

await main();
