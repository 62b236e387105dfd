// The configuration space: the product of the parameters' domains, indexed as a mixed-radix
// number so that any point can be decoded, encoded, enumerated from or sampled without listing
// the space.
//
// Order: the first parameter is the most significant digit and the last varies fastest. This is
// Wayfinder's grid order: its JobSpec.next recursion loops over the first parameter outermost and
// emits a permutation at the innermost (last) parameter.
//
// Conditions: a parameter whose `if` is false is inactive and takes its default (or its first
// domain value). Conditions are evaluated in declaration order, each on the values normalised so
// far: a condition naming an earlier parameter sees that parameter's normalised value, one naming
// a later parameter sees its raw value. Wayfinder's daemon instead evaluates every condition on the
// raw values and blanks an inactive value to "" in the checksum; we keep a real value so that the
// job still receives a usable setting, and chains (A depends on B depends on C) resolve.

import { InputError, type Config, type Param, type Value } from '../types.js';
import type { Rng } from '../util/random.js';
import { conditionNames, evaluateCondition, parseCondition, type Condition, type Operand } from './condition.js';
import { axis, type Axis } from './domain.js';

export class Space {
  readonly params: Param[];
  /** The product of the domain sizes, as Wayfinder's TotalPermutations counts it (no de-duplication). */
  readonly size: bigint;
  readonly hasConditions: boolean;
  private readonly axes: Axis[];
  /** weights[i] = product of the sizes of the parameters after i. */
  private readonly weights: bigint[];
  private readonly conditions: (Condition | undefined)[];
  private readonly inactive: Value[];
  private readonly position = new Map<string, number>();

  constructor(params: Param[]) {
    this.params = params;
    params.forEach((p, i) => {
      if (this.position.has(p.name)) throw new InputError(`parameter '${p.name}' is declared twice`, p.loc);
      this.position.set(p.name, i);
    });
    this.axes = params.map(axis);
    this.weights = new Array<bigint>(params.length);
    let w = 1n;
    for (let i = params.length - 1; i >= 0; i--) {
      this.weights[i] = w;
      w *= (this.axes[i] as Axis).size;
    }
    this.size = w;
    this.conditions = params.map((p) => (p.if === undefined ? undefined : this.checkCondition(p)));
    this.hasConditions = this.conditions.some((c) => c !== undefined);
    this.inactive = params.map((p, i) => p.default ?? (this.axes[i] as Axis).value(0n));
  }

  /** The configuration at a grid position in [0, size). */
  at(index: bigint): Config {
    if (index < 0n || index >= this.size) throw new RangeError(`index ${index} is outside the space of ${this.size}`);
    const out: Config = {};
    this.params.forEach((p, i) => {
      const a = this.axes[i] as Axis;
      out[p.name] = a.value((index / (this.weights[i] as bigint)) % a.size);
    });
    return out;
  }

  /** The grid position of a configuration; inverse of at(). */
  indexOf(config: Config): bigint {
    for (const name of Object.keys(config)) {
      if (!this.position.has(name)) throw new InputError(`configuration names '${name}', which is not a parameter`);
    }
    let index = 0n;
    this.params.forEach((p, i) => {
      const v = config[p.name];
      if (v === undefined) throw new InputError(`configuration has no value for parameter '${p.name}'`);
      const digit = (this.axes[i] as Axis).index(v);
      if (digit < 0n) throw new InputError(`value ${JSON.stringify(v)} is not in the domain of parameter '${p.name}'`);
      index += digit * (this.weights[i] as bigint);
    });
    return index;
  }

  /** Every configuration once, in grid order from `start`, wrapping around to just before it. */
  *enumerate(start = 0n): Generator<Config> {
    if (this.size === 0n) return;
    const n = this.params.length;
    const s = ((start % this.size) + this.size) % this.size;
    // An odometer over the digits: one increment per step instead of a full decode.
    const digits = this.params.map((_, i) => (s / (this.weights[i] as bigint)) % (this.axes[i] as Axis).size);
    const values = digits.map((d, i) => (this.axes[i] as Axis).value(d));
    for (let k = 0n; k < this.size; k++) {
      const out: Config = {};
      for (let i = 0; i < n; i++) out[(this.params[i] as Param).name] = values[i] as Value;
      yield out;
      for (let i = n - 1; i >= 0; i--) {
        const a = this.axes[i] as Axis;
        const d = (digits[i] as bigint) + 1n;
        const wrap = d === a.size;
        digits[i] = wrap ? 0n : d;
        values[i] = a.value(digits[i] as bigint);
        if (!wrap) break;
      }
    }
  }

