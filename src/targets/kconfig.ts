// Kconfig parameters: written as a fragment into the target's .config, resolved by the target's own
// tool (make olddefconfig, kconfig-conf --olddefconfig ...), then read back. A symbol whose
// dependencies forced another value is reported, and what is recorded is the effective value.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
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
  /** The resolved value of each requested symbol; a symbol the resolver dropped (unmet dependency, or none such) is n. */
  effective: Record<string, string>;
  /** Symbols of the tree whose dependencies (depends on, select, range) gave another value than the one asked for. */
  overridden: Array<{ symbol: string; requested: string; effective: string }>;
  /** Requested symbols the tree does not declare (only known when its Kconfig files were read: `declared`). */
  unknown: string[];
  /** Symbols of the base configuration the tree does not declare (the same condition). */
  baseUnknown: string[];
  /** Whether the tree's declarations were read, so that `unknown` and `baseUnknown` are known. */
  checked: boolean;
}

/**
 * Compares what was asked with what the resolved .config says. A resolver drops a symbol it does
 * not know and one whose dependencies are unmet alike (neither is written), so only the tree's
 * declarations (`declared`, from its Kconfig files) tell the two apart.
 */
export function compareResolved(requested: Record<string, string>, resolvedText: string, o: { declared?: ReadonlySet<string>; base?: string } = {}): KconfigOutcome {
  const resolved = parseDotConfig(resolvedText);
  const effective: Record<string, string> = {};
  const overridden: KconfigOutcome['overridden'] = [];
  const unknown: string[] = [];
  for (const [symbol, want] of Object.entries(requested)) {
    const got = resolved.get(symbol) ?? 'n';
    effective[symbol] = got;
    if (o.declared && !resolved.has(symbol) && !o.declared.has(symbol)) unknown.push(symbol);
    else if (got !== want) overridden.push({ symbol, requested: want, effective: got });
  }
  const baseUnknown = o.declared && o.base !== undefined ? [...parseDotConfig(o.base).keys()].filter((s) => !resolved.has(s) && !o.declared?.has(s)) : [];
  return { requested, effective, overridden, unknown, baseUnknown, checked: o.declared !== undefined };
}

/** What a resolution changed, one line each, for the build's log and the study's progress. */
export function kconfigNotes(o: KconfigOutcome): string[] {
  const lines: string[] = [];
  for (const s of o.unknown) lines.push(`${s} requested ${o.requested[s] as string}, but the tree declares no such symbol: the request has no effect`);
  for (const x of o.overridden) {
    const why = o.checked || o.effective[x.symbol] !== 'n' ? 'its dependencies decide' : 'its dependencies decide, or the tree has no such symbol: name the Kconfig folders in kconfig.sources to tell which';
    lines.push(`${x.symbol} requested ${x.requested}, resolved to ${x.effective} (${why}); the effective value is recorded`);
  }
  if (o.baseUnknown.length > 0) lines.push(`the base configuration sets ${o.baseUnknown.length} symbol(s) the tree does not declare (dropped): ${o.baseUnknown.join(' ')}`);
  return lines;
}

/**
 * The identity of a resolved .config: every symbol it sets, in order of name, hashed. Comments
 * (the tool's header, dates, menu titles) are not part of it, nor is the order the tool wrote.
 */
export function resolvedHash(resolvedText: string): string {
  const lines = [...parseDotConfig(resolvedText)].map(([k, v]) => `${k}=${v}`).sort();
  return createHash('md5').update(`${lines.join('\n')}\n`).digest('hex');
}

// The names Kconfig trees give their files: Linux's Kconfig*, Unikraft's Config.uk, Buildroot's and
// BusyBox's Config.in.
const KCONFIG_FILE = /^(Kconfig.*|Config\.(uk|in)|.*\.kconfig)$/;
const DECLARATION = /^[ \t]*(?:menu)?config[ \t]+([A-Za-z0-9_]+)[ \t]*(?:#.*)?$/gm;

/**
 * Every symbol declared (`config X`, `menuconfig X`) in the Kconfig files under these folders,
 * as .config names it (CONFIG_X). Folders that do not exist are skipped; .git is not entered.
 */
export function declaredSymbols(roots: string[]): Set<string> {
  const out = new Set<string>();
  const walk = (dir: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory() && e.name !== '.git' && e.name !== 'node_modules') walk(path);
      else if (e.isFile() && KCONFIG_FILE.test(e.name)) {
        for (const m of readFileSync(path, 'utf8').matchAll(DECLARATION)) out.add(`CONFIG_${m[1] as string}`);
      }
    }
  };
  for (const r of roots) walk(r);
  return out;
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
