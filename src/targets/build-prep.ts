// What happens in a build's directory before its command runs: the source tree copied in, ccache put
// on the PATH, then each kind of build parameter (src/targets/params: patches, Kconfig symbols...)
// prepared in turn; and the build cache, which lets a build with the same inputs (its command, its
// build parameters) be reused instead of rebuilt, also by a later experiment in the same work directory.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { runProcess, processSucceeded, describeFailure } from '../runners/process.js';
import type { ProcessRegistry } from '../runners/registry.js';
import type { JobSpec, Param, Value } from '../types.js';
import { ExpandError, expand } from '../util/expand.js';
import type { BuildPrep } from './params/kind.js';
import { paramKinds } from './params/registry.js';
import { archivesDir, buildCacheDir, ccacheDir } from '../workdir.js';

const STAMP = '.wayfinder-built';

export interface BuildPrepContext {
  workdir: string;
  dir: string;
  experimentDir: string;
  job: JobSpec;
  params: Param[];
  /** The build's environment; prepareBuild adds to it. */
  env: Record<string, string>;
  registry: ProcessRegistry;
  key: string;
}

export type Prepared = { status: 'ready'; cacheKey: string } | { status: 'cached'; from: string } | { status: 'failed'; error: string };

/** Identity of a build's inputs: its job (command, script text, kconfig, source) and its parameters' values. */
export function buildCacheKey(job: JobSpec, params: Param[], env: Record<string, string>): string {
  const h = createHash('sha256');
  const { loc: _loc, ...spec } = job;
  h.update(JSON.stringify(spec));
  if (job.script && existsSync(job.script)) h.update(readFileSync(job.script));
  for (const p of params) if (p.when === 'build') h.update(`${p.name}=${env[p.name] ?? ''}\n`);
  return h.digest('hex').slice(0, 32);
}

function cacheEntry(workdir: string, key: string): string {
  return buildCacheDir(workdir, key);
}

function typed(p: Param, text: string): Value {
  if (p.type === 'integer') return Number(text);
  if (p.type === 'boolean') return text === 'true';
  return text;
}

function note(dir: string, line: string): void {
  appendFileSync(join(dir, 'stderr.log'), `wayfinder: ${line}\n`);
}

/** Copies `from` into `to`, hard-linking files where the filesystem allows (a cached build costs no space). */
function copyTree(from: string, to: string, link: boolean): boolean {
  mkdirSync(to, { recursive: true });
  if (link && spawnSync('cp', ['-al', `${from}/.`, `${to}/`], { stdio: 'ignore' }).status === 0) return true;
  return spawnSync('cp', ['-a', '--reflink=auto', `${from}/.`, `${to}/`], { stdio: 'ignore' }).status === 0;
}

export async function prepareBuild(ctx: BuildPrepContext): Promise<Prepared> {
  try {
    return await prepare(ctx);
  } catch (e) {
    if (e instanceof ExpandError) return { status: 'failed', error: e.message };
    throw e;
  }
}

