// A test's VM: a fresh qemu-system-x86_64 for every run, its vCPU threads pinned to the job's CPUs,
// its serial console in a file, user-mode networking with guest ports forwarded to 127.0.0.1.
// Measured: time from process start to the console marker and to the first connection, image size,
// and on request the least memory the guest boots in. Every VM is torn down (its process group
// killed) when the run ends, and recorded in the process registry so a later start reaps it.

import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, createServer, type Socket } from 'node:net';
import { isAbsolute, join, resolve } from 'node:path';
import { parseSize } from '../spec/units.js';
import type { VmSpec } from '../types.js';
import { ExpandError, expand } from '../util/expand.js';
import { deathSignalPrefix, signalGroup } from './process.js';
import type { ProcessRegistry } from './registry.js';
import { QmpClient } from './qmp.js';

export const QEMU = 'qemu-system-x86_64';
const TAP = 'tap0';
let netnsCount = 0;

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new VmError(`vm: ip ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`);
}

/**
 * A network namespace of the VM's own with a tap device holding the host side's address. Named
 * with the work directory's prefix, so that a wayfinder started after a crash deletes it.
 */
function makeTapNetns(vm: VmSpec, ctx: VmContext, tag: string): string {
  if (ctx.netns !== undefined) {
    // A namespace the caller made (a container's): only the tap is ours, made for this boot.
    const ns = ctx.netns;
    ip(['-n', ns, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap']);
    try {
      ip(['-n', ns, 'addr', 'add', (vm.tap as { host: string }).host, 'dev', TAP]);
      ip(['-n', ns, 'link', 'set', TAP, 'up']);
    } catch (e) {
      spawnSync('ip', ['-n', ns, 'link', 'del', TAP]);
      throw e;
    }
    return ns;
  }
  const ns = `${ctx.env.WAYFINDER_NETNS_PREFIX ?? 'wf'}-vm-${process.pid}-${++netnsCount}${tag}`;
  ip(['netns', 'add', ns]);
  try {
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    ip(['-n', ns, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap']);
    ip(['-n', ns, 'addr', 'add', (vm.tap as { host: string }).host, 'dev', TAP]);
    ip(['-n', ns, 'link', 'set', TAP, 'up']);
  } catch (e) {
    spawnSync('ip', ['netns', 'del', ns]);
    throw e;
  }
  return ns;
}

export interface VmContext {
  /** The run's directory: console, QMP socket and QEMU's own output go here. */
  dir: string;
  /** The run's environment: ${NAME} in the VM's strings expands from it. */
  env: Record<string, string>;
  /** Relative kernel and initrd paths are resolved against this directory. */
  baseDir: string;
  cpus: number[];
  /** The job's confinement (cpuset cgroup, resctrl group, affinity); without it, taskset to `cpus`. */
  wrap?: (argv: string[]) => string[];
  registry: ProcessRegistry;
  key: string;
  measureFootprint: boolean;
  /**
   * net: tap: an existing network namespace (ip netns) to put the tap in, instead of one of the
   * VM's own: a container's, so that its command reaches the guest. The caller removes it.
   */
  netns?: string;
}

export interface RunningVm {
  metrics: Record<string, number>;
  /** For the test's command: where the guest's forwarded ports are. */
  env: Record<string, string>;
  notes: string[];
  stop(): Promise<void>;
}

export class VmError extends Error {}

/** MiB of a memory setting such as "64M", "1G" or "128". */
export function memoryMiB(text: string): number {
  const t = text.trim();
  const bytes = /^\d+$/.test(t) ? Number(t) * 2 ** 20 : parseSize(t);
  if (bytes === undefined || bytes < 2 ** 20) throw new VmError(`vm: bad memory size '${text}'`);
  return Math.floor(bytes / 2 ** 20);
}

let kvmWorks: boolean | undefined;

/**
 * Whether KVM really runs guests here. QEMU opening /dev/kvm proves little (a nested host may
 * initialise KVM and then hang in the first option ROM), so the probe boots the firmware alone,
 * with no disk, and waits for SeaBIOS to finish its boot order on the debug console.
 */
export function probeKvm(): boolean {
  if (kvmWorks !== undefined) return kvmWorks;
  if (!existsSync('/dev/kvm')) return (kvmWorks = false);
  const dir = mkdtempSync(join(tmpdir(), 'wf-kvm-probe-'));
  try {
    const log = join(dir, 'debugcon.log');
    spawnSync(
      'timeout',
      // The same CPU model as a KVM guest gets (launch): some hosts accept KVM but not the host CPU's MSRs.
      ['5', QEMU, '-M', 'pc', '-accel', 'kvm', '-cpu', 'host', '-m', '16M', '-nodefaults', '-display', 'none', '-no-reboot', '-debugcon', `file:${log}`, '-global', 'isa-debugcon.iobase=0x402'],
      { stdio: 'ignore' },
    );
    const text = existsSync(log) ? readFileSync(log, 'latin1') : '';
    return (kvmWorks = /No bootable device|Booting from/.test(text));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

interface Resolved {
  kernel: string;
  initrd?: string;
  disks: Array<{ path: string; format: string }>;
  memoryMiB: number;
  args?: string;
}

function resolveSpec(vm: VmSpec, ctx: VmContext): Resolved {
  const path = (p: string) => {
    const x = expand(p, ctx.env);
    return isAbsolute(x) ? x : resolve(ctx.baseDir, x);
  };
  if (vm.arch !== undefined && vm.arch !== 'x86_64') throw new VmError(`vm: only x86_64 guests are booted here (${QEMU}), not ${vm.arch}`);
  const out: Resolved = { kernel: path(vm.kernel), memoryMiB: memoryMiB(expand(vm.memory, ctx.env)), disks: [] };
  if (!existsSync(out.kernel)) throw new VmError(`vm: kernel image ${out.kernel} not found`);
  for (const d of vm.disks ?? []) {
    const p = path(d.path);
    if (!existsSync(p)) throw new VmError(`vm: disk image ${p} not found`);
    out.disks.push({ path: p, format: d.format });
  }
  if (vm.initrd !== undefined) {
    out.initrd = path(vm.initrd);
    if (!existsSync(out.initrd)) throw new VmError(`vm: initrd ${out.initrd} not found`);
  }
  if (vm.args !== undefined) out.args = expand(vm.args, ctx.env);
  return out;
}

/** QEMU's command line for one boot. */
export function qemuArgv(
  vm: VmSpec,
  r: Resolved,
  o: { accel: 'kvm' | 'tcg'; memoryMiB: number; console: string; qmp: string; ports: Map<number, number> },
): string[] {
  const argv = [
    QEMU,
    // debug-threads names the vCPU threads (CPU 0/KVM, CPU 0/TCG) for whoever inspects them.
    '-name', 'wayfinder,debug-threads=on',
    '-nodefaults', '-no-user-config', '-display', 'none', '-vga', 'none', '-monitor', 'none',
    '-no-reboot',
    // Paused until the vCPU threads are pinned.
    '-S',
    '-qmp', `unix:${o.qmp},server=on,wait=off`,
    '-serial', `file:${o.console}`,
    '-accel', o.accel,
    '-cpu', o.accel === 'kvm' ? 'host' : 'max',
    '-smp', String(vm.cores),
    // In KiB: the footprint search may ask for a fraction of a MiB.
    '-m', `${Math.round(o.memoryMiB * 1024)}K`,
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
    '-kernel', r.kernel,
  ];
  if (r.initrd) argv.push('-initrd', r.initrd);
  // virtio block devices in order: the guest sees vda, vdb, ... (QEMU's drive option splits on commas: doubled).
  for (const d of r.disks) argv.push('-drive', `file=${d.path.replace(/,/g, ',,')},format=${d.format},if=virtio`);
  if (r.args !== undefined) argv.push('-append', r.args);
  if (vm.net === 'user') {
    const fwd = [...o.ports].map(([guest, host]) => `,hostfwd=tcp:127.0.0.1:${host}-:${guest}`).join('');
    argv.push('-netdev', `user,id=n0${fwd}`, '-device', 'virtio-net-pci,netdev=n0');
  } else if (vm.net === 'tap') {
    argv.push('-netdev', `tap,id=n0,ifname=${TAP},script=no,downscript=no`, '-device', 'virtio-net-pci,netdev=n0');
  } else {
    argv.push('-nic', 'none');
  }
  return argv;
}

/** Reads what a growing file gained since the last call. */
class Tail {
  private offset = 0;
  text = '';
  constructor(private readonly path: string) {}
  poll(): string {
    if (!existsSync(this.path)) return this.text;
    const fd = openSync(this.path, 'r');
    try {
      const buf = Buffer.alloc(64 * 1024);
      let n: number;
      while ((n = readSync(fd, buf, 0, buf.length, this.offset)) > 0) {
        this.text += buf.toString('latin1', 0, n);
        this.offset += n;
      }
    } finally {
      closeSync(fd);
    }
    return this.text;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Boot {
  pid: number;
  /**
   * When QEMU was started, moved later by the time it was held paused (-S) for pinning: the guest
   * did not run then, and a QEMU started by hand is not paused. Times are measured from here.
   */
  started: number;
  /** Milliseconds QEMU was held paused: from its QMP greeting to our `cont`'s answer. */
  pausedMs: number;
  exited: () => boolean;
  exitInfo: () => string;
  /** Milliseconds from QEMU's start to its exit; undefined while it runs. */
  livedMs: () => number | undefined;
  ports: Map<number, number>;
  /** net: tap: the namespace holding the tap. */
  netns?: string;
  stop: () => Promise<void>;
}

/** Starts QEMU paused, pins its vCPU threads one CPU each (round robin over the grant) and lets it run. */
async function launch(vm: VmSpec, r: Resolved, ctx: VmContext, o: { accel: 'kvm' | 'tcg'; memoryMiB: number; tag: string }): Promise<Boot> {
  const consolePath = join(ctx.dir, `console${o.tag}.log`);
  // A unix socket path is limited to 108 bytes: long run directories get a short name under /tmp.
  const qmpPath = join(ctx.dir.length < 80 ? ctx.dir : '/tmp', `wf-qmp-${process.pid}-${Date.now() % 1e9}${o.tag}.sock`);
  rmSync(consolePath, { force: true });
  const ports = new Map<number, number>();
  for (const p of vm.forward) ports.set(p, await freePort());
  const netns = vm.net === 'tap' ? makeTapNetns(vm, ctx, o.tag) : undefined;
  const argv = qemuArgv(vm, r, { ...o, console: consolePath, qmp: qmpPath, ports });
  // setpriv: the kernel kills QEMU if wayfinder dies. The job's confinement (or taskset) keeps all
  // of QEMU's threads in the grant; the vCPUs are then pinned one CPU each.
  const inNetns = [...(netns ? ['ip', 'netns', 'exec', netns] : []), ...argv];
  const confined = ctx.wrap ? ctx.wrap(inNetns) : [...(ctx.cpus.length > 0 ? ['taskset', '-c', ctx.cpus.join(',')] : []), ...inNetns];
  const errPath = join(ctx.dir, `qemu${o.tag}.log`);
  const err = openSync(errPath, 'a');
  const started = performance.now();
  const [cmd, ...rest] = [...deathSignalPrefix(), ...confined] as [string, ...string[]];
  const child = spawn(cmd, rest, {
    cwd: ctx.dir,
    stdio: ['ignore', err, err],
    detached: true,
  });
  closeSync(err);
  let exit: string | undefined;
  let exitedAt: number | undefined;
  child.once('exit', (code, sig) => {
    exitedAt = performance.now();
    exit = sig ? `killed by ${sig}` : `exit status ${code}`;
  });
  child.once('error', (e) => {
    exitedAt = performance.now();
    exit = `cannot start ${QEMU}: ${(e as NodeJS.ErrnoException).code ?? e.message}`;
  });
  const pid = child.pid;
  const key = `${ctx.key}-vm${o.tag}`;
  if (pid !== undefined) ctx.registry.add(key, pid);
  const stop = async () => {
    if (pid !== undefined) {
      signalGroup(pid, 'SIGKILL');
      for (let i = 0; i < 200 && exit === undefined; i++) await sleep(10);
    }
    ctx.registry.remove(key);
    rmSync(qmpPath, { force: true });
    if (netns && ctx.netns !== undefined) spawnSync('ip', ['-n', netns, 'link', 'del', TAP]);
    else if (netns) spawnSync('ip', ['netns', 'del', netns]);
  };
  const boot: Boot = {
    pid: pid ?? -1,
    started,
    pausedMs: 0,
    exited: () => exit !== undefined,
    exitInfo: () => {
      const said = new Tail(errPath).poll().trim().split('\n').slice(-3).join(' | ');
      return `${QEMU} ${exit ?? 'running'}${said ? `: ${said}` : ''}`;
    },
    livedMs: () => (exitedAt === undefined ? undefined : exitedAt - started),
    ports,
    ...(netns ? { netns } : {}),
    stop,
  };
  try {
    const qmp = await QmpClient.connect(qmpPath, 10_000, () => exit !== undefined);
    const readyAt = performance.now();
    try {
      const cpus = (await qmp.execute('query-cpus-fast')) as Array<{ 'cpu-index': number; 'thread-id': number }>;
      if (ctx.cpus.length > 0) {
        for (const c of cpus) {
          const cpu = ctx.cpus[c['cpu-index'] % ctx.cpus.length] as number;
          const t = spawnSync('taskset', ['-p', '-c', String(cpu), String(c['thread-id'])], { encoding: 'utf8' });
          if (t.status !== 0) throw new VmError(`vm: cannot pin vCPU ${c['cpu-index']} to CPU ${cpu}: ${t.stderr.trim()}`);
        }
      }
      await qmp.execute('cont');
      boot.pausedMs = performance.now() - readyAt;
      boot.started += boot.pausedMs;
    } finally {
      qmp.close();
    }
  } catch (e) {
    await stop();
    if (e instanceof VmError) throw e;
    throw new VmError(`vm: ${(e as Error).message}; ${boot.exitInfo()}`);
  }
  return boot;
}

/** The console's last lines, on one line: what a guest said before it stopped. */
function consoleLast(consolePath: string, lines = 5): string {
  return new Tail(consolePath).poll().trim().split('\n').map((l) => l.trim()).filter((l) => l !== '').slice(-lines).join(' | ');
}

/** For a QEMU already gone: how long it lived, how it ended, and the console's last lines. */
async function exitedEarly(boot: Boot, consolePath: string, before: string): Promise<string> {
  const lived = boot.livedMs();
  const info = boot.exitInfo();
  await boot.stop();
  const last = consoleLast(consolePath);
  return `vm exited after ${lived === undefined ? '?' : Math.round(lived)} ms, before ${before} (${info})${last ? `; console: ${last}` : '; the console is empty'}`;
}

/** Milliseconds from process start to the marker, or undefined when the guest never printed it. */
async function waitMarker(boot: Boot, consolePath: string, marker: RegExp, timeoutSec: number): Promise<number | undefined> {
  const tail = new Tail(consolePath);
  const deadline = boot.started + timeoutSec * 1000;
  for (;;) {
    const now = performance.now();
    if (marker.test(tail.poll())) return now - boot.started;
    if (boot.exited()) return marker.test(tail.poll()) ? performance.now() - boot.started : undefined;
    if (now > deadline) return undefined;
    await sleep(2);
  }
}

export function tryConnect(port: number, kind: 'tcp' | 'http', path: string): Promise<boolean> {
  return new Promise((res) => {
    const s: Socket = connect({ host: '127.0.0.1', port });
    let got = '';
    const done = (ok: boolean) => {
      s.destroy();
      res(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => {
      // User-mode networking accepts on the host before the guest answers: only a reply proves the
      // guest is serving. For tcp, any byte or a connection still open after 200 ms counts.
      if (kind === 'http') s.write(`GET ${path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n`);
      else setTimeout(() => done(!s.destroyed && s.readyState === 'open'), 200);
    });
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (kind === 'tcp' || /^HTTP\/\d\.\d \d{3}/.test(got)) done(true);
    });
    s.once('end', () => done(kind === 'http' ? /^HTTP\/\d\.\d \d{3}/.test(got) : got.length > 0));
  });
}

/** Inside the tap's namespace (no user-mode proxy there: a connection is the guest's own answer). */
function tryConnectIn(netns: string, addr: string, probe: NonNullable<VmSpec['probe']>): boolean {
  const script =
    probe.kind === 'tcp'
      ? `exec 3<>/dev/tcp/${addr}/${probe.port}`
      : `exec 3<>/dev/tcp/${addr}/${probe.port}; printf 'GET ${probe.path} HTTP/1.0\r\n\r\n' >&3; head -c 12 <&3 | grep -q '^HTTP/'`;
  return spawnSync('timeout', ['1', 'ip', 'netns', 'exec', netns, 'bash', '-c', script], { stdio: 'ignore' }).status === 0;
}

async function waitConnect(boot: Boot, vm: VmSpec, probe: NonNullable<VmSpec['probe']>, timeoutSec: number): Promise<number | undefined> {
  const port = boot.ports.get(probe.port) as number;
  const deadline = boot.started + timeoutSec * 1000;
  while (performance.now() < deadline && !boot.exited()) {
    const ok = boot.netns ? tryConnectIn(boot.netns, (vm.tap as { guest: string }).guest, probe) : await tryConnect(port, probe.kind, probe.path);
    if (ok) return performance.now() - boot.started;
    await sleep(5);
  }
  return undefined;
}

function chooseAccel(vm: VmSpec, notes: string[]): 'kvm' | 'tcg' {
  if (vm.accel === 'tcg') return 'tcg';
  if (vm.accel === 'kvm') return 'kvm';
  if (probeKvm()) return 'kvm';
  notes.push(`KVM does not run guests on this host (${existsSync('/dev/kvm') ? '/dev/kvm is there but the firmware hangs under it' : 'no /dev/kvm'}): booted under TCG, which is far slower`);
  return 'tcg';
}

/** Does the guest reach its marker in this much memory? Each try is a VM of its own. */
async function bootsIn(vm: VmSpec, r: Resolved, ctx: VmContext, accel: 'kvm' | 'tcg', mib: number): Promise<boolean> {
  const tag = `-footprint-${Math.round(mib * 1024)}K`;
  const boot = await launch(vm, r, ctx, { accel, memoryMiB: mib, tag });
  try {
    return (await waitMarker(boot, join(ctx.dir, `console${tag}.log`), new RegExp(vm.marker), vm.bootTimeoutSec)) !== undefined;
  } finally {
    await boot.stop();
  }
}

/**
 * The least memory in [min, max] MiB, on a grid of stepKiB from min, the guest boots in; undefined
 * when it does not boot even in max. `floor` says it booted in min itself: the footprint is at most
 * that, and configurations below it cannot be told apart.
 */
export async function footprint(vm: VmSpec, r: Resolved, ctx: VmContext, accel: 'kvm' | 'tcg'): Promise<{ mib: number; floor: boolean } | undefined> {
  const { min, max, stepKiB = 1024 } = vm.footprint as { min: number; max: number; stepKiB?: number };
  const steps = Math.ceil(((max - min) * 1024) / stepKiB);
  const size = (k: number) => Math.min(max, min + (k * stepKiB) / 1024);
  if (!(await bootsIn(vm, r, ctx, accel, max))) return undefined;
  let lo = -1; // step known (or assumed) not to boot: below min
  let hi = steps; // step known to boot
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await bootsIn(vm, r, ctx, accel, size(mid))) hi = mid;
    else lo = mid;
  }
  return { mib: size(hi), floor: hi === 0 };
}

/**
 * Boots the test's VM and waits for it to be up. Throws VmError (with QEMU's last words) when it
 * does not come up; the caller stops it once the test's command is done.
 */
export async function startVm(vm: VmSpec, ctx: VmContext): Promise<RunningVm> {
  const notes: string[] = [];
  const r = resolveSpec(vm, ctx);
  let accel = chooseAccel(vm, notes);
  const metrics: Record<string, number> = {
    image_bytes: statSync(r.kernel).size + (r.initrd ? statSync(r.initrd).size : 0),
    memory_mib: r.memoryMiB,
  };
  const marker = new RegExp(vm.marker);
  const consolePath = join(ctx.dir, 'console.log');
  let boot = await launch(vm, r, ctx, { accel, memoryMiB: r.memoryMiB, tag: '' });
  let bootMs = await waitMarker(boot, consolePath, marker, vm.bootTimeoutSec);
  if (bootMs === undefined && vm.accel === 'auto' && accel === 'kvm') {
    // KVM passed the probe but not this guest: TCG, with a note, rather than failing every run.
    notes.push(`KVM did not boot this guest (${boot.exited() ? boot.exitInfo() : 'no marker in time'}): booted under TCG`);
    await boot.stop();
    kvmWorks = false;
    accel = 'tcg';
    boot = await launch(vm, r, ctx, { accel, memoryMiB: r.memoryMiB, tag: '' });
    bootMs = await waitMarker(boot, consolePath, marker, vm.bootTimeoutSec);
  }
  if (bootMs === undefined) {
    if (boot.exited()) throw new VmError(await exitedEarly(boot, consolePath, `its console showed /${vm.marker}/`));
    const last = consoleLast(consolePath);
    await boot.stop();
    throw new VmError(`vm did not boot: no match for /${vm.marker}/ on the console within ${vm.bootTimeoutSec} s${last ? `; console: ${last}` : ''}`);
  }
  metrics.boot_ms = bootMs;
  metrics.pause_ms = boot.pausedMs;
  metrics.kvm = accel === 'kvm' ? 1 : 0;
  if (vm.probe) {
    const ms = await waitConnect(boot, vm, vm.probe, vm.bootTimeoutSec);
    if (ms === undefined) {
      // A guest that booted and then stopped (no entry point, a failed mount) is not a slow server.
      if (boot.exited()) throw new VmError(await exitedEarly(boot, consolePath, `guest port ${vm.probe.port} answered`));
      await boot.stop();
      throw new VmError(`vm booted but guest port ${vm.probe.port} answered no ${vm.probe.kind} request within ${vm.bootTimeoutSec} s`);
    }
    metrics.connect_ms = ms;
  }
  const env: Record<string, string> = {
    WAYFINDER_VM_ADDR: '127.0.0.1',
    WAYFINDER_VM_CONSOLE: consolePath,
    WAYFINDER_VM_ACCEL: accel,
    WAYFINDER_VM_PID: String(boot.pid),
  };
  for (const [guest, host] of boot.ports) env[`WAYFINDER_VM_PORT_${guest}`] = String(host);
  if (boot.netns && vm.tap) {
    // The guest is reached at its own address from inside the namespace: `ip netns exec $WAYFINDER_VM_NETNS ...`.
    env.WAYFINDER_VM_NETNS = boot.netns;
    env.WAYFINDER_VM_ADDR = vm.tap.guest;
  }
  const running: RunningVm = {
    metrics,
    env,
    notes,
    stop: async () => {
      await boot.stop();
    },
  };
  if (vm.footprint && ctx.measureFootprint) {
    // Measured after the main boot's test, on VMs of their own: never alongside the measured one.
    running.stop = async () => {
      await boot.stop();
      const found = await footprint(vm, r, ctx, accel);
      if (found === undefined) throw new VmError(`vm: footprint search found no size up to ${vm.footprint?.max} MiB that boots`);
      metrics.memory_footprint_mib = found.mib;
      if (found.floor) {
        appendFileSync(
          join(ctx.dir, 'stderr.log'),
          `wayfinder: the guest boots in ${found.mib} MiB, the footprint search's least size: its footprint is at most that, and configurations below it are not told apart (lower footprint.min)\n`,
        );
      }
    };
  }
  return running;
}

/** What a test run gets from its VM: the variables for its command, then the VM's metrics once it is down. */
export interface TestVm {
  env: Record<string, string>;
  finish(): Promise<{ metrics: Record<string, number>; error?: string }>;
}

/**
 * Boots a test run's VM, or says why it could not. Notes (TCG instead of KVM) go to the run's
 * stderr.log, next to the command's own. Metrics are named vm.<field>.
 */
export async function bootTestVm(vm: VmSpec, ctx: VmContext): Promise<TestVm | { error: string }> {
  let running: RunningVm;
  try {
    running = await startVm(vm, ctx);
  } catch (e) {
    if (e instanceof VmError) return { error: e.message };
    if (e instanceof ExpandError) return { error: `vm: ${e.message}` };
    throw e;
  }
  if (running.notes.length > 0) appendFileSync(join(ctx.dir, 'stderr.log'), running.notes.map((n) => `wayfinder: ${n}\n`).join(''));
  return {
    env: running.env,
    finish: async () => {
      let error: string | undefined;
      try {
        await running.stop();
      } catch (e) {
        if (!(e instanceof VmError)) throw e;
        error = e.message;
      }
      const metrics = Object.fromEntries(Object.entries(running.metrics).map(([k, v]) => [`vm.${k}`, Math.round(v * 1000) / 1000]));
      return error === undefined ? { metrics } : { metrics, error };
    },
  };
}
