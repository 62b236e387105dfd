// A configuration's effective configuration, worked out on the coordinating side before anything is
// built: its Kconfig parameters written into a .config in a folder of the study's own and resolved
// by the target's own tool, exactly as the build's preparation does on the worker
// (params/kconfig.ts resolveKconfig), then identified by what the resolver left.
//
// Why here and not after the worker's Kconfig step: a resolver (make olddefconfig, kconfig-conf)
// takes milliseconds to a second, a build minutes and the tests longer. Resolving before queuing
// lets a configuration that resolves like one already measured be recorded as its duplicate with
// nothing built, queued or measured, and lets `wayfinder plan` count the effective configurations
// with the same code. What it needs is the tree on the coordinating host. Builds that copy a
// source tree (`build.source`) are not resolved early: their resolver may read (and a kernel's
// `make olddefconfig` writes) the per-build copy with its patches applied, which only the build
// has; they keep their requested identity.

import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { effectiveChecksums, paramEnv } from '../generator/index.js';
import { inheritedEnv } from '../runners/inherited-env.js';
import { describeFailure, processSucceeded, runProcess } from '../runners/process.js';
import type { Config, Experiment, Param, Resolution, Value } from '../types.js';
import { ExpandError, expand } from '../util/expand.js';
import { kconfigSymbol, kconfigValue, requestedValues } from './kconfig.js';
import { resolutionOf, resolveKconfig, type Resolved } from './params/kconfig.js';
import type { BuildPrep } from './params/kind.js';


/** The build parameters that are Kconfig symbols. */
export function kconfigParams(exp: Pick<Experiment, 'params'>): Param[] {
  return exp.params.filter((p) => p.kconfig === true && p.when === 'build');
}

/** Why an experiment's effective configurations cannot be known before its builds, or undefined when they can. */
export function earlyResolution(exp: Experiment): string | undefined {
  if (!exp.build) return 'it has no build';
  if (kconfigParams(exp).length === 0) return 'it has no Kconfig parameters';
  if (exp.build.source !== undefined) return "its build copies a source tree (build.source), which its resolver reads: each build resolves its own copy";
  return undefined;
}

/** The key under which a resolution is the same for two configurations: their Kconfig symbols' requested values. */
export function resolutionKey(exp: Pick<Experiment, 'params'>, config: Config): string {
  return kconfigParams(exp)
    .map((p) => `${kconfigSymbol(p)}=${kconfigValue(config[p.name] as Value)}`)
    .join('\n');
}

/**
 * Resolves the Kconfig parameters of `config` in `dir` (made if missing; the resolver's files and
 * its log, kconfig.log, stay there) with the build's environment, as the worker would before the
 * build. A message when the resolver fails or cannot be run here. `dir` may be reused by the next
 * resolution, never by two at once.
 */
export async function resolveEffective(exp: Experiment, config: Config, dir: string): Promise<Resolved | { error: string }> {
  const build = exp.build;
  if (!build) return { error: 'the experiment has no build' };
  mkdirSync(dir, { recursive: true });
  const buildParams = exp.params.filter((p) => p.when === 'build');
  const env: Record<string, string> = {
    ...inheritedEnv(),
    ...build.env,
    ...paramEnv(buildParams, config),
    WAYFINDER_BUILD_DIR: dir,
    WAYFINDER_OUTPUT_DIR: dir,
    WAYFINDER_EXPERIMENT_DIR: exp.dir,
  };
  const params = kconfigParams(exp);
  const prep: BuildPrep = {
    dir,
    experimentDir: exp.dir,
    job: build,
    params,
    value: (p) => config[p.name] as Value,
    env,
    note: () => undefined,
    async run(command, name) {
      const log = join(dir, `${name}.log`);
      const r = await runProcess({ argv: ['/bin/sh', '-c', command], cwd: dir, env, stdoutPath: log, stderrPath: log, timeoutSec: build.timeoutSec });
      return processSucceeded(r) ? undefined : describeFailure(r);
    },
  };
  try {
    // The folder may be reused from one resolution to the next (the tool's own files, such as the
    // Kconfig program Unikraft's make builds first, then stay); the .config may not: a .config
    // left from before would be merged into.
    rmSync(resolve(dir, expand(build.kconfig?.config ?? '.config', env)), { force: true });
    return await resolveKconfig(prep, requestedValues(params, paramEnv(params, config), (p) => config[p.name] as Value));
  } catch (e) {
    if (e instanceof ExpandError) return { error: e.message };
    throw e;
  }
}

/**
 * The resolved value of each Kconfig parameter in its own type (y: true, n: false; a number; a
 * string unquoted), null where the resolved .config does not set it (a dropped int or string).
 */
export function effectiveValues(params: Param[], effective: Record<string, string>): Record<string, Value | null> {
  const out: Record<string, Value | null> = {};
  for (const p of params) {
    const v = effective[kconfigSymbol(p)];
    if (v === undefined) continue;
    if (p.type === 'boolean') out[p.name] = v === 'y' || v === 'm';
    else if (v === 'n') out[p.name] = null;
    else if (p.type === 'integer' && /^-?\d+$/.test(v)) out[p.name] = Number(v);
    else out[p.name] = /^".*"$/.test(v) ? v.slice(1, -1).replace(/\\(["\\])/g, '$1') : v;
  }
  return out;
}

/** A configuration's effective identity from its resolution, as the store keeps it. */
export function effectiveIdentity(exp: Pick<Experiment, 'params'>, config: Config, r: Resolved): { effectiveId: string; buildId: string; resolution: Resolution } {
  return identityOf(exp, config, resolutionOf(r.hash, r.outcome));
}

/** The same from a resolution already in the store's form (one a build sent with its result). */
export function identityOf(exp: Pick<Experiment, 'params'>, config: Config, resolution: Resolution): { effectiveId: string; buildId: string; resolution: Resolution } {
  return { ...effectiveChecksums(exp.params, config, resolution.hash), resolution };
}

