// A Wayfinder daemon-era job (build, then a test of a `kernel:` and a `benchtool:` with `results:`)
// run end to end by `wayfinder run`: the build makes a tiny multiboot kernel, the test boots it
// under QEMU on a tap in the benchtool container's network namespace, the container's command
// sees the tap and the WAYFINDER_DOMAIN_* variables and writes its results, and the results come
// from the files it wrote. And an image nobody can pull is refused before anything is built.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listNetns, netnsPrefix } from '../../src/isolation/netns.js';
import { qemuArgv } from '../../src/runners/qemu.js';
import { domainVars, splitCpus } from '../../src/runners/vm-container.js';
import type { VmSpec } from '../../src/types.js';
import { requireTool, tempDir, wayfinder, writeFile } from '../helpers.js';
import { containersWithLabel, importBusyboxImage, removeImage, requireDockerd } from '../docker-image.js';
import { LABEL_WORKDIR, workdirHash } from '../../src/runners/docker/labels.js';

const IMAGE = `wf-test-vmc:${process.pid}`;
const MARKER = 'TINY-UP';

/** A multiboot kernel that prints the command line it was given, then the marker, then halts. */
const SOURCE = String.raw`
.set MAGIC, 0x1BADB002
.set FLAGS, 0x00000003
.text
.globl _start
.align 4
.long MAGIC
.long FLAGS
.long -(MAGIC + FLAGS)
_start:
  mov $stack_top, %esp
  mov 16(%ebx), %esi
  call puts
  mov $tail, %esi
  call puts
1: cli
  hlt
  jmp 1b
puts:
  movb (%esi), %al
  test %al, %al
  jz 2f
  mov $0x3f8, %dx
  outb %al, %dx
  inc %esi
  jmp puts
2: ret
tail: .asciz "\n${MARKER}\n"
.bss
.space 4096
stack_top:
`;

function buildCmdlineKernel(dir: string): string {
  writeFileSync(join(dir, 'k.S'), SOURCE);
  execFileSync('as', ['--32', '-o', join(dir, 'k.o'), join(dir, 'k.S')]);
  execFileSync('ld', ['-m', 'elf_i386', '-Ttext=0x100000', '-e', '_start', '--build-id=none', '-z', 'noexecstack', '-o', join(dir, 'k.elf'), join(dir, 'k.o')]);
  return join(dir, 'k.elf');
}

function findFiles(dir: string, name: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...findFiles(p, name));
    else if (e.name === name) out.push(p);
  }
  return out;
}

const { dir, cleanup } = tempDir('wf-vmc-');

beforeAll(() => {
  requireDockerd();
  importBusyboxImage(IMAGE);
});
afterAll(() => {
  removeImage(IMAGE);
  cleanup();
});

/** The daemon's job file, with the kernel carried by the build's commands (the build image is busybox). */
function jobFile(kernelBase64: string, benchImage: string): string {
  return `name: tiny-wayfinder
params:
  - name:    PAYLOAD
    type:    int
    only:    [1, 2]
    when:    build
  - name:    CONNS
    type:    int
    default: 30
    only:    [30]
    when:    test

build:
  image: ${IMAGE}
  outputs:
    kernel: /out/tiny_kvm-x86_64
    # A disk as the Linux jobs have one: QEMU is given it as a virtio block device.
    disks:
      - type: raw
        name: vda
        path: /out/root,fs.ext3
    arch: x86_64
    plat: kvm
  cores: 1
  commands:
    |
    set -e
    mkdir -p /out
    echo '${kernelBase64}' | base64 -d > /out/tiny_kvm-x86_64
    dd if=/dev/zero of=/out/root,fs.ext3 bs=1024 count=64 2>/dev/null

test:
  - name: throughput
    kernel:
      plat: qemu
      arch: x86_64
      memory: 16M
      args: netdev.ipv4_addr=$WAYFINDER_DOMAIN_IP_ADDR netdev.ipv4_gw_addr=$WAYFINDER_DOMAIN_IP_GW_ADDR netdev.ipv4_subnet_mask=$WAYFINDER_DOMAIN_IP_MASK payload=\${PAYLOAD} --
      cores: 1
    benchtool:
      image: ${benchImage}
      commands: |
        mkdir -p /results
        env | grep -E '^(WAYFINDER_|DURATION|CONNS)' | sort > /results/env.txt
        ip addr show dev tap0 > /results/tap.txt
        # The tap's carrier is up only while QEMU holds it open: the VM is on this namespace's tap.
        if grep -q 'LOWER_UP' /results/tap.txt && grep -q "inet $WAYFINDER_DOMAIN_IP_GW_ADDR/24" /results/tap.txt; then echo 1 > /results/tap_up.txt; else echo 0 > /results/tap_up.txt; fi
        echo "$((1000 + PAYLOAD)).5 requests/s" > /results/throughput.txt
      cores: 1
      start_delay: 1
      duration: 3
    results:
      - name: throughput
        path: /results/throughput.txt
        type: float
      - name: tap_up
        path: /results/tap_up.txt
        type: int
      - name: env
        path: /results/env.txt
        type: str
exploration:
  parallel: 1
`;
}

