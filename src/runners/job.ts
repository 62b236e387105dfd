// Executes queued work on this host: a build once, or a test's warm-ups then its measured
// iterations, each through the runner of the job's kind (kinds.ts): the same path for a host
// process, a container, a VM or any kind registered later.

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { netnsPrefix } from '../isolation/netns.js';
import { extractMetrics } from '../metrics/extract.js';
import { inheritedEnv } from './inherited-env.js';
import { buildDir, runDir } from '../workdir.js';
import { describeFailure, processSucceeded, type ProcessResult } from './process.js';
import { buildRunMetrics, finishBuild, prepareBuild } from '../targets/build-prep.js';
import { builtResolution } from '../targets/params/kconfig.js';
import { runnerFor } from './kinds.js';
import type { ExecContext, Finished, Prepared, RunRequest, Runner } from './runner.js';
import type { BuildResult, BuildWork, Placement, RunResult, RunUsage, TestWork } from '../wire.js';
import type { Failure } from '../types.js';

export type { ExecContext } from './runner.js';
export { jobArgv } from './process-runner.js';

export function wayfinderEnv(placement: Placement, workdir: string): Record<string, string> {
  const env: Record<string, string> = { WAYFINDER_CORES: placement.cpus.join(','), WAYFINDER_NETNS_PREFIX: netnsPrefix(workdir) };
  placement.cpus.forEach((c, i) => {
    env[`WAYFINDER_CORE_ID${i}`] = String(c);
  });
  return env;
}

interface Ran {
  result: ProcessResult;
  attempts: number;
  usage?: RunUsage;
}

/**
 * The run's attempts (a failed one is repeated up to the job's retries), each metered by the job's
 * cgroups when it has them: the counters are zeroed before and read after every attempt.
 */
async function attempt(runner: Runner, run: RunRequest, ctx: ExecContext, prepared: Prepared): Promise<Ran> {
  let attempts = 0;
  let result: ProcessResult;
  let usage: RunUsage | undefined;
  do {
    attempts++;
    await ctx.meter?.begin();
    result = await runner.launch(run, ctx, prepared);
    const measured = await ctx.meter?.end().catch(() => undefined);
    const metered = result.unmetered ? undefined : measured;
    if (metered?.oomKilled) result = { ...result, oomKilled: true };
    // A runner's own figures (not the launcher's rusage) are its to give; else the cgroup's.
    usage = result.usage && result.usage.source !== 'rusage' ? result.usage : (metered?.usage ?? result.usage);
  } while (!processSucceeded(result) && !result.aborted && attempts <= run.job.retries);
  return { result, attempts, ...(usage ? { usage } : {}) };
}

/** Prepare, run (with retries) and finish one run through its kind's runner. */
async function runThrough(runner: Runner, run: RunRequest, ctx: ExecContext): Promise<{ ran: Ran; finished: Finished } | { error: string; failure: Failure }> {
  const prepared = await runner.prepare(run, ctx);
  if ('error' in prepared) return prepared;
  let ran: Ran;
  let finished: Finished = {};
  try {
    ran = await attempt(runner, run, ctx, prepared);
  } finally {
    finished = await runner.finish(run, prepared);
  }
  return { ran, finished };
}

function baseEnv(extra: Record<string, string>): Record<string, string> {
  return { ...inheritedEnv(), ...extra };
}

