// Runs one command in a fresh container and removes it: the Docker engine's counterpart of
// runProcess. Files are copied in before the start and out after the end; the container's
// output streams go to the job's log files as they come; a timeout or an abort kills it.

import { createWriteStream, type WriteStream } from 'node:fs';
import type Docker from 'dockerode';
import type { ProcessResult } from '../process.js';
import { getPath, putPath } from './archive.js';
import { dockerMessage, type DockerTarget } from './engine.js';
import { withTimeout } from '../../util/timeout.js';
import { stopOn } from '../stop.js';

export interface ContainerRequest {
  target: DockerTarget;
  image: string;
  argv: string[];
  env: Record<string, string>;
  /** Absolute container directory the command starts in; the image's own when absent. */
  workingDir?: string;
  labels: Record<string, string>;
  name: string;
  /** The scheduler's grant: the container's cpuset. */
  cpus: number[];
  mems?: number[];
  memoryBytes?: number;
  /** A cgroup of ours the engine makes the container's groups under (accounting outlives the container there). */
  cgroupParent?: string;
  devices: string[];
  /** Linux capability names without CAP_; the container gets these and no others. */
  capabilities: string[];
  privileged: boolean;
  /** none (default), host, container:<name>, or a Docker network's name. */
  network?: string;
  copyIn: Array<{ host: string; container: string }>;
  /** `contents`: a directory's entries into the host directory, not the directory itself. */
  copyOut: Array<{ container: string; host: string; contents?: boolean }>;
  stdoutPath: string;
  stderrPath: string;
  timeoutSec: number;
  signal?: AbortSignal;
  /**
   * Once the container runs (its namespaces exist), before its result is awaited: what must
   * happen beside it (a VM on a tap in its network namespace). A throw ends the container.
   */
  onStarted?: (c: Docker.Container) => Promise<void>;
}

export interface ContainerResult extends ProcessResult {
  /** Declared outputs the container did not have. */
  missingOutputs: string[];
}

export function hostConfig(req: ContainerRequest): Docker.HostConfig {
  const hc: Docker.HostConfig = {
    NetworkMode: req.network ?? 'none',
    Privileged: req.privileged,
    Devices: req.devices.map((d) => ({ PathOnHost: d, PathInContainer: d, CgroupPermissions: 'rwm' })),
  };
  // Privileged means every capability; otherwise exactly the declared ones, not Docker's default set.
  if (!req.privileged) {
    hc.CapDrop = ['ALL'];
    hc.CapAdd = req.capabilities.map((c) => `CAP_${c}`);
  }
  if (req.cpus.length > 0) hc.CpusetCpus = req.cpus.join(',');
  if (req.mems && req.mems.length > 0) hc.CpusetMems = req.mems.join(',');
  if (req.cgroupParent) hc.CgroupParent = req.cgroupParent;
  if (req.memoryBytes !== undefined) {
    hc.Memory = req.memoryBytes;
    hc.MemorySwap = req.memoryBytes; // no swap on top: the limit is the limit
  }
  return hc;
}

export async function runContainer(req: ContainerRequest): Promise<ContainerResult> {
  const started = performance.now();
  const out = createWriteStream(req.stdoutPath, { flags: 'a' });
  const err = createWriteStream(req.stderrPath, { flags: 'a' });
  const result = (r: Partial<ContainerResult>): ContainerResult => ({
    exitCode: null,
    signal: null,
    timedOut: false,
    aborted: false,
    missingOutputs: [],
    ...r,
    durationMs: performance.now() - started,
  });
  const docker = req.target.docker;
  let container: Docker.Container | undefined;
  try {
    try {
      container = await docker.createContainer({
        name: req.name,
        Image: req.image,
        Cmd: req.argv,
        // The entrypoint is ours to set: the image's would wrap or replace the job's command.
        Entrypoint: [],
        Env: Object.entries(req.env).map(([k, v]) => `${k}=${v}`),
        ...(req.workingDir ? { WorkingDir: req.workingDir } : {}),
        Labels: req.labels,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        HostConfig: hostConfig(req),
      });
    } catch (e) {
      return result({ spawnError: `cannot create a container of image ${req.image}: ${dockerMessage(e)}` });
    }
    const c = container;
    try {
      for (const m of req.copyIn) await putPath(c, m.host, m.container);
    } catch (e) {
      return result({ spawnError: e instanceof Error ? e.message : String(e) });
    }
    if (req.signal?.aborted) return result({ aborted: true });

    const stream = await c.attach({ stream: true, stdout: true, stderr: true });
    const drained = new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
    docker.modem.demuxStream(stream, out, err);

    // The timeout and the abort are the shared ones (stop.ts); ending a container is killing it.
    const stop = stopOn({ timeoutSec: req.timeoutSec, ...(req.signal ? { signal: req.signal } : {}) }, () => {
      c.kill({ signal: 'SIGKILL' }).catch(() => undefined); // already stopped: nothing to do
    });
    try {
      await c.start();
    } catch (e) {
      stop.dispose();
      (stream as unknown as { destroy?: () => void }).destroy?.();
      return result({ spawnError: `cannot start ${req.argv[0] ?? 'the command'} in image ${req.image}: ${dockerMessage(e)}` });
    }
    stop.armed();
    let status: { StatusCode?: number };
    let hookError: string | undefined;
    try {
      if (req.onStarted) {
        await req.onStarted(c).catch(async (e: unknown) => {
          hookError = e instanceof Error ? e.message : String(e);
          await c.kill({ signal: 'SIGKILL' }).catch(() => undefined); // already stopped: nothing to do
        });
      }
      status = (await c.wait()) as { StatusCode?: number };
    } finally {
      stop.dispose();
    }
    if (hookError !== undefined) return result({ spawnError: hookError });
    const { timedOut, aborted } = stop;
    const oomKilled = await c.inspect().then((i) => i.State?.OOMKilled === true, () => false);
    // The attach stream ends once the container's output is all delivered.
    await withTimeout(drained, 10_000, 'output not drained').catch(() => undefined);
    const missingOutputs: string[] = [];
    if (!timedOut && !aborted) {
      for (const m of req.copyOut) {
        try {
          if (!(await getPath(c, m.container, m.host, { contents: m.contents === true }))) missingOutputs.push(m.container);
        } catch (e) {
          err.write(`wayfinder: ${e instanceof Error ? e.message : String(e)}\n`);
          missingOutputs.push(m.container);
        }
      }
    }
    return result({ exitCode: status.StatusCode ?? null, timedOut, aborted, missingOutputs, ...(oomKilled ? { oomKilled } : {}) });
  } finally {
    if (container) await container.remove({ force: true, v: true }).catch(() => undefined);
    await Promise.all([closeStream(out), closeStream(err)]);
  }
}

function closeStream(s: WriteStream): Promise<void> {
  return new Promise((resolve) => s.end(() => resolve()));
}