describe('a VM with its benchtool in a container (vm-container)', () => {
  it('gives the kernel and the benchtool the domain addresses, as the daemon did', () => {
    const vm = { memory: '20M', tap: { host: '172.88.0.1/24', guest: '172.88.0.2' } } as VmSpec;
    expect(domainVars(vm)).toEqual({
      WAYFINDER_DOMAIN_IP_ADDR: '172.88.0.2',
      WAYFINDER_DOMAIN_IP_GW_ADDR: '172.88.0.1',
      WAYFINDER_DOMAIN_IP_MASK: '255.255.255.0',
      WAYFINDER_DOMAIN_MAX_MEM: '20MiB',
    });
    expect(domainVars({ ...vm, memory: '${VM_MEMORY}M' }, { VM_MEMORY: '48' }).WAYFINDER_DOMAIN_MAX_MEM).toBe('48MiB');
    expect(domainVars({ ...vm, memory: '1G', tap: { host: '10.1.0.1/20', guest: '10.1.0.9' } })).toMatchObject({ WAYFINDER_DOMAIN_IP_MASK: '255.255.240.0', WAYFINDER_DOMAIN_MAX_MEM: '1GiB' });
    expect(splitCpus([4, 5, 6], 1)).toEqual({ vm: [4], command: [5, 6] });
    expect(splitCpus([4], 1)).toEqual({ vm: [4], command: [4] });
  });

  it("gives QEMU the build's disks as virtio block devices in order", () => {
    const vm = { kernel: 'k', memory: '16M', cores: 1, accel: 'tcg', net: 'none', forward: [], marker: '.', bootTimeoutSec: 5 } as VmSpec;
    const argv = qemuArgv(vm, { kernel: '/b/k', memoryMiB: 16, disks: [{ path: '/b/root,fs.ext3', format: 'raw' }, { path: '/b/data.qcow2', format: 'qcow2' }] }, { accel: 'tcg', memoryMiB: 16, console: '/c', qmp: '/q', ports: new Map() });
    const drives = argv.flatMap((a, i) => (a === '-drive' ? [argv[i + 1]] : []));
    expect(drives).toEqual(['file=/b/root,,fs.ext3,format=raw,if=virtio', 'file=/b/data.qcow2,format=qcow2,if=virtio']);
  });

  it('runs a daemon-era job end to end: build, VM on the container’s tap, results from its files', async () => {
    requireTool('qemu-system-x86_64', 'qemu-system-x86');
    requireTool('as', 'binutils');
    const kernel = buildCmdlineKernel(dir);
    const file = writeFile(dir, 'job.yaml', jobFile(readFileSync(kernel).toString('base64'), IMAGE));
    const workdir = join(dir, '.wayfinder');
    const r = await wayfinder(['run', file, '--workdir', workdir, '--json', '--no-confirm'], { timeoutMs: 300_000 });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ done: 2, failed: 0 });

    const res = await wayfinder(['results', '--workdir', workdir, '--format', 'json']);
    const rows = (JSON.parse(res.stdout) as { configurations: Record<string, number | string>[] }).configurations;
    expect(rows.map((row) => [row.PAYLOAD, row.throughput, row.tap_up]).sort()).toEqual([
      [1, 1001.5, 1],
      [2, 1002.5, 1],
    ]);
    for (const row of rows) {
      expect(row['vm.boot_ms']).toBeGreaterThan(0);
      expect(row['vm.kvm']).toBe(0);
    }
    // QEMU booted with the build's disk (a comma in its name would have stopped QEMU unless doubled).
    for (const log of findFiles(workdir, 'qemu.log')) expect(readFileSync(log, 'utf8')).toBe('');
    expect(findFiles(workdir, 'root,fs.ext3')).toHaveLength(2);
    // The guest was given the addresses and the parameter on its command line.
    const consoles = findFiles(workdir, 'console.log');
    expect(consoles).toHaveLength(2);
    for (const c of consoles) {
      expect(readFileSync(c, 'utf8')).toMatch(/netdev\.ipv4_addr=172\.88\.0\.2 netdev\.ipv4_gw_addr=172\.88\.0\.1 netdev\.ipv4_subnet_mask=255\.255\.255\.0 payload=[12] --\n/);
      expect(readFileSync(c, 'utf8')).toContain(MARKER);
    }
    // The benchtool was told them too, with its own CPUs and the daemon's DURATION.
    const envs = findFiles(workdir, 'env.txt').map((f) => readFileSync(f, 'utf8'));
    expect(envs).toHaveLength(2);
    for (const env of envs) {
      expect(env).toContain('WAYFINDER_DOMAIN_IP_ADDR=172.88.0.2\n');
      expect(env).toContain('WAYFINDER_DOMAIN_IP_GW_ADDR=172.88.0.1\n');
      expect(env).toContain('WAYFINDER_DOMAIN_IP_MASK=255.255.255.0\n');
      expect(env).toContain('WAYFINDER_DOMAIN_MAX_MEM=16MiB\n');
      expect(env).toContain('DURATION=3\n');
      expect(env).toContain('CONNS=30\n');
      expect(env).toMatch(/WAYFINDER_TOTAL_CORES=1\n/);
    }
    // Nothing left behind: no namespace of this work directory, no container, no QEMU.
    const prefix = netnsPrefix(workdir);
    expect(listNetns().filter((n) => n.startsWith(`${prefix}-`))).toEqual([]);
    expect(containersWithLabel(LABEL_WORKDIR, workdirHash(workdir))).toEqual([]);
    const qemus = execFileSync('sh', ['-c', 'pgrep -af qemu-system || true'], { encoding: 'utf8' }).split('\n');
    expect(qemus.filter((l) => l.includes(dir) && !l.includes('pgrep'))).toEqual([]);
  }, 300_000);

  it('refuses an image no registry can give before anything is built, naming it', async () => {
    const missing = 'registry.invalid/wayfinder/benchtool-nobody-has:1';
    const file = writeFile(dir, 'remote.yaml', jobFile('AAAA', missing));
    const workdir = join(dir, '.wayfinder-remote');
    const r = await wayfinder(['run', file, '--workdir', workdir], { timeoutMs: 120_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`test 'throughput': image '${missing}' is not on the Docker engine`);
    expect(r.stderr).toMatch(/could not be pulled/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // Nothing was built: not even the work directory was made.
    expect(existsSync(workdir)).toBe(false);

    // Both images missing: both named in the one refusal.
    const both = writeFile(dir, 'remote2.yaml', jobFile('AAAA', missing).replace(`image: ${IMAGE}`, 'image: registry.invalid/wayfinder/builder:1'));
    const r2 = await wayfinder(['run', both, '--workdir', workdir], { timeoutMs: 120_000 });
    expect(r2.status).toBe(2);
    expect(r2.stderr).toContain(`build 'build': image 'registry.invalid/wayfinder/builder:1' is not on the Docker engine`);
    expect(r2.stderr).toContain(`also not on the engine and not pulled: test 'throughput': image '${missing}'`);
    expect(existsSync(workdir)).toBe(false);
  }, 120_000);
});
