// `wayfinder control --server`: a real daemon (with a token on TCP) and a real controller tuning the
// C test dataplane through shared memory; every decision reaches the daemon's event stream as a
// `decision` event with what changed and why, in the controller's order, and the daemon lists the
// session. A request without the token is refused, as a submission would be.

import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, requireTool, tempDir, waitFor, wayfinder } from '../helpers.js';
import { api, startDaemon, type Proc } from '../daemon/helpers.js';
import { buildDataplane, startDataplane, type Running } from './dataplane.js';
import { batchPolicy } from './policy-fixture.js';

const t = tempDir('wf-control-daemon-');
const region = `/dev/shm/wf-test-${process.pid}-daemon`;
let daemon: (Proc & { url: string }) | undefined;
const running: Running[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const r of running) r.child.kill('SIGKILL');
  await daemon?.kill('SIGTERM');
  rmSync(region, { force: true });
  t.cleanup();
});

interface StreamEvent {
  sseId: string;
  type: string;
  data: { id: number; experimentId: string; type: string; data: Record<string, unknown> };
}

/** Reads a server-sent event stream into `events` until aborted. */
async function follow(url: string, token: string, events: StreamEvent[], signal: AbortSignal): Promise<void> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal });
  expect(res.status).toBe(200);
  void (async () => {
    let buf = '';
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let cut: number;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const rec = buf.slice(0, cut).split('\n');
          buf = buf.slice(cut + 2);
          const field = (name: string) => rec.find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
          const data = field('data');
          if (data) events.push({ sseId: field('id')!, type: field('event')!, data: JSON.parse(data) });
        }
      }
    } catch {
      // aborted
    }
  })();
}

