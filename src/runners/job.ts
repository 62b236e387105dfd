// Executes queued work on this host: a build once, or a test's warm-ups then its measured
// iterations, each as a host process (containers and VMs plug in through `launcher`).

import { accessSync, closeSync, constants, cpSync, existsSync, mkdirSync, openSync, promises as fsp, readFileSync, readSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { netnsPrefix } from '../isolation/netns.js';
import { extractMetrics } from '../metrics/extract.js';
import type { JobSpec, PathMapping } from '../types.js';
import { runContainerJob } from './docker/job.js';
import { inheritedEnv } from './inherited-env.js';
import { buildDir, runDir } from '../workdir.js';
import { describeFailure, processSucceeded, runProcess, type ProcessResult } from './process.js';
import { bootTestVm, type TestVm } from './qemu.js';
import { buildRunMetrics, finishBuild, prepareBuild } from '../targets/build-prep.js';
import type { ProcessRegistry } from './registry.js';
import type { BuildResult, BuildWork, Placement, RunResult, TestWork } from '../wire.js';

export interface ExecContext {
  workdir: string;
  placement: Placement;
  registry: ProcessRegistry;
  signal?: AbortSignal;
  /** Enforcement of the placement (cgroups, affinity): turns the job's argv into a confining launcher. */
  wrap?: (argv: string[]) => string[];
  /**
   * The wrapped job enters a cgroup of ours, which the next start reaps with all it holds: the job
   * needs no process registry entry (two file-system operations per run fewer).
   */
  inCgroup?: boolean;
  /** The Docker engine's socket for jobs with an image (default: DOCKER_HOST, then /var/run/docker.sock). */
  dockerSocket?: string;
}

/** The command line of a job: a shell command, or its script run directly when executable. */
export function jobArgv(job: JobSpec): string[] {
  if (job.script) {
    try {
      accessSync(job.script, constants.X_OK);
      return [job.script];
    } catch {
      return ['/bin/sh', job.script];
    }
  }
  return ['/bin/sh', '-c', job.run ?? 'true'];
}

/** Pin to the granted CPUs unless the grant is the whole machine (taskset is util-linux's). */
function confine(argv: string[], placement: Placement, allCpus: number): string[] {
  if (placement.cpus.length === 0 || placement.cpus.length >= allCpus) return argv;
  return ['taskset', '-c', placement.cpus.join(','), ...argv];
}

export function wayfinderEnv(placement: Placement, workdir: string): Record<string, string> {
  const env: Record<string, string> = { WAYFINDER_CORES: placement.cpus.join(','), WAYFINDER_NETNS_PREFIX: netnsPrefix(workdir) };
  placement.cpus.forEach((c, i) => {
    env[`WAYFINDER_CORE_ID${i}`] = String(c);
  });
  return env;
}

function copyInputs(job: JobSpec, experimentDir: string, into: string): void {
  for (const m of job.inputs) {
    const src = isAbsolute(m.source) ? m.source : resolve(experimentDir, m.source);
    const dst = resolve(into, m.destination.replace(/^\/+/, ''));
    cpSync(src, dst, { recursive: true });
  }
}

interface Launch {
  job: JobSpec;
  dir: string;
  /** Parameters and WAYFINDER_* variables; a host process also inherits our environment. */
  vars: Record<string, string>;
  key: string;
  experimentId: string;
  experimentDir: string;
  /** For a test: where its build left its outputs. */
  build?: { dir: string; outputs: PathMapping[] };
}

/** One run of the job: in a container when it names an image, else as a host process. */
function launch(l: Launch, ctx: ExecContext, allCpus: number): Promise<ProcessResult> {
  const { job } = l;
  if (job.image !== undefined) {
    return runContainerJob({
      job: { ...job, image: job.image },
      dir: l.dir,
      experimentDir: l.experimentDir,
      vars: l.vars,
      workdir: ctx.workdir,
      experimentId: l.experimentId,
      key: l.key,
      placement: ctx.placement,
      ...(l.build ? { build: l.build } : {}),
      ...(ctx.dockerSocket ? { socket: ctx.dockerSocket } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
  }
  return runProcess({
    argv: ctx.wrap ? ctx.wrap(jobArgv(job)) : confine(jobArgv(job), ctx.placement, allCpus),
    cwd: l.dir,
    makeCwd: true,
    env: l.vars,
    inheritEnv: true,
    stdoutPath: join(l.dir, 'stdout.log'),
    stderrPath: join(l.dir, 'stderr.log'),
    timeoutSec: job.timeoutSec,
    ...(ctx.wrap && ctx.inCgroup ? {} : { registry: ctx.registry, registryKey: l.key }),
    signal: ctx.signal,
  });
}

async function attempt(l: Launch, ctx: ExecContext, allCpus: number): Promise<{ result: ProcessResult; attempts: number }> {
  let attempts = 0;
  let result: ProcessResult;
  do {
    attempts++;
    result = await launch(l, ctx, allCpus);
  } while (!processSucceeded(result) && !result.aborted && attempts <= l.job.retries);
  return { result, attempts };
}

function baseEnv(extra: Record<string, string>): Record<string, string> {
  return { ...inheritedEnv(), ...extra };
}

export async function executeBuild(work: BuildWork, ctx: ExecContext, allCpus: number): Promise<BuildResult> {
  const dir = buildDir(ctx.workdir, work.experimentId, work.buildId);
  mkdirSync(dir, { recursive: true });
  const startedAt = Date.now();
  if (work.job.image === undefined) copyInputs(work.job, work.experimentDir, dir);
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
  // Source copy, patches, Kconfig and ccache see the whole environment; what they add goes to the job.
  const env = baseEnv(vars);
  const prep = await prepareBuild({ workdir: ctx.workdir, dir, experimentDir: work.experimentDir, job: work.job, params: work.params ?? [], env, registry: ctx.registry, key });
  const done = (status: 'ok' | 'failed', error?: string) => ({
    kind: 'build' as const, experimentId: work.experimentId, buildId: work.buildId, status, ...(error ? { error } : {}),
    durationMs: Date.now() - startedAt, host: ctx.placement.host, startedAt,
  });
  if (prep.status !== 'ready') return prep.status === 'cached' ? done('ok') : done('failed', `build: ${prep.error}`);
  const added = Object.fromEntries(Object.entries(env).filter(([k, v]) => inheritedEnv()[k] !== v && vars[k as keyof typeof vars] !== v));
  const launch = { job: work.job, dir, vars: { ...vars, ...added }, key, experimentId: work.experimentId, experimentDir: work.experimentDir };
  const { result } = await attempt(launch, ctx, allCpus);
  if (processSucceeded(result)) finishBuild(ctx.workdir, dir, prep.cacheKey);
  return {
    kind: 'build',
    experimentId: work.experimentId,
    buildId: work.buildId,
    status: processSucceeded(result) ? 'ok' : 'failed',
    ...(processSucceeded(result) ? {} : { error: `build ${describeFailure(result)}${tail(join(dir, 'stderr.log'))}` }),
    durationMs: Math.round(result.durationMs),
    host: ctx.placement.host,
    startedAt,
  };
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
  const pending: number[] = [];
  for (let i = 0; i < job.iterations; i++) if (!(await opts.done(i))) pending.push(i);
  if (pending.length === 0) return;
  const builtDir = work.hasBuild ? buildDir(ctx.workdir, work.experimentId, work.buildId) : '';

  const runOnce = async (iteration: number, warmup: boolean): Promise<RunResult> => {
    const dir = runDir(ctx.workdir, work.experimentId, work.configId, job.name, iteration, warmup);
    // A host process's folder is made by the launcher as it starts the job, in one step; a
    // container, a VM or copied inputs need it before (off the event loop: a busy disk is slow).
    if (job.image !== undefined || job.vm || job.inputs.length > 0) await fsp.mkdir(dir, { recursive: true });
    if (job.image === undefined) copyInputs(job, work.experimentDir, dir);
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
    const build = work.hasBuild ? { dir: builtDir, outputs: work.buildOutputs ?? [] } : undefined;
    const vm = job.vm
      ? await bootTestVm(job.vm, {
          dir,
          env: baseEnv(vars),
          baseDir: builtDir || work.experimentDir,
          cpus: ctx.placement.cpus,
          ...(ctx.wrap ? { wrap: ctx.wrap } : {}),
          registry: ctx.registry,
          key,
          measureFootprint: !warmup && iteration === pending[0],
        })
      : undefined;
    const runBase = (durationMs: number, attempts: number) => ({
      kind: 'run' as const,
      experimentId: work.experimentId,
      configId: work.configId,
      test: job.name,
      iteration,
      durationMs: Math.round(durationMs),
      attempts,
      placement: ctx.placement,
      startedAt,
    });
    if (vm && 'error' in vm) return { ...runBase(Date.now() - startedAt, 1), status: 'failed', failure: 'boot', error: vm.error, metrics: {} };
    let ran: Awaited<ReturnType<typeof attempt>>;
    let vmOut: Awaited<ReturnType<TestVm['finish']>> | undefined;
    try {
      const launch = { job, dir, vars: vm ? { ...vars, ...vm.env } : vars, key, experimentId: work.experimentId, experimentDir: work.experimentDir };
      ran = await attempt({ ...launch, ...(build ? { build } : {}) }, ctx, allCpus);
    } finally {
      vmOut = await vm?.finish();
    }
    const { result, attempts } = ran;
    const base = runBase(result.durationMs, attempts);
    if (!processSucceeded(result)) {
      return {
        ...base,
        status: 'failed',
        failure: result.timedOut ? 'timeout' : result.aborted ? 'infra' : 'exit',
        error: `${job.name} ${describeFailure(result)}${tail(join(dir, 'stderr.log'))}`,
        metrics: {},
      };
    }
    const stdout = readCapped(join(dir, 'stdout.log'));
    const { values, errors } = await extractMetrics(work.metrics, job.name, stdout, dir);
    if (errors.length > 0) {
      return { ...base, status: 'failed', failure: 'parse', error: errors.join('; '), metrics: values };
    }
    if (vmOut?.error) return { ...base, status: 'failed', failure: 'boot', error: vmOut.error, metrics: { ...values, ...vmOut.metrics } };
    return { ...base, status: 'ok', metrics: { ...values, ...vmOut?.metrics, ...buildRunMetrics(builtDir) } };
  };

  for (let w = 0; w < job.warmup; w++) {
    const r = await runOnce(w, true);
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
