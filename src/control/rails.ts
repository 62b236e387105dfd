// The guard rails between a policy's decision and the knobs (docs/control.md, "Guard rails"): one
// step per period, on the caller's clock, so that a scripted clock and scripted signals test every
// rail. Pure: it decides what to apply and why; the controller applies and records it.
//
// Order of the rails in a step:
//   1. a change under evaluation is reverted when the objective was worse than before it, beyond
//      noise, for N periods (then that decision is avoided in that context);
//   2. the policy decides on the features; outside the trained range it answers with its fallback,
//      which is applied at once (dwell and rate limit do not hold back the safe configuration);
//   3. the decision's values are clamped to the knobs' declared domains;
//   4. a change is held back when it was reverted before in this context, when it does not hold
//      with the features moved by the hysteresis, while the last change is still being evaluated,
//      before the dwell time has passed, or beyond the rate limit.

import { decide, type Policy, type PolicyNode } from '../policy/policy.js';
import type { Config, Value } from '../types.js';
import type { GuardSpec, KnobDomain } from './config.js';

export type Action = 'apply' | 'fallback' | 'revert' | 'hold';

export interface RailDecision {
  timeMs: number;
  action: Action;
  /** The rail or rule, in words, with the values it looked at. */
  rule: string;
  /** 'leaf N', 'fallback', or the context of the change reverted. */
  context: string;
  /** The knobs in force before, and what is in force after (the same for a hold). */
  from: Config;
  to: Config;
  /** What the policy (clamped) wanted, for holds. */
  wanted: Config;
  /** Knobs whose wanted value was clamped, "K v -> w (domain)". */
  clamped: string[];
  signals: Record<string, number>;
}

export interface RailsOptions {
  policy: Policy;
  /** The knobs this controller sets (every knob of the policy), with their declared domains. */
  domains: Record<string, KnobDomain | undefined>;
  guard: GuardSpec;
  objective: { signal: string; direction: 'maximize' | 'minimize' } | undefined;
  /** The knobs in force when the controller starts (unknown ones: undefined). */
  initial?: Config;
}

interface Evaluation {
  context: string;
  from: Config;
  to: Config;
  before: number[];
  after: number[];
}

const key = (c: Config): string => JSON.stringify(Object.keys(c).sort().map((k) => [k, c[k]]));
const same = (a: Config, b: Config): boolean => key(a) === key(b);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export function clampValue(v: Value, d: KnobDomain | undefined, current: Value | undefined): { value: Value; note?: string } {
  if (!d) return { value: v };
  if (d.kind === 'range') {
    if (typeof v !== 'number') return { value: current ?? d.min, note: `${String(v)} is not a number (domain ${d.min}..${d.max})` };
    let w = Math.min(Math.max(v, d.min), d.max);
    if (d.integer) w = Math.min(Math.max(Math.round(w), Math.ceil(d.min)), Math.floor(d.max));
    return w === v ? { value: v } : { value: w, note: `${v} -> ${w} (domain ${d.min}..${d.max})` };
  }
  if (d.values.includes(v)) return { value: v };
  const nums = d.values.filter((x): x is number => typeof x === 'number');
  if (typeof v === 'number' && nums.length > 0) {
    const w = nums.reduce((best, x) => (Math.abs(x - v) < Math.abs(best - v) ? x : best));
    return { value: w, note: `${v} -> ${w} (nearest of ${d.values.join(', ')})` };
  }
  const keep = current !== undefined && d.values.includes(current) ? current : d.values[0]!;
  return { value: keep, note: `${String(v)} -> ${String(keep)} (not one of ${d.values.join(', ')})` };
}

/** The tests on the way to x's leaf: "FLOWS=12 > 6". */
export function explainPath(p: Policy, x: readonly number[]): string {
  const index = new Map(p.features.map((f, i) => [f.name, i]));
  const tests: string[] = [];
  let n: PolicyNode = p.tree;
  while (!('leaf' in n)) {
    const v = x[index.get(n.feature)!]!;
    const left = v <= n.le;
    tests.push(`${n.feature}=${v} ${left ? '<=' : '>'} ${n.le}`);
    n = left ? n.left : n.right;
  }
  return `${tests.length ? `${tests.join(', ')}: ` : ''}leaf ${n.leaf}`;
}

export class Rails {
  private inForce: Config;
  private lastChangeMs = -Infinity;
  private readonly changes: number[] = [];
  /** Objective values while the configuration now in force was in force (newest last). */
  private readonly history: number[] = [];
  private evaluation: Evaluation | undefined;
  /** Per context, the configurations reverted there. */
  private readonly avoided = new Map<string, Set<string>>();
  private lastHold = '';

  constructor(private readonly o: RailsOptions) {
    this.inForce = { ...(o.initial ?? {}) };
  }

  get current(): Config {
    return { ...this.inForce };
  }

  /** Contexts and the configurations avoided there (what reverts taught). */
  get avoids(): Record<string, Config[]> {
    return Object.fromEntries([...this.avoided].map(([c, s]) => [c, [...s].map((k) => Object.fromEntries(JSON.parse(k) as [string, Value][]))]));
  }

