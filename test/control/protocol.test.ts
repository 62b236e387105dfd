// The observation and control protocol (docs/control-protocol.md) between a real C dataplane built
// from native/include/wayfinder_control.h and our side (src/control): signals published at full
// rate are never read torn, knob decisions are applied by epoch and never torn, the dataplane falls
// back to its defaults when our heartbeat stops, and we stop tuning when its heartbeat stops.

import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ControllerLink } from '../../src/control/controller-link.js';
import { OFF } from '../../src/control/layout.js';
import { ControlRegion } from '../../src/control/region.js';
import { tempDir, waitFor } from '../helpers.js';
import { buildDataplane, sleep, startDataplane, type Running } from './dataplane.js';

const t = tempDir('wf-control-');
const bin = buildDataplane(t.dir);
const regions: string[] = [];
const running: Running[] = [];
function region(name: string): string {
  const p = `/dev/shm/wf-test-${process.pid}-${name}`;
  regions.push(p);
  return p;
}
afterAll(() => {
  for (const r of running) r.child.kill('SIGKILL');
  for (const p of regions) rmSync(p, { force: true });
  t.cleanup();
});

function start(args: string[]): Running {
  const r = startDataplane(bin, args);
  running.push(r);
  return r;
}

// Every test here waits for progress (so many reads, so many decisions), never counts what
// happened in a fixed time: on a machine shared with other work the processes get a fraction of a
// core, and what they must prove (no torn copy, epochs applied, fallback not before the timeout)
// does not depend on how fast they run. MAX_MS only bounds a test that makes no progress at all.
const MAX_MS = 30_000;
/** The C selftest's bound: its threads need to run at the same time, which a loaded machine seldom allows. */
const SELFTEST_MAX_MS = 120_000;

/** Spin (synchronously), calling f, until done() or MAX_MS: the tight loop a controller runs. */
function spinUntil(f: () => void, done: () => boolean): void {
  const end = process.hrtime.bigint() + BigInt(MAX_MS) * 1_000_000n;
  while (!done() && process.hrtime.bigint() < end) f();
}

/** Beat every 5 ms while waiting: a controller that is waiting on the dataplane still beats. */
function beating(link: ControllerLink): { stop(): bigint } {
  const timer = setInterval(() => link.beat(), 5);
  return {
    /** Stops beating; returns the time just before the last beat (CLOCK_MONOTONIC, ns). */
    stop(): bigint {
      clearInterval(timer);
      const at = process.hrtime.bigint();
      link.beat();
      return at;
    },
  };
}

/**
 * Polls the dataplane's liveness (beating ours) until it is reported dead, keeping what is needed
 * to judge the verdict without a wall-clock bound: when the dataplane's heartbeat count last
 * changed as we saw it, and the poll times around the verdict.
 */
async function watchUntilDead(link: ControllerLink): Promise<{ check(timeoutNs: bigint): void }> {
  let count: bigint | undefined;
  // Our read and the watch's are two reads: a beat between them is seen by one a poll before the
  // other, so the change happened between the poll before we saw it and the poll we saw it at.
  let firstSeenFinal = 0n;
  let pollBeforeFinal = 0n;
  let lastAlivePoll = 0n;
  let deadAt = 0n;
  const end = Date.now() + MAX_MS;
  while (Date.now() < end) {
    link.beat();
    const now = process.hrtime.bigint();
    const c = link.region.heartbeatOf('dataplane')?.count;
    if (c !== undefined && c !== count) {
      count = c;
      pollBeforeFinal = lastAlivePoll;
      firstSeenFinal = now;
    }
    if (!link.dataplaneAlive(now)) {
      deadAt = now;
      break;
    }
    lastAlivePoll = now;
    await sleep(5);
  }
  return {
    check(timeoutNs: bigint): void {
      expect(deadAt, 'the dataplane reported dead').toBeGreaterThan(0n);
      // Not early: its heartbeat had stood still for the whole timeout ...
      expect(deadAt - pollBeforeFinal).toBeGreaterThanOrEqual(timeoutNs);
      // ... and not late: the poll before still fell within the timeout of the last change we saw.
      expect(lastAlivePoll - firstSeenFinal).toBeLessThanOrEqual(timeoutNs);
    },
  };
}

