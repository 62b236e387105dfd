// Parameters: their type, their domain (a list, or an integer range walked by adding or
// multiplying), their default, and the names their `if:` conditions use.

import { paramKinds } from '../targets/params/registry.js';
import { InputError, type Domain, type Param, type ParamType, type Value } from '../types.js';
import { describeValue, type Path, type SourceDoc } from './document.js';
import type { DraftParam } from './draft.js';
import { didYouMean } from './suggest.js';

const TYPE_ALIASES: Record<string, ParamType> = {
  integer: 'integer',
  int: 'integer',
  string: 'string',
  str: 'string',
  boolean: 'boolean',
  bool: 'boolean',
};

export function normaliseParams(drafts: DraftParam[], src: SourceDoc): Param[] {
  const seen = new Map<string, Path>();
  const params: Param[] = [];
  for (const d of drafts) {
    const at = (...rest: Array<string | number>) => src.loc([...d.path, ...rest]);
    const { raw } = d;
    if (seen.has(raw.name)) {
      const first = src.loc([...(seen.get(raw.name) as Path), 'name']);
      throw new InputError(`duplicate parameter name '${raw.name}' (first declared at line ${first.line})`, at('name'));
    }
    seen.set(raw.name, d.path);
    if (raw.name.startsWith('WAYFINDER_')) {
      throw new InputError(
        `parameter name '${raw.name}' is reserved: WAYFINDER_* variables are what Wayfinder itself passes to jobs`,
        at('name'),
      );
    }
    const type = TYPE_ALIASES[raw.type] as ParamType;
    const domain = domainOf(d, type, src);
    const param: Param = {
      name: raw.name,
      type,
      domain,
      // Wayfinder's build checksum leaves out only `test` parameters: `both` and unset are build.
      when: raw.when === 'test' || (raw.when === undefined && d.workload) ? 'test' : 'build',
      loc: at(),
    };
    if (raw.default !== undefined) {
      const value = coerce(raw.default, type, d.lenient);
      if (value === undefined) {
        throw new InputError(
          `default of '${raw.name}' must be ${typeWord(type)}, got ${describeValue(raw.default)}`,
          at('default'),
        );
      }
      // Wayfinder's daemon used a default only for a parameter with neither `only` nor a range, and
      // its files have defaults outside their lists (REDIS_AOF: 'everysec', only ['no']): there the
      // default is left out, and the first listed value is the baseline, as for no default at all.
      const unusedByWayfinder = d.lenient && (raw.only !== undefined || raw.min !== undefined);
      if (!inDomain(value, domain) && !unusedByWayfinder) {
        throw new InputError(
          `default ${show(value)} of '${raw.name}' is not in its domain ${describeDomain(domain)}`,
          at('default'),
        );
      }
      if (inDomain(value, domain)) param.default = value;
    }
    if (raw.if !== undefined) param.if = raw.if;
    if (raw.description !== undefined) param.description = raw.description.trim();
    if (d.workload) param.workload = true;
    // How the value reaches the build beyond the environment (Kconfig, patch...): each kind reads its own key.
    for (const kind of paramKinds()) {
      const problem = kind.load?.(param, kind.key ? raw[kind.key.name] : undefined);
      if (problem) throw new InputError(problem.message, at(...problem.at));
    }
    params.push(param);
  }
  checkConditions(drafts, params, src);
  return params;
}

function domainOf(d: DraftParam, type: ParamType, src: SourceDoc): Domain {
  const { raw } = d;
  const at = (...rest: Array<string | number>) => src.loc([...d.path, ...rest]);
  // `only` takes precedence over min/max when both are given, as in Wayfinder's daemon.
  if (raw.only !== undefined) {
    const values: Value[] = [];
    raw.only.forEach((v, i) => {
      const value = coerce(v, type, d.lenient);
      if (value === undefined) {
        throw new InputError(
          `'only' of '${raw.name}' must list ${typeWord(type)} values, got ${describeValue(v)}`,
          at('only', i),
        );
      }
      // Wayfinder's files are taken as its daemon read them: a value listed twice is two
      // permutations there (its TotalPermutations counts both), and so two points of the space here;
      // they normalise to one configuration, measured once.
      if (!d.lenient && values.some((x) => x === value)) {
        throw new InputError(`'only' of '${raw.name}' lists ${show(value)} twice`, at('only', i));
      }
      values.push(value);
    });
    return { kind: 'list', values };
  }
  const rangeKeys = (['min', 'max', 'step', 'step_mode'] as const).filter((k) => raw[k] !== undefined);
  if (type !== 'integer' && rangeKeys.length > 0) {
    throw new InputError(
      `'${rangeKeys[0]}' applies only to integer parameters; give '${raw.name}' an 'only' list instead`,
      src.keyLoc([...d.path, rangeKeys[0] as string]),
    );
  }
  if (type === 'boolean') return { kind: 'list', values: [false, true] };
  if (raw.min === undefined && raw.max === undefined) {
    // Wayfinder explored a parameter with neither `only` nor a range at its default alone.
    if (d.lenient && raw.default !== undefined) {
      const value = coerce(raw.default, type, true);
      if (value !== undefined) return { kind: 'list', values: [value] };
    }
    const what = type === 'integer' ? "an 'only' list or 'min' and 'max'" : "an 'only' list";
    throw new InputError(`parameter '${raw.name}' needs ${what}`, at());
  }
  if (raw.min === undefined || raw.max === undefined) {
    const missing = raw.min === undefined ? 'min' : 'max';
    const given = missing === 'min' ? 'max' : 'min';
    throw new InputError(`parameter '${raw.name}' gives '${given}' but no '${missing}'`, src.keyLoc([...d.path, given]));
  }
  const stepMode = raw.step_mode ?? 'increment';
  const step = raw.step ?? (stepMode === 'power' ? 2 : 1);
  if (raw.min > raw.max) {
    throw new InputError(`min (${raw.min}) of '${raw.name}' is greater than its max (${raw.max})`, at('min'));
  }
  if (step <= 0) throw new InputError(`step of '${raw.name}' must be positive, got ${step}`, at('step'));
  if (stepMode === 'power') {
    if (step < 2) {
      throw new InputError(`step of '${raw.name}' must be at least 2 with step_mode power, got ${step}`, at('step'));
    }
    if (raw.min < 1) {
      throw new InputError(`min of '${raw.name}' must be at least 1 with step_mode power, got ${raw.min}`, at('min'));
    }
  }
  return { kind: 'range', min: raw.min, max: raw.max, step, stepMode };
}

