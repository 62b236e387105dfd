// Job files of the shapes unikraft/wayfinder ships today (examples/*/job.yaml: a Linux kernel with
// hundreds of y/n options, conditions and a disk; examples/unikraft-nginx/*-job.yaml: a Unikraft
// image and initrd), written here by the test: they load, their tests become a VM booted from the
// build's kernel with the benchtool in a container beside it, and they plan the sizes Wayfinder's
// daemon plans (its TotalPermutations: the product of each parameter's listed values, a value
// listed twice counted twice, conditions not applied).

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planExperiment } from '../../src/generator/index.js';
import { DOMAIN_ADDRESS, DOMAIN_GATEWAY, LEADING_INTEGER_PATTERN, LEADING_NUMBER_PATTERN, loadExperiment, parseExperiment } from '../../src/spec/index.js';
import { InputError } from '../../src/types.js';
import { fmtCount, log10Big } from '../../src/util/format.js';
import { tempDir, writeFile } from '../helpers.js';

const { dir, cleanup } = tempDir('wf-jobs-');
afterAll(cleanup);

/** A job file written where Wayfinder keeps its own (a folder per example). */
function jobFile(name: string, text: string): string {
  mkdirSync(join(dir, dirname(name)), { recursive: true });
  return writeFile(dir, name, text);
}

/** Each parameter's number of listed values, multiplied: counted here from the counts the test chose. */
const product = (counts: number[]) => counts.reduce((n, c) => n * BigInt(c), 1n);


const BENCHTOOL = `    benchtool:
      image: ghcr.io/unikraft/wayfinder/wrk:latest
      devices:
        - /dev/urandom
        - /dev/kvm
        - /dev/net/tun
      capabilities:
        - CAP_NET_ADMIN
      commands: /test.sh
      monitors:
        - name: power
          commands: ./power-monitor.sh http://192.0.2.1/meter/0
      cores: 1
      start_delay: 5
      duration: 30
    results:
      - name: throughput
        path: /results/throughput.txt
        type: float
      - name: requests
        path: /results/requests.txt
        type: int
      - name: version
        path: /results/version.txt
        type: str
`;

/** A unikraft-nginx-like job: `counts[i]` values for parameter i, the last list naming one value twice. */
function unikraftJob(name: string, counts: number[], opts: { repeat?: boolean } = {}): string {
  const params = counts.map((n, i) => {
    const values = Array.from({ length: n }, (_, j) => 8 << j);
    if (opts.repeat && i === counts.length - 1 && n > 1) values[n - 1] = values[0] as number;
    const kind = i % 3 === 0 ? `    type:    string\n    only:    [${values.map((v) => `"${v}"`).join(', ')}]\n    default: "${values[0]}"` : `    type:    int\n    only:    [${values.join(', ')}]\n    default: ${values[0]}`;
    return `  - name:    P${i}\n    description: |\n      parameter ${i}\n${kind}\n    when:    ${i === counts.length - 2 ? 'test' : 'build'}\n`;
  });
  return `name: ${name}
params:
${params.join('\n')}
  # A default outside the list: Wayfinder's daemon never read it.
  - name:    REDIS_AOF
    type:    string
    default: "everysec"
    only:    ["no"]
    when:    build

build:
  image: ghcr.io/unikraft/wayfinder/unikraft-nginx:latest
  outputs:
    kernel: /usr/src/unikraft/apps/nginx/build/nginx_kvm-x86_64
    initrd: /usr/src/unikraft/apps/nginx/initramfs.cpio
    arch: x86_64
    plat: kvm
  devices:
    - /dev/urandom
  capabilities:
    - CAP_NET_ADMIN
  cores: 2
  commands:
    |
    set -ex
    cd /usr/src/unikraft/apps/nginx
    kraft build --no-fetch --no-progress --fast

test:
  - name: throughput
    kernel:
      plat: kvm
      arch: x86_64
      memory: 20M
      args: netdev.ipv4_addr=$WAYFINDER_DOMAIN_IP_ADDR netdev.ipv4_gw_addr=$WAYFINDER_DOMAIN_IP_GW_ADDR netdev.ipv4_subnet_mask=$WAYFINDER_DOMAIN_IP_MASK --
      cores: 1
${BENCHTOOL}`;
}

