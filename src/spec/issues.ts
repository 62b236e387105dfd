// Turning zod's findings into one located, plain-worded InputError. zod's own message text never
// reaches the user: each issue kind gets a sentence naming the key, what was expected and what
// was written.

import type { z } from 'zod';
import { InputError, type SourceLoc } from '../types.js';
import { describeValue, type Path, type SourceDoc } from './document.js';
import { closest, didYouMean } from './suggest.js';

type Issue = z.core.$ZodIssue;

interface Located {
  message: string;
  loc: SourceLoc;
  hint?: string;
}

/** Validate `value` against `schema`; on failure throw the first problem in reading order. */
export function validate<T>(schema: z.ZodType<T>, src: SourceDoc): T {
  const result = schema.safeParse(src.value);
  if (result.success) return result.data;
  const found: Located[] = [];
  for (const issue of result.error.issues) explain(issue, [], schema, src, found);
  found.sort((a, b) => a.loc.line - b.loc.line || a.loc.col - b.loc.col);
  const first = found[0] ?? { message: 'the file does not match the experiment format', loc: src.loc([]) };
  const more = found.length > 1 ? `(${found.length - 1} more problem${found.length > 2 ? 's' : ''} after this one)` : undefined;
  throw new InputError(first.message, first.loc, [first.hint, more].filter(Boolean).join('\n  ') || undefined);
}

function explain(issue: Issue, prefix: Path, schema: z.ZodType, src: SourceDoc, out: Located[]): void {
  const path: Path = [...prefix, ...(issue.path as Array<string | number>)];
  const value = valueAt(src.value, path);
  const label = labelOf(path);
  const last = path[path.length - 1];
  if (value === undefined && typeof last === 'string' && issue.code !== 'unrecognized_keys') {
    out.push({ message: `missing required key '${last}'`, loc: src.loc(path.slice(0, -1)) });
    return;
  }
  switch (issue.code) {
    case 'invalid_type': {
      // zod says "number" for a string given to z.int(); the schema knows it wanted an integer.
      const expected = issue.expected === 'number' && schemasAt(schema, path).some(isInt) ? 'int' : issue.expected;
      out.push({ message: `expected ${kind(expected)} for ${label}, got ${describeValue(value)}`, loc: src.loc(path) });
      return;
    }
    case 'invalid_value': {
      const allowed = issue.values.map((v) => String(v));
      const owner = path.filter((p) => typeof p === 'string').pop();
      const noun = (typeof path[path.length - 1] === 'string' || owner === 'devices' ? NOUNS[String(owner)] : undefined) ?? `value for ${label}`;
      const got = typeof value === 'string' ? `'${value}'` : describeValue(value);
      const hint = typeof value === 'string' ? didYouMean(value, allowed) : '';
      const message =
        allowed.length === 1
          ? `expected '${allowed[0]}' for ${label}, got ${got}`
          : `unknown ${noun} ${got}; expected one of ${allowed.join(', ')}${hint}`;
      out.push({ message, loc: src.loc(path) });
      return;
    }
    case 'unrecognized_keys': {
      const known = knownKeys(schema, path);
      for (const key of issue.keys) {
        const guess = closest(key, known);
        out.push({
          message: `unknown key '${key}'${guess ? `; did you mean '${guess}'?` : ''}`,
          loc: src.keyLoc([...path, key]),
          hint: guess ? undefined : `known keys here: ${known.join(', ')}`,
        });
      }
      return;
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      let message: string;
      if (issue.origin === 'array') message = `${label} must list at least ${min} item${min === 1 ? '' : 's'}`;
      else if (issue.origin === 'string') message = `${label} must not be empty`;
      else message = `${label} must be ${issue.inclusive ? 'at least' : 'greater than'} ${min}, got ${describeValue(value)}`;
      out.push({ message, loc: src.loc(path) });
      return;
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      const message =
        issue.origin === 'array'
          ? `${label} may list at most ${max} items`
          : `${label} must be ${issue.inclusive ? 'at most' : 'less than'} ${max}, got ${describeValue(value)}`;
      out.push({ message, loc: src.loc(path) });
      return;
    }
    case 'invalid_format': {
      const rule = issue.format === 'regex' && 'pattern' in issue ? String(issue.pattern).replace(/^\/|\/[a-z]*$/g, '') : `the ${issue.format} format`;
      out.push({ message: `${label} must match ${rule}, got ${describeValue(value)}`, loc: src.loc(path) });
      return;
    }
    case 'invalid_union': {
      // Options that failed on the value's own kind (a list given where a mapping was tried)
      // say nothing useful; explain the option that got furthest.
      const deeper = issue.errors.filter((errs) => !errs.some((e) => e.path.length === 0 && (e.code === 'invalid_type' || e.code === 'invalid_value')));
      if (deeper.length > 0) {
        const best = deeper.reduce((a, b) => (b.length < a.length ? b : a));
        for (const e of best) explain(e, path, schema, src, out);
        return;
      }
      const kinds = issue.errors.flatMap((errs) =>
        errs.filter((e) => e.path.length === 0).map((e) => (e.code === 'invalid_type' ? kind(e.expected) : e.code === 'invalid_value' ? e.values.map((v) => `'${String(v)}'`).join(' or ') : 'a valid value')),
      );
      out.push({ message: `expected ${[...new Set(kinds)].join(' or ')} for ${label}, got ${describeValue(value)}`, loc: src.loc(path) });
      return;
    }
    default:
      out.push({ message: `invalid value for ${label}`, loc: src.loc(path) });
  }
}

