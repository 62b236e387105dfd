// The controller's configuration file (docs/control.md, "Running a controller"): where each signal
// comes from, how each knob is applied, the period and the guard rails, read from a YAML file
// (its own file, or the `control:` section of an experiment file). Every refusal names
// file:line:column.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { InputError, type SourceLoc, type Value } from '../types.js';
import { metricParser, metricParserNames } from '../metrics/registry.js';
import { loadExperiment } from '../spec/index.js';
import { domainSize, domainValues } from '../generator/domain.js';

export type SignalSpec = { name: string; rate: boolean; loc: SourceLoc } & (
  | { kind: 'shm'; signal: string }
  | { kind: 'snmp' | 'netstat' | 'sockets'; key: string }
  | { kind: 'pressure'; resource: string; key: string }
  | { kind: 'interface'; device: string; counter: string }
  | { kind: 'file'; path: string }
  | { kind: 'command'; run: string; parser: string; options: Record<string, string>; field: string | undefined; timeoutMs: number }
);

/** The values a knob may take: a range (integers when `integer`), or a list. */
export type KnobDomain = { kind: 'range'; min: number; max: number; integer: boolean } | { kind: 'values'; values: Value[] };

export type KnobSpec = { name: string; domain: KnobDomain | undefined; loc: SourceLoc } & (
  | { kind: 'shm'; knob: string }
  | { kind: 'sysctl'; sysctl: string }
  | { kind: 'command'; run: string; timeoutMs: number }
);

export interface GuardSpec {
  /** Least time a knob keeps a value before it may change again (ms). */
  dwellMs: number;
  /** A change needs the decision to hold with every feature moved by this share of its trained range. */
  hysteresis: number;
  /** At most `changes` changes in any `windowMs`. */
  rate: { changes: number; windowMs: number } | undefined;
  /** Revert a change after which the objective was worse than before, beyond noise, for `periods` periods. */
  revert: { periods: number; noise: number } | undefined;
}

export interface ControlConfig {
  file: string;
  periodMs: number;
  region: string | undefined;
  access: 'mapped' | 'pread';
  signals: SignalSpec[];
  knobs: KnobSpec[];
  objective: { signal: string; direction: 'maximize' | 'minimize' | undefined; loc: SourceLoc } | undefined;
  guard: GuardSpec;
  /** Where the config's guard rail settings are, for errors found against the policy. */
  locs: { top: SourceLoc; knobs: SourceLoc; signals: SourceLoc; region: SourceLoc };
}

type Path = (string | number)[];

class Located {
  constructor(
    readonly file: string,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
    private readonly base: Path,
  ) {}

  loc(path: Path): SourceLoc {
    const full = [...this.base, ...path];
    for (let k = full.length; k >= 0; k--) {
      const n = this.doc.getIn(full.slice(0, k), true) as { range?: [number, number, number] } | undefined;
      if (n && typeof n === 'object' && n.range) {
        const p = this.lines.linePos(n.range[0]);
        return { file: this.file, line: p.line, col: p.col };
      }
    }
    return { file: this.file, line: 1, col: 1 };
  }

  /** The key's position (for an unknown key). */
  keyLoc(path: Path): SourceLoc {
    const parent = this.doc.getIn([...this.base, ...path.slice(0, -1)], true);
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(path[path.length - 1]));
      const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
      if (range) {
        const p = this.lines.linePos(range[0]);
        return { file: this.file, line: p.line, col: p.col };
      }
    }
    return this.loc(path);
  }

  fail(path: Path, msg: string, hint?: string): never {
    throw new InputError(msg, this.loc(path), hint);
  }
}

const SIGNAL_KINDS = ['shm', 'snmp', 'netstat', 'pressure', 'interface', 'sockets', 'file', 'command'] as const;
const KNOB_KINDS = ['shm', 'sysctl', 'command'] as const;
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** "50ms", "200us", "1.5s", "2m"; a bare number is milliseconds. */
export function parseMs(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|µs|ms|s|m|min)?\s*$/.exec(v);
  if (!m) return undefined;
  const scale: Record<string, number> = { us: 0.001, µs: 0.001, ms: 1, s: 1000, m: 60_000, min: 60_000 };
  return Number(m[1]) * scale[m[2] ?? 'ms']!;
}