/** A linux-nginx-like job (no name): y/n options, a governor chosen by condition, runtime knobs with min/max and only, a disk. */
function linuxJob(counts: number[]): string {
  const params: string[] = [];
  counts.forEach((n, i) => {
    if (n === 2) params.push(`  - name:    CONFIG_OPT_${i}\n    type:    string\n    default: "y"\n    only:    ["y", "n"]\n    when:    build\n`);
    else params.push(`  - name:    KNOB_${i}\n    type:    int\n    min:     0\n    max:     6553600000\n    default: 0\n    only:    [${Array.from({ length: n }, (_, j) => j).join(', ')}]\n    when:    test\n`);
  });
  // The governor and the option each choice turns on, which Wayfinder counts in full.
  params.push(`  - name:    CPU_FREQ_GOVERNOR\n    type:    string\n    default: "performance"\n    only:    ["performance", "powersave"]\n    when:    build\n`);
  for (const g of ['performance', 'powersave']) {
    params.push(`  - name:    CONFIG_CPU_FREQ_DEFAULT_GOV_${g.toUpperCase()}\n    type:    string\n    default: "y"\n    only:    ["y"]\n    when:    build\n    if:      CPU_FREQ_GOVERNOR=='${g}'\n`);
  }
  return `params:
${params.join('\n')}
build:
  image: ghcr.io/unikraft/wayfinder/linux-nginx:latest
  outputs:
    kernel: /root/workspace/kernelbuild/microvm++nginx/vmlinuz-4.0.0+
    disks:
      - type: raw
        name: vda
        path: /root/workspace/nginx.ext3
  devices:
    - /dev/urandom
    - /dev/loop-control
  capabilities:
    - CAP_NET_ADMIN
    - CAP_SYS_ADMIN
  cores: 4
  workdir: /root/workspace
  commands:
    |
    set -xe
    ./scripts/build-with-configs.sh patch

test:
  - name: throughput
    kernel:
      plat: kvm
      arch: x86_64
      memory: 512M
      args:
        >
        root=/dev/vda
        rw
        WAYFINDER_DOMAIN_IP_ADDR=$WAYFINDER_DOMAIN_IP_ADDR
        WAYFINDER_DOMAIN_IP_GW_ADDR=$WAYFINDER_DOMAIN_IP_GW_ADDR
        console=ttyS0
        opt0=\${CONFIG_OPT_0}
      cores: 1
${BENCHTOOL}`;
}