const NOUNS: Record<string, string> = {
  isolation: 'isolation level',
  parser: 'parser',
  type: 'type',
  strategy: 'strategy',
  step_mode: 'step mode',
  when: 'phase',
  direction: 'direction',
  devices: 'device',
};

function kind(expected: string): string {
  switch (expected) {
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'string':
      return 'a string';
    case 'int':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    default:
      return expected;
  }
}

/** "'cores'" or "item 2 of 'only'". */
export function labelOf(path: Path): string {
  const last = path[path.length - 1];
  if (last === undefined) return 'the file';
  if (typeof last === 'number') {
    const owner = path.slice(0, -1).filter((p) => typeof p === 'string').pop();
    return `item ${last + 1} of '${owner ?? 'the list'}'`;
  }
  return `'${last}'`;
}

function valueAt(root: unknown, path: Path): unknown {
  let v: unknown = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

/** Keys the schema allows for the object at `path` (all union options together). */
function knownKeys(schema: z.ZodType, path: Path): string[] {
  const keys = new Set<string>();
  for (const s of schemasAt(schema, path)) {
    const def = defOf(s);
    if (def.type === 'object' && def.shape) for (const k of Object.keys(def.shape)) keys.add(k);
  }
  return [...keys];
}

function isInt(s: unknown): boolean {
  const def = defOf(s) as Def & { format?: string };
  return def.type === 'number' && def.format === 'safeint';
}

/** The schemas that may apply at `path`: every union option, wrappers looked through. */
function schemasAt(schema: z.ZodType, path: Path): unknown[] {
  let here: unknown[] = [schema];
  for (const seg of path) {
    const next: unknown[] = [];
    for (const s of here.flatMap(unwrap)) {
      const def = defOf(s);
      if (def.type === 'object' && typeof seg === 'string' && def.shape?.[seg]) next.push(def.shape[seg]);
      else if (def.type === 'array' && typeof seg === 'number') next.push(def.element);
      else if (def.type === 'record' && typeof seg === 'string') next.push(def.valueType);
    }
    here = next;
  }
  return here.flatMap(unwrap);
}

interface Def {
  type: string;
  shape?: Record<string, unknown>;
  element?: unknown;
  valueType?: unknown;
  innerType?: unknown;
  options?: unknown[];
}

function defOf(s: unknown): Def {
  return (s as { _zod: { def: Def } })._zod.def;
}

/** Look through optional/default/nullable wrappers and union options. */
function unwrap(s: unknown): unknown[] {
  const def = defOf(s);
  if ((def.type === 'optional' || def.type === 'nullable' || def.type === 'default') && def.innerType) return unwrap(def.innerType);
  if (def.type === 'union' && def.options) return def.options.flatMap(unwrap);
  return [s];
}
