// Where the controller's signals come from (docs/control.md, "Running a controller"): the
// dataplane's shared-memory region, Linux's counters (/proc/net/snmp, /proc/net/netstat,
// /proc/net/sockstat, /proc/pressure/*, /sys/class/net/*/statistics), a file holding a number, and
// a command's output read by one of our metric parsers. A counter with `rate: true` becomes its
// change per second over the period. A signal that cannot be read this period is NaN: the policy
// then answers with its fallback.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { metricParser } from '../metrics/registry.js';
import type { ControllerLink } from './controller-link.js';
import type { SignalSpec } from './config.js';

export interface Roots {
  procRoot: string;
  sysRoot: string;
}

/** The two-line tables of /proc/net/snmp and /proc/net/netstat: "Tcp: A B\nTcp: 1 2" -> Tcp.A = 1. */
export function parseKeyedTables(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    const head = lines[i]!.split(/\s+/).filter(Boolean);
    const vals = lines[i + 1]!.split(/\s+/).filter(Boolean);
    if (head.length < 2 || head[0] !== vals[0] || !head[0]!.endsWith(':')) continue;
    if (vals.slice(1).some((v) => !/^-?\d+$/.test(v))) continue;
    const table = head[0]!.slice(0, -1);
    for (let k = 1; k < head.length; k++) out.set(`${table}.${head[k]}`, Number(vals[k]));
    i++;
  }
  return out;
}

/** /proc/net/sockstat: "TCP: inuse 11 orphan 0 ..." -> TCP.inuse = 11. */
export function parseSockstat(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(.*)$/.exec(line);
    if (!m) continue;
    const words = m[2]!.split(/\s+/);
    for (let k = 0; k + 1 < words.length; k += 2) out.set(`${m[1]}.${words[k]}`, Number(words[k + 1]));
  }
  return out;
}

/** /proc/pressure/RESOURCE: "some avg10=0.00 avg60=0.00 avg300=0.00 total=123" -> some.avg10 = 0. */
export function parsePressure(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [kind, ...pairs] = line.trim().split(/\s+/);
    if (kind !== 'some' && kind !== 'full') continue;
    for (const p of pairs) {
      const [k, v] = p.split('=');
      if (k && v !== undefined) out.set(`${kind}.${k}`, Number(v));
    }
  }
  return out;
}

type Reader = () => Promise<number> | number;

/** One period's raw values (before rates), by signal name. */
export class Sources {
  private readonly readers: { spec: SignalSpec; read: Reader }[];
  private last = new Map<string, { v: number; tMs: number }>();

  constructor(specs: readonly SignalSpec[], roots: Roots, private readonly link: () => ControllerLink | undefined) {
    // One read of a file per period even when several signals come from it.
    this.readers = specs.map((spec) => ({ spec, read: this.reader(spec, roots) }));
  }

  private cache = new Map<string, Map<string, number>>();

  private table(path: string, parse: (t: string) => Map<string, number>): Map<string, number> {
    let t = this.cache.get(path);
    if (!t) {
      t = parse(readFileSync(path, 'utf8'));
      this.cache.set(path, t);
    }
    return t;
  }

  private reader(s: SignalSpec, roots: Roots): Reader {
    const from = (path: string, parse: (t: string) => Map<string, number>, key: string) => (): number => {
      const v = this.table(path, parse).get(key);
      if (v === undefined) throw new Error(`${path} has no ${key}`);
      return v;
    };
    switch (s.kind) {
      case 'shm':
        return () => {
          const sig = this.link()?.signals();
          const v = sig?.values[s.signal];
          if (v === undefined) throw new Error(sig ? `the region has no signal ${s.signal}` : 'the region gave no consistent copy');
          return v;
        };
      case 'snmp':
        return from(join(roots.procRoot, 'net/snmp'), parseKeyedTables, s.key);
      case 'netstat':
        return from(join(roots.procRoot, 'net/netstat'), parseKeyedTables, s.key);
      case 'sockets':
        return from(join(roots.procRoot, 'net/sockstat'), parseSockstat, s.key);
      case 'pressure':
        return from(join(roots.procRoot, 'pressure', s.resource), parsePressure, s.key);
      case 'interface':
        return () => number(readFileSync(join(roots.sysRoot, 'class/net', s.device, 'statistics', s.counter), 'utf8'), `${s.device} ${s.counter}`);
      case 'file':
        return () => number(readFileSync(s.path, 'utf8'), s.path);
      case 'command': {
        const parser = metricParser(s.parser)!;
        return () =>
          new Promise<number>((resolve, reject) => {
            execFile('/bin/sh', ['-c', s.run], { timeout: s.timeoutMs, maxBuffer: 1 << 22 }, (err, stdout) => {
              if (err) return reject(new Error(`command "${s.run}": ${err.killed ? `no answer within ${s.timeoutMs} ms` : err.message.split('\n')[0]}`));
              try {
                if (parser.yields === 'one') resolve(parser.parse(stdout, s.options));
                else {
                  const v = parser.parse(stdout, s.options)[s.field!];
                  if (v === undefined) throw new Error(`no ${s.field} in its output`);
                  resolve(v);
                }
              } catch (e) {
                reject(new Error(`command "${s.run}": ${(e as Error).message}`));
              }
            });
          });
      }
    }
  }

  /** Every signal now, and what could not be read (name: why). Rates are per second since the last sample. */
  async sample(nowMs: number): Promise<{ values: Record<string, number>; errors: Record<string, string> }> {
    this.cache.clear();
    const values: Record<string, number> = {};
    const errors: Record<string, string> = {};
    await Promise.all(
      this.readers.map(async ({ spec, read }) => {
        let raw: number;
        try {
          raw = await read();
        } catch (e) {
          values[spec.name] = NaN;
          errors[spec.name] = (e as Error).message;
          return;
        }
        if (!spec.rate) {
          values[spec.name] = raw;
          return;
        }
        const prev = this.last.get(spec.name);
        this.last.set(spec.name, { v: raw, tMs: nowMs });
        // The first sample has nothing to compare with; a counter that went backwards was reset.
        values[spec.name] = prev && nowMs > prev.tMs && raw >= prev.v ? ((raw - prev.v) * 1000) / (nowMs - prev.tMs) : NaN;
        if (!prev) errors[spec.name] = 'first sample of a rate';
      }),
    );
    return { values, errors };
  }
}

function number(text: string, what: string): number {
  const t = text.trim();
  const v = Number(t);
  if (t === '' || !Number.isFinite(v)) throw new Error(`${what}: "${t.slice(0, 40)}" is not a number`);
  return v;
}