  /** A configuration drawn uniformly from the grid. */
  sample(rng: Rng): Config {
    return this.at(rng.bigint(this.size));
  }

  /** The configuration with every inactive parameter at its default. */
  normalize(config: Config): Config {
    return this.resolve(config).config;
  }

  isActive(name: string, config: Config): boolean {
    const i = this.position.get(name);
    if (i === undefined) throw new InputError(`'${name}' is not a parameter`);
    return this.resolve(config, i).active;
  }

  /**
   * Number of distinct normalised configurations, counted by enumeration when the space has at
   * most `limit` points; undefined for larger spaces.
   */
  distinctCount(limit = 1_000_000n): bigint | undefined {
    if (this.size > limit) return undefined;
    // A value listed twice (Wayfinder's files do it) is two points of one configuration, like a condition.
    const repeats = this.params.some((p) => p.domain.kind === 'list' && new Set(p.domain.values).size < p.domain.values.length);
    if (!this.hasConditions && !repeats) return this.size;
    const seen = new Set<string>();
    for (const c of this.enumerate()) seen.add(this.key(this.normalize(c)));
    return BigInt(seen.size);
  }

  private key(config: Config): string {
    return this.params.map((p) => JSON.stringify(config[p.name])).join(',');
  }

  /** Normalise in declaration order; stop after parameter `upTo` and report whether it is active. */
  private resolve(config: Config, upTo = this.params.length - 1): { config: Config; active: boolean } {
    const out: Config = { ...config };
    let active = true;
    for (let i = 0; i <= upTo; i++) {
      const c = this.conditions[i];
      active = c === undefined || evaluateCondition(c, out);
      if (!active) out[(this.params[i] as Param).name] = this.inactive[i] as Value;
    }
    return { config: out, active };
  }

  /** Parse a parameter's condition and check that what it names and compares can make sense. */
  private checkCondition(p: Param): Condition {
    const src = p.if as string;
    const cond = parseCondition(src, p.loc);
    const fail = (o: Operand, message: string) =>
      new InputError(
        `condition of '${p.name}' ("${src}"), column ${o.pos + 1}: ${message}`,
        p.loc ? { ...p.loc, col: p.loc.col + o.pos } : undefined,
      );
    const typeOf = (o: Operand) =>
      o.kind === 'literal' ? literalType(o.value) : (this.params[this.position.get(o.name) as number] as Param).type;
    const walk = (c: Condition): void => {
      if (c.kind === 'not') return walk(c.operand);
      if (c.kind !== 'compare' && c.kind !== 'in' && c.kind !== 'truthy') return (walk(c.left), walk(c.right));
      const operands = c.kind === 'compare' ? [c.left, c.right] : c.kind === 'in' ? [c.operand, ...c.values] : [c.operand];
      for (const o of operands) {
        if (o.kind !== 'name') continue;
        if (o.name === p.name) throw fail(o, `a parameter's condition cannot name the parameter itself`);
        if (!this.position.has(o.name)) {
          throw fail(o, `'${o.name}' is not a parameter (to compare with text, quote it: "${o.name}")`);
        }
      }
      if (c.kind === 'compare') {
        const [a, b] = [typeOf(c.left), typeOf(c.right)];
        if (c.op !== '==' && c.op !== '!=' && !(a === b && a !== 'boolean')) {
          throw fail(c.left, `'${c.op}' orders two integers or two strings, not ${a} and ${b}`);
        }
        if (!comparable(a, b)) throw fail(c.right, `compares ${a} with ${b}, which is never equal`);
      } else if (c.kind === 'in') {
        const a = typeOf(c.operand);
        for (const o of c.values) if (!comparable(a, typeOf(o))) throw fail(o, `lists a ${typeOf(o)} for a ${a}`);
      }
    };
    walk(cond);
    return cond;
  }

  /** Names a parameter's condition depends on (empty when it has none). */
  dependsOn(name: string): string[] {
    const c = this.conditions[this.position.get(name) ?? -1];
    return c ? conditionNames(c) : [];
  }
}

type Kind = 'integer' | 'string' | 'boolean';

function literalType(v: Value): Kind {
  return typeof v === 'number' ? 'integer' : typeof v === 'string' ? 'string' : 'boolean';
}

// Kconfig-style strings ("y"/"n") compare with booleans; an integer never equals text.
function comparable(a: Kind, b: Kind): boolean {
  return a === b || (a !== 'integer' && b !== 'integer');
}
