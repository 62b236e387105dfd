// Reading policy.json back: JSON errors and every check point at file:line:column (JSON is YAML,
// so the yaml parser gives each value's place in the text).

import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { InputError, type SourceLoc } from '../types.js';
import { POLICY_FORMAT, POLICY_VERSION, type Policy, type PolicyNode } from './policy.js';

const value = z.union([z.number(), z.string(), z.boolean()]);
// NaN (nothing could be judged) is written as null by JSON.stringify.
const share = z.number().nullable().transform((v) => v ?? NaN);
const regret = z.object({ mean: share, max: share, points: z.number().int(), unmeasured: z.number().int() });
const node: z.ZodType<PolicyNode> = z.lazy(() =>
  z.union([z.strictObject({ leaf: z.number().int().nonnegative() }), z.strictObject({ feature: z.string(), le: z.number(), left: node, right: node })]),
);
const schema = z.object({
  format: z.literal(POLICY_FORMAT),
  version: z.number().int(),
  objective: z.object({ name: z.string(), direction: z.enum(['maximize', 'minimize']) }),
  features: z.array(z.object({ name: z.string().min(1), min: z.number(), max: z.number() })).min(1),
  knobs: z.array(z.object({ name: z.string().min(1), type: z.enum(['integer', 'number', 'boolean', 'string']) })).min(1),
  leaves: z.array(z.object({ params: z.record(z.string(), value), points: z.number().int(), regret: share })).min(1),
  tree: node,
  fallback: z.object({ params: z.record(z.string(), value), why: z.enum(['static-best', 'given']) }),
  regret: z.object({ trained: regret, interpolation: regret.optional(), extrapolation: regret.optional() }),
  source: z.union([z.object({ kind: z.literal('table'), file: z.string() }), z.object({ kind: z.literal('experiment'), id: z.string(), name: z.string() })]),
  createdAt: z.string(),
});

const HINT = 'make one with wayfinder learn ... --out policy.json';

export function readPolicy(file: string): Policy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`cannot read the policy: ${code === 'ENOENT' ? 'no such file' : (code ?? String(e))}`, { file, line: 1, col: 1 });
  }
  return parsePolicy(text, file);
}

export function parsePolicy(text: string, file: string): Policy {
  const lines = new LineCounter();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const loc = pos ? lines0(text, Number(pos[1])) : { line: 1, col: 1 };
    throw new InputError(`not a policy file (not JSON: ${msg.replace(/ in JSON at position \d+.*$/, '')})`, { file, ...loc }, HINT);
  }
  const doc = parseDocument(text, { lineCounter: lines });
  const at = (path: (string | number)[]): SourceLoc => {
    for (let k = path.length; k >= 0; k--) {
      const n = doc.getIn(path.slice(0, k), true) as { range?: [number, number, number] } | undefined;
      if (n && typeof n === 'object' && n.range) {
        const p = lines.linePos(n.range[0]);
        return { file, line: p.line, col: p.col };
      }
    }
    return { file, line: 1, col: 1 };
  };
  const version = (json as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version !== POLICY_VERSION && (json as { format?: unknown }).format === POLICY_FORMAT) {
    throw new InputError(`policy format version ${version}; this wayfinder reads version ${POLICY_VERSION}`, at(['version']), 'learn the policy again with this wayfinder');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
    throw new InputError(`${path.length ? `${path.join('.')}: ` : ''}${issue.message}`, at(path), HINT);
  }
  const p = parsed.data as Policy;
  const names = new Set(p.features.map((f) => f.name));
  p.features.forEach((f, i) => {
    if (!(f.min <= f.max)) throw new InputError(`feature ${f.name}: min ${f.min} above max ${f.max}`, at(['features', i]));
  });
  const knobNames = p.knobs.map((k) => k.name);
  const checkParams = (params: Record<string, unknown>, path: (string | number)[]): void => {
    for (const k of p.knobs) {
      const v = params[k.name];
      const ok = k.type === 'string' ? typeof v === 'string' : k.type === 'boolean' ? typeof v === 'boolean' : typeof v === 'number' && (k.type === 'number' || Number.isSafeInteger(v));
      if (!ok) throw new InputError(`knob ${k.name}: expected a value of type ${k.type}, got ${JSON.stringify(v ?? null)}`, at([...path, k.name]));
    }
    for (const k of Object.keys(params)) if (!knobNames.includes(k)) throw new InputError(`"${k}" is not one of the knobs (${knobNames.join(', ')})`, at([...path, k]));
  };
  p.leaves.forEach((l, i) => checkParams(l.params, ['leaves', i, 'params']));
  checkParams(p.fallback.params, ['fallback', 'params']);
  const walk = (n: PolicyNode, path: (string | number)[]): void => {
    if ('leaf' in n) {
      if (n.leaf >= p.leaves.length) throw new InputError(`leaf ${n.leaf} does not exist (${p.leaves.length} leaves)`, at([...path, 'leaf']));
      return;
    }
    if (!names.has(n.feature)) throw new InputError(`"${n.feature}" is not one of the features (${[...names].join(', ')})`, at([...path, 'feature']));
    walk(n.left, [...path, 'left']);
    walk(n.right, [...path, 'right']);
  };
  walk(p.tree, ['tree']);
  return p;
}

function lines0(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, col: before[before.length - 1]!.length + 1 };
}
