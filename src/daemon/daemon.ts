// `wayfinder daemon`: a work directory opened for good, its experiments managed, and the HTTP API
// served on a unix socket (mode 0660, a group the operator chooses: who may use the daemon is who
// may open that file, as with Docker's socket), and on TCP only when asked, with a token.

import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { daemonSocketPath } from '../workdir.js';
import { ReportPasses } from './report-passes.js';
import { MeasurementSession } from '../session/session.js';
import type { Workspace } from '../study/workspace.js';
import { Api } from './api.js';
import { AuthConfigError, isLoopback, loopbackHostHeader, readToken, tokenChecker } from './auth.js';
import { Manager } from './manager.js';

export interface DaemonOptions {
  workdir: string;
  /** The API's unix socket (default: daemon.sock in the work directory). */
  socket?: string;
  /** The group the socket is given to (name or number); its members may use the daemon. */
  socketGroup?: string;
  /** Also serve TCP on HOST:PORT: only with a token, unless insecureLoopbackNoToken on a loopback address. */
  listen?: string;
  /** Serve a loopback --listen without a token: every local user may then run commands as the daemon's user. */
  insecureLoopbackNoToken?: boolean;
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
  /** The socket's address for clients: unix:///path/to/daemon.sock. */
  url: string;
  socket: string;
  /** The TCP address, when --listen was given. */
  tcpUrl?: string;
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

/** What a socket path may be: the kernel keeps at most 107 bytes of it. */
const MAX_SOCKET_PATH = 107;

/** The warning printed at start when the operator opts out of the token on loopback. */
export function insecureLoopbackWarning(listen: string): string {
  return (
    `wayfinder daemon: WARNING: --insecure-loopback-no-token: ${listen} takes requests without a token. ` +
    'Every user and every process on this host (and every container sharing its network) can submit ' +
    `experiments there, and experiments run their commands as this daemon's user (uid ${process.getuid?.() ?? '?'}). ` +
    'Use it only on a machine where every local user may do that; otherwise use the unix socket, or --token-file.'
  );
}

export async function startDaemon(o: DaemonOptions): Promise<RunningDaemon> {
  // Checked before anything starts: the daemon never listens unguarded by mistake.
  const token = o.tokenFile !== undefined ? readToken(o.tokenFile) : undefined;
  const tcp = o.listen !== undefined ? parseListen(o.listen) : undefined;
  if (o.insecureLoopbackNoToken && !tcp) throw new AuthConfigError('--insecure-loopback-no-token: only with --listen (the unix socket needs no token)');
  if (o.insecureLoopbackNoToken && token !== undefined) throw new AuthConfigError('--insecure-loopback-no-token and --token-file: give one of them');
  if (tcp && token === undefined) {
    if (!isLoopback(tcp.host)) {
      throw new AuthConfigError(
        `--listen ${o.listen}: not a loopback address, and no --token-file. Anyone who can reach this port could run commands on this host; give a token file (clients send it as "Authorization: Bearer <token>").`,
      );
    }
    if (!o.insecureLoopbackNoToken) {
      throw new AuthConfigError(
        `--listen ${o.listen}: TCP needs --token-file, on loopback too: every local user can reach ${tcp.host}, and a submitted experiment runs commands as this daemon's user. ` +
          'Give --token-file, use the unix socket (the default), or accept that with --insecure-loopback-no-token.',
      );
    }
  }
  const socket = resolve(o.socket ?? daemonSocketPath(o.workdir));
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
    throw new AuthConfigError(`--socket: ${socket} is ${Buffer.byteLength(socket)} bytes long; a unix socket's path may be at most ${MAX_SOCKET_PATH} (give a shorter --socket)`);
  }
  const gid = o.socketGroup !== undefined ? groupId(o.socketGroup) : undefined;
  if (await answers(socket)) throw new AuthConfigError(`--socket: a daemon already answers on ${socket}`);
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
  const passes = new ReportPasses();
  let tcpUrl: string | undefined;
  const servers: Server[] = [];
  try {
    await manager.start();
    const api = new Api({
      manager,
      maxBody: o.maxBody,
      defaultDir: ws.workdir,
      version: o.version,
      log: (msg, err) => ws.log.error({ err }, msg),
      reportLink: (id) => {
        if (tcpUrl === undefined) return undefined;
        const { ticket, expiresAt } = passes.issue(id);
        return { url: `${tcpUrl}/experiments/${encodeURIComponent(id)}/report?ticket=${ticket}`, expiresAt };
      },
    });
    // The socket's permissions are its access control: whoever may open it may use the API.
    const local = serve((req, res) => void api.handle(req, res));
    servers.push(local);
    await listenSocket(local, socket, gid);
    if (tcp) {
      const remote = serve((req, res) => {
        if (authorized(req)) return void api.handle(req, res);
        // A browser cannot send the token: a report link's ticket, or the cookie it left, opens that report.
        const pass = passes.admit(req, res);
        if (pass === 'admit') return void api.handle(req, res);
        if (pass === 'served') return;
        req.resume();
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' }).end(`${JSON.stringify({ error: token ? 'missing or wrong token (Authorization: Bearer <token>)' : 'requests must be addressed to a loopback host name' })}\n`);
      });
      servers.push(remote);
      await new Promise<void>((res, rej) => {
        remote.once('error', rej);
        remote.listen(tcp.port, tcp.host, () => res());
      });
      const addr = remote.address() as AddressInfo;
      tcpUrl = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
    }
  } catch (e) {
    for (const s of servers) s.close();
    await manager.stop();
    await session.close();
    throw e;
  }
  const url = `unix://${socket}`;
  ws.log.info({ socket, tcp: tcpUrl, workdir: ws.workdir }, 'daemon listening');
  return {
    url,
    socket,
    ...(tcpUrl !== undefined ? { tcpUrl } : {}),
    workspace: ws,
    manager,
    stop: async (graceMs) => {
      for (const s of servers) {
        s.close();
        s.closeAllConnections();
      }
      // Running jobs finish (or are ended), the worker puts the host's settings back, then the rest closes.
      await ws.worker?.drain(graceMs);
      await manager.stop();
      await session.close();
    },
  };
}

