// Kconfig parameters: symbols written as a fragment into the target's .config, resolved by the
// target's own tool (the build's `kconfig: { resolve }`, make olddefconfig by default), then read
// back; a symbol whose dependencies forced another value is noted, one the tree does not declare
// too (when `kconfig.sources` names its Kconfig files), and the effective value kept
// (src/targets/kconfig.ts holds the .config handling).

import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { ExpandError, expand } from '../../util/expand.js';
import { compareResolved, declaredSymbols, kconfigNotes, requestedValues, resolvedHash, writeFragment, type KconfigOutcome } from '../kconfig.js';
import type { Resolution } from '../../types.js';
import type { BuildPrep, ParamKind } from './kind.js';

export const kconfigKind: ParamKind = {
  name: 'kconfig',
  description: "a Kconfig symbol in the build's .config, resolved by the target's own tool",
  key: { name: 'kconfig', description: 'a Kconfig symbol; implied by names starting with CONFIG_', schema: z.boolean() },
  load(param, value) {
    const kconfig = (value as boolean | undefined) ?? (param.name.startsWith('CONFIG_') ? true : undefined);
    if (kconfig !== undefined) param.kconfig = kconfig;
    return undefined;
  },
  applies: (param) => param.kconfig === true,
  async prepare(ctx) {
    const requested = requestedValues(ctx.params, ctx.env, ctx.value);
    if (Object.keys(requested).length === 0) return undefined;
    const r = await resolveKconfig(ctx, requested);
    if ('error' in r) return r.error;
    const { dir } = ctx;
    writeFileSync(join(dir, 'kconfig.json'), `${JSON.stringify({ config: r.config, hash: r.hash, ...r.outcome }, null, 2)}\n`);
    if (r.config !== join(dir, '.config')) copyFileSync(r.config, join(dir, 'config.effective'));
    for (const line of kconfigNotes(r.outcome)) ctx.note(`kconfig: ${line}`);
    return undefined;
  },
  runMetrics(builtDir): Record<string, number> {
    const file = join(builtDir, 'kconfig.json');
    if (!builtDir || !existsSync(file)) return {};
    const k = JSON.parse(readFileSync(file, 'utf8')) as { overridden: unknown[]; unknown?: unknown[] };
    return { 'kconfig.overridden': k.overridden.length, ...(k.unknown ? { 'kconfig.unknown': k.unknown.length } : {}) };
  },
};

/**
 * What a build's Kconfig step resolved, read back from its kconfig.json (undefined when it had no
 * Kconfig parameters, or the file is unreadable): sent with the build's result so that a
 * coordinator that could not resolve before building learns the effective identity.
 */
export function builtResolution(dir: string): Resolution | undefined {
  try {
    const k = JSON.parse(readFileSync(join(dir, 'kconfig.json'), 'utf8')) as Partial<KconfigOutcome> & { hash?: unknown };
    if (typeof k.hash !== 'string' || !k.effective || !Array.isArray(k.overridden)) return undefined;
    return resolutionOf(k.hash, { effective: k.effective, overridden: k.overridden, unknown: k.unknown ?? [], baseUnknown: k.baseUnknown ?? [], checked: k.checked === true });
  } catch {
    return undefined;
  }
}

/** A resolution as the store and the wire keep it: the resolved .config's hash and what came of each request. */
export function resolutionOf(hash: string, o: Omit<KconfigOutcome, 'requested'>): Resolution {
  return { hash, effective: o.effective, overridden: o.overridden, unknown: o.unknown, baseUnknown: o.baseUnknown, checked: o.checked };
}

/** A resolved configuration: where its .config is, its identity (resolvedHash) and what was asked against what came out. */
export interface Resolved {
  config: string;
  hash: string;
  outcome: KconfigOutcome;
}

/**
 * Writes the base and the requested symbols into the .config of `ctx.dir`, runs the target's
 * resolver there and reads the result back. The build's preparation does this on the worker; the
 * study does the same in a folder of its own before queuing a build (src/targets/effective.ts),
 * so both resolve alike.
 */
export async function resolveKconfig(ctx: BuildPrep, requested: Record<string, string>): Promise<Resolved | { error: string }> {
  const { dir, env } = ctx;
  const spec = ctx.job.kconfig ?? { config: '.config', resolve: 'make olddefconfig' };
  const config = resolve(dir, expand(spec.config, env));
  mkdirSync(dirname(config), { recursive: true });
  let base: string | undefined;
  if (spec.base !== undefined) {
    const from = atExperiment(ctx, spec.base);
    if (!existsSync(from)) return { error: `kconfig base ${from} does not exist (base: ${spec.base})` };
    copyFileSync(from, config);
    base = readFileSync(from, 'utf8');
  }
  writeFragment(config, requested);
  env.KCONFIG_CONFIG = config;
  env.WAYFINDER_KCONFIG = config;
  const failed = await ctx.run(spec.resolve, 'kconfig');
  if (failed !== undefined) {
    const log = readFileSync(join(dir, 'kconfig.log'), 'utf8').trim().split('\n').slice(-5).join(' | ');
    return { error: `kconfig resolver '${spec.resolve}' ${failed}${log ? `: ${log}` : ''}` };
  }
  const text = readFileSync(config, 'utf8');
  const declared = spec.sources ? declaredSymbols(sourceRoots(ctx, spec.sources)) : undefined;
  const outcome = compareResolved(requested, text, { ...(declared ? { declared } : {}), ...(base !== undefined ? { base } : {}) });
  return { config, hash: resolvedHash(text), outcome };
}

/**
 * The folders `kconfig.sources` names. An entry may be a colon-separated list (UK_LIBS may name
 * libraries one by one), and an entry whose variable is unset is left out: a tree built without
 * external libraries (helloworld has no UK_LIBS) declares none of their symbols either.
 */
export function sourceRoots(ctx: Pick<BuildPrep, 'env' | 'experimentDir'>, sources: string[]): string[] {
  const roots: string[] = [];
  for (const source of sources) {
    let text: string;
    try {
      text = expand(source, ctx.env);
    } catch (e) {
      if (e instanceof ExpandError) continue;
      throw e;
    }
    for (const part of text.split(':')) if (part !== '') roots.push(isAbsolute(part) ? part : resolve(ctx.experimentDir, part));
  }
  return roots;
}

function atExperiment(ctx: BuildPrep, path: string): string {
  const p = expand(path, ctx.env);
  return isAbsolute(p) ? p : resolve(ctx.experimentDir, p);
}
