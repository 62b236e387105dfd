// The controller's signal sources: Linux's counter files read by name (a stand-in /proc and /sys
// with known numbers, and the real ones), rates over the period, a file, and a command's output
// through a metric parser; what cannot be read is NaN with the reason.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseControlConfig } from '../../src/control/config.js';
import { Sources } from '../../src/control/sources.js';
import { tempDir } from '../helpers.js';

const t = tempDir('wf-sources-');
afterAll(() => t.cleanup());

function root(snmpRetrans: number, rx: number): { procRoot: string; sysRoot: string } {
  const proc = join(t.dir, 'proc');
  const sys = join(t.dir, 'sys');
  mkdirSync(join(proc, 'net'), { recursive: true });
  mkdirSync(join(proc, 'pressure'), { recursive: true });
  mkdirSync(join(sys, 'class/net/veth0/statistics'), { recursive: true });
  writeFileSync(join(proc, 'net/snmp'), `Ip: Forwarding DefaultTTL\nIp: 2 64\nTcp: RtoAlgorithm RetransSegs\nTcp: 1 ${snmpRetrans}\n`);
  writeFileSync(join(proc, 'net/netstat'), 'TcpExt: SyncookiesSent TCPSACKReorder\nTcpExt: 0 17\n');
  writeFileSync(join(proc, 'net/sockstat'), 'sockets: used 88\nTCP: inuse 11 orphan 0 tw 2 alloc 15 mem 0\n');
  writeFileSync(join(proc, 'pressure/cpu'), 'some avg10=1.50 avg60=0.80 avg300=0.10 total=12345\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n');
  writeFileSync(join(sys, 'class/net/veth0/statistics/rx_packets'), `${rx}\n`);
  return { procRoot: proc, sysRoot: sys };
}

const config = (extra = '') =>
  parseControlConfig(
    `signals:
  retrans: { snmp: Tcp.RetransSegs, rate: true }
  retrans_total: { snmp: Tcp.RetransSegs }
  reorder: { netstat: TcpExt.TCPSACKReorder }
  tcp: { sockets: TCP.inuse }
  cpu: { pressure: cpu.some.avg10 }
  rx: { interface: veth0.rx_packets, rate: true }
  load: { file: ${join(t.dir, 'load')} }
  rps: { command: "echo '{\\"rps\\": 1234.5}'", parser: json, path: rps }
  p99: { command: "echo 'p99 87 us'", parser: regex, pattern: 'p99 (\\d+) us' }
  nope: { command: "exit 3", parser: regex, pattern: 'x (\\d+)' }
${extra}knobs:
  K: { sysctl: a.b }
`,
    join(t.dir, 'c.yaml'),
  );

describe('signal sources', () => {
  it('reads counters by name, turns counters into rates over the period, and reads a file and a command', async () => {
    writeFileSync(join(t.dir, 'load'), '0.75\n');
    const s = new Sources(config().signals, root(100, 5000), () => undefined);
    const first = await s.sample(1000);
    expect(first.values).toMatchObject({ retrans_total: 100, reorder: 17, tcp: 11, cpu: 1.5, load: 0.75, rps: 1234.5, p99: 87 });
    expect(first.values.retrans).toBeNaN(); // a rate has nothing to compare with yet
    expect(first.errors.retrans).toBe('first sample of a rate');
    expect(first.values.nope).toBeNaN();
    expect(first.errors.nope).toMatch(/command "exit 3"/);
    root(130, 5600);
    const second = await s.sample(1500);
    expect(second.values.retrans).toBe(60); // 30 in 0.5 s
    expect(second.values.rx).toBe(1200);
    root(10, 5600); // a counter that went backwards was reset: no rate this time
    expect((await s.sample(2000)).values.retrans).toBeNaN();
  });

  it('reads the real /proc and /sys of this machine', async () => {
    const c = parseControlConfig(
      'signals:\n  segs: { snmp: Tcp.OutSegs }\n  tcp: { sockets: TCP.inuse }\n  lo: { interface: lo.rx_packets }\n  cpu: { pressure: cpu.some.total }\n  ext: { netstat: TcpExt.TCPTimeouts }\nknobs:\n  K: { sysctl: a.b }\n',
      'real.yaml',
    );
    const { values, errors } = await new Sources(c.signals, { procRoot: '/proc', sysRoot: '/sys' }, () => undefined).sample(0);
    expect(errors).toEqual({});
    for (const v of Object.values(values)) expect(Number.isFinite(v) && v >= 0).toBe(true);
  });
});