function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const server = createServer(handler);
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  return server;
}

/** A group name or number as its id; a name is looked up as the system does (getent: files, LDAP...). */
function groupId(group: string): number {
  if (/^\d+$/.test(group)) return Number(group);
  try {
    const line = execFileSync('getent', ['group', group], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const gid = Number(line.split(':')[2]);
    if (Number.isInteger(gid)) return gid;
  } catch {
    // reported below
  }
  throw new AuthConfigError(`--socket-group: no group "${group}" on this host`);
}

/** Whether something accepts connections on the socket (another daemon), as opposed to a file a killed one left. */
function answers(path: string): Promise<boolean> {
  if (!existsSync(path)) return Promise.resolve(false);
  return new Promise((res) => {
    const c = connect(path);
    c.once('connect', () => {
      c.destroy();
      res(true);
    });
    c.once('error', () => res(false));
  });
}

/**
 * Listen on the unix socket with mode 0660 from its first moment: the umask is narrowed around
 * the bind (which happens within listen()), so no other user can connect before the chmod.
 */
async function listenSocket(server: Server, path: string, gid: number | undefined): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  if (existsSync(path)) unlinkSync(path); // what a killed daemon left: nothing answers there (checked above)
  const done = new Promise<void>((res, rej) => {
    server.once('error', (e: NodeJS.ErrnoException) => rej(new AuthConfigError(`--socket: cannot listen on ${path} (${e.code ?? e.message})`)));
    server.once('listening', () => res());
  });
  const umask = process.umask(0o177);
  try {
    server.listen(path);
  } finally {
    process.umask(umask);
  }
  await done;
  chmodSync(path, 0o660);
  if (gid !== undefined) {
    try {
      chownSync(path, -1, gid);
    } catch (e) {
      throw new AuthConfigError(
        `--socket-group: cannot give ${path} to group ${gid} (${(e as NodeJS.ErrnoException).code ?? 'error'}): the daemon's user must be root or a member of that group`,
      );
    }
  }
}