export async function executeBuild(work: BuildWork, ctx: ExecContext, allCpus: number): Promise<BuildResult> {
  const dir = buildDir(ctx.workdir, work.experimentId, work.buildId);
  mkdirSync(dir, { recursive: true });
  const startedAt = Date.now();
  const runner = runnerFor(work.job);
  const vars = {
    ...work.job.env,
    ...work.env,
    ...wayfinderEnv(ctx.placement, ctx.workdir),
    WAYFINDER_EXPERIMENT: work.experimentId,
    WAYFINDER_BUILD_ID: work.buildId,
    WAYFINDER_BUILD_DIR: dir,
    WAYFINDER_OUTPUT_DIR: dir,
    WAYFINDER_EXPERIMENT_DIR: work.experimentDir,
  };
  const key = `build-${work.experimentId}-${work.buildId}`;
  const done = (status: 'ok' | 'failed', error?: string, durationMs = Date.now() - startedAt) => {
    const resolution = status === 'ok' ? builtResolution(dir) : undefined;
    return {
      kind: 'build' as const, experimentId: work.experimentId, buildId: work.buildId, status, ...(error ? { error } : {}),
      durationMs: Math.round(durationMs), host: ctx.placement.host, startedAt, ...(resolution ? { resolution } : {}),
    };
  };
  const run: RunRequest = { job: work.job, dir, vars, key, experimentId: work.experimentId, experimentDir: work.experimentDir, allCpus };
  // The folder is the build's: its inputs go in before the source copy, patches and Kconfig.
  const ready = await runner.prepare(run, ctx);
  if ('error' in ready) return done('failed', `build: ${ready.error}`);
  // Source copy, patches, Kconfig and ccache see the whole environment; what they add goes to the job.
  const env = baseEnv(vars);
  const prep = await prepareBuild({ workdir: ctx.workdir, dir, experimentDir: work.experimentDir, job: work.job, params: work.params ?? [], env, registry: ctx.registry, key });
  if (prep.status !== 'ready') {
    await runner.finish(run, ready);
    return prep.status === 'cached' ? done('ok') : done('failed', `build: ${prep.error}`);
  }
  const added = Object.fromEntries(Object.entries(env).filter(([k, v]) => inheritedEnv()[k] !== v && vars[k as keyof typeof vars] !== v));
  run.vars = { ...vars, ...added };
  let ran: Ran;
  let finished: Finished = {};
  try {
    ran = await attempt(runner, run, ctx, ready);
  } finally {
    finished = await runner.finish(run, ready);
  }
  const { result } = ran;
  const ok = processSucceeded(result) && finished.error === undefined;
  if (ok) finishBuild(ctx.workdir, dir, prep.cacheKey);
  return done(ok ? 'ok' : 'failed', ok ? undefined : `build ${processSucceeded(result) ? finished.error : describeFailure(result)}${tail(join(dir, 'stderr.log'))}`, result.durationMs);
}

/**
 * Runs a test's warm-ups and then each measured iteration not yet measured, sending every
 * iteration's result as soon as it exists so that a crash loses only the iteration in flight.
 * Stops at the first failed iteration: the configuration has failed.
 */