/** "5%" or 0.05. */
function parseShare(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v);
  return m ? Number(m[1]) / 100 : undefined;
}

function onlyKeys(at: Located, path: Path, obj: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw new InputError(`unknown key "${k}" (known here: ${allowed.join(', ')})`, at.keyLoc([...path, k]));
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(at: Located, path: Path, v: unknown, what: string): string {
  if (typeof v !== 'string' || v.trim() === '') at.fail(path, `${what}: expected a non-empty string`);
  return v;
}

/** Read a controller configuration: a file whose top level is `control:` (an experiment file, say) or is the section itself. */
export function readControlConfig(file: string): ControlConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`cannot read the controller configuration: ${code === 'ENOENT' ? 'no such file' : (code ?? String(e))}`, { file, line: 1, col: 1 });
  }
  return parseControlConfig(text, file);
}

export function parseControlConfig(text: string, file: string): ControlConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true });
  const err = doc.errors[0];
  if (err) {
    const p = err.linePos?.[0] ?? lines.linePos(err.pos[0]);
    throw new InputError(`YAML syntax error: ${err.message.split('\n')[0]}`, { file, line: p.line, col: p.col });
  }
  const top = doc.toJS() as unknown;
  if (!isObject(top)) throw new InputError('expected a mapping with `period`, `signals` and `knobs` (or a `control:` section holding them)', { file, line: 1, col: 1 });
  const inSection = 'control' in top;
  const base: Path = inSection ? ['control'] : [];
  const at: Located = new Located(file, doc, lines, base);
  const c = inSection ? top.control : top;
  if (!isObject(c)) at.fail([], '`control:` must be a mapping with `period`, `signals` and `knobs`');
  onlyKeys(at, [], c, ['period', 'region', 'access', 'signals', 'knobs', 'objective', 'guard', 'experiment']);
  const dir = dirname(resolve(file));

  const periodMs = parseMs(c.period ?? '100ms');
  if (periodMs === undefined || periodMs <= 0) at.fail(['period'], `period: expected a duration such as 50ms, 200us or 1s, got ${JSON.stringify(c.period)}`);

  let region: string | undefined;
  if (c.region !== undefined) region = resolve(dir, str(at, ['region'], c.region, 'region'));
  const access = c.access ?? 'mapped';
  if (access !== 'mapped' && access !== 'pread') at.fail(['access'], `access: "mapped" or "pread", got ${JSON.stringify(access)}`);

  if (!isObject(c.signals) || Object.keys(c.signals).length === 0) at.fail(['signals'], 'signals: expected a mapping from signal names to their sources (at least one)');
  const signals = Object.entries(c.signals).map(([name, s]) => signalSpec(at, name, s, region, dir));

  if (!isObject(c.knobs) || Object.keys(c.knobs).length === 0) at.fail(['knobs'], 'knobs: expected a mapping from the policy\'s knob names to how each is applied (at least one)');
  let params: Map<string, KnobDomain> | undefined;
  if (c.experiment !== undefined) {
    const expFile = resolve(dir, str(at, ['experiment'], c.experiment, 'experiment'));
    try {
      params = new Map(loadExperiment(expFile).params.map((p) => [p.name, experimentDomain(p)]));
    } catch (e) {
      if (e instanceof InputError) throw e;
      at.fail(['experiment'], `experiment: cannot read ${expFile}: ${(e as Error).message}`);
    }
  }
  const knobs = Object.entries(c.knobs).map(([name, k]) => knobSpec(at, name, k, region, params));

  let objective: ControlConfig['objective'];
  if (c.objective !== undefined) {
    const o = c.objective;
    if (typeof o === 'string') objective = { signal: o, direction: undefined, loc: at.loc(['objective']) };
    else if (isObject(o)) {
      onlyKeys(at, ['objective'], o, ['signal', 'direction']);
      const d = o.direction;
      if (d !== undefined && d !== 'maximize' && d !== 'minimize') at.fail(['objective', 'direction'], `objective.direction: "maximize" or "minimize", got ${JSON.stringify(d)}`);
      objective = { signal: str(at, ['objective', 'signal'], o.signal, 'objective.signal'), direction: d as 'maximize' | 'minimize' | undefined, loc: at.loc(['objective', 'signal']) };
    } else at.fail(['objective'], 'objective: a signal name, or {signal, direction}');
    const named = objective!.signal;
    if (!signals.some((s) => s.name === named)) at.fail(['objective'], `objective: "${named}" is not one of the signals (${signals.map((s) => s.name).join(', ')})`);
  }

  const guard = guardSpec(at, c.guard);
  if (guard.revert && !objective) at.fail(['guard', 'revert'], 'guard.revert compares the objective before and after a change: name the objective signal (`objective:`)');
  return { file, periodMs, region, access, signals, knobs, objective, guard, locs: { top: at.loc([]), knobs: at.loc(['knobs']), signals: at.loc(['signals']), region: at.loc(['region']) } };
}

