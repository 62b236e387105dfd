// The stand-in must behave like the kernel, or the resctrl tests prove nothing: its tree and the
// rules it applies to writes that production code does not make (cpus, mode, malformed tasks).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FakeResctrl, type FakeOptions } from './fake-resctrl.js';
import { disposeSharedSysfs } from './sysfs-fixture.js';

const fakes: FakeResctrl[] = [];
afterEach(() => {
  for (const f of fakes.splice(0)) f.dispose();
});
afterAll(disposeSharedSysfs);
function fake(opts: FakeOptions = {}): FakeResctrl {
  const f = new FakeResctrl(opts);
  fakes.push(f);
  return f;
}
async function refused(f: FakeResctrl, op: Promise<unknown>, code: string, status: string): Promise<void> {
  await expect(op).rejects.toMatchObject({ code });
  expect(await f.readFile('info/last_cmd_status')).toBe(`${status}\n`);
}

describe('fake resctrl tree (resctrl.md §1.10 A)', () => {
  it('lays out the default mount of the Gold 6326', async () => {
    const f = fake();
    expect(await f.readFile('schemata')).toBe('    MB:0=100;1=100\n    L3:0=fff;1=fff\n');
    expect(await f.readFile('size')).toBe('    MB:0=100;1=100\n    L3:0=25165824;1=25165824\n');
    expect(await f.readFile('cpus')).toBe('ffffffff,ffffffff\n');
    expect(await f.readFile('cpus_list')).toBe('0-63\n');
    expect(await f.readFile('tasks')).toBe('1\n2\n3\n');
    expect(await f.readFile('info/L3/bit_usage')).toBe('0=SSSSSSSSSSSS;1=SSSSSSSSSSSS\n');
    expect(await f.readFile('info/L3_MON/mon_features')).toBe('llc_occupancy\nmbm_total_bytes\nmbm_local_bytes\n');
    expect(await f.readFile('mon_data/mon_L3_01/llc_occupancy')).toBe('0\n');
    expect(readFileSync(join(f.procRoot, 'mounts'), 'utf8')).toContain('resctrl /sys/fs/resctrl resctrl rw,relatime 0 0');
    expect(readFileSync(join(f.sysfsRoot, 'devices/system/cpu/cpu33/topology/core_cpus'), 'utf8')).toBe('00000002,00000002\n');
  });

  it('lays out the cdp root schemata', async () => {
    expect(await fake({ variant: 'cdp' }).readFile('schemata')).toBe('    MB:0=100;1=100\nL3DATA:0=fff;1=fff\nL3CODE:0=fff;1=fff\n');
  });

  it('mkdir: new groups get the kernel defaults; the eighth is out of CLOSIDs', async () => {
    const f = fake();
    await f.mkdir('g1');
    expect(await f.readFile('g1/schemata')).toBe('    MB:0=100;1=100\n    L3:0=fff;1=fff\n');
    expect(await f.readFile('g1/cpus')).toBe('00000000,00000000\n');
    expect(await f.readFile('g1/cpus_list')).toBe('\n');
    expect(await f.readFile('g1/tasks')).toBe('');
    for (let i = 2; i <= 7; i++) await f.mkdir(`g${i}`);
    await refused(f, f.mkdir('g8'), 'ENOSPC', 'Out of CLOSIDs');
    await f.rmdir('g3');
    await f.mkdir('g8');
  });

  it('a new group takes shareable and unused ways, not an exclusive group\'s', async () => {
    const f = fake();
    await f.writeFile('schemata', 'L3:0=f;1=f\n');
    await f.mkdir('ex');
    await f.writeFile('ex/schemata', 'L3:0=ff0;1=ff0\n');
    await f.writeFile('ex/mode', 'exclusive\n');
    expect(await f.readFile('info/L3/bit_usage')).toBe('0=EEEEEEEESSSS;1=EEEEEEEESSSS\n');
    await f.mkdir('n');
    expect(await f.readFile('n/schemata')).toBe('    MB:0=100;1=100\n    L3:0=f;1=f\n');
  });

  it('mode: exclusive is refused while the masks overlap another group', async () => {
    const f = fake();
    await f.mkdir('g');
    await refused(f, f.writeFile('g/mode', 'exclusive\n'), 'EINVAL', 'schemata overlaps');
    await refused(f, f.writeFile('g/mode', 'bogus\n'), 'EINVAL', 'Unknown or unsupported mode');
  });

  it('exclusive groups refuse overlapping masks from others and for themselves', async () => {
    const f = fake();
    await f.writeFile('schemata', 'L3:0=ff;1=ff\n');
    await f.mkdir('ex');
    await f.writeFile('ex/schemata', 'L3:0=f00;1=f00\n');
    await f.writeFile('ex/mode', 'exclusive\n');
    await refused(f, f.writeFile('schemata', 'L3:0=fff\n'), 'EINVAL', 'Overlaps with exclusive group');
    await refused(f, f.writeFile('ex/schemata', 'L3:0=f80\n'), 'EINVAL', 'Overlaps with other group');
  });

  it('tasks: parse errors, negative pids, and moves that leave earlier ones done', async () => {
    const f = fake();
    await f.mkdir('g');
    await refused(f, f.writeFile('g/tasks', 'abc\n'), 'EINVAL', 'Task list parsing error pid abc');
    await refused(f, f.writeFile('g/tasks', '-3\n'), 'EINVAL', 'Invalid pid -3');
    await refused(f, f.writeFile('g/tasks', `${process.pid},4194304\n`), 'ESRCH', 'No task 4194304\nError while processing task 4194304');
    expect(await f.readFile('g/tasks')).toBe(`${process.pid}\n`);
    await f.writeFile('tasks', '0\n');
    expect(await f.readFile('g/tasks')).toBe('');
  });

  it('cpus and cpus_list: parse, move between groups, never drop from the default group', async () => {
    const f = fake();
    await f.mkdir('g');
    await f.writeFile('g/cpus_list', '16-31\n');
    expect(await f.readFile('g/cpus')).toBe('00000000,ffff0000\n');
    expect(await f.readFile('cpus_list')).toBe('0-15,32-63\n');
    await f.writeFile('g/cpus', '00000000,00ff0000\n');
    expect(await f.readFile('cpus_list')).toBe('0-15,24-63\n');
    await refused(f, f.writeFile('g/cpus_list', 'x-y\n'), 'EINVAL', 'Bad CPU list/mask');
    await refused(f, f.writeFile('g/cpus_list', '64\n'), 'EINVAL', 'Can only assign online CPUs');
    await refused(f, f.writeFile('cpus_list', '0-15\n'), 'EINVAL', "Can't drop CPUs from default group");
    await f.rmdir('g');
    expect(await f.readFile('cpus_list')).toBe('0-63\n');
  });

  it('rmdir: the default group and info cannot go; unknown groups are ENOENT', async () => {
    const f = fake();
    await expect(f.rmdir('info')).rejects.toMatchObject({ code: 'EPERM' });
    await expect(f.rmdir('nope')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(f.writeFile('info/L3/cbm_mask', 'f\n')).rejects.toMatchObject({ code: 'EACCES' });
  });
});