describe('the control protocol', () => {
  it('C on both sides: a signal writer and a knob writer against readers on other threads, never a torn copy', () => {
    const path = region('self');
    const r = spawnSync(bin, ['selftest', path, '10000', String(SELFTEST_MAX_MS)], { encoding: 'utf8', timeout: SELFTEST_MAX_MS + 10_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = r.stdout;
    const m = out.match(/selftest reads=(\d+) torn=(\d+) backwards=(\d+) knobreads=(\d+) knobtorn=(\d+) applied=(\d+) generations=(\d+) epochs=\d+ distinct=(\d+) skipped=(\d+) applied_epochs=(\d+)/);
    expect(m, out).not.toBeNull();
    const [reads, torn, backwards, knobreads, knobtorn, applied, generations, distinct, skipped, appliedEpochs] = m!.slice(1).map(Number);
    expect(torn).toBe(0);
    expect(backwards).toBe(0);
    expect(knobtorn).toBe(0);
    expect(reads).toBeGreaterThanOrEqual(10_000);
    expect(knobreads).toBeGreaterThanOrEqual(10_000);
    expect(applied).toBeGreaterThan(0);
    expect(appliedEpochs).toBeGreaterThanOrEqual(100);
    // The writer really raced the reader: the reads saw twenty different publishes, and ten times
    // the writer had published more than once between two reads. On a loaded machine the threads
    // rarely run at once and these come only where the turns change: with twelve busy loops beside
    // it at load 25, 15 and 12 in 30 s at the worst of three runs (hence the longer bound).
    expect(distinct).toBeGreaterThanOrEqual(20);
    expect(skipped).toBeGreaterThanOrEqual(10);
    expect(generations).toBeGreaterThan(distinct!);
  }, SELFTEST_MAX_MS + 20_000);

  // Mapped: the writer publishes as fast as it can (one publish every ~100 ns). pread: one publish
  // per 20 us, since a reader that takes microseconds per copy starves under a faster writer
  // (docs/control-protocol.md, "Our side").
  it.each([
    ['mapped', '0'],
    ['pread', '20000'],
  ] as const)('our side (%s) reads the header and every signal copy whole while the C dataplane publishes (pace %s ns)', async (access, pace) => {
    const path = region(`signals-${access}`);
    const dp = start(['run', path, String(MAX_MS * 2), String(MAX_MS * 2), '200', pace]);
    await dp.line(/^ready$/, MAX_MS);
    const link = ControllerLink.open(path, access);
    expect(link.region.access).toBe(access);
    expect(link.region.layout.signals).toEqual(['gen', 'neg', 'flows', 'batch']);
    expect(link.region.layout.knobs).toEqual(['BATCH', 'CHECK']);
    expect(link.region.layout.defaults).toEqual([4, -4]);
    expect(link.region.layout.controllerTimeoutNs).toBe(200_000_000n);
    let reads = 0;
    let torn = 0;
    let last = 0n;
    let backwards = 0;
    const seen = new Set<bigint>();
    spinUntil(() => {
      const s = link.signals();
      if (!s) return;
      reads++;
      const { gen, neg, flows } = s.values;
      if (neg !== -gen! || flows !== gen! % 64 || BigInt(gen!) !== s.generation) torn++;
      if (s.generation < last) backwards++;
      last = s.generation;
      seen.add(s.generation);
    }, () => reads >= 1000 && seen.size >= 100);
    link.close();
    dp.child.kill('SIGTERM');
    const done = await dp.line(/^done publishes=(\d+) knobreads=(\d+) torn=(\d+)$/, MAX_MS);
    const publishes = Number(done[1]);
    expect(torn).toBe(0);
    expect(backwards).toBe(0);
    expect(reads).toBeGreaterThanOrEqual(1000);
    // Reads landed among live publishes: many different generations, and the writer raced the reader.
    expect(seen.size).toBeGreaterThanOrEqual(100);
    expect(publishes).toBeGreaterThan(seen.size);
  }, MAX_MS * 2);

  it.each(['mapped', 'pread'] as const)('our knob decisions (%s) reach the C dataplane by epoch, never torn; without our heartbeat it runs its defaults until a new decision', async (access) => {
    const path = region(`knobs-${access}`);
    const timeoutMs = 400;
    const dp = start(['run', path, String(MAX_MS * 2), String(MAX_MS * 2), String(timeoutMs), '1000']);
    await dp.line(/^ready$/, MAX_MS);
    expect(await dp.line(/^applied (\d+) (\S+)/, MAX_MS)).toMatchObject({ 1: '0', 2: '4' });
    const link = ControllerLink.open(path, access);
    link.beat();
    await waitFor(() => link.dataplaneAlive(), MAX_MS, 'the dataplane\'s first heartbeat');
    // Decisions as fast as we can write them (CHECK = -BATCH in every one), beating every ms, until
    // a thousand have been published.
    let epoch = 0n;
    let beatAt = 0n;
    let prev = process.hrtime.bigint();
    let maxGap = 0n;
    spinUntil(() => {
      const now = process.hrtime.bigint();
      if (now - prev > maxGap) maxGap = now - prev;
      prev = now;
      if (now - beatAt > 1_000_000n) {
        link.beat();
        beatAt = now;
      }
      const e = link.tune({ BATCH: Number(epoch + 1n), CHECK: -Number(epoch + 1n) }, now);
      if (e === null) throw new Error(`the dataplane looked dead while tuning (longest gap between our iterations: ${maxGap / 1000n} us; its heartbeat ${JSON.stringify(link.region.heartbeatOf("dataplane"), (_k, v) => (typeof v === "bigint" ? String(v) : v))}; ${JSON.stringify(link, (_k, v) => (typeof v === "bigint" ? String(v) : v))}); its lines: ${dp.lines.join(' | ')}`);
      epoch = e!;
    }, () => epoch >= 1000n);
    expect(epoch).toBeGreaterThanOrEqual(1000n);
    // One last, slow decision: the dataplane reports its epoch in its heartbeat, its BATCH as a signal.
    const last = link.tune({ BATCH: 16, CHECK: -16 })!;
    expect(last).toBe(epoch + 1n);
    const beats = beating(link);
    await waitFor(() => link.appliedEpoch() === last && link.signals()!.values.batch === 16, MAX_MS, `epoch ${last} applied`);

    // Our heartbeat stops: the dataplane keeps the decision until the timeout has passed since our
    // last beat (on its own clock, the monotonic one we read too), then runs its defaults.
    const lastBeat = beats.stop();
    // The first time it ran its defaults again after its start (its lines may arrive late: our
    // spinning held the pipe's reader): any earlier fallback would be this one.
    const fallbacks = (): string[] => dp.lines.filter((l) => l.startsWith('applied ')).slice(1).filter((l) => l.startsWith('applied 0 4 '));
    await waitFor(() => fallbacks().length > 0, MAX_MS, `the dataplane's fallback; its lines: ${dp.lines.join(' | ')}`);
    const fallback = /^applied 0 4 \d+ (\d+)$/.exec(fallbacks()[0]!)!;
    // The dataplane stamps a change of our heartbeat with the clock it read just before reading the
    // heartbeat: a beat written in between is stamped a little early, hence the 2 ms.
    expect(BigInt(fallback[1]!) - lastBeat).toBeGreaterThanOrEqual(BigInt(timeoutMs - 2) * 1_000_000n);
    await waitFor(() => link.appliedEpoch() === 0n && link.signals()!.values.batch === 4, MAX_MS, 'the defaults reported');

    // We beat again but decide nothing new: the old decision stays refused.
    const back = dp.lines.length;
    for (let i = 0; i < 40; i++) {
      link.beat();
      await sleep(10);
    }
    expect(dp.lines.slice(back)).toEqual([]);
    expect(link.appliedEpoch()).toBe(0n);
    expect(link.signals()!.values.batch).toBe(4);
    // A new decision is applied.
    const fresh = link.tune({ BATCH: 32, CHECK: -32 })!;
    expect(fresh).toBe(last + 1n);
    const again = beating(link);
    await dp.line(new RegExp(`^applied ${fresh} 32 `), MAX_MS, back);
    await waitFor(() => link.appliedEpoch() === fresh && link.signals()!.values.batch === 32, MAX_MS, `epoch ${fresh} applied`);
    again.stop();
    link.close();

    dp.child.kill('SIGTERM');
    const done = await dp.line(/^done publishes=(\d+) knobreads=(\d+) torn=(\d+)$/, MAX_MS);
    expect(Number(done[3])).toBe(0);
    expect(Number(done[2])).toBeGreaterThan(1000);
  }, MAX_MS * 4);

  it('our side sees the dataplane\'s heartbeat stop (signals still moving, then the process killed) and stops tuning', async () => {
    const path = region('loss');
    const timeoutMs = 150;
    const timeoutNs = BigInt(timeoutMs) * 1_000_000n;
    const dp = start(['run', path, String(MAX_MS), '400', String(timeoutMs), '1000']);
    await dp.line(/^ready$/, MAX_MS);
    const link = ControllerLink.open(path);
    link.beat();
    await waitFor(() => link.dataplaneAlive(), MAX_MS, 'the dataplane\'s first heartbeat');
    const e = link.tune({ BATCH: 8, CHECK: -8 });
    expect(e).toBe(1n);
    // The dataplane stops beating at 400 ms but keeps publishing signals.
    const loss = await watchUntilDead(link);
    loss.check(timeoutNs);
    const g1 = link.signals()!.generation;
    await waitFor(() => link.signals()!.generation > g1, MAX_MS, 'signals still published after the heartbeat stopped');
    expect(link.tune({ BATCH: 64, CHECK: -64 })).toBeNull();
    expect(link.region.knobs()!.count).toBe(1n);
    expect(link.region.knobs()!.values).toEqual([8, -8]);
    link.close();
    dp.child.kill('SIGKILL');
    await dp.exited;

    // A dataplane killed outright: alive while it beats, not alive once the timeout has passed.
    const path2 = region('kill');
    const dp2 = start(['run', path2, String(MAX_MS), String(MAX_MS), String(timeoutMs), '1000']);
    await dp2.line(/^ready$/, MAX_MS);
    const link2 = ControllerLink.open(path2);
    await waitFor(() => link2.dataplaneAlive(), MAX_MS, 'the dataplane\'s first heartbeat');
    dp2.child.kill('SIGKILL');
    await dp2.exited;
    const killed = await watchUntilDead(link2);
    killed.check(timeoutNs);
    expect(link2.dataplaneAlive()).toBe(false);
    expect(link2.tune({ BATCH: 2, CHECK: -2 })).toBeNull();
    link2.close();
  }, MAX_MS * 4);

  it('a controller killed mid-write (its seq left odd) stalls nothing: the dataplane keeps its values and beats, the next controller\'s decision is applied', async () => {
    const path = region('midwrite');
    const dp = start(['run', path, String(MAX_MS * 2), String(MAX_MS * 2), '1000', '1000']);
    await dp.line(/^ready$/, MAX_MS);
    const link = ControllerLink.open(path);
    link.beat();
    await waitFor(() => link.dataplaneAlive(), MAX_MS, 'the dataplane\'s first heartbeat');
    const e1 = link.tune({ BATCH: 12, CHECK: -12 })!;
    const beats1 = beating(link);
    await waitFor(() => link.appliedEpoch() === e1 && link.signals()!.values.batch === 12, MAX_MS, `epoch ${e1} applied`);
    // What a controller killed between its first and last store leaves: an odd seq, half a payload.
    const at = link.region.layout.knobsAt;
    const seq = Buffer.alloc(8);
    const fd = openSync(path, 'r+');
    readSync(fd, seq, 0, 8, at);
    seq.writeBigUInt64LE(seq.readBigUInt64LE(0) + 1n);
    writeSync(fd, seq, 0, 8, at);
    const half = Buffer.alloc(8);
    half.writeDoubleLE(99);
    writeSync(fd, half, 0, 8, at + 64);
    closeSync(fd);
    expect(link.region.knobs()).toBeNull(); // our reader gives up too, after its tries
    const beats = link.region.heartbeatOf('dataplane')!.count;
    const generation = link.signals()!.generation;
    // Its rounds go on (one publish per us when running): ten thousand more publishes, ten more
    // beats, whatever time the machine gives it for them.
    await waitFor(() => link.signals()!.generation - generation >= 10_000n && link.region.heartbeatOf('dataplane')!.count >= beats + 10n, MAX_MS, 'the dataplane to go on publishing and beating');
    beats1.stop();
    // The dataplane kept beating with the decision it had, and never ran the half-written 99.
    expect(dp.lines.filter((l) => l.startsWith('applied ')).map((l) => l.split(' ').slice(1, 3).join(' '))).toEqual(['0 4', `${e1} 12`]);
    expect(link.appliedEpoch()).toBe(e1);
    expect(link.signals()!.values.batch).toBe(12);
    // A new controller's write counts the stuck one as aborted and publishes whole.
    const link2 = ControllerLink.open(path);
    link2.beat();
    const e2 = link2.tune({ BATCH: 20, CHECK: -20 })!;
    expect(e2).toBe(e1 + 1n); // never an epoch the dataplane has seen
    const beats2 = beating(link2);
    await waitFor(() => link2.appliedEpoch() === e2 && link2.signals()!.values.batch === 20, MAX_MS, `epoch ${e2} applied`);
    beats2.stop();
    expect(link2.region.knobs()).toMatchObject({ values: [20, -20] });
    link.close();
    link2.close();
    dp.child.kill('SIGTERM');
    expect(Number((await dp.line(/^done publishes=\d+ knobreads=\d+ torn=(\d+)$/, MAX_MS))[1])).toBe(0);
  }, MAX_MS * 4);

  it('a controller in C attaches too; both sides refuse a region of another version or a torn-off file', async () => {
    const path = region('version');
    const dp = start(['run', path, String(MAX_MS), String(MAX_MS), '100']);
    await dp.line(/^ready$/, MAX_MS);
    const c = spawnSync(bin, ['attach', path], { encoding: 'utf8', timeout: 5000 });
    expect(c.stdout.trim()).toBe('attached signals=gen,neg,flows,batch knobs=BATCH,CHECK timeout_ns=100000000 epoch=1');
    expect(ControlRegion.open(path).knobs()).toMatchObject({ count: 1n, values: [7, -7] });
    const bad = region('bad');
    copyFileSync(path, bad);
    const b = readFileSync(bad);
    b.writeUInt32LE(2, OFF.version);
    writeFileSync(bad, b);
    expect(() => ControlRegion.open(bad)).toThrow(`${bad}: not a usable control region: version 2, this reader knows 1`);
    const refused = spawnSync(bin, ['attach', bad], { encoding: 'utf8', timeout: 5000 });
    expect(refused.status).toBe(3);
    expect(refused.stderr).toContain(`wfc_open ${bad}: Protocol error`);
    writeFileSync(bad, readFileSync(path).subarray(0, 300));
    expect(() => ControlRegion.open(bad)).toThrow(/header says \d+ bytes, the file has 300/);
    const link = ControllerLink.open(path);
    expect(() => link.tune({ BATCH: 1 })).toThrow(/missing CHECK/);
    expect(() => link.tune({ BATCH: 1, CHECK: -1, NOPE: 3 })).toThrow(/no knob NOPE/);
    link.close();
    dp.child.kill('SIGTERM');
    await dp.exited;
  });
});
