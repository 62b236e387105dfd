// A small SearchSpace for tests and benchmarks: mixed radix over the params' domains in declaration
// order (the first parameter varies slowest). Conditions of the form `A == v`, `A != v` or `A`
// (truthy), joined by `&&`, are enough for the strategies' tests; the real parser lives in src/generator.

import type { Config, Param, Value } from '../../src/types.js';
import type { Rng } from '../../src/util/random.js';
import type { SearchSpace } from '../../src/strategies/space.js';

export function domainValues(p: Param): Value[] {
  const d = p.domain;
  if (d.kind === 'list') return [...d.values];
  const out: number[] = [];
  if (d.stepMode === 'increment') for (let v = d.min; v <= d.max; v += d.step) out.push(v);
  else for (let v = d.min; v <= d.max; v *= d.step) out.push(v);
  return out;
}

export class MixedRadixSpace implements SearchSpace {
  readonly size: bigint;
  private readonly values: Value[][];

  constructor(readonly params: Param[]) {
    this.values = params.map(domainValues);
    this.size = this.values.reduce((a, v) => a * BigInt(v.length), 1n);
  }

  at(index: bigint): Config {
    if (index < 0n || index >= this.size) throw new RangeError(`index ${index} outside the space`);
    const out: Config = {};
    for (let j = this.params.length - 1; j >= 0; j--) {
      const vals = this.values[j]!;
      const r = BigInt(vals.length);
      out[this.params[j]!.name] = vals[Number(index % r)]!;
      index /= r;
    }
    return this.ordered(out);
  }

  indexOf(config: Config): bigint {
    let idx = 0n;
    this.params.forEach((p, j) => {
      const vals = this.values[j]!;
      const i = vals.findIndex((v) => v === config[p.name]);
      if (i < 0) throw new Error(`${p.name}=${String(config[p.name])} is not in its domain`);
      idx = idx * BigInt(vals.length) + BigInt(i);
    });
    return idx;
  }

  sample(rng: Rng): Config {
    const out: Config = {};
    this.params.forEach((p, j) => (out[p.name] = rng.pick(this.values[j]!)));
    return out;
  }

  normalize(config: Config): Config {
    const out: Config = {};
    for (const p of this.params) {
      out[p.name] = !p.if || this.isActive(p.name, config) ? config[p.name]! : (p.default ?? this.values[this.params.indexOf(p)]![0]!);
    }
    return out;
  }

  isActive(name: string, config: Config): boolean {
    const p = this.params.find((q) => q.name === name);
    if (!p) throw new Error(`unknown parameter ${name}`);
    if (!p.if) return true;
    return p.if.split('&&').every((term) => {
      const m = /^\s*(\w+)\s*(==|!=)\s*(\S+)\s*$/.exec(term);
      if (!m) return Boolean(config[term.trim()]);
      const v = String(config[m[1]!]);
      return m[2] === '==' ? v === m[3] : v !== m[3];
    });
  }

  private ordered(c: Config): Config {
    const out: Config = {};
    for (const p of this.params) out[p.name] = c[p.name]!;
    return out;
  }
}

export function listParam(name: string, values: Value[], extra: Partial<Param> = {}): Param {
  const type = typeof values[0] === 'string' ? 'string' : typeof values[0] === 'boolean' ? 'boolean' : 'integer';
  return { name, type, domain: { kind: 'list', values }, when: 'build', ...extra };
}

export function rangeParam(name: string, min: number, max: number, step = 1, stepMode: 'increment' | 'power' = 'increment'): Param {
  return { name, type: 'integer', domain: { kind: 'range', min, max, step, stepMode }, when: 'build' };
}
