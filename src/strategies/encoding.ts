// Values of a parameter's domain by position, without materialising huge ranges, and the two
// encodings a strategy needs: the key that identifies a configuration, and a numeric feature
// vector for the surrogate model.

import type { Config, Param, Value } from '../types.js';
import type { SearchSpace } from './space.js';

/** Position <-> value for one parameter's domain. */
export interface ParamCodec {
  readonly name: string;
  readonly size: number;
  /** Strings have no order: the model splits them by subsets instead of thresholds. */
  readonly categorical: boolean;
  valueAt(i: number): Value;
  /** -1 when the value is not in the domain (e.g. a default outside it). */
  indexOf(v: Value): number;
  /**
   * The position of the domain's value nearest to a number (-1 for a categorical domain, a
   * non-number or an empty domain): where another experiment's value falls in this one's domain.
   */
  nearest(v: Value): number;
  /** Ordinal rank used as the model's feature (by numeric value for numeric lists). */
  rank(i: number): number;
}

const MAX_LIST = 1_000_000;

export function codecFor(p: Param): ParamCodec {
  const d = p.domain;
  if (d.kind === 'list') {
    const values = d.values;
    const lookup = new Map<string, number>();
    values.forEach((v, i) => {
      const k = valueKey(v);
      if (!lookup.has(k)) lookup.set(k, i);
    });
    const categorical = values.some((v) => typeof v === 'string');
    // Numeric lists may be written out of order ([1, 64, 8]); the model wants order by value.
    const ranks = new Float64Array(values.length);
    if (!categorical) {
      const order = values.map((v, i) => ({ v: Number(v), i })).sort((a, b) => a.v - b.v);
      order.forEach((o, r) => (ranks[o.i] = r));
    } else values.forEach((_, i) => (ranks[i] = i));
    let sorted: { v: number; i: number }[] | undefined;
    return {
      name: p.name,
      size: values.length,
      categorical,
      valueAt: (i) => values[i] as Value,
      indexOf: (v) => lookup.get(valueKey(v)) ?? -1,
      nearest: (v) => {
        const at = lookup.get(valueKey(v));
        if (at !== undefined) return at;
        if (categorical || typeof v !== 'number' || values.length === 0) return -1;
        sorted ??= values.map((x, i) => ({ v: Number(x), i })).sort((a, b) => a.v - b.v);
        return nearestIn(sorted, v);
      },
      rank: (i) => ranks[i] ?? -1,
    };
  }
  const { min, max, step, stepMode } = d;
  if (stepMode === 'increment') {
    if (!(step > 0)) throw new RangeError(`parameter ${p.name}: range step must be positive`);
    const size = max < min ? 0 : Math.floor((max - min) / step + 1e-9) + 1;
    return {
      name: p.name,
      size,
      categorical: false,
      valueAt: (i) => min + i * step,
      indexOf: (v) => {
        if (typeof v !== 'number') return -1;
        const i = Math.round((v - min) / step);
        return i >= 0 && i < size && min + i * step === v ? i : -1;
      },
      nearest: (v) => (typeof v !== 'number' || size === 0 ? -1 : Math.min(size - 1, Math.max(0, Math.round((v - min) / step)))),
      rank: (i) => i,
    };
  }
  // Power ranges: min, min*step, min*step^2, ... <= max. A zero or unit base cannot grow.
  const values: number[] = [];
  if (max >= min) {
    values.push(min);
    if (min > 0 && step > 1) for (let v = min * step; v <= max && values.length < MAX_LIST; v *= step) values.push(v);
  }
  return codecFor({ ...p, domain: { kind: 'list', values } });
}

/** Every value of a parameter's domain, in domain order (refuses domains too large to list). */
export function paramValues(p: Param): Value[] {
  const c = codecFor(p);
  if (c.size > MAX_LIST) throw new RangeError(`parameter ${p.name} has ${c.size} values, too many to list`);
  return Array.from({ length: c.size }, (_, i) => c.valueAt(i));
}

/** Position (i) of the entry nearest to v in entries sorted by value. */
function nearestIn(sorted: readonly { v: number; i: number }[], v: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]!.v < v) lo = mid + 1;
    else hi = mid;
  }
  const above = sorted[lo]!;
  const below = sorted[lo - 1];
  return below && v - below.v <= above.v - v ? below.i : above.i;
}

function valueKey(v: Value): string {
  return typeof v === 'string' ? `s${v}` : typeof v === 'number' ? `n${v}` : `b${v}`;
}

/** Key of an already normalised configuration: JSON of its values in declaration order. */
export function keyOfNormalized(params: readonly Param[], config: Config): string {
  return JSON.stringify(params.map((p) => config[p.name] ?? null));
}

export function configKey(space: SearchSpace, config: Config): string {
  return keyOfNormalized(space.params, space.normalize(config));
}

/** The configuration a key was made from. */
export function configOfKey(params: readonly Param[], key: string): Config {
  const values = JSON.parse(key) as Value[];
  const out: Config = {};
  params.forEach((p, i) => {
    const v = values[i];
    if (v !== null && v !== undefined) out[p.name] = v;
  });
  return out;
}

/** Configurations as feature vectors: the ordinal rank of each parameter's value, -1 when unknown. */
export class Encoder {
  readonly codecs: ParamCodec[];
  readonly dims: number;
  /** Per parameter: rank by position, or null where the rank is the position (most domains). */
  private readonly ranks: (Float64Array | null)[];
  /** Per parameter: position by rank, where ranks differ from positions. */
  private readonly positions: (Int32Array | null)[];

  constructor(readonly params: readonly Param[]) {
    this.codecs = params.map(codecFor);
    this.dims = params.length;
    this.ranks = this.codecs.map((c) => {
      if (c.size > MAX_LIST) return null;
      const r = Float64Array.from({ length: c.size }, (_, i) => c.rank(i));
      return r.every((v, i) => v === i) ? null : r;
    });
    this.positions = this.ranks.map((r) => {
      if (!r) return null;
      const p = new Int32Array(r.length);
      r.forEach((v, i) => (p[v] = i));
      return p;
    });
  }

  /** The feature of parameter j's value at position i. */
  rankAt(j: number, i: number): number {
    const r = this.ranks[j];
    return r ? r[i]! : i;
  }

  /** The position of parameter j's value of rank r (0 for an unknown value, rank -1). */
  positionOf(j: number, r: number): number {
    if (r < 0) return 0;
    const p = this.positions[j];
    return p ? p[r]! : r;
  }

  /**
   * Domain positions of a configuration's values (-1 where missing or outside the domain). With
   * `nearest` (another experiment's configuration): a number outside the domain counts as its
   * nearest value, anything else unknown.
   */
  indices(config: Config, nearest = false): Int32Array {
    const out = new Int32Array(this.dims);
    this.codecs.forEach((c, j) => {
      const v = config[c.name];
      out[j] = v === undefined ? -1 : nearest ? c.nearest(v) : c.indexOf(v);
    });
    return out;
  }

  /** Feature vector written into `out` at `offset`. */
  features(idx: ArrayLike<number>, out: Float64Array, offset = 0): void {
    for (let j = 0; j < this.dims; j++) {
      const i = idx[j]!;
      out[offset + j] = i < 0 ? -1 : this.rankAt(j, i);
    }
  }

  config(idx: ArrayLike<number>): Config {
    const out: Config = {};
    this.codecs.forEach((c, j) => {
      const i = idx[j]!;
      if (i >= 0) out[c.name] = c.valueAt(i);
    });
    return out;
  }
}