function signalSpec(at: Located, name: string, s: unknown, region: string | undefined, dir: string): SignalSpec {
  const path = ['signals', name];
  if (!NAME.test(name)) throw new InputError(`signal name "${name}": letters, digits, "_", "." and "-", starting with a letter`, at.keyLoc(path));
  if (!isObject(s)) at.fail(path, `signal ${name}: expected a mapping naming its source (${SIGNAL_KINDS.join(', ')})`);
  const kinds = SIGNAL_KINDS.filter((k) => k in s);
  if (kinds.length !== 1) at.fail(path, `signal ${name}: name exactly one source (${SIGNAL_KINDS.join(', ')})${kinds.length ? `, not ${kinds.join(' and ')}` : ''}`);
  const kind = kinds[0]!;
  const rate = s.rate ?? false;
  if (typeof rate !== 'boolean') at.fail([...path, 'rate'], `signal ${name}: rate is true (the counter's change per second) or false`);
  const loc = at.loc(path);
  const v = s[kind];
  const common = { name, rate, loc };
  const p = [...path, kind];
  switch (kind) {
    case 'shm':
      onlyKeys(at, path, s, ['shm', 'rate']);
      if (!region) at.fail(p, `signal ${name}: a shared-memory signal needs \`region:\` (the dataplane's file under /dev/shm)`);
      return { ...common, kind, signal: str(at, p, v, `signal ${name}: shm`) };
    case 'snmp':
    case 'netstat':
    case 'sockets': {
      onlyKeys(at, path, s, [kind, 'rate']);
      const key = str(at, p, v, `signal ${name}: ${kind}`);
      if (!/^[A-Za-z0-9]+\.[A-Za-z0-9_]+$/.test(key)) at.fail(p, `signal ${name}: ${kind} names a table and a column, such as ${kind === 'sockets' ? 'TCP.inuse' : kind === 'snmp' ? 'Tcp.RetransSegs' : 'TcpExt.TCPSACKReorder'}`);
      return { ...common, kind, key };
    }
    case 'pressure': {
      onlyKeys(at, path, s, [kind, 'rate']);
      const m = /^(cpu|io|memory|irq)\.(some|full)\.(avg10|avg60|avg300|total)$/.exec(str(at, p, v, `signal ${name}: pressure`));
      if (!m) at.fail(p, `signal ${name}: pressure is RESOURCE.some|full.avg10|avg60|avg300|total, such as cpu.some.avg10`);
      return { ...common, kind, resource: m[1]!, key: `${m[2]}.${m[3]}` };
    }
    case 'interface': {
      onlyKeys(at, path, s, [kind, 'rate']);
      const m = /^([^/\s]+)\.([a-z0-9_]+)$/.exec(str(at, p, v, `signal ${name}: interface`));
      if (!m) at.fail(p, `signal ${name}: interface is DEVICE.COUNTER, such as eth0.rx_packets (a file of /sys/class/net/DEVICE/statistics)`);
      return { ...common, kind, device: m[1]!, counter: m[2]! };
    }
    case 'file':
      onlyKeys(at, path, s, [kind, 'rate']);
      return { ...common, kind, path: resolve(dir, str(at, p, v, `signal ${name}: file`)) };
    case 'command': {
      const parserName = s.parser;
      const parser = typeof parserName === 'string' ? metricParser(parserName) : undefined;
      if (!parser) at.fail([...path, 'parser'], `signal ${name}: a command's output is read by a metric parser: parser is one of ${metricParserNames().join(', ')}`);
      const allowed = ['command', 'parser', 'field', 'timeout', 'rate', ...parser.options.map((o) => o.key)];
      onlyKeys(at, path, s, allowed);
      const options: Record<string, string> = {};
      for (const o of parser.options) {
        const ov = s[o.key];
        if (ov === undefined) {
          if (o.required) at.fail(path, `signal ${name}: parser ${parser.name} needs \`${o.key}\` (${o.description})`);
          continue;
        }
        if (typeof ov !== 'string') at.fail([...path, o.key], `signal ${name}: ${o.key} is a string`);
        const bad = o.check?.(ov);
        if (bad) at.fail([...path, o.key], `signal ${name}: ${o.key}: ${bad}`);
        options[o.key] = ov;
      }
      let field: string | undefined;
      if (parser.yields === 'many') {
        field = str(at, [...path, 'field'], s.field, `signal ${name}: parser ${parser.name} yields several values; field`);
        const known = parser.fields.names.includes(field) || (parser.fields.shapes ?? []).some((sh) => sh.pattern.test(field!));
        if (!known) at.fail([...path, 'field'], `signal ${name}: parser ${parser.name} has no field "${field}" (fields: ${parser.fields.names.join(', ')})`);
      } else if (s.field !== undefined) at.fail([...path, 'field'], `signal ${name}: parser ${parser.name} yields one value; no field`);
      const timeoutMs = parseMs(s.timeout ?? '5s');
      if (timeoutMs === undefined || timeoutMs <= 0) at.fail([...path, 'timeout'], `signal ${name}: timeout is a duration such as 2s`);
      return { ...common, kind, run: str(at, p, v, `signal ${name}: command`), parser: parser.name, options, field, timeoutMs };
    }
  }
}

