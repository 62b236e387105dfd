import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tuneHost } from '../../src/isolation/tune-host.js';
import { tempDir } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

/** A host's /proc and /sys laid out in a temporary directory: ASLR and one sysctl, no cpufreq. */
function fakeHost(): { dir: string; procRoot: string; sysfsRoot: string } {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const procRoot = join(dir, 'proc');
  const sysfsRoot = join(dir, 'sys');
  for (const [p, v] of [
    ['sys/kernel/randomize_va_space', '2'],
    ['sys/vm/swappiness', '60'],
  ] as const) {
    mkdirSync(dirname(join(procRoot, p)), { recursive: true });
    writeFileSync(join(procRoot, p), `${v}\n`);
  }
  mkdirSync(join(sysfsRoot, 'devices/system/cpu'), { recursive: true });
  writeFileSync(join(sysfsRoot, 'devices/system/cpu/online'), '0-1\n');
  return { dir, procRoot, sysfsRoot };
}

describe('host tuning around a regress measurement', () => {
  it('applies the settings, records what changed and what the host lacks, and puts everything back', async () => {
    const h = fakeHost();
    const t = await tuneHost(h.dir, { aslr: false, governor: 'performance', sysctls: { 'vm.swappiness': '10' } }, h);
    expect(t.tuned).toEqual(expect.arrayContaining(['aslr=0 (was 2)', 'sysctl:vm.swappiness=10 (was 60)']));
    expect(t.unavailable).toEqual([expect.stringMatching(/^host governor: no cpufreq driver/)]);
    expect(readFileSync(join(h.procRoot, 'sys/kernel/randomize_va_space'), 'utf8')).toBe('0\n');
    await t.restore();
    expect(readFileSync(join(h.procRoot, 'sys/kernel/randomize_va_space'), 'utf8')).toBe('2\n');
    expect(readFileSync(join(h.procRoot, 'sys/vm/swappiness'), 'utf8')).toBe('60\n');
    expect(existsSync(join(h.dir, 'host-tuning.json'))).toBe(false);
  });

  it('what a killed measurement left changed is put back before the next one starts', async () => {
    const h = fakeHost();
    await tuneHost(h.dir, { aslr: false, sysctls: {} }, h); // never restored: the process "was killed"
    expect(readFileSync(join(h.procRoot, 'sys/kernel/randomize_va_space'), 'utf8')).toBe('0\n');
    const next = await tuneHost(h.dir, { sysctls: {} }, h);
    expect(readFileSync(join(h.procRoot, 'sys/kernel/randomize_va_space'), 'utf8')).toBe('2\n');
    expect(next.tuned).toEqual([]);
    await next.restore();
  });
});
