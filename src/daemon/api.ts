// The daemon's HTTP API (described in docs/openapi.yaml): routes, request checking and replies.
// Every request is answered; a bad one gets a 4xx with a reason, and no request can crash the daemon.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { renderResults, runsByConfig } from '../report/results-table.js';
import { esc } from '../report/chart.js';
import { renderReport, type RenderedReport } from '../report/index.js';
import type { ExperimentRow } from '../store/store.js';
import { isStrategyName, strategyNames } from '../strategies/registry.js';
import { InputError } from '../types.js';
import { NotFoundError, type DaemonEvent, type Manager } from './manager.js';
import type { SubmitOptions } from './submissions.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Params = Record<string, string>;
type Handler = (req: IncomingMessage, res: ServerResponse, p: Params, q: URLSearchParams) => Promise<void> | void;

export interface Route {
  method: 'GET' | 'POST';
  path: string;
}

export interface ApiOptions {
  manager: Manager;
  /** Largest request body accepted, in bytes. */
  maxBody: number;
  /** Where a submission without a file name is taken to live (relative scripts resolve against it). */
  defaultDir: string;
  version: string;
  log: (msg: string, err?: unknown) => void;
}

const NAME_RE = /^[A-Za-z0-9._-]+$/;

/** A report is rendered at most this often per experiment: it takes seconds on large experiments. */
const REPORT_TTL_MS = 5_000;
/** A running experiment's page reloads itself this often, so it follows the results as they arrive. */
const REPORT_REFRESH_S = 10;

export class Api {
  private readonly table: { route: Route; handler: Handler }[];
  private readonly reports = new Map<string, { at: number; state: string; report: RenderedReport }>();

  constructor(private readonly o: ApiOptions) {
    const m = o.manager;
    this.table = [
      { route: { method: 'GET', path: '/health' }, handler: (_q, res) => json(res, 200, { ok: true, version: o.version }) },
      { route: { method: 'GET', path: '/experiments' }, handler: (_q, res) => json(res, 200, { experiments: m.list() }) },
      { route: { method: 'POST', path: '/experiments' }, handler: (req, res) => this.submit(req, res) },
      { route: { method: 'GET', path: '/experiments/{id}' }, handler: (_q, res, p) => json(res, 200, m.status(p.id as string)) },
      {
        route: { method: 'GET', path: '/experiments/{id}/configurations' },
        handler: (_q, res, p) => json(res, 200, { configurations: m.configurations(p.id as string) }),
      },
      { route: { method: 'GET', path: '/experiments/{id}/results' }, handler: (_q, res, p, q) => this.results(res, p.id as string, q) },
      { route: { method: 'GET', path: '/experiments/{id}/report' }, handler: (_q, res, p, q) => this.report(res, p.id as string, q) },
      {
        route: { method: 'POST', path: '/experiments/{id}/cancel' },
        handler: async (req, res, p) => {
          await readBody(req, this.o.maxBody);
          const s = await m.cancel(p.id as string);
          json(res, 200, { id: s.experimentId, state: s.state });
        },
      },
      {
        route: { method: 'GET', path: '/experiments/{id}/logs' },
        handler: (_q, res, p) => {
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(m.logText(p.id as string));
        },
      },
      { route: { method: 'GET', path: '/experiments/{id}/events' }, handler: (req, res, p) => this.events(req, res, m.find(p.id as string).experimentId) },
      { route: { method: 'GET', path: '/events' }, handler: (req, res) => this.events(req, res, undefined) },
    ];
  }