export async function executeTest(
  work: TestWork,
  ctx: ExecContext,
  allCpus: number,
  opts: { done: (iteration: number) => Promise<boolean>; emit: (r: RunResult) => Promise<void> },
): Promise<void> {
  const job = work.job;
  const runner = runnerFor(job);
  const pending: number[] = [];
  const first = work.firstIteration ?? 0;
  for (let i = first; i < first + job.iterations; i++) if (!(await opts.done(i))) pending.push(i);
  if (pending.length === 0) return;
  const builtDir = work.hasBuild ? buildDir(ctx.workdir, work.experimentId, work.buildId) : '';

  const runOnce = async (iteration: number, warmup: boolean): Promise<RunResult> => {
    const dir = runDir(ctx.workdir, work.experimentId, work.configId, job.name, iteration, warmup);
    const vars = {
      ...job.env,
      ...work.env,
      ...wayfinderEnv(ctx.placement, ctx.workdir),
      WAYFINDER_EXPERIMENT: work.experimentId,
      WAYFINDER_CONFIG_ID: work.configId,
      WAYFINDER_BUILD_ID: work.buildId,
      WAYFINDER_BUILD_DIR: builtDir,
      WAYFINDER_OUTPUT_DIR: dir,
      WAYFINDER_EXPERIMENT_DIR: work.experimentDir,
      WAYFINDER_TEST: job.name,
      WAYFINDER_ITERATION: String(iteration),
      WAYFINDER_WARMUP: warmup ? '1' : '0',
    };
    const startedAt = Date.now();
    const key = `test-${work.experimentId}-${work.configId}-${job.name}-${warmup ? 'w' : ''}${iteration}`;
    const run: RunRequest = {
      job, dir, vars, key, experimentId: work.experimentId, experimentDir: work.experimentDir, allCpus,
      ...(work.hasBuild ? { build: { dir: builtDir, outputs: work.buildOutputs ?? [] } } : {}),
      firstMeasured: !warmup && iteration === pending[0],
    };
    const runBase = (durationMs: number, attempts: number, usage?: RunUsage) => ({
      kind: 'run' as const,
      experimentId: work.experimentId,
      configId: work.configId,
      test: job.name,
      iteration,
      durationMs: Math.round(durationMs),
      attempts,
      placement: ctx.placement,
      startedAt,
      ...(usage ? { usage } : {}),
      ...(work.extra ? { extra: work.extra } : {}),
    });
    const through = await runThrough(runner, run, ctx);
    if ('error' in through) return { ...runBase(Date.now() - startedAt, 1), status: 'failed', failure: through.failure, error: through.error, metrics: {} };
    const { ran, finished } = through;
    const { result, attempts } = ran;
    const base = runBase(result.durationMs, attempts, ran.usage);
    if (!processSucceeded(result)) {
      return {
        ...base,
        status: 'failed',
        failure: result.timedOut ? 'timeout' : result.aborted ? 'infra' : result.oomKilled ? 'oom' : 'exit',
        error: `${job.name} ${describeFailure(result)}${tail(join(dir, 'stderr.log'))}`,
        metrics: {},
      };
    }
    const stdout = readCapped(join(dir, 'stdout.log'));
    const { values, errors } = await extractMetrics(work.metrics, job.name, stdout, dir);
    if (errors.length > 0) {
      return { ...base, status: 'failed', failure: 'parse', error: errors.join('; '), metrics: values };
    }
    if (finished.error) return { ...base, status: 'failed', failure: finished.failure ?? 'exit', error: finished.error, metrics: { ...values, ...finished.metrics } };
    return { ...base, status: 'ok', metrics: { ...values, ...finished.metrics, ...buildRunMetrics(builtDir) } };
  };

  for (let w = 0; w < job.warmup; w++) {
    // Numbered after the first iteration, so an extra job's warm-ups have folders of their own.
    const r = await runOnce(first + w, true);
    if (r.status === 'failed') {
      // A warm-up that fails says the configuration does not work; report it on the first pending iteration.
      await opts.emit({ ...r, iteration: pending[0] as number, error: `warm-up: ${r.error}` });
      return;
    }
  }
  for (const i of pending) {
    if (ctx.signal?.aborted) return;
    const r = await runOnce(i, false);
    if (r.failure === 'infra') return; // aborted by us: not a property of the configuration
    await opts.emit(r);
    if (r.status === 'failed') return;
  }
}

const MAX_OUTPUT = 16 * 1024 * 1024;

/** A log's text, or its last 16 MiB: parsers look at the summary a benchmark prints last. */
function readCapped(path: string): string {
  if (!existsSync(path)) return '';
  const size = statSync(path).size;
  if (size <= MAX_OUTPUT) return readFileSync(path, 'utf8');
  const buf = Buffer.alloc(MAX_OUTPUT);
  const fd = openSync(path, 'r');
  try {
    return buf.toString('utf8', 0, readSync(fd, buf, 0, MAX_OUTPUT, size - MAX_OUTPUT));
  } finally {
    closeSync(fd);
  }
}

/** The last lines of a log, to put the reason for a failure next to it. */
function tail(path: string, lines = 5): string {
  if (!existsSync(path)) return '';
  const text = readCapped(path).trimEnd();
  if (text === '') return '';
  return `: ${text.split('\n').slice(-lines).join(' | ')}`;
}
