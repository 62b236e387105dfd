import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HostTuning } from '../../src/isolation/host.js';
import { InputError } from '../../src/types.js';
import { AMD_16CCX, GOLD_6326, layoutSysfs, type Topology } from './sysfs-fixture.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A temp host: sysfs for `topo` and a few /proc/sys files. */
function host(topo: Topology): { base: string; sysfsRoot: string; procRoot: string; stateFile: string } {
  const base = mkdtempSync(join(tmpdir(), 'wf-host-'));
  dirs.push(base);
  const sysfsRoot = layoutSysfs(base, topo);
  const procRoot = join(base, 'proc');
  const put = (p: string, v: string) => {
    mkdirSync(dirname(join(procRoot, p)), { recursive: true });
    writeFileSync(join(procRoot, p), `${v}\n`);
  };
  put('sys/kernel/randomize_va_space', '2');
  put('sys/vm/swappiness', '60');
  put('sys/net/ipv4/tcp_rmem', '4096\t131072\t6291456');
  return { base, sysfsRoot, procRoot, stateFile: join(base, 'state/host.json') };
}

const SMALL: Topology = { ...GOLD_6326, ncpus: 4, socketOf: () => 0, siblingOf: (n) => n ^ 2, l3Of: () => 0 };
const read = (p: string) => readFileSync(p, 'utf8');
const cpuFile = (sys: string, rel: string) => join(sys, 'devices/system/cpu', rel);

describe('HostTuning on a temp Gold 6326 tree', () => {
  it('applies every setting and restores exactly what was there', async () => {
    const h = host(GOLD_6326);
    const watched = [
      ...Array.from({ length: 64 }, (_, n) => cpuFile(h.sysfsRoot, `cpu${n}/cpufreq/scaling_governor`)),
      cpuFile(h.sysfsRoot, 'intel_pstate/no_turbo'),
      cpuFile(h.sysfsRoot, 'smt/control'),
      join(h.procRoot, 'sys/kernel/randomize_va_space'),
      join(h.procRoot, 'sys/vm/swappiness'),
      join(h.procRoot, 'sys/net/ipv4/tcp_rmem'),
    ];
    const before = watched.map(read);
    const t = new HostTuning(h);
    const report = await t.apply({
      governor: 'performance',
      turbo: false,
      smt: false,
      aslr: false,
      sysctls: { 'vm.swappiness': '10', 'net.ipv4.tcp_rmem': '4096 131072 6291456', 'kernel.no_such_knob': '1' },
    });
    expect(report.unavailable).toEqual([{ setting: 'sysctl:kernel.no_such_knob', reason: expect.stringMatching(/no such sysctl .*kernel\/no_such_knob missing/) }]);
    // tcp_rmem already had that value (tabs or spaces): not rewritten, not reported as a change.
    expect(report.applied.map((c) => c.setting)).toEqual([...Array(64).fill('governor'), 'turbo', 'aslr', 'sysctl:vm.swappiness', 'smt']);
    expect(report.applied.find((c) => c.setting === 'turbo')).toMatchObject({ from: '0', to: '1' });
    expect(read(cpuFile(h.sysfsRoot, 'cpu63/cpufreq/scaling_governor'))).toBe('performance\n');
    expect(read(cpuFile(h.sysfsRoot, 'intel_pstate/no_turbo'))).toBe('1\n');
    expect(read(cpuFile(h.sysfsRoot, 'smt/control'))).toBe('off\n');
    expect(read(join(h.procRoot, 'sys/kernel/randomize_va_space'))).toBe('0\n');
    expect(read(join(h.procRoot, 'sys/vm/swappiness'))).toBe('10\n');
    const saved = JSON.parse(read(h.stateFile));
    expect(saved.entries.find((e: { setting: string }) => e.setting === 'smt').value).toBe('on');
    expect(saved.unavailable).toHaveLength(1);

    await t.restore();
    expect(watched.map(read)).toEqual(before);
    expect(existsSync(h.stateFile)).toBe(false);
    await t.restore(); // nothing left to do
  });

  it('restores to the values found, not to defaults', async () => {
    const h = host(SMALL);
    writeFileSync(cpuFile(h.sysfsRoot, 'cpu2/cpufreq/scaling_governor'), 'performance\n');
    writeFileSync(join(h.procRoot, 'sys/vm/swappiness'), '33\n');
    const t = new HostTuning(h);
    await t.apply({ governor: 'powersave', sysctls: { 'vm.swappiness': '1' } });
    expect(read(cpuFile(h.sysfsRoot, 'cpu2/cpufreq/scaling_governor'))).toBe('powersave\n');
    await t.restore();
    expect(read(cpuFile(h.sysfsRoot, 'cpu2/cpufreq/scaling_governor'))).toBe('performance\n');
    expect(read(cpuFile(h.sysfsRoot, 'cpu1/cpufreq/scaling_governor'))).toBe('powersave\n');
    expect(read(join(h.procRoot, 'sys/vm/swappiness'))).toBe('33\n');
  });

  it('a write the kernel refuses undoes the earlier ones and names the setting', async () => {
    const h = host(SMALL);
    // A sysctl the kernel lets root read but not write.
    symlinkSync('/proc/sys/kernel/osrelease', join(h.procRoot, 'sys/kernel/osrelease'));
    const t = new HostTuning(h);
    await expect(t.apply({ governor: 'performance', aslr: false, sysctls: { 'kernel.osrelease': '1.0' } })).rejects.toThrow(
      /setting sysctl:kernel.osrelease to "1.0" .* failed: .*; earlier settings were restored/,
    );
    expect(read(cpuFile(h.sysfsRoot, 'cpu0/cpufreq/scaling_governor'))).toBe('powersave\n');
    expect(read(join(h.procRoot, 'sys/kernel/randomize_va_space'))).toBe('2\n');
    expect(existsSync(h.stateFile)).toBe(false);
  });

  it('refuses to apply over a snapshot an earlier run left', async () => {
    const h = host(SMALL);
    await new HostTuning(h).apply({ aslr: false, sysctls: {} });
    await expect(new HostTuning(h).apply({ aslr: false, sysctls: {} })).rejects.toThrow(/earlier run; HostTuning.recover/);
    expect(await HostTuning.recover(h.stateFile)).toBe(true);
    expect(await HostTuning.recover(h.stateFile)).toBe(false);
  });

  it('rejects a sysctl name that is not dotted', async () => {
    const h = host(SMALL);
    await expect(new HostTuning(h).apply({ sysctls: { '../../etc/passwd': 'x' } })).rejects.toBeInstanceOf(InputError);
    expect(existsSync(h.stateFile)).toBe(false);
  });
});

