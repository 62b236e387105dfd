// Good experiment files in all three formats, normalised: defaults filled in, Wayfinder's keys
// mapped onto the native model, and the spaces they describe the same as Wayfinder planned.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  detectFormat,
  IMPLIED_METRIC,
  LAST_NUMBER_PATTERN,
  LEADING_NUMBER_PATTERN,
  loadExperiment,
  parseExperiment,
} from '../../src/spec/index.js';
import type { Domain, Experiment } from '../../src/types.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'spec');
const fixture = (name: string) => join(FIXTURES, name);

/** Values a domain walks, computed here independently of any generator module. */
function values(d: Domain): Array<number | string | boolean> {
  if (d.kind === 'list') return d.values;
  const out: number[] = [];
  for (let v = d.min; v <= d.max; v = d.stepMode === 'power' ? v * d.step : v + d.step) out.push(v);
  return out;
}
const spaceSize = (e: Experiment) => e.params.reduce((n, p) => n * values(p.domain).length, 1);

describe('native format', () => {
  it("sets each job's runner kind: named by runner, else implied by image or vm; a contradiction is refused at the key", () => {
    const doc = (test: string) => `name: k\nparams: [{ name: A, type: integer, only: [1], default: 1 }]\ntest:\n${test}\nmetrics: [{ name: v, parser: regex, pattern: 'v=(\\d+)' }]\nobjective: { metric: v, direction: maximize }\n`;
    expect(parseExperiment(doc('  run: x'), '/x/e.yaml').tests[0]?.kind).toBe('process');
    expect(parseExperiment(doc('  run: x\n  image: busybox'), '/x/e.yaml').tests[0]?.kind).toBe('container');
    expect(parseExperiment(doc('  vm: { kernel: k }'), '/x/e.yaml').tests[0]?.kind).toBe('vm');
    expect(parseExperiment(doc('  run: x\n  runner: my-kind'), '/x/e.yaml').tests[0]?.kind).toBe('my-kind');
    expect(() => parseExperiment(doc('  run: x\n  image: busybox\n  runner: process'), '/x/e.yaml')).toThrow(/'runner: process' contradicts 'image'/);
    try {
      parseExperiment(doc('  run: x\n  image: busybox\n  runner: process'), '/x/e.yaml');
    } catch (e) {
      expect((e as { loc?: unknown }).loc).toMatchObject({ file: '/x/e.yaml', line: 6 });
    }
  });

  it('fills in defaults for a minimal file', () => {
    const text = [
      'name: minimal',
      'params:',
      '  - name: A',
      '    type: integer',
      '    min: 1',
      '    max: 3',
      'build:',
      '  run: make',
      'test:',
      '  run: ./bench',
      'metrics:',
      '  - name: ops',
      '    parser: regex',
      "    pattern: 'ops=(?<value>\\d+)'",
      'objective:',
      '  metric: ops',
      '  direction: minimize',
      '',
    ].join('\n');
    const e = parseExperiment(text, fixture('minimal.yaml'));
    expect(e.format).toBe('native');
    expect(e.pool).toBe('default');
    expect(e.dir).toBe(FIXTURES);
    expect(e.text).toBe(text);
    expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(e.params).toEqual([
      {
        name: 'A',
        type: 'integer',
        domain: { kind: 'range', min: 1, max: 3, step: 1, stepMode: 'increment' },
        when: 'build',
        loc: { file: fixture('minimal.yaml'), line: 3, col: 5 },
      },
    ]);
    // kind: the runner kind, implied by neither image nor vm: a host process.
    const common = { kind: 'process', retries: 0, devices: [], capabilities: [], privileged: false, inputs: [], outputs: [], resources: {}, env: {} };
    expect(e.build).toEqual({
      ...common,
      name: 'build',
      phase: 'build',
      run: 'make',
      cores: 1,
      isolation: 'none',
      timeoutSec: 3600,
      iterations: 1,
      warmup: 0,
      loc: { file: fixture('minimal.yaml'), line: 8, col: 3 },
    });
    expect(e.tests).toEqual([
      {
        ...common,
        name: 'test',
        phase: 'test',
        run: './bench',
        cores: 1,
        isolation: 'core',
        timeoutSec: 600,
        iterations: 1,
        warmup: 0,
        loc: { file: fixture('minimal.yaml'), line: 10, col: 3 },
      },
    ]);
    expect(e.objective).toEqual({ metric: 'ops', direction: 'minimize' });
    expect(e.exploration).toEqual({ strategy: 'grid', seed: 1, parallel: 1, randomStart: false });
    expect(e.host).toEqual({ sysctls: {} });
  });

  it('normalises every section of a full file', () => {
    const e = loadExperiment(fixture('native-nginx.yaml'));
    expect(e.name).toBe('linux-nginx');
    expect(e.description).toBe('NGINX on Linux, throughput under wrk');
    expect(e.pool).toBe('bench-a');
    const byName = Object.fromEntries(e.params.map((p) => [p.name, p]));
    expect(byName.NGINX_WORKERS).toMatchObject({
      domain: { kind: 'range', min: 1, max: 8, step: 2, stepMode: 'power' },
      default: 1,
      when: 'test',
      if: 'SENDFILE == true && NGINX_WORKERS > 1',
      description: 'worker processes',
    });
    expect(values(byName.NGINX_WORKERS!.domain)).toEqual([1, 2, 4, 8]);
    expect(byName.CC).toMatchObject({ type: 'string', domain: { kind: 'list', values: ['cubic', 'reno'] }, when: 'build' });
    expect(byName.SENDFILE).toMatchObject({ type: 'boolean', domain: { kind: 'list', values: [false, true] } });
    // `bool` alias; CONFIG_ names are Kconfig symbols.
    expect(byName.CONFIG_PREEMPT).toMatchObject({ type: 'boolean', default: false, kconfig: true });
    expect(byName.NGINX_WORKERS!.kconfig).toBeUndefined();
    // `only` wins over min/max.
    expect(byName.BACKLOG).toMatchObject({ type: 'integer', domain: { kind: 'list', values: [128, 512] }, default: 512 });
    // Workload dimensions join the parameters, as test-time parameters.
    expect(byName.CONNECTIONS).toMatchObject({ workload: true, when: 'test', domain: { kind: 'list', values: [10, 100] } });
    expect(e.params.map((p) => p.name)).toEqual(['NGINX_WORKERS', 'CC', 'SENDFILE', 'CONFIG_PREEMPT', 'BACKLOG', 'CONNECTIONS']);

    expect(e.build).toMatchObject({
      script: join(FIXTURES, 'scripts', 'build.sh'),
      image: 'alpine:3',
      timeoutSec: 600,
      env: { JOBS: '4', VERBOSE: 'true' },
      inputs: [
        { source: 'src', destination: '/in' },
        { source: 'patches', destination: '/patches' },
      ],
      outputs: [{ source: 'out', destination: '/out' }],
    });
    expect(e.build?.run).toBeUndefined();
    const [wrk, latency] = e.tests;
    expect(wrk).toMatchObject({
      name: 'wrk',
      script: join(FIXTURES, 'scripts', 'wrk.sh'),
      iterations: 3,
      warmup: 1,
      cores: 2,
      timeoutSec: 90,
      isolation: 'core',
      devices: ['/dev/net/tun'],
      capabilities: ['NET_ADMIN', 'SYS_NICE'],
      network: 'host',
      resources: { l3Ways: 2, mbPercent: 50, memoryBytes: 512 * 1024 * 1024 },
    });
    expect(latency).toMatchObject({ name: 'latency', run: 'echo latency_us=42', isolation: 'socket', retries: 2, iterations: 1 });
    expect(e.metrics).toMatchObject([
      { name: 'wrk', parser: 'wrk', source: { kind: 'stdout' }, test: 'wrk' },
      { name: 'latency_us', parser: 'regex', pattern: 'latency_us=(\\d+)', scale: 0.001, test: 'latency' },
      { name: 'stats', parser: 'json', source: { kind: 'file', path: 'results.json' }, path: 'a.b.0' },
    ]);
    expect(e.objective).toEqual({ metric: 'wrk.requests_per_sec', direction: 'maximize', failureValue: 0 });
    expect(e.exploration).toEqual({ strategy: 'random', budget: 20, seed: 7, parallel: 2, randomStart: true });
    expect(e.host).toEqual({
      governor: 'performance',
      turbo: false,
      smt: true,
      aslr: false,
      sysctls: { 'kernel.sched_autogroup_enabled': '0', 'vm.swappiness': '10' },
    });
    expect(spaceSize(e)).toBe(4 * 2 * 2 * 2 * 2 * 2);
  });

  it('accepts the metric file shorthand and the minimize shorthand', () => {
    const e = parseExperiment(
      "name: s\nparams:\n  - name: A\n    type: bool\ntest:\n  run: x\nmetrics:\n  - name: lat\n    parser: json\n    file: out.json\n    path: p50\nobjective:\n  minimize: lat\n",
      fixture('s.yaml'),
    );
    expect(e.metrics[0]?.source).toEqual({ kind: 'file', path: 'out.json' });
    expect(e.objective).toEqual({ metric: 'lat', direction: 'minimize' });
  });
});

