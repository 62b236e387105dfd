// A build or test job in a container: the image's filesystem plus the job's inputs, the build's
// outputs (for tests) and wayfinder's own folder /wayfinder; afterwards the declared outputs and
// /wayfinder/output are copied to the job's folder in the work directory.

import { accessSync, appendFileSync, chmodSync, constants, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join, posix, relative, resolve } from 'node:path';
import type Docker from 'dockerode';
import type { JobSpec, PathMapping } from '../../types.js';
import { putPath } from './archive.js';
import type { ProcessResult } from '../process.js';
import type { Placement } from '../../wire.js';
import { runContainer } from './container.js';
import { dockerMessage, dockerTarget } from './engine.js';
import { containerName, jobLabels } from './labels.js';

/** Where a job finds wayfinder's files inside its container. */
export const CONTAINER_ROOT = '/wayfinder';
export const CONTAINER_OUTPUT_DIR = `${CONTAINER_ROOT}/output`;

export interface ContainerJobRequest {
  job: JobSpec & { image: string };
  /** The job's folder on this host: its logs and its outputs. */
  dir: string;
  experimentDir: string;
  /** Parameters and WAYFINDER_* variables as a host job would get them. */
  vars: Record<string, string>;
  workdir: string;
  experimentId: string;
  key: string;
  placement: Placement;
  /** For a test: the build's folder and the outputs its build declared. */
  build?: { dir: string; outputs: PathMapping[] };
  socket?: string;
  signal?: AbortSignal;
  /** The job's accounting group: the engine makes the container's cgroups under it. */
  cgroupParent?: string;
  /**
   * Runs once the container has started and before its command does (the command waits at a
   * gate until this returns): what the command needs beside it, in the container's namespaces.
   */
  beforeCommand?: (c: Docker.Container) => Promise<void>;
}

/** The gate a command waits at until `beforeCommand` is done: a file copied in afterwards. */
export const GATE_PATH = `${CONTAINER_ROOT}/go`;
const GATE_SCRIPT = `while [ ! -e ${GATE_PATH} ]; do sleep 0.02 2>/dev/null || sleep 1; done; exec "$@"`;

export async function runContainerJob(req: ContainerJobRequest): Promise<ProcessResult> {
  const { job } = req;
  const target = dockerTarget(req.socket);
  let workingDir = '/';
  try {
    workingDir = (await target.docker.getImage(job.image).inspect()).Config?.WorkingDir || '/';
  } catch (e) {
    return failed(`image ${job.image}: ${dockerMessage(e)}`);
  }
  const inContainer = (p: string): string => (p.startsWith('/') ? posix.normalize(p) : posix.join(workingDir, p));

  const stage = mkdtempSync(join(tmpdir(), 'wf-stage-'));
  try {
    // /wayfinder/output is where the job may leave files for metrics; anyone may write there,
    // whatever user the image runs as.
    mkdirSync(join(stage, 'wayfinder', 'output'), { recursive: true });
    chmodSync(join(stage, 'wayfinder', 'output'), 0o777);
    let argv = ['/bin/sh', '-c', job.run ?? 'true'];
    if (job.script) {
      const inStage = join(stage, 'wayfinder', 'job', basename(job.script));
      mkdirSync(join(stage, 'wayfinder', 'job'));
      cpSync(job.script, inStage);
      const where = `${CONTAINER_ROOT}/job/${basename(job.script)}`;
      argv = executable(job.script) ? [where] : ['/bin/sh', where];
    }
    if (req.beforeCommand) argv = ['/bin/sh', '-c', GATE_SCRIPT, 'wayfinder-gate', ...argv];
    const copyIn = [{ host: join(stage, 'wayfinder'), container: CONTAINER_ROOT }];
    for (const m of job.inputs) {
      const host = isAbsolute(m.source) ? m.source : resolve(req.experimentDir, m.source);
      if (!existsSync(host)) return failed(`input ${m.source} not found (looked for ${host})`);
      copyIn.push({ host, container: inContainer(m.destination) });
    }
    // A build's outputs go into its tests where the build had them (Wayfinder's paper-era runs
    // shared one outputs list: what one run left there, the next found there).
    for (const m of req.build?.outputs ?? []) {
      const host = resolve(req.build?.dir ?? '', m.source);
      if (existsSync(host)) copyIn.push({ host, container: inContainer(m.destination) });
    }
    const copyOut: Array<{ container: string; host: string; contents?: boolean }> = [];
    for (const m of job.outputs) {
      const host = resolve(req.dir, m.source);
      const rel = relative(req.dir, host);
      if (rel.startsWith('..') || isAbsolute(rel)) return failed(`output ${m.source} would land outside the job's folder ${req.dir}`);
      copyOut.push(rel === '' ? { container: inContainer(m.destination), host, contents: true } : { container: inContainer(m.destination), host });
    }
    copyOut.push({ container: CONTAINER_OUTPUT_DIR, host: req.dir, contents: true });

    const env: Record<string, string> = { ...req.vars, WAYFINDER_OUTPUT_DIR: CONTAINER_OUTPUT_DIR };
    // Host paths mean nothing inside the container.
    delete env.WAYFINDER_BUILD_DIR;
    delete env.WAYFINDER_EXPERIMENT_DIR;

    const r = await runContainer({
      target,
      image: job.image,
      argv,
      env,
      labels: jobLabels(req.workdir, req.experimentId, req.key),
      name: containerName(req.workdir, req.key),
      cpus: req.placement.cpus,
      ...(req.placement.numaNodes ? { mems: req.placement.numaNodes } : {}),
      ...(job.resources.memoryBytes !== undefined ? { memoryBytes: job.resources.memoryBytes } : {}),
      ...(req.cgroupParent ? { cgroupParent: req.cgroupParent } : {}),
      devices: job.devices,
      capabilities: job.capabilities,
      privileged: job.privileged,
      ...(job.network !== undefined ? { network: job.network } : {}),
      copyIn,
      copyOut,
      stdoutPath: join(req.dir, 'stdout.log'),
      stderrPath: join(req.dir, 'stderr.log'),
      timeoutSec: job.timeoutSec,
      ...(req.signal ? { signal: req.signal } : {}),
      ...(req.beforeCommand ? { onStarted: opensGate(req.beforeCommand, join(stage, 'go')) } : {}),
    });
    const missing = r.missingOutputs.filter((p) => p !== CONTAINER_OUTPUT_DIR);
    if (missing.length > 0) appendFileSync(join(req.dir, 'stderr.log'), `wayfinder: not in the container, not copied out: ${missing.join(', ')}\n`);
    return r;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }

  function failed(why: string): ProcessResult {
    mkdirSync(req.dir, { recursive: true });
    writeFileSync(join(req.dir, 'stderr.log'), `wayfinder: ${why}\n`, { flag: 'a' });
    return { exitCode: null, signal: null, timedOut: false, aborted: false, durationMs: 0, spawnError: why };
  }
}

function opensGate(before: (c: Docker.Container) => Promise<void>, file: string): (c: Docker.Container) => Promise<void> {
  return async (c) => {
    await before(c);
    writeFileSync(file, '');
    await putPath(c, file, GATE_PATH);
  };
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