describe('HostTuning on other hosts', () => {
  it('AMD: turbo through cpufreq/boost; a governor the driver lacks is reported, not written', async () => {
    const h = host({ ...AMD_16CCX, ncpus: 4, l3Of: () => 0, socketOf: () => 0, siblingOf: (n) => n ^ 2 });
    const t = new HostTuning(h);
    const r = await t.apply({ governor: 'turbo-max', turbo: false, sysctls: {} });
    expect(r.unavailable).toEqual([{ setting: 'governor', reason: expect.stringMatching(/"turbo-max" not offered \(available: .*schedutil/) }]);
    expect(read(cpuFile(h.sysfsRoot, 'cpufreq/boost'))).toBe('0\n');
    expect(read(cpuFile(h.sysfsRoot, 'cpu0/cpufreq/scaling_governor'))).toBe('ondemand\n');
    await t.restore();
    expect(read(cpuFile(h.sysfsRoot, 'cpufreq/boost'))).toBe('1\n');
  });

  it('a host without cpufreq, turbo control or SMT control reports each once', async () => {
    const h = host({ ...SMALL, cpufreq: undefined, smt: 'notsupported' });
    const r = await new HostTuning(h).apply({ governor: 'performance', turbo: false, smt: false, sysctls: {} });
    expect(r.applied).toEqual([]);
    expect(r.unavailable.map((u) => u.setting)).toEqual(['governor', 'turbo', 'smt']);
    expect(r.unavailable[2]?.reason).toBe('SMT control is "notsupported"');
  });
});

describe('HostTuning on this machine', () => {
  const swappiness = '/proc/sys/vm/swappiness';

  it('sets a real sysctl and puts the original back', async () => {
    const base = mkdtempSync(join(tmpdir(), 'wf-host-'));
    dirs.push(base);
    const original = read(swappiness).trim();
    const other = original === '1' ? '2' : '1';
    const t = new HostTuning({ stateFile: join(base, 'host.json') });
    const r = await t.apply({ sysctls: { 'vm.swappiness': other } });
    try {
      expect(r.applied).toEqual([{ setting: 'sysctl:vm.swappiness', path: swappiness, from: original, to: other }]);
      expect(read(swappiness).trim()).toBe(other);
    } finally {
      await t.restore();
    }
    expect(read(swappiness).trim()).toBe(original);
  });

  it('after the tuning process is SIGKILLed, recover restores what was there before', async () => {
    const h = host(SMALL);
    const original = read(swappiness).trim();
    const other = original === '1' ? '2' : '1';
    const settings = { governor: 'performance', turbo: false, sysctls: { 'vm.swappiness': other } };
    const script = join(import.meta.dirname, 'host-child.ts');
    // Its own process group, so SIGKILL reaches npx, tsx and node alike.
    const child = spawn('npx', ['tsx', script, h.stateFile, h.sysfsRoot, '/proc', JSON.stringify(settings)], {
      detached: true,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((r) => child.on('exit', r));
    try {
      const report = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(out);
        });
        child.on('exit', (c) => reject(new Error(`tuning child exited early with ${c}`)));
      });
      expect(JSON.parse(report).applied).toHaveLength(6);
    } finally {
      process.kill(-(child.pid as number), 'SIGKILL');
      await exited;
    }
    expect(read(swappiness).trim()).toBe(other);
    expect(read(cpuFile(h.sysfsRoot, 'cpu3/cpufreq/scaling_governor'))).toBe('performance\n');
    expect(read(cpuFile(h.sysfsRoot, 'intel_pstate/no_turbo'))).toBe('1\n');

    expect(await HostTuning.recover(h.stateFile)).toBe(true);
    expect(read(swappiness).trim()).toBe(original);
    expect(read(cpuFile(h.sysfsRoot, 'cpu3/cpufreq/scaling_governor'))).toBe('powersave\n');
    expect(read(cpuFile(h.sysfsRoot, 'intel_pstate/no_turbo'))).toBe('0\n');
    expect(existsSync(h.stateFile)).toBe(false);
  });
});
