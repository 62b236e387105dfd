// Talking to a daemon over its HTTP API: JSON requests and the server-sent event stream.

import { readToken } from './auth.js';
import { UsageError } from '../errors.js';
import type { DaemonEvent, ExperimentStatus } from './manager.js';
import type { ConfigRow } from '../store/store.js';
import type { SubmitOptions } from './submissions.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:7077';

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

export class DaemonClient {
  private readonly base: string;
  private readonly headers: Record<string, string>;

  constructor(server: string | undefined, tokenFile: string | undefined) {
    const url = server ?? process.env.WAYFINDER_SERVER ?? DEFAULT_SERVER;
    try {
      this.base = new URL(url).toString().replace(/\/$/, '');
    } catch {
      throw new UsageError(`--server: not a URL: "${url}" (for example ${DEFAULT_SERVER})`);
    }
    const token = tokenFile !== undefined ? readToken(tokenFile) : process.env.WAYFINDER_TOKEN;
    this.headers = token ? { authorization: `Bearer ${token}` } : {};
  }

  private async request(method: string, path: string, body?: unknown): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: { ...this.headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new DaemonUnreachableError(`cannot reach the daemon at ${this.base} (${cause}); is \`wayfinder daemon\` running there? (--server URL or WAYFINDER_SERVER)`);
    }
    if (!res.ok) {
      const text = await res.text();
      let msg = text.trim();
      try {
        msg = (JSON.parse(text) as { error?: string }).error ?? msg;
      } catch {
        // plain text
      }
      throw new DaemonError(res.status, msg || `HTTP ${res.status}`);
    }
    return res;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.request(method, path, body)).json()) as T;
  }

  async text(path: string): Promise<string> {
    return (await this.request('GET', path)).text();
  }

  submit(yaml: string, file: string, options: SubmitOptions): Promise<{ id: string; state: string; existing: boolean }> {
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

  /**
   * Follow an experiment's events until `onEvent` returns true or the stream ends. Resolves once
   * the stream is open (`opened`), so a caller can read the state after subscribing and miss nothing.
   */
  async follow(id: string, onEvent: (e: DaemonEvent) => boolean | void): Promise<{ ended: Promise<void>; close: () => void }> {
    const ac = new AbortController();
    const res = await this.request('GET', `/experiments/${encodeURIComponent(id)}/events`).catch((e: unknown) => {
      throw e;
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const ended = (async () => {
      let buf = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buf += decoder.decode(value, { stream: true });
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
              ac.abort();
              await reader.cancel();
              return;
            }
          }
        }
      } catch (e) {
        if (!ac.signal.aborted) throw e;
      }
    })();
    return { ended, close: () => void reader.cancel().catch(() => undefined) };
  }
}