  /** One period: the signals seen now; what to apply and why (null: nothing to do or record). */
  step(nowMs: number, signals: Record<string, number>): RailDecision | null {
    const o = this.o;
    const objective = o.objective ? signals[o.objective.signal] : undefined;
    const measured = objective !== undefined && Number.isFinite(objective);

    // 1. The change under evaluation.
    const ev = this.evaluation;
    if (ev && o.guard.revert && measured) {
      ev.after.push(objective);
      if (ev.after.length >= o.guard.revert.periods) {
        this.evaluation = undefined;
        const m = median(ev.before);
        const margin = Math.max(o.guard.revert.noise * Math.abs(m), (Math.max(...ev.before) - Math.min(...ev.before)) / 2);
        const worse = (v: number): boolean => (o.objective!.direction === 'maximize' ? v < m - margin : v > m + margin);
        if (ev.after.every(worse)) {
          const set = this.avoided.get(ev.context) ?? new Set<string>();
          set.add(key(ev.to));
          this.avoided.set(ev.context, set);
          const rule =
            `revert: ${o.objective!.signal} after the change ${ev.after.map(fmt).join(', ')} against ${fmt(m)} before ` +
            `(median of ${ev.before.length}), worse by more than the noise ${fmt(margin)} for ${ev.after.length} periods; avoided in ${ev.context} from now on`;
          return this.change(nowMs, 'revert', rule, ev.context, ev.from, [], signals, true);
        }
      }
    }
    if (measured) {
      this.history.push(objective);
      if (this.history.length > 1000) this.history.shift();
    }

    // 2. The policy's decision, and 3. clamped.
    const p = o.policy;
    const x = p.features.map((f) => signals[f.name] ?? NaN);
    const d = decide(p, x);
    const context = d.fallback ? 'fallback' : `leaf ${d.leaf}`;
    const { config: wanted, clamped } = this.clamp(d.params);
    if (same(wanted, this.inForce)) {
      this.lastHold = '';
      return null;
    }
    if (d.fallback) {
      const outside = p.features.filter((f, i) => !(x[i]! >= f.min && x[i]! <= f.max)).map((f) => `${f.name}=${x[p.features.indexOf(f)]} outside the trained ${f.min}..${f.max}`);
      return this.change(nowMs, 'fallback', `fallback (${p.fallback.why}): ${outside.join(', ')}`, context, wanted, clamped, signals, true);
    }
    const why = explainPath(p, x);

    // 4. What holds a change back.
    const hold = (rule: string): RailDecision | null => {
      const k = `${rule.split(':')[0]}|${key(wanted)}`;
      if (k === this.lastHold) return null;
      this.lastHold = k;
      return { timeMs: nowMs, action: 'hold', rule, context, from: this.current, to: this.current, wanted, clamped, signals };
    };
    if (this.avoided.get(context)?.has(key(wanted))) return hold(`avoided: ${why} wants a configuration reverted before in ${context}`);
    const h = o.guard.hysteresis;
    if (h > 0) {
      for (let i = 0; i < x.length; i++) {
        const f = p.features[i]!;
        const delta = h * (f.max - f.min);
        for (const s of [-delta, delta]) {
          const y = [...x];
          y[i] = Math.min(Math.max(x[i]! + s, f.min), f.max);
          if (!same(this.clamp(decide(p, y).params).config, wanted))
            return hold(`hysteresis: ${why}, but ${f.name}=${fmt(y[i]!)} (moved by ${fmt(s)}, ${fmt(h * 100)}% of its trained range) decides otherwise`);
        }
      }
    }
    if (this.evaluation) return hold(`evaluating: the change at ${fmt(this.lastChangeMs)} ms is still being judged (${this.evaluation.after.length} of ${o.guard.revert!.periods} periods)`);
    const since = nowMs - this.lastChangeMs;
    if (since < o.guard.dwellMs) return hold(`dwell: ${why}, but the last change was ${fmt(since)} ms ago (dwell ${fmt(o.guard.dwellMs)} ms)`);
    const r = o.guard.rate;
    if (r) {
      while (this.changes.length && this.changes[0]! <= nowMs - r.windowMs) this.changes.shift();
      if (this.changes.length >= r.changes) return hold(`rate limit: ${why}, but ${this.changes.length} changes in the last ${fmt(r.windowMs)} ms (at most ${r.changes})`);
    }
    return this.change(nowMs, 'apply', `policy: ${why}`, context, wanted, clamped, signals, false);
  }

  /** The in-force configuration changes (and a change is put under evaluation when it is the policy's). */
  private change(nowMs: number, action: Action, rule: string, context: string, to: Config, clamped: string[], signals: Record<string, number>, safety: boolean): RailDecision {
    const from = this.current;
    const revert = this.o.guard.revert;
    if (!safety && revert && this.history.length > 0) {
      this.evaluation = { context, from, to: { ...to }, before: this.history.slice(-revert.periods), after: [] };
    } else this.evaluation = undefined;
    this.inForce = { ...this.inForce, ...to };
    this.history.length = 0;
    this.lastChangeMs = nowMs;
    this.changes.push(nowMs);
    this.lastHold = '';
    return { timeMs: nowMs, action, rule: clamped.length ? `${rule}; clamped ${clamped.join(', ')}` : rule, context, from, to: this.current, wanted: { ...to }, clamped, signals };
  }

  private clamp(params: Config): { config: Config; clamped: string[] } {
    const config: Config = {};
    const clamped: string[] = [];
    for (const [k, d] of Object.entries(this.o.domains)) {
      const v = params[k];
      if (v === undefined) continue;
      const c = clampValue(v, d, this.inForce[k]);
      config[k] = c.value;
      if (c.note) clamped.push(`${k} ${c.note}`);
    }
    return { config, clamped };
  }
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(4).replace(/\.?0+$/, '');
}