describe('wayfinder control --server', () => {
  it("publishes every decision on the daemon's event stream: what changed and why, with the daemon's authentication", async () => {
    requireTool('redis-server');
    const token = 'control-stream-token-0123456789';
    const tokenFile = join(t.dir, 'token');
    writeFileSync(tokenFile, `${token}\n`);
    daemon = await startDaemon(join(t.dir, 'daemon-wd'), ['--listen', '127.0.0.1:0', '--token-file', tokenFile]);
    const url = daemon.url;
    // Without the token: refused, like any request to a daemon with one.
    const anon = await api(url, '/control', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anon.status).toBe(401);
    const bad = await api(url, '/control', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ host: 'h', policy: 'p' }) });
    expect(bad.status).toBe(400);
    expect((bad.body as { error: string }).error).toMatch(/"config": expected a non-empty string/);
    // A controller whose token is wrong stops before it touches anything, with a clear message.
    const wrongToken = join(t.dir, 'wrong');
    writeFileSync(wrongToken, 'not-the-token-but-long-enough\n');
    const policyFile = join(t.dir, 'policy.json');
    writeFileSync(policyFile, JSON.stringify(batchPolicy(), null, 2));
    const config = join(t.dir, 'shm.yaml');
    writeFileSync(
      config,
      `period: 20ms
region: ${region}
signals:
  flows: { shm: flows }
  latency: { shm: latency }
objective: { signal: latency, direction: minimize }
knobs:
  BATCH: { shm: BATCH, min: 1, max: 64 }
guard:
  dwell: 300ms
`,
    );
    const refused = await wayfinder(['control', policyFile, '--config', config, '--workdir', join(t.dir, 'wd'), '--server', url, '--token-file', wrongToken]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/--server http:\/\/127\.0\.0\.1:\d+: the daemon refused the control session \(401\): missing or wrong token/);
    expect(refused.stderr).not.toMatch(/at .*\.js:\d+/);

    // Follow every event of the daemon, then run the controller against the C dataplane.
    const events: StreamEvent[] = [];
    const ac = new AbortController();
    await follow(`${url}/events`, token, events, ac.signal);
    const bin = buildDataplane(t.dir);
    const script = join(t.dir, 'script');
    writeFileSync(script, '5 -1 0\n');
    const dp = startDataplane(bin, ['scripted', region, '120000', '400', script]);
    running.push(dp);
    await dp.line(/^ready$/, 10_000);
    const child = spawn(process.execPath, [CLI, 'control', policyFile, '--config', config, '--workdir', join(t.dir, 'wd'), '--server', url, '--token-file', tokenFile, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    const decisions = () => events.filter((e) => e.type === 'decision');
    const seen = (what: string) => `${what}; stream: ${JSON.stringify(events.map((e) => [e.type, e.data.data.rule ?? e.data.data.reason ?? '']))}\n${err}`;
    try {
      await waitFor(() => events.some((e) => e.type === 'control-started'), 30_000, seen('control-started on the stream'));
      // flows 20: leaf 1, BATCH 4 -> 16; flows 50: leaf 2, 128 clamped to 64.
      writeFileSync(script, '20 -1 0\n');
      await waitFor(() => decisions().some((e) => e.data.data.action === 'apply'), 30_000, seen('an apply decision'));
      await dp.line(/^batch 16 epoch \d+/, 10_000);
      writeFileSync(script, '50 -1 0\n');
      await waitFor(() => decisions().some((e) => /clamped BATCH 128 -> 64/.test(String(e.data.data.rule))), 30_000, seen('the clamped decision'));
      await dp.line(/^batch 64 epoch \d+/, 10_000);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, err).toBe(0);
    await waitFor(() => events.some((e) => e.type === 'control-ended'), 10_000, seen('control-ended on the stream'));
    ac.abort();

    // What changed and why, as the controller printed it: the same decisions in the same order.
    const printed = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const started = printed.find((p) => p.event === 'control-started')!;
    const sessionId = String(started.daemonSession);
    expect(sessionId).toMatch(/^control-[0-9a-z]+-\d+$/);
    const mine = events.filter((e) => e.data.experimentId === sessionId);
    expect(mine.map((e) => e.type)).toEqual(printed.map((p) => (p.event === 'control-decision' ? 'decision' : p.event)));
    expect(mine.map((e) => e.data.id)).toEqual(mine.map((_e, i) => i + 1));
    expect(mine[0]!.sseId).toBe(`${sessionId}/1`);
    const first = decisions()[0]!.data.data;
    expect(first).toMatchObject({ action: 'apply', from: { BATCH: 4 }, to: { BATCH: 16 }, context: 'leaf 1', signals: { flows: 20 } });
    expect(first.rule).toMatch(/^policy: flows=20 > 10, flows=20 <= 40: leaf 1$/);
    expect(first.applied).toMatchObject({ done: { BATCH: expect.stringMatching(/^epoch \d+$/) } });
    const clamp = decisions().find((e) => /clamped/.test(String(e.data.data.rule)))!.data.data;
    expect(clamp).toMatchObject({ from: { BATCH: 16 }, to: { BATCH: 64 }, signals: { flows: 50 } });

    // The daemon lists the session, ended, with its last decision; its stream replays from the start.
    const list = await api<{ sessions: Record<string, unknown>[] }>(url, '/control', { headers: { authorization: `Bearer ${token}` } });
    expect(list.body.sessions.find((s) => s.id === sessionId)).toMatchObject({ state: 'ended', endReason: 'stopped', decisions: decisions().length, localSession: started.session, lastDecision: { to: { BATCH: 64 } } });
    const replay: StreamEvent[] = [];
    const ac2 = new AbortController();
    await follow(`${url}/control/${sessionId}/events?since=0`, token, replay, ac2.signal);
    await waitFor(() => replay.length === mine.length, 10_000, `the replay of ${mine.length} events (got ${replay.length})`);
    ac2.abort();
    expect(replay.map((e) => e.data)).toEqual(mine.map((e) => e.data));
    const unknown = await api(url, '/control/control-nosuch-1/events', { headers: { authorization: `Bearer ${token}` } });
    expect(unknown.status).toBe(404);
  }, 180_000);
});
