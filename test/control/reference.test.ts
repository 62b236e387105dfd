// The reference dataplane and load generator (native/dataplane) on loopback, bounded: built with
// -Werror, the Demikernel rule (at most one payload per flow per round), RX_BATCH_SIZE applied from
// the control region and the default back when our heartbeat stops, and a controller generated
// from a policy steering the batch by the flow count.

import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ControllerLink } from '../../src/control/controller-link.js';
import { buildReference } from '../../src/control/reference.js';
import { CLI, ROOT, requireTool, tempDir, waitFor } from '../helpers.js';
import { startDataplane, type Running } from './dataplane.js';

requireTool('gcc');
const t = tempDir('wf-reference-');
const bins = buildReference();
const running: Running[] = [];
const regions: string[] = [];
afterAll(() => {
  for (const r of running) r.child.kill('SIGKILL');
  for (const p of regions) rmSync(p, { force: true });
  t.cleanup();
});

function dataplane(args: string[]): Running {
  const r = startDataplane(bins.dataplane, args);
  running.push(r);
  return r;
}
function region(name: string): string {
  const p = `/dev/shm/wf-test-${process.pid}-${name}`;
  regions.push(p);
  return p;
}
async function portOf(r: Running): Promise<number> {
  return Number((await r.line(/^port (\d+)$/, 5000))[1]);
}
function totals(line: string): Record<string, number> {
  return Object.fromEntries([...line.matchAll(/(\w+)=([\d.]+)/g)].map((m) => [m[1]!, Number(m[2])]));
}