function knobSpec(at: Located, name: string, k: unknown, region: string | undefined, params: Map<string, KnobDomain> | undefined): KnobSpec {
  const path = ['knobs', name];
  if (!isObject(k)) at.fail(path, `knob ${name}: expected a mapping naming how it is applied (${KNOB_KINDS.join(', ')})`);
  const kinds = KNOB_KINDS.filter((x) => x in k);
  if (kinds.length !== 1) at.fail(path, `knob ${name}: name exactly one actuator (${KNOB_KINDS.join(', ')})${kinds.length ? `, not ${kinds.join(' and ')}` : ''}`);
  const kind = kinds[0]!;
  onlyKeys(at, path, k, [kind, 'min', 'max', 'values', 'integer', ...(kind === 'command' ? ['timeout'] : [])]);
  const p = [...path, kind];
  // The declared domain: the knob's own min/max/values, else the experiment's parameter of that name.
  let domain: KnobDomain | undefined = params?.get(name);
  if (k.values !== undefined) {
    if (!Array.isArray(k.values) || k.values.length === 0 || !k.values.every((x) => ['number', 'string', 'boolean'].includes(typeof x)))
      at.fail([...path, 'values'], `knob ${name}: values is a non-empty list of numbers, strings or booleans`);
    if (k.min !== undefined || k.max !== undefined) at.fail([...path, 'values'], `knob ${name}: either values or min/max, not both`);
    domain = { kind: 'values', values: k.values as Value[] };
  } else if (k.min !== undefined || k.max !== undefined) {
    if (typeof k.min !== 'number' || typeof k.max !== 'number' || !(k.min <= k.max)) at.fail([...path, k.min === undefined ? 'max' : 'min'], `knob ${name}: min and max are numbers, min <= max`);
    const integer = k.integer ?? (Number.isInteger(k.min) && Number.isInteger(k.max));
    if (typeof integer !== 'boolean') at.fail([...path, 'integer'], `knob ${name}: integer is true or false`);
    domain = { kind: 'range', min: k.min, max: k.max, integer };
  } else if (params && !params.has(name)) {
    at.fail(path, `knob ${name}: not a parameter of the experiment (parameters: ${[...params.keys()].join(', ')}); give it min/max or values`);
  }
  const common = { name, domain, loc: at.loc(path) };
  switch (kind) {
    case 'shm':
      if (!region) at.fail(p, `knob ${name}: a shared-memory knob needs \`region:\``);
      return { ...common, kind, knob: str(at, p, k.shm, `knob ${name}: shm`) };
    case 'sysctl': {
      const s = str(at, p, k.sysctl, `knob ${name}: sysctl`);
      if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/.test(s)) at.fail(p, `knob ${name}: sysctl is a dotted name like net.ipv4.tcp_reordering`);
      return { ...common, kind, sysctl: s };
    }
    case 'command': {
      const timeoutMs = parseMs(k.timeout ?? '10s');
      if (timeoutMs === undefined || timeoutMs <= 0) at.fail([...path, 'timeout'], `knob ${name}: timeout is a duration such as 5s`);
      return { ...common, kind, run: str(at, p, k.command, `knob ${name}: command`), timeoutMs };
    }
  }
}

