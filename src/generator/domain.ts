// The values a parameter can take, counted and indexed arithmetically so that a range such as
// 1..2^50 is never materialised.
//
// step_mode power: Wayfinder's Go loop (spec/param.go, parseParamInt) emits `min`, then
// step^min, step^(min+1), ... while <= max. That equals min, min*step, min*step^2, ... when min is
// 1 or equal to step (its README's example: min 1, step 2, max 16 gives [1, 2, 4, 8, 16]), and
// otherwise is a slip (min 8, step 2, max 64 yields only [8]). We follow the documented intent,
// min*step^k, which agrees with Wayfinder wherever Wayfinder's result is what its files meant.
// Its increment loop is min, min+step, ... <= max, as here.

import { InputError, type Param, type Value } from '../types.js';

/** A parameter's domain checked once, with its size and O(1)-ish indexing both ways. */
export interface Axis {
  readonly size: bigint;
  value(i: bigint): Value;
  /** Position of a value, or -1n when the domain does not contain it. */
  index(v: Value): bigint;
}

export function axis(p: Param): Axis {
  const d = p.domain;
  if (d.kind === 'list') {
    const values = listValues(p);
    return {
      size: BigInt(values.length),
      value: (i) => values[Number(i)] as Value,
      index: (v) => BigInt(values.findIndex((x) => x === v)),
    };
  }
  const { min, max, step } = checkRange(p);
  if (d.stepMode === 'increment') {
    return {
      size: (max - min) / step + 1n,
      value: (i) => Number(min + i * step),
      index: (v) => {
        const x = asBig(v);
        if (x === undefined || x < min || x > max || (x - min) % step !== 0n) return -1n;
        return (x - min) / step;
      },
    };
  }
  let size = 0n;
  for (let v = min; v <= max; v *= step) size++;
  return {
    size,
    value: (i) => Number(min * step ** i),
    index: (v) => {
      const x = asBig(v);
      if (x === undefined) return -1n;
      let i = 0n;
      for (let y = min; y <= x && y <= max; y *= step, i++) if (y === x) return i;
      return -1n;
    },
  };
}

/** Number of values of a parameter's domain. */
export function domainSize(p: Param): bigint {
  return axis(p).size;
}

/** The i-th value (0-based) of a parameter's domain, without listing the domain. */
export function domainValue(p: Param, i: bigint): Value {
  const a = axis(p);
  if (i < 0n || i >= a.size) {
    throw new RangeError(`index ${i} is outside the ${a.size} values of parameter '${p.name}'`);
  }
  return a.value(i);
}

/** Every value of a parameter's domain, in order. Only for domains small enough to list. */
export function domainValues(p: Param): Value[] {
  const a = axis(p);
  if (a.size > 10_000_000n) {
    throw new RangeError(`parameter '${p.name}' has ${a.size} values, too many to list; index them with domainValue`);
  }
  const out: Value[] = [];
  for (let i = 0n; i < a.size; i++) out.push(a.value(i));
  return out;
}

/** Position of a value in a parameter's domain, or -1n when the domain does not contain it. */
export function domainIndex(p: Param, v: Value): bigint {
  return axis(p).index(v);
}

function asBig(v: Value): bigint | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined;
}

/** A boolean parameter given without a list ranges over both truth values. */
function listValues(p: Param): Value[] {
  if (p.domain.kind !== 'list') throw new Error('not a list domain');
  const values = p.domain.values;
  if (values.length > 0) return values;
  if (p.type === 'boolean') return BOTH;
  throw new InputError(`parameter '${p.name}' has no values`, p.loc);
}
const BOTH: Value[] = [false, true];

function checkRange(p: Param): { min: bigint; max: bigint; step: bigint } {
  const d = p.domain;
  if (d.kind !== 'range') throw new Error('not a range domain');
  for (const [key, v] of [['min', d.min], ['max', d.max], ['step', d.step]] as const) {
    if (!Number.isSafeInteger(v)) throw new InputError(`${key} of '${p.name}' must be an integer, got ${v}`, p.loc);
  }
  if (p.type !== 'integer') throw new InputError(`parameter '${p.name}' has a range but is not an integer`, p.loc);
  if (d.min > d.max) throw new InputError(`min (${d.min}) of '${p.name}' is greater than its max (${d.max})`, p.loc);
  if (d.stepMode === 'increment' && d.step < 1) {
    throw new InputError(`step of '${p.name}' must be positive, got ${d.step}`, p.loc);
  }
  // A power walk from min < 1 or with step < 2 never grows, so it would never reach max.
  if (d.stepMode === 'power' && (d.step < 2 || d.min < 1)) {
    throw new InputError(
      `'${p.name}' with step_mode power needs min >= 1 and step >= 2, got min ${d.min}, step ${d.step}`,
      p.loc,
    );
  }
  return { min: BigInt(d.min), max: BigInt(d.max), step: BigInt(d.step) };
}
