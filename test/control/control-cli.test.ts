// `wayfinder control` end to end with real actuators: the shared-memory knob of a C dataplane
// (test/control/dataplane.c, scripted mode) and a real sysctl inside a network namespace this test
// makes (net.ipv4.tcp_reordering, so the host's own value is never touched). The guard rails fire
// on scripted signals; every decision is in the store; a SIGKILLed controller's sysctl is put back.

import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { CLI, ROOT, requireTool, tempDir, waitFor, wayfinder } from '../helpers.js';
import { query } from '../daemon/helpers.js';
import { buildDataplane, startDataplane, type Running } from './dataplane.js';
import { batchPolicy } from './policy-fixture.js';

const t = tempDir('wf-control-cli-');
const children: ChildProcess[] = [];
const running: Running[] = [];
const namespaces: string[] = [];
const regions: string[] = [];
afterAll(() => {
  for (const r of regions) rmSync(r, { force: true });
  for (const c of children) c.kill('SIGKILL');
  for (const r of running) r.child.kill('SIGKILL');
  for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns]);
  t.cleanup();
});

const policyFile = join(t.dir, 'policy.json');
writeFileSync(policyFile, JSON.stringify(batchPolicy(), null, 2));

interface Controller {
  child: ChildProcess;
  events: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<number | null>;
}

function control(args: string[], prefix: string[] = []): Controller {
  const cmd = [...prefix, process.execPath, CLI, 'control', policyFile, ...args, '--json'];
  const child = spawn(cmd[0]!, cmd.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const events: Record<string, unknown>[] = [];
  let rest = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const parts = (rest + d).split('\n');
    rest = parts.pop()!;
    for (const p of parts) if (p.trim()) events.push(JSON.parse(p) as Record<string, unknown>);
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, events, stderr: () => err, exited };
}

const decisions = (c: Controller) => c.events.filter((e) => e.event === 'control-decision');
async function decision(c: Controller, action: string, rule: RegExp, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  let found: Record<string, unknown> | undefined;
  await waitFor(() => (found = decisions(c).find((e) => e.action === action && rule.test(String(e.rule)))) !== undefined, timeoutMs, `a ${action} decision matching ${rule}; got ${JSON.stringify(decisions(c).map((e) => `${e.action}: ${e.rule}`))}\n${c.stderr()}`);
  return found!;
}

