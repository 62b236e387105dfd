// Kconfig parameters: symbols written as a fragment into the target's .config, resolved by the
// target's own tool (the build's `kconfig: { resolve }`, make olddefconfig by default), then read
// back; a symbol whose dependencies forced another value is noted, and the effective value kept
// (src/targets/kconfig.ts holds the .config handling).

import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { expand } from '../../util/expand.js';
import { compareResolved, requestedValues, writeFragment } from '../kconfig.js';
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
    return Object.keys(requested).length > 0 ? resolveKconfig(ctx, requested) : undefined;
  },
  runMetrics(builtDir): Record<string, number> {
    const file = join(builtDir, 'kconfig.json');
    if (!builtDir || !existsSync(file)) return {};
    const k = JSON.parse(readFileSync(file, 'utf8')) as { overridden: unknown[] };
    return { 'kconfig.overridden': k.overridden.length };
  },
};

async function resolveKconfig(ctx: BuildPrep, requested: Record<string, string>): Promise<string | undefined> {
  const { dir, env } = ctx;
  const spec = ctx.job.kconfig ?? { config: '.config', resolve: 'make olddefconfig' };
  const config = resolve(dir, expand(spec.config, env));
  mkdirSync(dirname(config), { recursive: true });
  if (spec.base !== undefined) {
    const base = expand(spec.base, env);
    const from = isAbsolute(base) ? base : resolve(ctx.experimentDir, base);
    if (!existsSync(from)) return `kconfig base ${from} does not exist (base: ${spec.base})`;
    copyFileSync(from, config);
  }
  writeFragment(config, requested);
  env.KCONFIG_CONFIG = config;
  env.WAYFINDER_KCONFIG = config;
  const failed = await ctx.run(spec.resolve, 'kconfig');
  if (failed !== undefined) {
    const log = readFileSync(join(dir, 'kconfig.log'), 'utf8').trim().split('\n').slice(-5).join(' | ');
    return `kconfig resolver '${spec.resolve}' ${failed}${log ? `: ${log}` : ''}`;
  }
  const outcome = compareResolved(requested, readFileSync(config, 'utf8'));
  writeFileSync(join(dir, 'kconfig.json'), `${JSON.stringify({ config, ...outcome }, null, 2)}\n`);
  if (config !== join(dir, '.config')) copyFileSync(config, join(dir, 'config.effective'));
  for (const o of outcome.overridden) {
    ctx.note(`kconfig: ${o.symbol} requested ${o.requested}, resolved to ${o.effective} (its dependencies decide); the effective value is recorded`);
  }
  return undefined;
}
