// `wayfinder daemon`: a work directory opened for good, its experiments managed, and the HTTP API
// served on a loopback address (or, with a token, any other).

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeasurementSession } from '../session/session.js';
import type { Workspace } from '../study/workspace.js';
import { Api } from './api.js';
import { AuthConfigError, isLoopback, loopbackHostHeader, readToken, tokenChecker } from './auth.js';
import { Manager } from './manager.js';

export interface DaemonOptions {
  listen: string;
  workdir: string;
  redis?: string;
  prefix?: string;
  tokenFile?: string;
  /** Run a worker of `pool` in the daemon's process (default true). */
  worker: boolean;
  pool?: string;
  cpus?: number[];
  /** The Docker engine's socket for container jobs (default: DOCKER_HOST, then /var/run/docker.sock). */
  dockerSocket?: string;
  /** Sign the jobs queued (and, for this host's worker, run only signed ones). */
  jobKey?: Buffer;
  /** Where lines for the person go (what this user may not do, host settings this host lacks). */
  say?: (line: string) => void;
  maxBody: number;
  version: string;
}

export interface RunningDaemon {
  url: string;
  workspace: Workspace;
  manager: Manager;
  /** SIGTERM: stop serving, let running jobs finish for up to graceMs, hand back the rest. */
  stop(graceMs: number): Promise<void>;
}

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:]+):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new AuthConfigError(`--listen: expected HOST:PORT (for example 127.0.0.1:7077), got "${text}"`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
}

export async function startDaemon(o: DaemonOptions): Promise<RunningDaemon> {
  const { host, port } = parseListen(o.listen);
  // Checked before anything starts: the daemon never listens off loopback unguarded.
  const token = o.tokenFile !== undefined ? readToken(o.tokenFile) : undefined;
  if (!isLoopback(host) && token === undefined) {
    throw new AuthConfigError(
      `--listen ${o.listen}: not a loopback address, and no --token-file. Anyone who can reach this port could run commands on this host; give a token file (clients send it as "Authorization: Bearer <token>").`,
    );
  }
  const authorized = token !== undefined ? tokenChecker(token) : loopbackHostHeader;

  const session = await MeasurementSession.open({
    workdir: o.workdir,
    worker: o.worker,
    ...(o.redis ? { redis: o.redis } : {}),
    ...(o.prefix ? { prefix: o.prefix } : {}),
    ...(o.pool ? { pool: o.pool } : {}),
    ...(o.cpus ? { cpus: o.cpus } : {}),
    ...(o.dockerSocket ? { dockerSocket: o.dockerSocket } : {}),
    ...(o.jobKey ? { jobKey: o.jobKey } : {}),
    ...(o.say ? { say: o.say } : {}),
  });
  const ws = session.ws;
  const manager = new Manager(session);
  let server: Server | undefined;
  try {
    await manager.start();
    const api = new Api({
      manager,
      maxBody: o.maxBody,
      defaultDir: ws.workdir,
      version: o.version,
      log: (msg, err) => ws.log.error({ err }, msg),
    });
    server = createServer((req, res) => {
      if (!authorized(req)) {
        req.resume();
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' }).end(`${JSON.stringify({ error: token ? 'missing or wrong token (Authorization: Bearer <token>)' : 'requests must be addressed to a loopback host name' })}\n`);
        return;
      }
      void api.handle(req, res);
    });
    server.headersTimeout = 10_000;
    server.requestTimeout = 60_000;
    const s = server;
    await new Promise<void>((res, rej) => {
      s.once('error', rej);
      s.listen(port, host, () => res());
    });
  } catch (e) {
    await manager.stop();
    await session.close();
    throw e;
  }
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  ws.log.info({ url, workdir: ws.workdir }, 'daemon listening');
  const srv = server;
  return {
    url,
    workspace: ws,
    manager,
    stop: async (graceMs) => {
      srv.close();
      srv.closeAllConnections();
      // Running jobs finish (or are ended), the worker puts the host's settings back, then the rest closes.
      await ws.worker?.drain(graceMs);
      await manager.stop();
      await session.close();
    },
  };
}