describe('Wayfinder paper-era format', () => {
  const e = loadExperiment(fixture('paper-unikraft-nginx.yaml'));

  it('is detected and named after the file', () => {
    expect(e.format).toBe('paper');
    expect(e.name).toBe('paper-unikraft-nginx');
  });

  it('plans the same 512 configurations as the paper', () => {
    const domains = Object.fromEntries(e.params.map((p) => [p.name, values(p.domain)]));
    expect(domains).toEqual({
      LWIP_NUM_TCPCON: [8, 16, 32, 64],
      LWIP_NUM_TCPLISTENERS: [8, 16, 32, 64],
      LWIP_UKNETDEV_POLLONLY: ['y', 'n'],
      LWIP_POOLS: ['y', 'n'],
      ACCESS_LOG: ['y', 'n'],
      KEEPALIVE_TIMEOUT: [0, 60],
      OPEN_FILE_CACHE: ['caching', 'nocaching'],
      WORKER_CONNECTIONS: [63],
      PAYLOAD_SIZE: [612],
      NUM_PARALLEL_CONNS: [30],
    });
    expect(spaceSize(e)).toBe(512);
    // The paper-era format has no `when`: everything is a build parameter.
    expect(e.params.every((p) => p.when === 'build')).toBe(true);
    expect(e.params.map((p) => p.type)).toEqual([
      'integer', 'integer', 'string', 'string', 'string', 'integer', 'string', 'integer', 'integer', 'integer',
    ]);
  });

  it('makes the run named build the build job and the others tests', () => {
    expect(e.build).toMatchObject({ name: 'build', phase: 'build', image: 'ukbench/unikraft', cores: 1, isolation: 'none', timeoutSec: 3600, devices: ['/dev/urandom'] });
    expect(e.build?.run).toContain('kraft build');
    expect(e.tests).toHaveLength(1);
    expect(e.tests[0]).toMatchObject({
      name: 'run',
      phase: 'test',
      run: '/test.sh',
      cores: 30,
      isolation: 'core',
      iterations: 1,
      devices: ['/dev/kvm', '/dev/net/tun'],
      capabilities: ['NET_ADMIN'],
    });
    for (const job of [e.build!, e.tests[0]!]) {
      expect(job.inputs).toEqual([
        { source: './test.sh', destination: '/test.sh' },
        { source: './nginx-caching.conf', destination: '/nginx-caching.conf' },
        { source: './nginx-nocaching.conf', destination: '/nginx-nocaching.conf' },
      ]);
      expect(job.outputs[2]).toEqual({ source: 'results.txt', destination: '/results.txt' });
    }
    expect(e.tests[0]?.loc).toEqual({ file: fixture('paper-unikraft-nginx.yaml'), line: 68, col: 5 });
  });

  it('implies a metric: the last number the test prints, maximised', () => {
    expect(e.metrics).toEqual([{ name: IMPLIED_METRIC, parser: 'regex', source: { kind: 'stdout' }, pattern: LAST_NUMBER_PATTERN }]);
    expect(e.objective).toEqual({ metric: IMPLIED_METRIC, direction: 'maximize' });
    const re = new RegExp(LAST_NUMBER_PATTERN);
    expect(re.exec('Running 10s test\nRequests/sec:  41234.56\n')?.[1]).toBe('41234.56');
    expect(re.exec('t=1 t=2 t=-3.5e2 done\n')?.[1]).toBe('-3.5e2');
  });

  it('takes native metrics and objective added to the file instead', () => {
    const text = readFileSync(fixture('paper-unikraft-nginx.yaml'), 'utf8') +
      'metrics:\n  - name: wrk\n    parser: wrk\n    test: run\nobjective:\n  maximize: wrk.requests_per_sec\n';
    const p = parseExperiment(text, fixture('job.yaml'));
    expect(p.format).toBe('paper');
    expect(p.name).toBe('spec'); // job.yaml is named after its folder
    expect(p.metrics).toMatchObject([{ name: 'wrk', parser: 'wrk', test: 'run' }]);
    expect(p.objective).toEqual({ metric: 'wrk.requests_per_sec', direction: 'maximize' });
  });
});

