// The controller's configuration: what it accepts, and every refusal at its file:line:column.

import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseControlConfig, readControlConfig } from '../../src/control/config.js';
import { loadExperiment } from '../../src/spec/index.js';
import { InputError } from '../../src/types.js';
import { ROOT, tempDir } from '../helpers.js';

function refusal(text: string): string {
  try {
    parseControlConfig(text, 'c.yaml');
  } catch (e) {
    if (e instanceof InputError) return e.format();
    throw e;
  }
  throw new Error('accepted');
}

describe('controller configuration', () => {
  it('reads every kind of source and actuator, a control: section, durations, shares and rates', () => {
    const c = parseControlConfig(
      `name: x
control:
  period: 200us
  region: /dev/shm/dp
  signals:
    flows: { shm: flows }
    retrans: { snmp: Tcp.RetransSegs, rate: true }
    reorder: { netstat: TcpExt.TCPSACKReorder, rate: true }
    cpu: { pressure: cpu.some.avg10 }
    rx: { interface: lo.rx_packets, rate: true }
    tcp: { sockets: TCP.inuse }
    rps: { command: "cat out.txt", parser: wrk, field: requests_per_sec, timeout: 2s }
    load: { file: load.txt }
  objective: rps
  knobs:
    BATCH: { shm: BATCH, values: [1, 2, 4, 8] }
    REORDERING: { sysctl: net.ipv4.tcp_reordering, min: 3, max: 300 }
    WORKERS: { command: "nginx -s reload", timeout: 5s }
  guard: { dwell: 1.5s, hysteresis: 5%, rate: 2/10s, revert: { periods: 4, noise: 2% } }
`,
      '/x/c.yaml',
    );
    expect(c.periodMs).toBeCloseTo(0.2);
    expect(c.signals.map((s) => s.kind)).toEqual(['shm', 'snmp', 'netstat', 'pressure', 'interface', 'sockets', 'command', 'file']);
    expect(c.signals[4]).toMatchObject({ device: 'lo', counter: 'rx_packets', rate: true });
    expect(c.signals[7]).toMatchObject({ path: '/x/load.txt' });
    expect(c.knobs.map((k) => [k.kind, k.domain])).toEqual([
      ['shm', { kind: 'values', values: [1, 2, 4, 8] }],
      ['sysctl', { kind: 'range', min: 3, max: 300, integer: true }],
      ['command', undefined],
    ]);
    expect(c.guard).toEqual({ dwellMs: 1500, hysteresis: 0.05, rate: { changes: 2, windowMs: 10_000 }, revert: { periods: 4, noise: 0.02 } });
    expect(c.objective).toMatchObject({ signal: 'rps' });
  });

  it('takes a knob\'s domain from the experiment\'s parameter of that name, and refuses a knob the experiment lacks', () => {
    const exp = `${ROOT}/experiments/linux-dupack-quick.yaml`;
    const c = parseControlConfig(`experiment: ${exp}\nsignals: {a: {file: x}}\nknobs:\n  TCP_REORDERING: { sysctl: net.ipv4.tcp_reordering }\n`, 'c.yaml');
    expect(c.knobs[0]!.domain).toEqual({ kind: 'values', values: [1, 3, 12] });
    expect(refusal(`experiment: ${exp}\nsignals: {a: {file: x}}\nknobs:\n  NOPE: { sysctl: a.b }\n`)).toMatch(/^c\.yaml:4:9: knob NOPE: not a parameter of the experiment \(parameters: TCP_REORDERING, /);
  });

  it('reads the control: section of an experiment file, which the experiment loader accepts and ignores', () => {
    const t = tempDir('wf-control-config-');
    try {
      const file = join(t.dir, 'exp.yaml');
      const text = readFileSync(`${ROOT}/experiments/linux-dupack-quick.yaml`, 'utf8').replace(/\.\.\//g, `${ROOT}/`);
      writeFileSync(file, `${text}\ncontrol:\n  period: 1s\n  experiment: exp.yaml\n  signals: {a: {file: x}}\n  knobs:\n    TCP_REORDERING: { sysctl: net.ipv4.tcp_reordering }\n`);
      expect(loadExperiment(file).name).toBe('linux-dupack-quick');
      const c = readControlConfig(file);
      expect(c.periodMs).toBe(1000);
      expect(c.knobs[0]!.domain).toEqual({ kind: 'values', values: [1, 3, 12] });
    } finally {
      t.cleanup();
    }
  });

  it.each([
    ['period: fast\nsignals: {a: {file: x}}\nknobs: {K: {sysctl: a.b}}\n', /^c\.yaml:1:9: period: expected a duration/],
    ['signals:\n  a: { file: x, snmp: Tcp.A }\nknobs: {K: {sysctl: a.b}}\n', /^c\.yaml:2:6: signal a: name exactly one source .*not snmp and file/],
    ['signals:\n  a: { shm: x }\nknobs: {K: {sysctl: a.b}}\n', /^c\.yaml:2:13: signal a: a shared-memory signal needs `region:`/],
    ['signals:\n  a: { pressure: cpu.most }\nknobs: {K: {sysctl: a.b}}\n', /^c\.yaml:2:18: signal a: pressure is RESOURCE/],
    ['signals:\n  a: { command: x, parser: nope }\nknobs: {K: {sysctl: a.b}}\n', /^c\.yaml:2:28: signal a: a command's output is read by a metric parser/],
    ['signals:\n  a: { command: x, parser: wrk, field: nope }\nknobs: {K: {sysctl: a.b}}\n', /^c\.yaml:2:40: signal a: parser wrk has no field "nope"/],
    ['signals: {a: {file: x}}\nknobs:\n  K: { sysctl: a.b, colour: red }\n', /^c\.yaml:3:21: unknown key "colour"/],
    ['signals: {a: {file: x}}\nknobs:\n  K: { sysctl: "not a name" }\n', /^c\.yaml:3:16: knob K: sysctl is a dotted name/],
    ['signals: {a: {file: x}}\nknobs:\n  K: { sysctl: a.b, min: 9, max: 1 }\n', /^c\.yaml:3:26: knob K: min and max are numbers, min <= max/],
    ['signals: {a: {file: x}}\nknobs: {K: {sysctl: a.b}}\nguard:\n  rate: often\n', /^c\.yaml:4:9: guard\.rate: at most N changes per time/],
    ['signals: {a: {file: x}}\nknobs: {K: {sysctl: a.b}}\nguard:\n  revert: { periods: 2 }\n', /^c\.yaml:4:11: guard\.revert compares the objective/],
    ['signals: {a: {file: x}}\nknobs: {K: {sysctl: a.b}}\nobjective: b\n', /^c\.yaml:3:12: objective: "b" is not one of the signals \(a\)/],
    ['signals: {a: {file: x}}\nknobs: {K: {sysctl: a.b}}\nsignals: {}\n', /^c\.yaml:3:1: YAML syntax error/],
  ])('refuses %j at its place', (text, message) => {
    expect(refusal(text)).toMatch(message);
  });
});