function experimentDomain(p: import('../types.js').Param): KnobDomain {
  const d = p.domain;
  if (d.kind === 'list' || domainSize(p) <= 4096n) return { kind: 'values', values: domainValues(p) };
  return { kind: 'range', min: d.min, max: d.max, integer: p.type === 'integer' };
}

function guardSpec(at: Located, g: unknown): GuardSpec {
  const out: GuardSpec = { dwellMs: 0, hysteresis: 0, rate: undefined, revert: undefined };
  if (g === undefined) return out;
  if (!isObject(g)) at.fail(['guard'], 'guard: a mapping of dwell, hysteresis, rate and revert');
  onlyKeys(at, ['guard'], g, ['dwell', 'hysteresis', 'rate', 'revert']);
  if (g.dwell !== undefined) {
    const d = parseMs(g.dwell);
    if (d === undefined) at.fail(['guard', 'dwell'], `guard.dwell: a duration such as 2s, got ${JSON.stringify(g.dwell)}`);
    out.dwellMs = d;
  }
  if (g.hysteresis !== undefined) {
    const h = parseShare(g.hysteresis);
    if (h === undefined || h >= 0.5) at.fail(['guard', 'hysteresis'], `guard.hysteresis: a share of each feature's trained range below 50%, such as 5%, got ${JSON.stringify(g.hysteresis)}`);
    out.hysteresis = h;
  }
  if (g.rate !== undefined) {
    const m = typeof g.rate === 'string' ? /^\s*(\d+)\s*\/\s*(\d+(?:\.\d+)?)?\s*(ms|s|min|m|h)\s*$/.exec(g.rate) : null;
    const unit: Record<string, number> = { ms: 1, s: 1000, min: 60_000, m: 60_000, h: 3_600_000 };
    if (!m || Number(m[1]) < 1) at.fail(['guard', 'rate'], `guard.rate: at most N changes per time, such as 6/min or 2/10s, got ${JSON.stringify(g.rate)}`);
    out.rate = { changes: Number(m[1]), windowMs: Number(m[2] ?? 1) * unit[m[3]!]! };
  }
  if (g.revert !== undefined) {
    const r = g.revert;
    if (!isObject(r)) at.fail(['guard', 'revert'], 'guard.revert: {periods: N, noise: 5%}');
    onlyKeys(at, ['guard', 'revert'], r, ['periods', 'noise']);
    const periods = r.periods ?? 3;
    if (typeof periods !== 'number' || !Number.isInteger(periods) || periods < 1) at.fail(['guard', 'revert', 'periods'], 'guard.revert.periods: a whole number of periods, at least 1');
    const noise = parseShare(r.noise ?? '5%');
    if (noise === undefined) at.fail(['guard', 'revert', 'noise'], 'guard.revert.noise: a share of the objective, such as 5%');
    out.revert = { periods, noise };
  }
  return out;
}

