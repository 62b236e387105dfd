// Kconfig parameters: written as a fragment into the target's .config, resolved by the target's own
// tool (make olddefconfig, kconfig-conf --olddefconfig ...), then read back. A symbol whose
// dependencies forced another value is reported, and what is recorded is the effective value.

import { readFileSync, writeFileSync } from 'node:fs';
import type { Param, Value } from '../types.js';

/** The .config symbol of a parameter: its name when it starts with CONFIG_, else CONFIG_<name>. */
export function kconfigSymbol(p: Param): string {
  return p.name.startsWith('CONFIG_') ? p.name : `CONFIG_${p.name}`;
}

/** A value as .config writes it: booleans y/n, integers in decimal, tristate and hex strings bare, other strings quoted. */
export function kconfigValue(v: Value): string {
  if (typeof v === 'boolean') return v ? 'y' : 'n';
  if (typeof v === 'number') return String(v);
  if (/^[ynm]$/.test(v) || /^-?(0x[0-9a-fA-F]+|\d+)$/.test(v)) return v;
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The lines of a .config fragment setting these symbols. */
export function fragment(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([sym, v]) => (v === 'n' ? `# ${sym} is not set` : `${sym}=${v}`))
    .join('\n');
}

const SET = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/;
const UNSET = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/;

/** Every symbol a .config sets, "is not set" as n. */
export function parseDotConfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    let m: RegExpMatchArray | null;
    if ((m = line.match(SET))) out.set(m[1] as string, m[2] as string);
    else if ((m = line.match(UNSET))) out.set(m[1] as string, 'n');
  }
  return out;
}

/** The .config with these symbols' old lines removed and the fragment appended (later lines win in Kconfig anyway). */
export function mergeFragment(dotConfig: string, values: Record<string, string>): string {
  const kept = dotConfig.split('\n').filter((line) => {
    const sym = line.match(SET)?.[1] ?? line.match(UNSET)?.[1];
    return sym === undefined || !(sym in values);
  });
  while (kept.length > 0 && kept[kept.length - 1] === '') kept.pop();
  return `${kept.length > 0 ? `${kept.join('\n')}\n` : ''}# Set by wayfinder\n${fragment(values)}\n`;
}

export interface KconfigOutcome {
  requested: Record<string, string>;
  /** The resolved value of each requested symbol; a symbol the resolver dropped (unmet dependency) is n. */
  effective: Record<string, string>;
  overridden: Array<{ symbol: string; requested: string; effective: string }>;
}

/** Compares what was asked with what the resolved .config says. */
export function compareResolved(requested: Record<string, string>, resolvedText: string): KconfigOutcome {
  const resolved = parseDotConfig(resolvedText);
  const effective: Record<string, string> = {};
  const overridden: KconfigOutcome['overridden'] = [];
  for (const [symbol, want] of Object.entries(requested)) {
    const got = resolved.get(symbol) ?? 'n';
    effective[symbol] = got;
    if (got !== want) overridden.push({ symbol, requested: want, effective: got });
  }
  return { requested, effective, overridden };
}

/** The requested values of a build's Kconfig parameters. */
export function requestedValues(params: Param[], env: Record<string, string>, typed: (p: Param) => Value): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of params) if (p.kconfig && p.when === 'build' && env[p.name] !== undefined) out[kconfigSymbol(p)] = kconfigValue(typed(p));
  return out;
}

/** Writes the merged .config in place. */
export function writeFragment(path: string, values: Record<string, string>): void {
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    // No starting configuration: the resolver fills in every default.
  }
  writeFileSync(path, mergeFragment(current, values));
}