describe('wayfinder control', () => {
  it('drives a C dataplane\'s knob through shared memory; clamp, fallback, dwell, revert (then avoided) and rate limit each fire, and are stored; it stops tuning when the dataplane dies', async () => {
    const bin = buildDataplane(t.dir);
    const region = `/dev/shm/wf-test-${process.pid}-control`;
    regions.push(region);
    const script = join(t.dir, 'script');
    const workdir = join(t.dir, 'wd-shm');
    writeFileSync(script, '5 -1 0\n');
    const dp = startDataplane(bin, ['scripted', region, '120000', '400', script]);
    running.push(dp);
    await dp.line(/^ready$/, 5000);
    const config = join(t.dir, 'shm.yaml');
    writeFileSync(
      config,
      `control:
  period: 20ms
  region: ${region}
  signals:
    flows: { shm: flows }
    latency: { shm: latency }
  objective: { signal: latency, direction: minimize }
  knobs:
    BATCH: { shm: BATCH, min: 1, max: 64 }
  guard:
    dwell: 2s
    rate: 4/1min
    revert: { periods: 3, noise: 5% }
`,
    );
    const c = control(['--config', config, '--workdir', workdir]);
    try {
      await waitFor(() => c.events.some((e) => e.event === 'control-started'), 20_000, `the controller to start\n${c.stderr()}`);
      // Clamp: the policy's 128 is outside the declared 1..64.
      writeFileSync(script, '50 -1 0\n');
      await decision(c, 'apply', /leaf 2; clamped BATCH 128 -> 64/);
      await dp.line(/^batch 64 epoch \d+/, 10_000);
      // Fallback: outside the trained range, at once, dwell or not.
      writeFileSync(script, '200 -1 0\n');
      await decision(c, 'fallback', /flows=200 outside the trained 1\.\.64/);
      await dp.line(/^batch 8 epoch \d+/, 10_000);
      // Dwell: back in range within 2 s of the last change; then BATCH 16, which the script makes slow.
      writeFileSync(script, '20 16 500\n');
      await decision(c, 'hold', /^dwell: flows=20 > 10, flows=20 <= 40: leaf 1/);
      await decision(c, 'apply', /policy: .*leaf 1$/);
      await dp.line(/^batch 16 epoch \d+/, 10_000);
      // Revert: latency 600 against 100 for 3 periods; BATCH 16 is then avoided in leaf 1.
      const rv = await decision(c, 'revert', /latency after the change 600, 600, 600 against 100 before/);
      expect(rv.to).toEqual({ BATCH: 8 });
      await dp.line(/^batch 8 epoch \d+/, 10_000, dp.lines.findIndex((l) => l.startsWith('batch 16')));
      await decision(c, 'hold', /^avoided: .*leaf 1/);
      // Rate limit: four changes in the last minute already.
      writeFileSync(script, '5 -1 0\n');
      await decision(c, 'hold', /^rate limit: .*4 changes in the last 60000 ms \(at most 4\)/, 30_000);
      // The dataplane dies: the controller stops tuning and says so.
      dp.child.kill('SIGKILL');
      await waitFor(() => c.events.some((e) => e.event === 'control-note' && /heartbeat stopped: not tuning/.test(String(e.what))), 10_000, 'the controller to notice the dataplane is gone');
    } finally {
      c.child.kill('SIGTERM');
    }
    expect(await c.exited).toBe(0);
    expect(c.events.at(-1)).toMatchObject({ event: 'control-ended', reason: 'stopped' });

    const store = new Store(join(workdir, 'wayfinder.db'));
    try {
      const [session] = store.controlSessions();
      expect(session).toMatchObject({ objective: 'latency', direction: 'minimize', features: ['flows'], knobs: ['BATCH'], endReason: 'stopped' });
      const stored = store.controlDecisions(session!.id);
      expect(stored.map((d) => d.action)).toEqual(decisions(c).map((e) => e.action));
      const revert = stored.find((d) => d.action === 'revert')!;
      expect(revert).toMatchObject({ from: { BATCH: 16 }, to: { BATCH: 8 }, context: 'leaf 1', signals: { flows: 20, latency: 600 } });
      expect(stored.find((d) => d.action === 'apply')!.applied).toMatchObject({ done: { BATCH: expect.stringMatching(/^epoch \d+$/) } });
      const obs = store.controlObservations(session!.id);
      expect(obs.length).toBeGreaterThan(20);
      expect(obs.some((o) => o.knobs.BATCH === 16 && o.objective === 600)).toBe(true);
    } finally {
      store.close();
    }
    rmSync(region, { force: true });
  }, 180_000);

  it('does not flap a knob when a signal oscillates around a split with hysteresis, and does without (the same script, each phase seen by the controller)', async () => {
    const bin = buildDataplane(t.dir);
    // One run: the same oscillation of flows around the split at 10 (8, 12, 8, ...), each phase held
    // until the controller has observed it for 3 periods (progress, not time), then flows 30.
    async function oscillate(name: string, hysteresis: string): Promise<{ changes: string[]; decisions: Record<string, unknown>[] }> {
      const region = `/dev/shm/wf-test-${process.pid}-${name}`;
      regions.push(region);
      const script = join(t.dir, `${name}-script`);
      const workdir = join(t.dir, `wd-${name}`);
      writeFileSync(script, '8 -1 0\n');
      // A controller timeout of 5 s: what is counted is the controller's changes, not a fallback of
      // the dataplane's own after a stall of the controller on a loaded machine.
      const dp = startDataplane(bin, ['scripted', region, '600000', '5000', script]);
      running.push(dp);
      await dp.line(/^ready$/, 10_000);
      const config = join(t.dir, `${name}.yaml`);
      writeFileSync(config, `period: 20ms\nregion: ${region}\nsignals:\n  flows: { shm: flows }\nknobs:\n  BATCH: { shm: BATCH, min: 1, max: 64 }\nguard:\n  hysteresis: ${hysteresis}\n`);
      const c = control(['--config', config, '--workdir', workdir]);
      // The BATCH the dataplane ran with, each time it changed (its first line is its default),
      // taken before the controller stops: without its heartbeat the dataplane goes back to 4.
      const ran = (): string[] => dp.lines.filter((l) => l.startsWith('batch ')).slice(1).map((l) => l.split(' ')[1]!);
      let changes: string[] = [];
      try {
        await waitFor(() => c.events.some((e) => e.event === 'control-started'), 30_000, `the controller to start\n${c.stderr()}`);
        const session = c.events.find((e) => e.event === 'control-started')!.session as number;
        const seen = (flows: number, after: number): number =>
          query<{ n: number }>(workdir, `SELECT count(*) AS n FROM control_observations WHERE session_id = ? AND seq > ? AND json_extract(signals_json, '$.flows') = ?`, session, after, flows)[0]?.n ?? 0;
        const lastSeq = (): number => query<{ s: number | null }>(workdir, 'SELECT max(seq) AS s FROM control_observations WHERE session_id = ?', session)[0]?.s ?? -1;
        for (const flows of [8, 12, 8, 12, 8, 12, 8, 12, 8, 12, 8, 30]) {
          const after = lastSeq();
          writeFileSync(script, `${flows} -1 0\n`);
          await waitFor(() => seen(flows, after) >= 3, 60_000, `3 periods with flows=${flows} observed (${name})`);
        }
        await waitFor(() => ran().at(-1) === '16', 10_000, `the dataplane running BATCH 16 for flows 30 (${name}): ${dp.lines.join(' | ')}`);
        changes = ran();
      } finally {
        c.child.kill('SIGTERM');
      }
      expect(await c.exited, c.stderr()).toBe(0);
      dp.child.kill('SIGKILL');
      return { changes, decisions: decisions(c) };
    }
    const without = await oscillate('flap', '0');
    const withBand = await oscillate('steady', '10%');
    // Without hysteresis every crossing moves the knob: 4 -> 16 and back, five times, then 16 for flows 30.
    const why = (r: { decisions: Record<string, unknown>[] }) => JSON.stringify(r.decisions.map((d) => `${String(d.action)} ${JSON.stringify(d.to)}: ${String(d.rule)}`));
    expect(without.changes, why(without)).toEqual(['16', '4', '16', '4', '16', '4', '16', '4', '16', '4', '16']);
    // With a band of 10% of the trained range (6.3 flows), 12 is within it of the split: held, once
    // per wanted configuration, and the knob stays at 4 until flows 30 is clear of the band.
    expect(withBand.changes, why(withBand)).toEqual(['16']);
    const holds = withBand.decisions.filter((d) => d.action === 'hold');
    expect(holds.length).toBeGreaterThan(0);
    for (const h of holds) expect(h.rule).toMatch(/^hysteresis: flows=12 > 10, flows=12 <= 40: leaf 1, but flows=5\.7 \(moved by -6\.3, 10% of its trained range\) decides otherwise/);
    expect(withBand.decisions.filter((d) => d.action === 'apply').map((d) => d.to)).toEqual([{ BATCH: 16 }]);
  }, 300_000);

  it('moves a sysctl inside a network namespace and puts it back after a SIGKILL (restore guard) and at the next start (guard killed too)', async () => {
    requireTool('ip', 'iproute2');
    const ns = `wf21-${process.pid}`;
    execFileSync('ip', ['netns', 'add', ns]);
    namespaces.push(ns);
    const inNs = ['ip', 'netns', 'exec', ns];
    const sysctl = (): string => execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/sys/net/ipv4/tcp_reordering'], { encoding: 'utf8' }).trim();
    const hostBefore = readFileSync('/proc/sys/net/ipv4/tcp_reordering', 'utf8').trim();
    const original = sysctl();
    const script = join(t.dir, 'flows');
    const workdir = join(t.dir, 'wd-sysctl');
    writeFileSync(script, '20\n');
    const config = join(t.dir, 'sysctl.yaml');
    writeFileSync(
      config,
      `period: 50ms
signals:
  flows: { file: ${script} }
knobs:
  BATCH: { sysctl: net.ipv4.tcp_reordering, min: 3, max: 100 }
`,
    );
    const snapshot = join(workdir, 'control-tuning.json');

    // 1. Killed with SIGKILL: the restore guard puts the value back.
    const c = control(['--config', config, '--workdir', workdir], inNs);
    await decision(c, 'apply', /leaf 1/);
    await waitFor(() => sysctl() === '16', 10_000, 'tcp_reordering = 16 in the namespace');
    expect(readFileSync('/proc/sys/net/ipv4/tcp_reordering', 'utf8').trim()).toBe(hostBefore);
    expect(existsSync(snapshot)).toBe(true);
    c.child.kill('SIGKILL');
    await c.exited;
    await waitFor(() => sysctl() === original, 10_000, `tcp_reordering back to ${original} after the SIGKILL`);
    await waitFor(() => !existsSync(snapshot), 5_000, 'the snapshot removed');

    // 2. The guard killed first, then the controller: the value stays, and the next start puts it back.
    const c2 = control(['--config', config, '--workdir', workdir], inNs);
    await decision(c2, 'apply', /leaf 1/);
    await waitFor(() => sysctl() === '16', 10_000, 'tcp_reordering = 16 again');
    const pid = c2.child.pid!;
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    const guard = kids.find((k) => readFileSync(`/proc/${k}/cmdline`, 'utf8').includes('restore-guard-child'));
    expect(guard, `children of ${pid}: ${kids.join(', ')}`).toBeDefined();
    process.kill(guard!, 'SIGKILL');
    c2.child.kill('SIGKILL');
    await c2.exited;
    await new Promise((r) => setTimeout(r, 300));
    expect(sysctl()).toBe('16');
    writeFileSync(script, '5\n');
    const c3 = control(['--config', config, '--workdir', workdir, '--duration', '2s'], inNs);
    expect(await c3.exited, c3.stderr()).toBe(0);
    // It started from the recovered value, moved to 4, and put back what it found: the original.
    expect(decisions(c3)[0]).toMatchObject({ action: 'apply', from: { BATCH: Number(original) }, to: { BATCH: 4 } });
    expect(sysctl()).toBe(original);
    expect(existsSync(snapshot)).toBe(false);
    expect(readFileSync('/proc/sys/net/ipv4/tcp_reordering', 'utf8').trim()).toBe(hostBefore);
  }, 180_000);

  it('refuses a configuration that does not fit the policy, naming the line, with status 2', async () => {
    const config = join(t.dir, 'bad.yaml');
    writeFileSync(config, 'signals:\n  load: { file: /tmp/x }\nknobs:\n  BATCH: { sysctl: net.ipv4.tcp_reordering }\n');
    const r = await wayfinder(['control', policyFile, '--config', config, '--workdir', join(t.dir, 'wd-bad')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${config}:2:3: the policy \\(.*policy\\.json\\) decides on "flows", which is not one of the signals \\(load\\)`));
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    const noRegion = join(t.dir, 'noregion.yaml');
    writeFileSync(noRegion, 'period: 10ms\nregion: /dev/shm/wf-test-none\nsignals:\n  flows: { shm: flows }\nknobs:\n  BATCH: { shm: BATCH }\n');
    const r2 = await wayfinder(['control', policyFile, '--config', noRegion, '--workdir', join(t.dir, 'wd-bad')]);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(new RegExp(`${noRegion}:2:9: region: /dev/shm/wf-test-none does not exist \\(is the dataplane running\\?\\)`));
  }, 60_000);
});
