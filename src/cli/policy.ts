// `wayfinder policy decide POLICY W1=V1 ...`: the configuration a learned policy picks for a workload.

import { writeFileSync } from 'node:fs';
import { compileC } from '../control/reference.js';
import { controllerSource } from '../control/controller-c.js';
import { decide } from '../policy/policy.js';
import { readPolicy } from '../policy/policy-file.js';
import { fmtConfig } from '../util/format.js';
import { UsageError } from './errors.js';

export function policyDecideCommand(file: string, assignments: string[], o: { json?: boolean }): number {
  const p = readPolicy(file);
  const given = new Map<string, number>();
  for (const a of assignments) {
    const eq = a.indexOf('=');
    const name = a.slice(0, eq).trim();
    const text = a.slice(eq + 1).trim();
    if (eq < 1) throw new UsageError(`"${a}": expected FEATURE=VALUE (features: ${p.features.map((f) => f.name).join(', ')})`);
    if (!p.features.some((f) => f.name === name)) throw new UsageError(`"${a}": ${name} is not a feature of this policy (features: ${p.features.map((f) => f.name).join(', ')})`);
    if (given.has(name)) throw new UsageError(`"${a}": ${name} given twice`);
    const v = Number(text);
    if (text === '' || !Number.isFinite(v)) throw new UsageError(`"${a}": ${name} must be a number, got "${text}"`);
    given.set(name, v);
  }
  const missing = p.features.filter((f) => !given.has(f.name));
  if (missing.length) throw new UsageError(`missing ${missing.map((f) => `${f.name}=VALUE`).join(' ')} (the policy decides on ${p.features.map((f) => f.name).join(', ')})`);
  const d = decide(
    p,
    p.features.map((f) => given.get(f.name)!),
  );
  if (o.json) process.stdout.write(`${JSON.stringify(d)}\n`);
  else {
    const outside = p.features.filter((f) => !(given.get(f.name)! >= f.min && given.get(f.name)! <= f.max));
    process.stdout.write(
      `${fmtConfig(d.params)}\n${d.fallback ? `fallback: ${outside.map((f) => `${f.name}=${given.get(f.name)} is outside the trained ${f.min}..${f.max}`).join(', ')}` : `leaf ${d.leaf}`}\n`,
    );
  }
  return 0;
}

/** `wayfinder policy controller POLICY --out ctl.c --build ctl`: the native fast path of a policy. */
export function policyControllerCommand(file: string, o: { out?: string; build?: string; signal?: string[] }): number {
  if (!o.out && !o.build) throw new UsageError('policy controller: give --out FILE.c, --build BINARY or both');
  const signals: Record<string, string> = {};
  for (const a of o.signal ?? []) {
    const eq = a.indexOf('=');
    if (eq < 1 || eq === a.length - 1) throw new UsageError(`--signal "${a}": expected FEATURE=SIGNAL`);
    signals[a.slice(0, eq)] = a.slice(eq + 1);
  }
  const source = controllerSource(readPolicy(file), { signals });
  if (o.out) writeFileSync(o.out, source);
  if (o.build) compileC('controller', source, o.build);
  process.stdout.write(`${[o.out && `wrote ${o.out}`, o.build && `built ${o.build}`].filter(Boolean).join('; ')}\n`);
  return 0;
}