describe('Wayfinder daemon format', () => {
  const e = loadExperiment(fixture('daemon-unikraft-nginx.yaml'));
  const byName = Object.fromEntries(e.params.map((p) => [p.name, p]));

  it('is detected', () => {
    expect(e.format).toBe('daemon');
    expect(e.name).toBe('daemon-unikraft-nginx');
  });

  it('maps parameters as the daemon read them', () => {
    expect(byName.LWIP_NUM_TCPCON).toMatchObject({ type: 'integer', when: 'build', domain: { kind: 'list', values: [8, 16, 32, 64] } });
    expect(byName.LWIP_POOLS).toMatchObject({ type: 'string', default: 'y', when: 'build' });
    // Unset `when` is build, as Wayfinder's build checksum counted it.
    expect(byName.CONFIG_HZ).toMatchObject({ when: 'build', kconfig: true, default: 100 });
    expect(values(byName.CONFIG_HZ!.domain)).toEqual([100, 400, 700, 1000]);
    // `only` takes precedence over min/max.
    expect(byName.KEEPALIVE_TIMEOUT).toMatchObject({ when: 'test', default: 60, domain: { kind: 'list', values: [0, 60] } });
    // The daemon read `only` as strings: numbers in a string parameter's list are strings.
    expect(byName.WORKER_RLIMIT_NOFILE).toMatchObject({ type: 'string', default: '63', domain: { kind: 'list', values: ['63', '126'] } });
    // `both` counts as build; `str` is string.
    expect(byName.SENDFILE).toMatchObject({ type: 'string', when: 'build' });
    expect(byName.TCP_NOPUSH).toMatchObject({ when: 'test', if: "SENDFILE=='on'" });
    // Neither only nor a range: the default alone, as the daemon did.
    expect(byName.PAYLOAD_SIZE).toMatchObject({ domain: { kind: 'list', values: [612] }, default: 612 });
    expect(spaceSize(e)).toBe(4 * 2 * 4 * 2 * 2 * 2 * 2 * 1);
  });

  it('maps build and test onto jobs', () => {
    expect(e.build).toMatchObject({
      phase: 'build',
      image: 'ghcr.io/unikraft/wayfinder/unikraft-nginx:latest',
      cores: 2,
      isolation: 'none',
      devices: ['/dev/urandom'],
      capabilities: ['NET_ADMIN'],
      outputs: [
        { source: 'usr/src/unikraft/apps/nginx/build/nginx_kvm-x86_64', destination: '/usr/src/unikraft/apps/nginx/build/nginx_kvm-x86_64' },
        { source: 'usr/src/unikraft/apps/nginx/initramfs.cpio', destination: '/usr/src/unikraft/apps/nginx/initramfs.cpio' },
      ],
    });
    expect(e.build?.run?.split('\n')[0]).toBe("cd '/usr/src/unikraft/apps/nginx' || exit 1");
    expect(e.build?.run).toContain('kraft build');
    expect(e.tests).toHaveLength(1);
    expect(e.tests[0]).toMatchObject({
      name: 'throughput',
      run: '/test.sh index.html',
      image: 'ghcr.io/unikraft/wayfinder/wrk:latest',
      // The daemon booted the build's kernel in a VM and ran the benchtool beside it.
      kind: 'vm-container',
      // The guest's vCPU and the benchtool's CPU.
      cores: 2,
      isolation: 'core',
      timeoutSec: 600,
      devices: ['/dev/kvm', '/dev/net/tun'],
      capabilities: ['NET_ADMIN'],
      env: { THREADS: '2', DURATION: '30', WAYFINDER_DURATION: '30' },
      vm: {
        kernel: 'usr/src/unikraft/apps/nginx/build/nginx_kvm-x86_64',
        initrd: 'usr/src/unikraft/apps/nginx/initramfs.cpio',
        memory: '20M',
        cores: 1,
        args: 'netdev.ipv4_addr=${WAYFINDER_DOMAIN_IP_ADDR} --',
        net: 'tap',
        startDelaySec: 5,
      },
      outputs: [
        { source: 'results/throughput.txt', destination: '/results/throughput.txt' },
        { source: 'results/server.txt', destination: '/results/server.txt' },
      ],
    });
  });

  it('turns numeric results into metrics read from their files', () => {
    expect(e.metrics).toEqual([
      {
        name: 'throughput',
        parser: 'regex',
        source: { kind: 'file', path: 'results/throughput.txt' },
        // As the daemon read a float result (fmt.Fscanf %f): the number the file starts with.
        pattern: LEADING_NUMBER_PATTERN,
        test: 'throughput',
        loc: { file: fixture('daemon-unikraft-nginx.yaml'), line: 83, col: 9 },
      },
    ]);
    expect(e.objective).toEqual({ metric: 'throughput', direction: 'maximize' });
  });

  it('points errors in mapped keys at what the file wrote', () => {
    const text = readFileSync(fixture('daemon-unikraft-nginx.yaml'), 'utf8').replace('        - NET_ADMIN', '        - NET_ADMINN');
    expect(() => parseExperiment(text, fixture('daemon-unikraft-nginx.yaml'))).toThrow(
      expect.objectContaining({ message: "unknown Linux capability 'NET_ADMINN'; did you mean 'NET_ADMIN'?", loc: { file: fixture('daemon-unikraft-nginx.yaml'), line: 75, col: 11 } }),
    );
  });
});

describe('format detection', () => {
  it('reads the format from the keys', () => {
    expect(detectFormat({ params: [], runs: [] })).toBe('paper');
    expect(detectFormat({ params: [], build: { commands: 'make' }, test: [] })).toBe('daemon');
    expect(detectFormat({ params: [], build: { outputs: { kernel: '/k' } }, test: {} })).toBe('daemon');
    expect(detectFormat({ params: [], test: { benchtool: { commands: 'x' } } })).toBe('daemon');
    expect(detectFormat({ params: [{ when: 'test' }], build: { run: 'make', outputs: [] }, test: [{ run: 'x' }] })).toBe('native');
    expect(detectFormat({ name: 'x' })).toBe('native');
  });
});