  routes(): Route[] {
    return this.table.map((t) => t.route);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://daemon');
      const segs = url.pathname.split('/').filter(Boolean);
      let pathMatched = false;
      for (const { route, handler } of this.table) {
        const params = match(route.path, segs);
        if (!params) continue;
        pathMatched = true;
        if (route.method !== req.method) continue;
        await handler(req, res, params, url.searchParams);
        return;
      }
      if (pathMatched) throw new HttpError(405, `method ${req.method ?? '?'} not allowed on ${url.pathname}`);
      throw new HttpError(404, `no such endpoint: ${url.pathname}`);
    } catch (e) {
      if (res.headersSent) {
        res.end();
        return;
      }
      if (e instanceof HttpError) return json(res, e.status, { error: e.message });
      if (e instanceof InputError) return json(res, 400, { error: e.format() });
      if (e instanceof UsageError) return json(res, 400, { error: e.message });
      if (e instanceof NotFoundError) return json(res, 404, { error: e.message });
      this.o.log('request failed', e);
      json(res, 500, { error: e instanceof Error ? e.message : String(e) });
    }
  }

  private async submit(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ct = req.headers['content-type'] ?? '';
    if (!ct.startsWith('application/json')) throw new HttpError(415, 'send the submission as application/json');
    const text = await readBody(req, this.o.maxBody);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (e) {
      throw new HttpError(400, `request body is not JSON: ${(e as Error).message}`);
    }
    const { yaml, file, options } = checkSubmission(body, this.o.defaultDir);
    const { submission, existing } = this.o.manager.submit({ yaml, file, options });
    json(res, existing ? 200 : 201, { id: submission.experimentId, state: submission.state, existing });
  }

  private results(res: ServerResponse, ref: string, q: URLSearchParams): void {
    const format = q.get('format') ?? 'json';
    if (format !== 'json' && format !== 'csv') throw new HttpError(400, `format: expected json or csv, got "${format}"`);
    const st = this.o.manager.status(ref);
    const rows = this.o.manager.configurations(st.id);
    const exp = { id: st.id, name: st.name } as ExperimentRow;
    const body = renderResults(exp, rows, format, { objective: st.objective, runs: runsByConfig(this.o.manager.store, st.id) });
    res.writeHead(200, { 'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json' }).end(body);
  }

  /** The experiment's report (HTML, or its numbers as JSON), rendered afresh at most every few seconds. */
  private report(res: ServerResponse, ref: string, q: URLSearchParams): void {
    const format = q.get('format') ?? 'html';
    if (format !== 'html' && format !== 'json') throw new HttpError(400, `format: expected html or json, got "${format}"`);
    const st = this.o.manager.status(ref);
    const live = st.state === 'queued' || st.state === 'running';
    if (!this.o.manager.store.getExperiment(st.id)) {
      // Queued and not started: nothing is in the results database yet.
      if (format === 'json') throw new HttpError(404, `experiment "${st.id}" is ${st.state} and has no results yet`);
      const page = `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="${REPORT_REFRESH_S}"><title>${esc(st.name)}: wayfinder report</title></head><body><p>${esc(st.id)} is ${st.state}: no results yet. This page reloads itself.</p></body></html>\n`;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }).end(page);
      return;
    }
    let cached = this.reports.get(st.id);
    if (!cached || cached.state !== st.state || Date.now() - cached.at > REPORT_TTL_MS) {
      const report = renderReport(this.o.manager.store, st.id, live ? { refreshSeconds: REPORT_REFRESH_S } : {});
      cached = { at: Date.now(), state: st.state, report };
      this.reports.set(st.id, cached);
    }
    if (format === 'json') return json(res, 200, cached.report.json);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }).end(cached.report.html);
  }

  /** Server-sent events: one `event:`/`data:` record per daemon event, a comment every 15 s to keep proxies open. */
  private events(req: IncomingMessage, res: ServerResponse, only: string | undefined): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(': wayfinder events\n\n');
    // A result brings several events at once: they leave in one write at the end of the tick.
    const send = (e: DaemonEvent, text: string): void => {
      if (only !== undefined && e.experimentId !== only) return;
      if (res.writableCorked === 0) {
        res.cork();
        process.nextTick(() => res.uncork());
      }
      res.write(`event: ${e.type}\ndata: ${text}\n\n`);
    };
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    this.o.manager.on('event', send);
    const stop = (): void => {
      clearInterval(ping);
      this.o.manager.off('event', send);
    };
    req.on('close', stop);
    res.on('close', stop);
  }
}

function match(template: string, segs: string[]): Params | undefined {
  const parts = template.split('/').filter(Boolean);
  if (parts.length !== segs.length) return undefined;
  const params: Params = {};
  for (let i = 0; i < parts.length; i++) {
    const t = parts[i] as string;
    const s = segs[i] as string;
    if (t.startsWith('{')) {
      try {
        params[t.slice(1, -1)] = decodeURIComponent(s);
      } catch {
        return undefined;
      }
    } else if (t !== s) return undefined;
  }
  return params;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}

/** The request body as text; over `limit` bytes is refused (413) without reading the rest. */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    return Promise.reject(new HttpError(413, `request body of ${declared} bytes is over the limit of ${limit} bytes`));
  }
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(new HttpError(413, `request body is over the limit of ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!failed) resolveBody(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', (e) => reject(new HttpError(400, `reading the request failed: ${e.message}`)));
  });
}

const OPTION_KEYS = ['budget', 'parallel', 'strategy', 'seed', 'priority', 'pool'] as const;

/** Check a submission's fields; any unknown or ill-typed field is a 400 naming it. */
export function checkSubmission(body: unknown, defaultDir: string): { yaml: string; file: string; options: SubmitOptions } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'expected a JSON object with a "yaml" field');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (k !== 'yaml' && k !== 'file' && !(OPTION_KEYS as readonly string[]).includes(k)) throw new HttpError(400, `unknown field "${k}"`);
  }
  if (typeof b.yaml !== 'string' || b.yaml.trim() === '') throw new HttpError(400, '"yaml": expected the experiment file\'s text');
  if (b.file !== undefined && (typeof b.file !== 'string' || b.file === '')) throw new HttpError(400, '"file": expected a path');
  const int = (k: string, min: number): number | undefined => {
    const v = b[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new HttpError(400, `"${k}": expected a whole number ≥ ${min}`);
    return v;
  };
  const options: SubmitOptions = {};
  const budget = int('budget', 1);
  const parallel = int('parallel', 1);
  const seed = int('seed', 0);
  const priority = int('priority', -1_000_000);
  if (budget !== undefined) options.budget = budget;
  if (parallel !== undefined) options.parallel = parallel;
  if (seed !== undefined) options.seed = seed;
  if (priority !== undefined) options.priority = priority;
  if (b.strategy !== undefined) {
    if (typeof b.strategy !== 'string' || !isStrategyName(b.strategy)) throw new HttpError(400, `"strategy": expected ${strategyNames().join(', ')}`);
    options.strategy = b.strategy;
  }
  if (b.pool !== undefined) {
    if (typeof b.pool !== 'string' || !NAME_RE.test(b.pool)) throw new HttpError(400, '"pool": expected a name of letters, digits, ".", "_" and "-"');
    options.pool = b.pool;
  }
  const file = typeof b.file === 'string' ? resolve(defaultDir, b.file) : resolve(defaultDir, 'submitted.yaml');
  return { yaml: b.yaml, file, options };
}