/** The load generator to completion: its summary (stderr) and its windows (CSV). */
function loadgen(port: number, phases: string[], out: string): { summary: Record<string, number>; rows: Record<string, number>[] } {
  const r = spawnSync(bins.loadgen, ['--server', `127.0.0.1:${port}`, ...phases.flatMap((p) => ['--phase', p]), '--out', out, '--timeout-ms', '1000'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(r.status, r.stderr).toBe(0);
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  expect(lines[0]).toMatch(/^# start_ns=\d+ window_us=1000 timeout_ms=1000$/);
  const head = lines[1]!.split(',');
  const rows = lines.slice(2).map((l) => Object.fromEntries(l.split(',').map((v, i) => [head[i]!, Number(v)])));
  return { summary: totals(r.stderr), rows };
}

describe('the reference dataplane and load generator', () => {
  it('serve an open-loop schedule on loopback: every request answered, one row per 1 ms window', async () => {
    const dp = dataplane(['--port', '0', '--batch', '8', '--duration-ms', '4000']);
    const port = await portOf(dp);
    const { summary, rows } = loadgen(port, ['300:2:2000', '300:8:4000'], join(t.dir, 'w.csv'));
    dp.child.kill('SIGTERM');
    const done = totals((await dp.line(/^done .*/, 5000))[0]!);
    // Poisson at 2,000/s for 0.3 s then 4,000/s: about 600 + 1,200 requests.
    expect(summary.requests).toBeGreaterThan(1300);
    expect(summary.requests).toBeLessThan(2300);
    expect(summary.received).toBe(summary.requests);
    expect(done.delivered).toBe(summary.requests);
    expect(rows).toHaveLength(600);
    expect(rows[0]!.flows).toBe(2);
    expect(rows[599]!.flows).toBe(8);
    expect(rows.reduce((s, r) => s + r.sent!, 0)).toBe(summary.requests);
    // Each answered window's percentiles are ordered, and a latency is positive.
    for (const r of rows.filter((x) => x.sent! > 0)) {
      expect(r.p50_us!).toBeGreaterThan(0);
      expect(r.p50_us!).toBeLessThanOrEqual(r.p99_us!);
      expect(r.p99_us!).toBeLessThanOrEqual(r.max_us!);
    }
    expect(done.flows).toBe(8);
  });

  it('sets the receive buffer it is given, or keeps the namespace default (net.core.rmem_default) with --rcvbuf 0', async () => {
    const asked = dataplane(['--port', '0', '--rcvbuf', '65536', '--duration-ms', '2000']);
    // The kernel doubles what a socket asks for (its bookkeeping), as it reports it back.
    expect((await asked.line(/^rcvbuf (\d+)$/, 5000))[1]).toBe('131072');
    const kept = dataplane(['--port', '0', '--rcvbuf', '0', '--duration-ms', '2000']);
    expect((await kept.line(/^rcvbuf (\d+)$/, 5000))[1]).toBe(readFileSync('/proc/sys/net/core/rmem_default', 'utf8').trim());
    asked.child.kill('SIGTERM');
    kept.child.kill('SIGTERM');
  });

  it('delivers at most one payload per flow per round; the rest of a burst waits for the next round', async () => {
    // A round of 20 ms: a burst sent meanwhile is waiting in the socket when the next round polls.
    const dp = dataplane(['--port', '0', '--batch', '64', '--duration-ms', '3000', '--round-ns', '20000000']);
    const port = await portOf(dp);
    const socks = [createSocket('udp4'), createSocket('udp4'), createSocket('udp4')];
    const got = [0, 0, 0];
    socks.forEach((s, i) => s.on('message', () => got[i]!++));
    await Promise.all(socks.map((s) => new Promise<void>((r) => s.bind(0, '127.0.0.1', r))));
    for (let k = 0; k < 10; k++) for (const s of socks) s.send(Buffer.alloc(64, k), port, '127.0.0.1');
    await waitFor(() => got.every((g) => g === 10), 5000, 'every echo');
    socks.forEach((s) => s.close());
    dp.child.kill('SIGTERM');
    const done = totals((await dp.line(/^done .*/, 5000))[0]!);
    expect(done.delivered).toBe(30);
    expect(done.max_taken).toBeGreaterThan(3); // a round took several packets of a flow...
    expect(done.max_delivered).toBe(3); // ...but delivered one per flow
  });

  it('runs with RX_BATCH_SIZE from the control region, and with its default once our heartbeat stops', async () => {
    const path = region('batch');
    const trace = join(t.dir, 'trace.csv');
    const dp = dataplane(['--port', '0', '--batch', '4', '--region', path, '--controller-timeout-ms', '300', '--duration-ms', '6000', '--trace', trace]);
    const port = await portOf(dp);
    // Traffic while we tune: the dataplane publishes its signals on rounds that did work.
    const lg = spawn(bins.loadgen, ['--server', `127.0.0.1:${port}`, '--phase', '4000:4:3000', '--out', join(t.dir, 'lg.csv')], { stdio: 'ignore' });
    const link = ControllerLink.open(path);
    expect(link.region.layout.knobs).toEqual(['RX_BATCH_SIZE']);
    expect(link.region.layout.defaults).toEqual([4]);
    expect(link.region.layout.signals).toEqual(['flows', 'queue_ns', 'pkts_round', 'staged', 'delivered', 'batch']);
    const beat = setInterval(() => link.beat(), 20);
    link.beat();
    const epoch = link.tune({ RX_BATCH_SIZE: 32 });
    expect(epoch).not.toBeNull();
    await waitFor(() => link.appliedEpoch() === epoch && link.signals()?.values.batch === 32, 3000, 'batch 32 applied');
    await waitFor(() => link.signals()?.values.flows === 4, 3000, 'four flows seen');
    clearInterval(beat);
    const stopped = Date.now();
    await waitFor(() => link.appliedEpoch() === 0n && link.signals()?.values.batch === 4, 3000, 'the default back');
    expect(Date.now() - stopped).toBeGreaterThanOrEqual(250); // not before the timeout
    lg.kill('SIGKILL');
    dp.child.kill('SIGTERM');
    await dp.line(/^done /, 5000);
    link.close();
    const rows = readFileSync(trace, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
    expect(rows.map((r) => r[2])).toEqual([4, 32, 4]);
    expect(rows[1]![1]).toBe(Number(epoch));
    expect(rows[2]![1]).toBe(0);
  });

  it('policy controller: bad flags end with the flag named and exit 2', () => {
    const policy = join(ROOT, 'experiments/dataplane/policy.json');
    const cases: [string[], RegExp][] = [
      [[policy], /give --out FILE\.c, --build BINARY or both/],
      [[policy, '--out', join(t.dir, 'x.c'), '--signal', 'BOGUS=flows'], /--signal BOGUS=flows: BOGUS is not a feature of this policy \(features: FLOWS\)/],
      [[policy, '--out', join(t.dir, 'x.c'), '--signal', 'FLOWS'], /--signal "FLOWS": expected FEATURE=SIGNAL/],
    ];
    for (const [args, want] of cases) {
      const r = spawnSync('node', [CLI, 'policy', 'controller', ...args], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(want);
    }
  });

  it('a controller generated from a policy sets the batch its tree gives for the flows it sees', async () => {
    // A policy learned from a small table: the best batch equals the flow count.
    const table = join(t.dir, 'peak.csv');
    const cells = [1, 4, 16].flatMap((f) => [1, 4, 16].map((b) => `${b},${f},${1000 - 10 * Math.abs(Math.log2(b) - Math.log2(f))}`));
    writeFileSync(table, `RX_BATCH_SIZE,FLOWS,throughput\n${cells.join('\n')}\n`);
    const policy = join(t.dir, 'policy.json');
    const learn = spawnSync('node', [CLI, 'learn', '--table', table, '--objective', 'throughput', '--workload', 'FLOWS', '--out', policy], { encoding: 'utf8' });
    expect(learn.status, learn.stderr).toBe(0);
    const ctl = join(t.dir, 'ctl');
    const gen = spawnSync('node', [CLI, 'policy', 'controller', policy, '--out', `${ctl}.c`, '--build', ctl], { encoding: 'utf8' });
    expect(gen.status, gen.stderr).toBe(0);
    expect(readFileSync(`${ctl}.c`, 'utf8')).toContain('wf_policy_decide');

    const path = region('ctl');
    const trace = join(t.dir, 'ctl-trace.csv');
    const dp = dataplane(['--port', '0', '--batch', '1', '--region', path, '--controller-timeout-ms', '300', '--duration-ms', '5000', '--trace', trace]);
    const port = await portOf(dp);
    const log = join(t.dir, 'ctl-log.csv');
    const c = spawn(ctl, [path, '--period-us', '1000', '--wait', 'sleep', '--duration-ms', '3500', '--log', log], { stdio: ['ignore', 'pipe', 'pipe'] });
    let cout = '';
    c.stdout!.on('data', (d: Buffer) => (cout += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (cout += d.toString()));
    const lg = loadgen(port, ['1200:16:6000'], join(t.dir, 'ctl-lg.csv'));
    expect(lg.summary.requests).toBeGreaterThan(5000);
    await new Promise((r) => c.on('exit', r));
    expect(cout).toMatch(/^controller seconds=/m);
    dp.child.kill('SIGTERM');
    await dp.line(/^done /, 5000);
    const rows = readFileSync(trace, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
    expect(rows[0]![2]).toBe(1); // the default until the first decision
    // 16 flows: the leaf with batch 16 once the dataplane counts them all. The batch in effect
    // longest while the load ran is 16 (a round after a stall of the dataplane may count fewer
    // flows for a moment: the signal counts flows seen in the last 10 ms of its own rounds).
    const loadEnd = Number(/start_ns=(\d+)/.exec(readFileSync(join(t.dir, 'ctl-lg.csv'), 'utf8'))![1]) + 1200e6;
    const held = new Map<number, number>();
    rows.forEach((r, i) => {
      const until = Math.min(loadEnd, rows[i + 1]?.[0] ?? loadEnd);
      if (until > r[0]!) held.set(r[2]!, (held.get(r[2]!) ?? 0) + until - r[0]!);
    });
    const longest = [...held.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    expect(longest, JSON.stringify([...held])).toBe(16);
    const decisions = readFileSync(log, 'utf8').trim().split('\n').slice(1);
    expect(decisions.length).toBeGreaterThanOrEqual(1);
  });
});
