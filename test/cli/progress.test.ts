import { describe, expect, it } from 'vitest';
import { Progress, shortError } from '../../src/cli/progress.js';
import type { ConfigRow } from '../../src/store/store.js';

const objective = { metric: 'v', direction: 'maximize' as const };

function row(i: number, status: 'done' | 'failed' = 'done'): ConfigRow {
  return { experimentId: 'e', configId: `${i}`.padStart(32, 'c'), buildId: 'b', seq: i, params: {}, isDefault: i === 0, status, ...(status === 'done' ? { objective: 10 + i } : {}), createdAt: 0 };
}

function sink(): { out: { write: (s: string) => boolean }; text: () => string } {
  let text = '';
  return { out: { write: (s: string) => ((text += s), true) }, text: () => text };
}

describe('progress of a run', () => {
  it('says where a resumed run starts, and estimates the time left from this run\'s own pace', () => {
    let now = 1_000_000;
    const s = sink();
    const p = new Progress(8, objective, s.out, false, () => now);
    // Three configurations measured by an earlier run, long ago.
    p.preload([row(0), row(1), row(2, 'failed'), { ...row(3), status: 'running' }], { announce: true });
    expect(s.text()).toBe('resuming 3/8: 3 configuration(s) measured before (best v 11.00), 5 to go\n');
    expect(p.eta()).toBeUndefined(); // nothing measured by this run yet: no pace to go by
    now += 10_000;
    p.finished(row(4));
    // One configuration in 10 s, four to go: 40 s (not 10 s / 4 done x 4 left, as counting the earlier ones would).
    expect(p.eta()).toBe(40_000);
    expect(s.text()).toContain(`[4/8] ${row(4).configId.slice(0, 8)} v = 14.00  (~40s left)\n`);
  });

  it('draws the time left on a terminal', () => {
    let now = 0;
    const s = sink();
    const p = new Progress(4, objective, { ...s.out, isTTY: true }, false, () => now);
    p.preload([row(0)]);
    now += 5_000;
    p.finished(row(1));
    expect(s.text()).toMatch(/\r\x1b\[2K\[#+\.+\] 2\/4 · 0 failed · best 11\.00 · 10s left$/);
  });

  it('says nothing of resuming for a fresh run', () => {
    const s = sink();
    const p = new Progress(4, objective, s.out, false, () => 0);
    p.preload([], { announce: true });
    expect(s.text()).toBe('');
  });

  it('a long failure keeps its cause, the last line, whole: the middle is cut, not the end', () => {
    const notes = Array.from({ length: 3 }, (_, i) => `wayfinder: kconfig: CONFIG_LWIP_X${i} requested 4, resolved to n (its dependencies decide); the effective value is recorded`);
    const cause = 'unikraft: missing source archive UNIKRAFT-2_1_x.zip: not in the archive cache /wd/archives, and downloading https://github.com/unikraft/fork-lwip/archive/refs/heads/UNIKRAFT-2_1_x.zip failed';
    const error = `build exit status 5: ${[...notes, 'make: *** [Makefile:1170: sub-make] Error 2', cause].join(' | ')}`;
    const short = shortError(error);
    expect(short.startsWith('build exit status 5: ')).toBe(true);
    expect(short.endsWith(` | ${cause}`)).toBe(true);
    expect(short).toContain('…');
    // The cause is longer than the line's 200: nothing but the head and it remain.
    expect(short).toBe(`build exit status 5: … | ${cause}`);
    // Short ones are left alone; one long line alone is cut at its end only past 400 characters.
    expect(shortError('build exit status 2: no')).toBe('build exit status 2: no');
    expect(shortError('x'.repeat(300))).toBe('x'.repeat(300));
    // Through the progress line of a run.
    const s = sink();
    const p = new Progress(2, objective, s.out, false, () => 0);
    p.finished({ ...row(1, 'failed'), failure: 'build', error });
    expect(s.text()).toContain(cause);
  });
});
