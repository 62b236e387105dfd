import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Resctrl, ResctrlError } from '../../src/isolation/resctrl.js';
import { parseCbm } from '../../src/isolation/resctrl-schemata.js';
import { FakeResctrl, type FakeOptions } from './fake-resctrl.js';
import { disposeSharedSysfs } from './sysfs-fixture.js';

const fakes: FakeResctrl[] = [];
afterEach(() => {
  for (const f of fakes.splice(0)) f.dispose();
});
afterAll(disposeSharedSysfs);

async function setup(opts: FakeOptions = {}): Promise<{ fake: FakeResctrl; rc: Resctrl; stateFile: string }> {
  const fake = new FakeResctrl(opts);
  fakes.push(fake);
  const stateFile = join(fake.base, 'state/resctrl-default.schemata');
  const rc = await Resctrl.detect({ fs: fake, procRoot: fake.procRoot, sysfsRoot: fake.sysfsRoot, stateFile });
  if (!rc) throw new Error('detect found no resctrl in the fake');
  return { fake, rc, stateFile };
}

/** Masks of one cache line of a group's schemata, by domain. */
async function masks(rc: Resctrl, group: string, line = 'L3'): Promise<Record<number, number>> {
  const s = await rc.readSchemata(group);
  return Object.fromEntries([...(s.get(line) ?? new Map<number, string>())].map(([d, v]) => [d, parseCbm(v)]));
}