/** The value as the declared type, or undefined when it is not one. */
function coerce(v: unknown, type: ParamType, lenient: boolean): Value | undefined {
  if (type === 'integer') {
    if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
    if (lenient && typeof v === 'string' && /^-?\d+$/.test(v.trim()) && Number.isSafeInteger(Number(v))) return Number(v);
    return undefined;
  }
  if (type === 'string') {
    if (typeof v === 'string') return v;
    if (lenient && (typeof v === 'number' || typeof v === 'boolean')) return String(v);
    return undefined;
  }
  return typeof v === 'boolean' ? v : undefined;
}

export function inDomain(v: Value, domain: Domain): boolean {
  if (domain.kind === 'list') return domain.values.some((x) => x === v);
  if (typeof v !== 'number' || v < domain.min || v > domain.max) return false;
  if (domain.stepMode === 'increment') return (v - domain.min) % domain.step === 0;
  for (let x = domain.min; x <= domain.max; x *= domain.step) if (x === v) return true;
  return false;
}

export function describeDomain(domain: Domain): string {
  if (domain.kind === 'list') return `[${domain.values.map(show).join(', ')}]`;
  return domain.stepMode === 'power'
    ? `${domain.min}..${domain.max} multiplying by ${domain.step}`
    : `${domain.min}..${domain.max} step ${domain.step}`;
}

function show(v: Value): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}

function typeWord(type: ParamType): string {
  return type === 'integer' ? 'integer' : type === 'string' ? 'string' : 'boolean (true or false)';
}

const CONDITION_WORDS = new Set(['true', 'false', 'and', 'or', 'not', 'in', 'null', 'y', 'n']);

/** Identifiers a condition names, with their offsets; string and number literals are skipped. */
export function conditionNames(text: string): Array<{ name: string; index: number }> {
  const out: Array<{ name: string; index: number }> = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      i = end === -1 ? text.length : end + 1;
    } else if (/[0-9]/.test(c)) {
      while (i < text.length && /[0-9A-Za-z_.]/.test(text[i] as string)) i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (i < text.length && /[A-Za-z0-9_]/.test(text[i] as string)) i++;
      const name = text.slice(start, i);
      if (!CONDITION_WORDS.has(name)) out.push({ name, index: start });
    } else {
      i++;
    }
  }
  return out;
}

function checkConditions(drafts: DraftParam[], params: Param[], src: SourceDoc): void {
  const names = params.map((p) => p.name);
  const known = new Set(names);
  drafts.forEach((d) => {
    const cond = d.raw.if;
    if (cond === undefined) return;
    for (const ref of conditionNames(cond)) {
      if (known.has(ref.name)) continue;
      throw new InputError(
        `condition of '${d.raw.name}' refers to unknown parameter '${ref.name}'${didYouMean(ref.name, names)}`,
        locInside(src, [...d.path, 'if'], cond, ref.index),
      );
    }
  });
}

/** Position of character `index` of a scalar's value, when the source maps one to one. */
function locInside(src: SourceDoc, path: Path, value: string, index: number) {
  const s = src.scalarAt(path);
  if (!s || s.multiline) return src.loc(path);
  const body = s.quoted ? s.source.slice(1) : s.source;
  // Escapes in quoted text shift positions; only point inside when the text is verbatim.
  if (!body.startsWith(value)) return src.loc(path);
  return src.locAtOffset(s.offset + (s.quoted ? 1 : 0) + index);
}