async function prepare(ctx: BuildPrepContext): Promise<Prepared> {
  const { dir, job, env } = ctx;
  const cacheKey = buildCacheKey(job, ctx.params, env);
  const entry = cacheEntry(ctx.workdir, cacheKey);
  if (existsSync(join(entry, STAMP))) {
    const from = realpathSync(entry);
    if (from !== realpathSync(dir)) {
      if (!copyTree(from, dir, true)) return { status: 'failed', error: `cannot copy the cached build ${from}` };
      // The log is written to below: a file of its own, not a link to the original build's.
      const log = join(dir, 'stderr.log');
      if (existsSync(log)) {
        const text = readFileSync(log);
        rmSync(log);
        writeFileSync(log, text);
      }
    }
    note(dir, `reused the build of the same inputs in ${from}`);
    return { status: 'cached', from };
  }

  // ccache where installed: Debian puts its compiler wrappers in /usr/lib/ccache.
  if (existsSync('/usr/lib/ccache') && spawnSync('sh', ['-c', 'command -v ccache'], { stdio: 'ignore' }).status === 0) {
    env.PATH = `/usr/lib/ccache:${env.PATH ?? '/usr/bin:/bin'}`;
    env.CCACHE_DIR ??= ccacheDir(ctx.workdir);
    // Builds of one target differ in their directory: with paths under the work directory made
    // relative and the directory out of the hash (debug info's compile directory may then name
    // another build's), a build of the same sources in a new directory hits the cache.
    env.CCACHE_BASEDIR ??= ctx.workdir;
    env.CCACHE_NOHASHDIR ??= '1';
  }

  // Downloaded source archives: one cache per work directory that every build reuses
  // (scripts/build/fetch-archive.sh reads it), filled first from the folder the experiment names.
  env.WAYFINDER_ARCHIVES ??= archivesDir(ctx.workdir);
  mkdirSync(env.WAYFINDER_ARCHIVES, { recursive: true });
  if (job.archives !== undefined) {
    const named = expand(job.archives, env);
    const from = isAbsolute(named) ? named : resolve(ctx.experimentDir, named);
    if (!existsSync(from)) return { status: 'failed', error: `the archives folder ${from} does not exist (archives: ${job.archives})` };
    env.WAYFINDER_ARCHIVES_FROM = from;
  }

  if (job.source !== undefined) {
    const src = expand(job.source, env);
    const from = isAbsolute(src) ? src : resolve(ctx.experimentDir, src);
    if (!existsSync(from)) return { status: 'failed', error: `the build's source tree ${from} does not exist (source: ${job.source})` };
    const to = join(dir, 'src');
    rmSync(to, { recursive: true, force: true });
    if (!copyTree(from, to, false)) return { status: 'failed', error: `cannot copy the source tree ${from}` };
    env.WAYFINDER_SOURCE_DIR = to;
  }

  const build = ctx.params.filter((p) => p.when === 'build');
  for (const kind of paramKinds()) {
    if (!kind.prepare) continue;
    const params = build.filter((p) => kind.applies(p));
    if (params.length === 0) continue;
    const error = await kind.prepare(prepFor(ctx, params));
    if (error !== undefined) return { status: 'failed', error };
  }
  return { status: 'ready', cacheKey };
}

/** What a kind of parameter may see and do in the build directory. */
function prepFor(ctx: BuildPrepContext, params: Param[]): BuildPrep {
  const { dir, env } = ctx;
  return {
    dir,
    experimentDir: ctx.experimentDir,
    job: ctx.job,
    params,
    value: (p) => typed(p, env[p.name] as string),
    env,
    note: (line) => note(dir, line),
    async run(command, name) {
      const r = await runProcess({
        argv: ['/bin/sh', '-c', command],
        cwd: dir,
        env,
        stdoutPath: join(dir, `${name}.log`),
        stderrPath: join(dir, `${name}.log`),
        timeoutSec: ctx.job.timeoutSec,
        registry: ctx.registry,
        registryKey: `${ctx.key}-${name}`,
      });
      return processSucceeded(r) ? undefined : describeFailure(r);
    },
  };
}

/** After a successful build: stamp it and make it the cache's entry for its inputs. */
export function finishBuild(workdir: string, dir: string, cacheKey: string): void {
  writeFileSync(join(dir, STAMP), `${new Date().toISOString()}\n`);
  const entry = cacheEntry(workdir, cacheKey);
  mkdirSync(dirname(entry), { recursive: true });
  try {
    if (readlinkSync(entry) === dir) return;
  } catch {
    // no entry yet
  }
  rmSync(entry, { force: true });
  symlinkSync(dir, entry);
}

/** For each test run of a build: what the kinds of its parameters record (how many Kconfig values the resolver overrode...). */
export function buildRunMetrics(builtDir: string): Record<string, number> {
  if (!builtDir) return {};
  return Object.assign({}, ...paramKinds().map((k) => k.runMetrics?.(builtDir) ?? {})) as Record<string, number>;
}
