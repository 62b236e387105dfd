// The host settings in force on one worker (src/isolation/host-lease.ts), on a stand-in /proc:
// shared by jobs of equal settings, refused to others while held, held by a session for its whole
// experiment, put back after the last holder (and after a linger for jobs), and after a kill.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HostBusyError, HostLease, hostSettingsKey } from '../../src/isolation/host-lease.js';
import type { HostSettings } from '../../src/types.js';
import { tempDir } from '../helpers.js';
import { standIn, value } from '../session/stand-in.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

const swap = (n: number, extra: Partial<HostSettings> = {}): HostSettings => ({ sysctls: { 'vm.swappiness': String(n) }, ...extra });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function lease(lingerMs = 0): { l: HostLease; swappiness: string; aslr: string; stateFile: string; make: () => HostLease } {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const h = standIn(dir);
  const stateFile = join(dir, 'host-tuning.json');
  const make = () => new HostLease({ stateFile, ...h.roots, lingerMs });
  return { l: make(), swappiness: h.swappiness, aslr: h.aslr, stateFile, make };
}

describe('host settings lease', () => {
  it('keys equal settings equally, whatever their order; nothing asked is ""', () => {
    expect(hostSettingsKey({ sysctls: { 'a.b': '1', 'c.d': '2' }, aslr: false })).toBe(hostSettingsKey({ aslr: false, sysctls: { 'c.d': '2', 'a.b': '1' } }));
    expect(hostSettingsKey({ sysctls: {} })).toBe('');
    expect(hostSettingsKey({ sysctls: {}, cachePartition: { l3Ways: 2 } })).toBe('');
    expect(hostSettingsKey(swap(10))).not.toBe(hostSettingsKey(swap(20)));
  });

  it('jobs of equal settings share them; others are refused until the last is done; each is put back', async () => {
    const t = lease();
    const a1 = await t.l.holdForJob(swap(10), 'A');
    const a2 = await t.l.holdForJob(swap(10), 'A2');
    expect(value(t.swappiness)).toBe('10');
    expect(a1?.tuned).toEqual(['sysctl:vm.swappiness=10 (was 60)']);
    await expect(t.l.holdForJob(swap(20), 'B')).rejects.toBeInstanceOf(HostBusyError);
    // Asking for nothing is a set of its own: not measured under another's tuning.
    await expect(t.l.holdForJob({ sysctls: {} }, 'C')).rejects.toBeInstanceOf(HostBusyError);
    await a1?.release();
    await expect(t.l.holdForJob(swap(20), 'B')).rejects.toBeInstanceOf(HostBusyError);
    await a2?.release();
    expect(value(t.swappiness)).toBe('60');
    const b = await t.l.holdForJob(swap(20), 'B');
    expect(value(t.swappiness)).toBe('20');
    await b?.release();
    expect(value(t.swappiness)).toBe('60');
    expect(existsSync(t.stateFile)).toBe(false);
    // Work queued by an older wayfinder carries no settings: no hold, nothing refused.
    expect(await t.l.holdForJob(undefined, 'old')).toBeUndefined();
  });

  it("a job's settings linger for the next job of the same settings; other settings end the linger at once", async () => {
    const t = lease(300);
    const a = await t.l.holdForJob(swap(10), 'A');
    await a?.release();
    expect(value(t.swappiness)).toBe('10');
    const again = await t.l.holdForJob(swap(10), 'A');
    expect(again?.tuned).toEqual(['sysctl:vm.swappiness=10 (was 60)']); // not applied twice
    await again?.release();
    const b = await t.l.holdForJob(swap(20), 'B');
    expect(value(t.swappiness)).toBe('20');
    await b?.release();
    await sleep(500);
    expect(value(t.swappiness)).toBe('60');
    expect(existsSync(t.stateFile)).toBe(false);
  });

  it("a session holds its experiment's settings throughout; its jobs join whatever they carry; another session waits", async () => {
    const t = lease();
    const s = await t.l.hold(swap(10, { aslr: false }), 'A');
    expect(value(t.aslr)).toBe('0');
    // A queue left by an earlier run of the edited file: the session's settings rule.
    const job = await t.l.holdForJob(swap(99), 'A');
    expect(job?.tuned).toEqual(s.tuned);
    await expect(t.l.holdForJob(swap(99), 'B')).rejects.toBeInstanceOf(HostBusyError);
    await job?.release();
    expect(value(t.swappiness)).toBe('10'); // the session still holds them
    let second = false;
    const waiting = t.l.hold(swap(20), 'B').then((h) => {
      second = true;
      return h;
    });
    await sleep(100);
    expect(second).toBe(false);
    await s.release();
    const b = await waiting;
    expect(value(t.swappiness)).toBe('20');
    expect(value(t.aslr)).toBe('2');
    await b.release();
    expect(value(t.swappiness)).toBe('60');
  });

  it("a session's end waits for its own jobs still finishing, and the last of them puts the settings back at once (no linger)", async () => {
    // The daemon marks an experiment done when its session ends: that must find the host as it was,
    // even when a job's hold outlives the session (it sends its last result before it cleans up).
    const t = lease(60_000);
    const s = await t.l.hold(swap(10), 'A');
    const job = await t.l.holdForJob(swap(10), 'A');
    let ended = false;
    const end = s.release().then(() => (ended = true));
    await sleep(100);
    expect(ended).toBe(false);
    expect(value(t.swappiness)).toBe('10');
    await job?.release();
    await end;
    expect(value(t.swappiness)).toBe('60');
    expect(existsSync(t.stateFile)).toBe(false);

    // Another experiment's job under the same settings keeps them: the session does not wait for it.
    const s2 = await t.l.hold(swap(10), 'A');
    const other = await t.l.holdForJob(swap(10), 'B');
    await s2.release();
    expect(value(t.swappiness)).toBe('10');
    await other?.release(); // B has no session here: its hold lingers as before
    expect(value(t.swappiness)).toBe('10');
    await t.l.close();
    expect(value(t.swappiness)).toBe('60');
  });

  it('close puts back what is held and refuses waiting sessions; a lease after a kill recovers first', async () => {
    const t = lease();
    await t.l.hold(swap(10), 'A');
    const waiting = t.l.hold(swap(20), 'B');
    await t.l.close();
    await expect(waiting).rejects.toThrow(/stopping/);
    expect(value(t.swappiness)).toBe('60');

    const killed = t.make();
    await killed.holdForJob(swap(30), 'C'); // never released: the process "was killed"
    expect(value(t.swappiness)).toBe('30');
    expect(existsSync(t.stateFile)).toBe(true);
    const next = t.make();
    expect(await next.recover()).toBe(true);
    expect(value(t.swappiness)).toBe('60');
    expect(existsSync(t.stateFile)).toBe(false);
    expect(await next.recover()).toBe(false);
  });
});