describe("Wayfinder's current job files", () => {
  it('a unikraft-nginx simple job plans 512 configurations, each its own build', () => {
    const counts = [4, 4, 1, 2, 1, 2, 1, 2, 2, 1, 2, 1, 1, 1];
    const e = loadExperiment(jobFile('unikraft-nginx/simple-job.yaml', unikraftJob('unikraft-nginx-simple', counts)));
    const plan = planExperiment(e);
    expect(plan.size).toBe(product(counts));
    expect(plan.size).toBe(512n);
    expect(plan.configs).toHaveLength(512);
    // The one test parameter (second to last, a single value here) does not split builds.
    expect(plan.builds).toBe(512);
  });

  it('a unikraft-nginx big job plans 37,108,517,437,440, a value listed twice counted twice as Wayfinder did', () => {
    // The big job's shape: 17 two-way, one three-way, eight four-way, one five-way, two six-way
    // (one of them naming a value twice) and one eight-way parameter, three single values.
    const counts = [...Array(17).fill(2), 3, ...Array(8).fill(4), 5, 1, 1, 1, 8, 6, 6];
    const e = loadExperiment(jobFile('unikraft-nginx/big-job.yaml', unikraftJob('unikraft-nginx-big', counts, { repeat: true })));
    const last = e.params.find((p) => p.name === `P${counts.length - 1}`);
    expect(last?.domain).toEqual({ kind: 'list', values: [8, 16, 32, 64, 128, 8] });
    const plan = planExperiment(e);
    expect(plan.size).toBe(product(counts));
    expect(plan.size.toString()).toBe('37108517437440');
    expect(log10Big(plan.size)).toBeCloseTo(13.569, 2);
    // The default outside its list is left out: the first listed value is the baseline.
    expect(e.params.find((p) => p.name === 'REDIS_AOF')).toMatchObject({ domain: { kind: 'list', values: ['no'] } });
    expect(e.params.find((p) => p.name === 'REDIS_AOF')?.default).toBeUndefined();
  });

  it('a value listed twice makes two points of one configuration: counted by Wayfinder, measured once', () => {
    const e = loadExperiment(jobFile('small/job.yaml', unikraftJob('small', [2, 3], { repeat: true })));
    const plan = planExperiment(e);
    expect(plan.size).toBe(6n);
    expect(plan.distinct).toBe(4n);
    expect(plan.configs).toHaveLength(4);
  });

  it('a linux-nginx-like job plans about 10^79.39 configurations, exactly, conditions not applied', () => {
    // linux-nginx's shape: 196 two-way, 16 three-way, 7 four-way, 2 five-way, 3 six-way, one
    // eight-way, 2 nine-way and 2 ten-way parameters (and 181 single values).
    const counts = [...Array(195).fill(2), ...Array(16).fill(3), ...Array(7).fill(4), 5, 5, 6, 6, 6, 8, 9, 9, 10, 10, ...Array(179).fill(1)];
    const e = loadExperiment(jobFile('linux-nginx/job.yaml', linuxJob(counts)));
    expect(e.name).toBe('linux-nginx');
    expect(e.params).toHaveLength(counts.length + 3);
    const plan = planExperiment(e);
    // The governor (2) and its two conditional options (1 each): 196 two-way and 181 single-valued in all.
    expect(plan.size).toBe(product([...counts, 2, 1, 1]));
    expect(plan.size.toString()).toBe('24786084768085403600945306272027305243825353143367800437026291582102069575680000');
    expect(log10Big(plan.size)).toBeCloseTo(79.394, 2);
    expect(fmtCount(plan.size)).toBe('24786084768085403600945306272027305243825353143367800437026291582102069575680000 (10^79.39)');
    expect(fmtCount(512n)).toBe('512');
    expect(fmtCount(37108517437440n)).toBe('37108517437440 (10^13.57)');
  });

  it("turns the test's kernel into a VM of the build's outputs and the benchtool into its container", () => {
    const e = loadExperiment(jobFile('shape/linux.yaml', linuxJob([2, 3])));
    const t = e.tests[0];
    expect(t).toMatchObject({
      name: 'throughput',
      kind: 'vm-container',
      image: 'ghcr.io/unikraft/wayfinder/wrk:latest',
      run: '/test.sh',
      // One vCPU and one CPU for the benchtool.
      cores: 2,
      devices: ['/dev/urandom', '/dev/kvm', '/dev/net/tun'],
      capabilities: ['NET_ADMIN'],
      env: { DURATION: '30', WAYFINDER_DURATION: '30' },
      vm: {
        kernel: 'root/workspace/kernelbuild/microvm++nginx/vmlinuz-4.0.0+',
        disks: [{ path: 'root/workspace/nginx.ext3', format: 'raw' }],
        memory: '512M',
        cores: 1,
        accel: 'auto',
        arch: 'x86_64',
        net: 'tap',
        tap: { host: `${DOMAIN_GATEWAY}/24`, guest: DOMAIN_ADDRESS },
        startDelaySec: 5,
        forward: [],
      },
    });
    expect(t?.vm?.args).toBe(
      'root=/dev/vda rw WAYFINDER_DOMAIN_IP_ADDR=${WAYFINDER_DOMAIN_IP_ADDR} WAYFINDER_DOMAIN_IP_GW_ADDR=${WAYFINDER_DOMAIN_IP_GW_ADDR} console=ttyS0 opt0=${CONFIG_OPT_0}',
    );
    expect(e.build?.outputs.map((o) => o.source)).toEqual(['root/workspace/kernelbuild/microvm++nginx/vmlinuz-4.0.0+', 'root/workspace/nginx.ext3']);
    // Results are read from the files the benchtool writes, as the daemon read them (the number they start with).
    expect(e.metrics.map((m) => [m.name, m.source, m.pattern])).toEqual([
      ['throughput', { kind: 'file', path: 'results/throughput.txt' }, LEADING_NUMBER_PATTERN],
      ['requests', { kind: 'file', path: 'results/requests.txt' }, LEADING_INTEGER_PATTERN],
    ]);
    expect(new RegExp(LEADING_NUMBER_PATTERN).exec('  1234.5e1 req/s\n9')?.[1]).toBe('1234.5e1');
    expect(new RegExp(LEADING_INTEGER_PATTERN).exec('42\n')?.[1]).toBe('42');
  });

  it("boots the unikraft image with its initrd; plat qemu is TCG; results under the benchtool are read too", () => {
    const e = loadExperiment(jobFile('shape/uk.yaml', unikraftJob('uk', [2])));
    expect(e.tests[0]?.vm).toMatchObject({ kernel: 'usr/src/unikraft/apps/nginx/build/nginx_kvm-x86_64', initrd: 'usr/src/unikraft/apps/nginx/initramfs.cpio', memory: '20M' });
    expect(e.tests[0]?.vm?.args).toBe('netdev.ipv4_addr=${WAYFINDER_DOMAIN_IP_ADDR} netdev.ipv4_gw_addr=${WAYFINDER_DOMAIN_IP_GW_ADDR} netdev.ipv4_subnet_mask=${WAYFINDER_DOMAIN_IP_MASK} --');
    const riscv = unikraftJob('rv', [2])
      .replace('plat: kvm\n      arch: x86_64', 'plat: qemu\n      arch: riscv64')
      // The file linux-riscv's shape: results inside the benchtool.
      .replace('    results:\n', '      results:\n');
    const r = parseExperiment(riscv, join(dir, 'rv.yaml'));
    expect(r.tests[0]?.vm).toMatchObject({ accel: 'tcg', arch: 'riscv64' });
    expect(r.metrics.map((m) => m.name)).toEqual(['throughput', 'requests']);
  });

  it('refuses what cannot be booted, at the key', () => {
    const text = unikraftJob('x', [2]);
    const bad = (t: string) => {
      try {
        parseExperiment(t, '/x/job.yaml');
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        return `${(e as InputError).message} @${(e as InputError).loc?.line}`;
      }
      return 'loaded';
    };
    const line = (t: string, s: string) => t.slice(0, t.indexOf(s)).split('\n').length;
    const xen = text.replace('plat: kvm\n      arch', 'plat: xen\n      arch');
    expect(bad(xen)).toBe(`plat 'xen' is not one a VM is booted with here: kvm or qemu @${line(xen, 'plat: xen')}`);
    const noKernel = text.replace('    kernel: /usr/src/unikraft/apps/nginx/build/nginx_kvm-x86_64\n', '');
    expect(bad(noKernel)).toMatch(/^the test boots a kernel, but the build names none/);
  });
});
