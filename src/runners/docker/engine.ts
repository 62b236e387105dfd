// Which Docker engine wayfinder talks to, and a clear error when it does not answer.
// Order: an explicit socket (--docker-socket, a workspace option), DOCKER_HOST, the default socket.

import Docker from 'dockerode';
import { withTimeout } from '../../util/timeout.js';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export class DockerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DockerUnavailableError';
  }
}

export interface DockerTarget {
  docker: Docker;
  /** For messages: the socket path or DOCKER_HOST as given. */
  describe: string;
}

const engines = new Map<string, DockerTarget>();

/** One client per target: dockerode keeps no connection open, so sharing is only about config. */
export function dockerTarget(socket?: string): DockerTarget {
  const host = process.env.DOCKER_HOST;
  const key = socket ?? (host ? `env:${host}` : DEFAULT_DOCKER_SOCKET);
  let t = engines.get(key);
  if (!t) {
    if (socket) t = { docker: new Docker({ socketPath: socket }), describe: socket };
    // docker-modem reads DOCKER_HOST (unix://, tcp://, ssh://) and the DOCKER_TLS_* variables itself.
    else if (host) t = { docker: new Docker(), describe: host };
    else t = { docker: new Docker({ socketPath: DEFAULT_DOCKER_SOCKET }), describe: DEFAULT_DOCKER_SOCKET };
    engines.set(key, t);
  }
  return t;
}

/** Ping the engine; a failure becomes a message that says what to do. */
export async function requireDocker(t: DockerTarget, timeoutMs = 10_000): Promise<void> {
  try {
    await withTimeout(t.docker.ping(), timeoutMs, 'no answer');
  } catch (e) {
    const why = e instanceof Error ? ((e as NodeJS.ErrnoException).code ?? e.message) : String(e);
    throw new DockerUnavailableError(
      `cannot reach the Docker engine at ${t.describe} (${why}): start dockerd (docs/docker.md) or point --docker-socket / DOCKER_HOST at it`,
    );
  }
}

const drivers = new WeakMap<DockerTarget, Promise<string | undefined>>();

/**
 * The engine's cgroup driver (cgroupfs, systemd), asked once per engine. Only under cgroupfs does
 * a CgroupParent of ours name a plain cgroup path; systemd wants a slice.
 */
export function cgroupDriver(t: DockerTarget): Promise<string | undefined> {
  let d = drivers.get(t);
  if (!d) {
    d = withTimeout(t.docker.info() as Promise<{ CgroupDriver?: string }>, 10_000, 'no answer').then(
      (i) => i.CgroupDriver,
      () => undefined,
    );
    drivers.set(t, d);
  }
  return d;
}

/** Docker's API errors carry the HTTP status and the daemon's message in `json.message`. */
export function dockerMessage(e: unknown): string {
  const err = e as { statusCode?: number; json?: { message?: string }; message?: string };
  return err?.json?.message ?? err?.message ?? String(e);
}

export function isNotFound(e: unknown): boolean {
  return (e as { statusCode?: number })?.statusCode === 404;
}