describe('Resctrl.detect', () => {
  it('Gold 6326: two L3 domains on the socket CPU sets, 12 ways, 7 groups, MB in steps of 10', async () => {
    const { rc } = await setup();
    const i = rc.info;
    expect(i.domains).toEqual([0, 1]);
    expect(i.cpusOfDomain.get(0)).toEqual([...range(0, 15), ...range(32, 47)]);
    expect(i.cpusOfDomain.get(1)).toEqual([...range(16, 31), ...range(48, 63)]);
    expect(i.l3?.cbmLen).toBe(12);
    expect((i.l3SizeBytes as number) / (i.l3?.cbmLen as number)).toBe(2097152);
    expect(i.numClosids).toBe(8);
    expect(i.groupLimit).toBe(7);
    expect(i.mb).toMatchObject({ min: 10, gran: 10, max: 100, unit: 'percent', throttleMode: 'per-thread', linear: true });
    expect(i.cdp).toBe(false);
    expect(i.l3Lines).toEqual(['L3']);
  });

  it('cdp mount: L3CODE and L3DATA lines, CLOSIDs halved', async () => {
    const { rc } = await setup({ variant: 'cdp' });
    expect(rc.info.cdp).toBe(true);
    expect(rc.info.l3Lines).toEqual(['L3CODE', 'L3DATA']);
    expect(rc.info.numClosids).toBe(8);
  });

  it('AMD: 16 L3 domains (one per CCX), sparse masks, bandwidth in 1/8 GB/s up to 2048', async () => {
    const { rc } = await setup({ variant: 'amd' });
    expect(rc.info.domains).toEqual(range(0, 15));
    expect(rc.info.cpusOfDomain.get(3)).toEqual([6, 7, 38, 39]);
    expect(rc.info.l3).toMatchObject({ cbmLen: 16, sparse: true, minCbmBits: 0 });
    expect(rc.info.mb).toMatchObject({ unit: 'amd', max: 2048 });
    expect(rc.info.groupLimit).toBe(15);
  });

  it('mba_MBps mount: bandwidth in MiB/s', async () => {
    const { rc } = await setup({ variant: 'mba_MBps' });
    expect(rc.info.mountOptions).toContain('mba_MBps');
    expect(rc.info.mb).toMatchObject({ unit: 'MBps', max: 4294967295 });
  });

  it('a host without resctrl yields undefined', async () => {
    const fake = new FakeResctrl({ variant: 'no-rdt' });
    fakes.push(fake);
    expect(await Resctrl.detect({ procRoot: fake.procRoot, sysfsRoot: fake.sysfsRoot })).toBeUndefined();
  });

  it('mounts resctrl where the kernel offers it unmounted, and unmounts it when done (also for a killed predecessor)', async () => {
    const fake = new FakeResctrl({ unmounted: true });
    fakes.push(fake);
    const mounts = join(fake.procRoot, 'mounts');
    const calls = join(fake.base, 'calls.log');
    // Stand-ins for mount(8) and umount(8) that change the fake /proc/mounts as the kernel would.
    const mountIfAbsent = {
      mount: ['sh', '-c', `echo "mount $*" >> ${calls}; echo "resctrl $4 resctrl rw,relatime 0 0" >> ${mounts}`, 'mount'],
      umount: ['sh', '-c', `echo "umount $*" >> ${calls}; grep -v ' resctrl ' ${mounts} > ${mounts}.new; mv ${mounts}.new ${mounts}`, 'umount'],
    };
    const stateFile = join(fake.base, 'state/resctrl-default.schemata');
    const marker = join(fake.base, 'state/resctrl-mounted-by-wayfinder');
    const target = join(fake.sysfsRoot, 'fs/resctrl');
    const opts = { fs: fake, procRoot: fake.procRoot, sysfsRoot: fake.sysfsRoot, stateFile, mountIfAbsent };

    const rc = await Resctrl.detect(opts);
    expect(rc?.info.domains).toEqual([0, 1]);
    expect(readFileSync(calls, 'utf8')).toBe(`mount -t resctrl resctrl ${target}\n`);
    expect(readFileSync(marker, 'utf8').trim()).toBe(target);
    // A second process finds it mounted and mounts nothing; the mount stays ours until unmounted.
    const again = await Resctrl.detect(opts);
    expect(readFileSync(calls, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
    expect(await again?.unmountIfOurs()).toBe(true);
    expect(readFileSync(calls, 'utf8')).toMatch(new RegExp(`umount ${target}\n$`));
    expect(readFileSync(mounts, 'utf8')).not.toMatch(/resctrl/);
    expect(existsSync(marker)).toBe(false);
    expect(await rc?.unmountIfOurs()).toBe(false);

    // Told not to mount, it does not.
    expect(await Resctrl.detect({ ...opts, mountIfAbsent: false })).toBeUndefined();
    expect(readFileSync(calls, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
  });
});

describe('Resctrl allocation on the Gold 6326', () => {
  it('gives each job disjoint ways on its domain and shrinks the default group to the rest', async () => {
    const { rc } = await setup();
    const a = await rc.allocate('a', { l3Ways: 4, mbPercent: 33, domains: [0] });
    expect(a.group).toBe('wf-a');
    expect(a.l3Masks).toEqual({ 0: 'f00' });
    expect(a.mb).toEqual({ 0: 40 });
    const b = await rc.allocate('b', { l3Ways: 3, domains: [0, 1] });
    expect(b.l3Masks).toEqual({ 0: 'e0', 1: 'e00' });
    expect(await masks(rc, '')).toEqual({ 0: 0x01f, 1: 0x1ff });
    // Outside its own domain a job gets what the default group has, overlapping no other job.
    expect(await masks(rc, 'wf-a')).toEqual({ 0: 0xf00, 1: 0x1ff });
    expect((await rc.readSchemata('wf-a')).get('MB')).toEqual(new Map([[0, '40'], [1, '100']]));
    expect((await rc.readSchemata('wf-b')).get('MB')).toEqual(new Map([[0, '100'], [1, '100']]));

    await rc.release('a');
    // b's ways split the free ones in two; the default group keeps the longer run (the kernel wants it contiguous).
    expect(await masks(rc, '')).toEqual({ 0: 0x01f, 1: 0x1ff });
    expect(await masks(rc, 'wf-b')).toEqual({ 0: 0x0e0, 1: 0xe00 });
    await rc.release('b');
    expect(await masks(rc, '')).toEqual({ 0: 0xfff, 1: 0xfff });
    expect(await rc.fs.readdir('')).not.toContain('wf-b');
  });

  it('keeps jobs off the ways devices share (shareable_bits) while others are free', async () => {
    const { fake, rc } = await setup({ shareableBits: 0xc00 });
    const g = await rc.allocate('io', { l3Ways: 3, domains: [0] });
    // With the shared ways on top, jobs stack from the bottom so the default group stays one run.
    expect(g.l3Masks).toEqual({ 0: '7' });
    expect(await fake.readFile('info/L3/bit_usage')).toBe('0=XXSSSSSSSSSS;1=XXSSSSSSSSSS\n');
    expect(await masks(rc, '')).toEqual({ 0: 0xff8, 1: 0xfff });
    const next = await rc.allocate('io2', { l3Ways: 2, domains: [0] });
    expect(next.l3Masks).toEqual({ 0: '18' });
  });

  it('puts the launcher into the group, and its tasks go back to the default group on release', async () => {
    const { rc } = await setup();
    await rc.allocate('job1', { l3Ways: 2, domains: [1] });
    await rc.assign('job1', process.pid);
    expect((await rc.fs.readFile('wf-job1/tasks')).split('\n')).toContain(String(process.pid));
    expect((await rc.fs.readFile('tasks')).split('\n')).not.toContain(String(process.pid));
    await rc.release('job1');
    expect((await rc.fs.readFile('tasks')).split('\n')).toContain(String(process.pid));
  });

  it('restores the default group to what it was before, not to full masks', async () => {
    const { fake, rc, stateFile } = await setup();
    await fake.writeFile('schemata', 'L3:0=3ff\nMB:1=70\n');
    await rc.allocate('x', { l3Ways: 2, domains: [0] });
    expect(existsSync(stateFile)).toBe(true);
    expect(await masks(rc, '')).toEqual({ 0: 0x3ff, 1: 0xfff });
    await rc.release('x');
    expect(await masks(rc, '')).toEqual({ 0: 0x3ff, 1: 0xfff });
    expect((await rc.readSchemata('')).get('MB')?.get(1)).toBe('70');
    expect(existsSync(stateFile)).toBe(false);
  });

  it('reapStale in a new process removes every wf-* group and restores the saved default group', async () => {
    const { fake, rc, stateFile } = await setup();
    await rc.allocate('j1', { l3Ways: 4, domains: [0] });
    await rc.allocate('j2', { l3Ways: 4, mbPercent: 50, domains: [1] });
    await fake.mkdir('other'); // not ours: must survive
    // The first process is gone; a second one finds the leftovers.
    const again = await Resctrl.detect({ fs: fake, procRoot: fake.procRoot, sysfsRoot: fake.sysfsRoot, stateFile });
    const removed = await again!.reapStale();
    expect(removed).toEqual(['wf-j1', 'wf-j2']);
    expect((await fake.readdir('')).filter((n) => n.startsWith('wf-'))).toEqual([]);
    expect(await fake.exists('other/schemata')).toBe(true);
    expect(await masks(again!, '')).toEqual({ 0: 0xfff, 1: 0xfff });
    expect(existsSync(stateFile)).toBe(false);
  });

  it('refuses requests that cannot be met, naming what was wrong', async () => {
    const { rc } = await setup();
    await expect(rc.allocate('a', { l3Ways: 12, domains: [0] })).rejects.toThrow(/l3Ways 12 out of range \[1,11\]/);
    await expect(rc.allocate('a', { l3Ways: 2, domains: [2] })).rejects.toThrow(/L3 domain 2 does not exist \(domains: 0, 1\)/);
    await expect(rc.allocate('a/b', { l3Ways: 2, domains: [0] })).rejects.toThrow(/job id "a\/b"/);
    await expect(rc.allocate('a', { mbPercent: 120, domains: [0] })).rejects.toThrow(/mbPercent 120/);
    await expect(rc.allocate('a', { mbMBps: 100, domains: [0] })).rejects.toThrow(/mba_MBps/);
    await rc.allocate('a', { l3Ways: 8, domains: [0] });
    await expect(rc.allocate('b', { l3Ways: 4, domains: [0] })).rejects.toThrow(/no 4 contiguous free ways on L3 domain 0/);
    await expect(rc.allocate('a', { l3Ways: 1, domains: [1] })).rejects.toThrow(/already has an allocation/);
    await expect(rc.assign('nope', process.pid)).rejects.toThrow(/no allocation for job "nope"/);
    for (let i = 0; i < 6; i++) await rc.allocate(`m${i}`, { mbPercent: 50, domains: [1] });
    await expect(rc.allocate('late', { mbPercent: 50, domains: [1] })).rejects.toThrow(/all 7 resctrl groups are in use/);
  });
});

describe('kernel refusals become errors with the kernel reason (§1.7)', () => {
  it('mkdir beyond the CLOSIDs: ENOSPC Out of CLOSIDs, and nothing is left behind', async () => {
    const { fake, rc } = await setup();
    for (let i = 0; i < 6; i++) await fake.mkdir(`foreign${i}`);
    await rc.allocate('first', { l3Ways: 2, domains: [0] });
    const err = await rc.allocate('second', { l3Ways: 2, domains: [1] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResctrlError);
    expect((err as ResctrlError).code).toBe('ENOSPC');
    expect((err as Error).message).toMatch(/mkdir wf-second .*ENOSPC: Out of CLOSIDs/);
    expect(rc.allocations()).toEqual(['first']);
  });

  it('ways overlapping a foreign exclusive group: the group is removed and the default group restored', async () => {
    const { fake, rc } = await setup();
    await fake.writeFile('schemata', 'L3:0=3ff;1=3ff\n');
    await fake.mkdir('excl');
    await fake.writeFile('excl/schemata', 'L3:0=c00;1=c00\n');
    await fake.writeFile('excl/mode', 'exclusive\n');
    const err = await rc.allocate('j', { l3Ways: 2, domains: [0] }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/wf-j\/schemata .*EINVAL: Overlaps with exclusive group/);
    expect(await fake.exists('wf-j')).toBe(false);
    expect(await masks(rc, '')).toEqual({ 0: 0x3ff, 1: 0x3ff });
  });

  const schemataCases: Array<[string, string, RegExp]> = [
    ['no trailing newline', 'L3:0=fff', /EINVAL: no reason given/],
    ['no colon', 'L3\n', /Missing ':'/],
    ['no value', 'L3:\n', /Missing 'L3' value/],
    ['unknown resource', 'L4:0=f\n', /Unknown or unsupported resource name 'L4'/],
    ['no =', 'L3:0fff\n', /Missing '=' or non-numeric domain/],
    ['blank before the domain id', 'L3: 0=fff\n', /Missing '=' or non-numeric domain/],
    ['unknown domain', 'L3:7=f\n', /EINVAL: no reason given \(an unknown domain id/],
    ['duplicate domain', 'L3:0=f;0=f\n', /Duplicate domain 0/],
    ['not hex', 'L3:0=xyz\n', /Non-hex character in the mask xyz/],
    ['zero mask', 'L3:0=0\n', /Mask out of range/],
    ['beyond cbm_mask', 'L3:0=1fff\n', /Mask out of range/],
    ['holes', 'L3:0=f0f\n', /The mask f0f has non-consecutive 1-bits/],
    ['MB not a number', 'MB:0=abc\n', /Invalid MB value abc/],
    ['MB below the minimum', 'MB:0=5\n', /MB value 5 out of range \[10,100\]/],
  ];
  for (const [what, text, reason] of schemataCases) {
    it(`schemata: ${what}`, async () => {
      const { fake, rc } = await setup();
      await fake.mkdir('g');
      const before = await fake.readFile('g/schemata');
      await expect(rc.writeSchemata('g', text)).rejects.toThrow(reason);
      expect(await fake.readFile('g/schemata')).toBe(before);
    });
  }

  it('schemata: a failed multi-line write changes nothing (staged, then applied)', async () => {
    const { fake, rc } = await setup();
    await fake.mkdir('g');
    await expect(rc.writeSchemata('g', 'L3:0=f\nMB:0=5\n')).rejects.toThrow(/out of range/);
    expect((await masks(rc, 'g'))[0]).toBe(0xfff);
  });

  it('schemata: too few bits with min_cbm_bits 2', async () => {
    const { fake, rc } = await setup({ minCbmBits: 2 });
    await fake.mkdir('g');
    await expect(rc.writeSchemata('g', 'L3:0=1\n')).rejects.toThrow(/Need at least 2 bits in the mask/);
  });

  it('tasks: a TID that does not exist gives ESRCH and both lines of the status', async () => {
    const { rc } = await setup();
    await rc.allocate('t', { l3Ways: 1, domains: [0] });
    const child = spawn('true');
    const pid = child.pid as number;
    await new Promise((r) => child.on('exit', r));
    const err = (await rc.assign('t', pid).catch((e: unknown) => e)) as ResctrlError;
    expect(err.code).toBe('ESRCH');
    expect(err.message).toContain(`No task ${pid}; Error while processing task ${pid}`);
    await expect(rc.assign('t', -3)).rejects.toThrow(/pid -3 is not a positive integer/);
  });
});

describe('the other variants, end to end', () => {
  it('cdp: a job mask goes to both L3CODE and L3DATA, the default group shrinks on both', async () => {
    const { rc } = await setup({ variant: 'cdp' });
    await rc.allocate('c', { l3Ways: 3, domains: [1] });
    for (const line of ['L3CODE', 'L3DATA']) {
      expect(await masks(rc, 'wf-c', line)).toEqual({ 0: 0xfff, 1: 0xe00 });
      expect(await masks(rc, '', line)).toEqual({ 0: 0xfff, 1: 0x1ff });
    }
    await rc.release('c');
    expect(await masks(rc, '', 'L3DATA')).toEqual({ 0: 0xfff, 1: 0xfff });
  });

  it('old-kernel formatting: padded values are read and the original text comes back', async () => {
    const { fake, rc } = await setup({ variant: 'old-kernel' });
    const before = await fake.readFile('schemata');
    expect(before).toBe('L3:0=fff;1=fff\nMB:0=100;1=100\n');
    await rc.allocate('o', { l3Ways: 9, mbPercent: 45, domains: [0] });
    expect(await fake.readFile('schemata')).toBe('L3:0=007;1=fff\nMB:0=100;1=100\n');
    expect(await fake.readFile('wf-o/schemata')).toBe('L3:0=ff8;1=fff\nMB:0= 50;1=100\n');
    await rc.release('o');
    expect(await fake.readFile('schemata')).toBe(before);
  });

  it('AMD: only the job domain is carved; a percent becomes 1/8 GB/s units', async () => {
    const { rc } = await setup({ variant: 'amd' });
    const g = await rc.allocate('z', { l3Ways: 4, mbPercent: 50, domains: [3] });
    expect(g.l3Masks).toEqual({ 3: 'f000' });
    expect(g.mb).toEqual({ 3: 1024 });
    const root = await masks(rc, '');
    expect(root[3]).toBe(0x0fff);
    expect(Object.values(root).filter((m) => m === 0xffff)).toHaveLength(15);
    await rc.release('z');
    expect(Object.values(await masks(rc, '')).every((m) => m === 0xffff)).toBe(true);
  });

  it('mba_MBps: the cap is written in MiB/s, other domains stay unlimited', async () => {
    const { fake, rc } = await setup({ variant: 'mba_MBps' });
    await rc.allocate('bw', { mbMBps: 2000, domains: [0] });
    expect((await rc.readSchemata('wf-bw')).get('MB')).toEqual(new Map([[0, '2000'], [1, '4294967295']]));
    expect(await fake.readFile('wf-bw/mba_MBps_event')).toBe('mbm_local_bytes\n');
    await expect(rc.allocate('p', { mbPercent: 50, domains: [0] })).rejects.toThrow(/give mbMBps/);
  });
});

function range(lo: number, hi: number): number[] {
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}
