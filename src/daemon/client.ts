// Talking to a daemon over its HTTP API, on its unix socket (the default) or over TCP: JSON
// requests and the server-sent event stream.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { resolve } from 'node:path';

import { readToken } from './auth.js';
import { UsageError } from '../errors.js';
import type { DaemonEvent, ExperimentStatus } from './manager.js';
import type { ConfigRow } from '../store/store.js';
import type { SubmitOptions } from './submissions.js';

/** The daemon's socket in the default work directory, from where the command runs. */
export const DEFAULT_SERVER = 'unix://.wayfinder/daemon.sock';

/** The daemon said no (4xx: the request's fault, exit 2) or failed (5xx, exit 1). */
export class DaemonError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class DaemonUnreachableError extends UsageError {}

/** Where the daemon is: its unix socket, or an http:// address. */
export type DaemonAddress = { socket: string; shown: string } | { url: URL; shown: string };

export function parseServer(text: string): DaemonAddress {
  if (text.startsWith('unix:')) {
    const path = text.slice(5).replace(/^\/\//, '');
    if (path === '') throw new UsageError(`--server: "${text}" names no socket (for example unix:///srv/wayfinder/daemon.sock)`);
    const socket = resolve(path);
    return { socket, shown: `unix://${socket}` };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--server: not an address: "${text}" (for example unix:///srv/wayfinder/daemon.sock or http://127.0.0.1:7077)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--server: expected unix://, http:// or https://, got "${text}"`);
  return { url, shown: url.toString().replace(/\/$/, '') };
}

export class DaemonClient {
  private readonly address: DaemonAddress;
  private readonly headers: Record<string, string>;

  constructor(server: string | undefined, tokenFile: string | undefined) {
    // An empty WAYFINDER_SERVER counts as unset, as shells leave it.
    this.address = parseServer(server ?? (process.env.WAYFINDER_SERVER || DEFAULT_SERVER));
    const token = tokenFile !== undefined ? readToken(tokenFile) : process.env.WAYFINDER_TOKEN;
    this.headers = token ? { authorization: `Bearer ${token}` } : {};
  }

  /** The response, once its status and headers are in; a 4xx/5xx is thrown with the daemon's reason. */
  private async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<IncomingMessage> {
    const a = this.address;
    const payload = body !== undefined ? JSON.stringify(body) : undefined;
    const res = await new Promise<IncomingMessage>((resolveRes, reject) => {
      const common = {
        method,
        headers: { ...this.headers, ...headers, ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}) },
      };
      const req =
        'socket' in a
          ? httpRequest({ ...common, socketPath: a.socket, path, host: 'localhost' })
          : (a.url.protocol === 'https:' ? httpsRequest : httpRequest)(new URL(`${a.url.pathname.replace(/\/$/, '')}${path}`, a.url), common);
      req.once('response', resolveRes);
      req.once('error', (e: NodeJS.ErrnoException) => {
        const why =
          e.code === 'EACCES'
            ? 'permission denied: the daemon\'s socket is open to its owner and its --socket-group only'
            : e.code === 'ENOENT'
              ? 'no such socket'
              : (e.code ?? e.message);
        reject(new DaemonUnreachableError(`cannot reach the daemon at ${a.shown} (${why}); is \`wayfinder daemon\` running there? (--server unix:///path/daemon.sock or http://host:port, or WAYFINDER_SERVER)`));
      });
      req.end(payload);
    });
    const status = res.statusCode ?? 0;
    if (status >= 400) {
      const text = await readAll(res);
      let msg = text.trim();
      try {
        msg = (JSON.parse(text) as { error?: string }).error ?? msg;
      } catch {
        // plain text
      }
      throw new DaemonError(status, msg || `HTTP ${status}`);
    }
    return res;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return JSON.parse(await readAll(await this.request(method, path, body))) as T;
  }

  async text(path: string): Promise<string> {
    return readAll(await this.request('GET', path));
  }

  submit(yaml: string, file: string, options: SubmitOptions): Promise<{ id: string; state: string; existing: boolean; firstEvent: number }> {
    return this.json('POST', '/experiments', { yaml, file, ...options });
  }

  list(): Promise<{ experiments: ExperimentStatus[] }> {
    return this.json('GET', '/experiments');
  }

  status(id: string): Promise<ExperimentStatus> {
    return this.json('GET', `/experiments/${encodeURIComponent(id)}`);
  }

  async configurations(id: string): Promise<ConfigRow[]> {
    return (await this.json<{ configurations: ConfigRow[] }>('GET', `/experiments/${encodeURIComponent(id)}/configurations`)).configurations;
  }

  results(id: string, format: 'json' | 'csv'): Promise<string> {
    return this.text(`/experiments/${encodeURIComponent(id)}/results?format=${format}`);
  }

  cancel(id: string): Promise<{ id: string; state: string }> {
    return this.json('POST', `/experiments/${encodeURIComponent(id)}/cancel`, {});
  }

  logs(id: string): Promise<string> {
    return this.text(`/experiments/${encodeURIComponent(id)}/logs`);
  }

  reportLink(id: string): Promise<{ id: string; url: string; expiresAt: number }> {
    return this.json('POST', `/experiments/${encodeURIComponent(id)}/report-link`, {});
  }

  /** Register a controller's session (`wayfinder control --server`); its events follow with controlEvents. */
  registerControl(info: { host: string; policy: string; config: string }): Promise<{ id: string }> {
    return this.json('POST', '/control', info);
  }

  controlEvents(id: string, events: Record<string, unknown>[]): Promise<{ accepted: number }> {
    return this.json('POST', `/control/${encodeURIComponent(id)}/events`, { events });
  }

  /**
   * Follow an experiment's events until `onEvent` returns true or the stream ends: those after
   * event `since` first (replayed from the experiment's events log), then live ones. Resolves once
   * the stream is open.
   */
  async follow(id: string, since: number, onEvent: (e: DaemonEvent) => boolean | void): Promise<{ ended: Promise<void>; close: () => void }> {
    const res = await this.request('GET', `/experiments/${encodeURIComponent(id)}/events?since=${since}`);
    res.setEncoding('utf8');
    let closed = false;
    const close = (): void => {
      closed = true;
      res.destroy();
    };
    const ended = (async () => {
      let buf = '';
      try {
        for await (const chunk of res as AsyncIterable<string>) {
          buf += chunk;
          let cut: number;
          while ((cut = buf.indexOf('\n\n')) >= 0) {
            const record = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            const data = record
              .split('\n')
              .filter((l) => l.startsWith('data: '))
              .map((l) => l.slice(6))
              .join('\n');
            if (data && onEvent(JSON.parse(data) as DaemonEvent) === true) {
              close();
              return;
            }
          }
        }
      } catch (e) {
        if (!closed) throw e;
      }
    })();
    return { ended, close };
  }
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolveText, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.once('end', () => resolveText(Buffer.concat(chunks).toString('utf8')));
    res.once('error', reject);
  });
}
