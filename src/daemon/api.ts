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
import { ControlSessions } from './control-sessions.js';
import { HttpError } from './http-error.js';
import { AmbiguousError, NotFoundError, type DaemonEvent, type Manager } from './manager.js';
import type { SubmitOptions } from './submissions.js';

export { HttpError };

type Params = Record<string, string>;
type Handler = (req: IncomingMessage, res: ServerResponse, p: Params, q: URLSearchParams) => Promise<void> | void;

export interface Route {
  method: 'GET' | 'HEAD' | 'POST';
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
  /**
   * A one-time link to an experiment's report for a browser (which cannot send the token, nor
   * reach a unix socket); undefined when the daemon listens on no TCP port a browser could open.
   */
  reportLink?: (experimentId: string) => { url: string; expiresAt: number } | undefined;
}

const NAME_RE = /^[A-Za-z0-9._-]+$/;

/** A report is rendered at most this often per experiment: it takes seconds on large experiments. */
const REPORT_TTL_MS = 5_000;
/** A running experiment's page reloads itself this often, so it follows the results as they arrive. */
const REPORT_REFRESH_S = 10;

export class Api {
  private readonly table: { route: Route; handler: Handler }[];
  private readonly reports = new Map<string, { at: number; state: string; report: RenderedReport }>();
  private readonly control: ControlSessions;

  constructor(private readonly o: ApiOptions) {
    const m = o.manager;
    this.control = new ControlSessions((e, text) => m.publish(e, text));
    this.table = [
      // 503 while the queue's Redis does not answer: the daemon is up, but nothing progresses.
      { route: { method: 'GET', path: '/health' }, handler: async (_q, res) => { const h = await m.health(); json(res, h.ok ? 200 : 503, { ...h, version: o.version }); } },
      // Monitors and load balancers ask with HEAD: same status and headers, no body.
      { route: { method: 'HEAD', path: '/health' }, handler: async (_q, res) => { const h = await m.health(); json(res, h.ok ? 200 : 503, { ...h, version: o.version }); } },
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
        route: { method: 'POST', path: '/experiments/{id}/report-link' },
        handler: async (req, res, p) => {
          await readBody(req, this.o.maxBody);
          const id = m.find(p.id as string).experimentId;
          const link = this.o.reportLink?.(id);
          if (!link) throw new HttpError(409, 'the daemon listens on no TCP port a browser could open: start it with --listen 127.0.0.1:PORT (and a --token-file) to open reports in a browser');
          json(res, 200, { id, ...link });
        },
      },
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
          // Read first: an unknown experiment is a 404, not an empty 200.
          const text = m.logText(p.id as string);
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
        },
      },
      {
        route: { method: 'GET', path: '/experiments/{id}/events' },
        handler: (req, res, p, q) => this.events(req, res, m.find(p.id as string).experimentId, replayFrom(req, q)),
      },
      { route: { method: 'GET', path: '/events' }, handler: (req, res) => this.events(req, res, undefined, undefined) },
      // Controllers running beside their dataplanes report here (src/daemon/control-sessions.ts).
      { route: { method: 'GET', path: '/control' }, handler: (_q, res) => json(res, 200, { sessions: this.control.list() }) },
      {
        route: { method: 'POST', path: '/control' },
        handler: async (req, res) => json(res, 201, this.control.register(parseJson(await readBody(req, this.o.maxBody)))),
      },
      {
        route: { method: 'POST', path: '/control/{id}/events' },
        handler: async (req, res, p) => json(res, 200, { accepted: this.control.add(p.id as string, parseJson(await readBody(req, this.o.maxBody))) }),
      },
      {
        route: { method: 'GET', path: '/control/{id}/events' },
        handler: (req, res, p, q) => {
          const id = p.id as string;
          const after = replayFrom(req, q) ?? 0;
          this.events(req, res, id, after, () => this.control.eventsAfter(id, after));
        },
      },
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
        if (route.method === 'POST') checkStateChange(req);
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
      if (e instanceof AmbiguousError) return json(res, 409, { error: e.message, matches: e.matches });
      if (e instanceof InputError) return json(res, 400, { error: e.format() });
      if (e instanceof UsageError) return json(res, 400, { error: e.message });
      if (e instanceof NotFoundError) return json(res, 404, { error: e.message });
      this.o.log('request failed', e);
      json(res, 500, { error: e instanceof Error ? e.message : String(e) });
    }
  }

  private async submit(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req, this.o.maxBody);
    const { yaml, file, options } = checkSubmission(parseJson(text), this.o.defaultDir);
    const { submission, existing } = this.o.manager.submit({ yaml, file, options });
    // Following the events from firstEvent shows this round of the experiment from its start.
    const firstEvent = this.o.manager.firstEvent(submission.experimentId);
    json(res, existing ? 200 : 201, { id: submission.experimentId, state: submission.state, existing, firstEvent });
  }

  private results(res: ServerResponse, ref: string, q: URLSearchParams): void {
    const format = q.get('format') ?? 'json';
    if (format !== 'json' && format !== 'csv') throw new HttpError(400, `format: expected json or csv, got "${format}"`);
    const st = this.o.manager.status(ref);
    const rows = this.o.manager.configurations(st.id);
    const exp = { id: st.id, name: st.name } as ExperimentRow;
    const body = renderResults(exp, rows, format, { objective: st.objective, against: st.summary, runs: runsByConfig(this.o.manager.store, st.id) });
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

  /**
   * Server-sent events: one `id:`/`event:`/`data:` record per daemon event, a comment every 15 s to
   * keep proxies open. An experiment's stream first replays its events after `after` from its
   * events log (Last-Event-ID or ?since=), then goes on live: read and subscribed in one
   * synchronous step, and every event is in the log before it is sent, so none is missed or doubled.
   * The stream of all experiments is live only (its ids are per experiment).
   */
  private events(req: IncomingMessage, res: ServerResponse, only: string | undefined, after: number | undefined, past = (): { event: DaemonEvent; text: string }[] => this.o.manager.eventsAfter(only!, after!)): void {
    // An unknown stream is a 404 before any header goes out.
    const replay = only !== undefined && after !== undefined ? past() : [];
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(': wayfinder events\n\n');
    const record = (e: DaemonEvent, text: string): string => `id: ${only !== undefined ? e.id : `${e.experimentId}/${e.id}`}\nevent: ${e.type}\ndata: ${text}\n\n`;
    let last = after ?? Number.POSITIVE_INFINITY;
    if (only !== undefined && after !== undefined) {
      if (replay.length > 0) res.write(replay.map((p) => record(p.event, p.text)).join(''));
      last = replay.at(-1)?.event.id ?? after;
    }
    // A result brings several events at once: they leave in one write at the end of the tick.
    const send = (e: DaemonEvent, text: string): void => {
      if (only !== undefined && e.experimentId !== only) return;
      // Already replayed from the log (a stream opened while its experiment was busy).
      if (only !== undefined && after !== undefined && e.id <= last) return;
      if (res.writableCorked === 0) {
        res.cork();
        process.nextTick(() => res.uncork());
      }
      res.write(record(e, text));
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

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `request body is not JSON: ${(e as Error).message}`);
  }
}

/** Where a stream resumes: the Last-Event-ID header (as EventSource sends it on reconnecting), else ?since=. */
function replayFrom(req: IncomingMessage, q: URLSearchParams): number | undefined {
  const header = req.headers['last-event-id'];
  const text = typeof header === 'string' && header.trim() !== '' ? header.trim() : q.get('since');
  if (text === null) return undefined;
  if (!/^\d{1,15}$/.test(text)) throw new HttpError(400, `since / Last-Event-ID: expected an event id (a whole number ≥ 0), got "${text.slice(0, 40)}"`);
  return Number(text);
}

/**
 * A request that changes state must be JSON and must not come from another site's page. A web
 * page can send a "simple" cross-site POST (text/plain, form data) without asking; JSON needs a
 * CORS preflight, which the daemon never grants. The Origin check is the second lock on that door.
 */
export function checkStateChange(req: IncomingMessage): void {
  const ct = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (ct !== 'application/json') throw new HttpError(415, 'send requests that change something as Content-Type: application/json');
  const origin = req.headers.origin;
  if (origin !== undefined && !sameOrigin(origin, req.headers.host)) throw new HttpError(403, `cross-site request refused (Origin ${origin.slice(0, 100)})`);
  if (req.headers['sec-fetch-site'] === 'cross-site') throw new HttpError(403, 'cross-site request refused (Sec-Fetch-Site: cross-site)');
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
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

const OPTION_KEYS = ['budget', 'parallel', 'strategy', 'seed', 'priority', 'pool', 'confirm', 'driftEvery', 'earlyStop', 'fidelity'] as const;

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
  if (b.confirm === false) options.confirm = false;
  else {
    if (b.confirm !== undefined && (typeof b.confirm !== 'number' || !Number.isSafeInteger(b.confirm) || b.confirm < 2)) throw new HttpError(400, '"confirm": expected a whole number ≥ 2 (the most interleaved pairs) or false (not confirmed)');
    if (typeof b.confirm === 'number') options.confirm = b.confirm;
  }
  const driftEvery = int('driftEvery', 1);
  if (driftEvery !== undefined) options.driftEvery = driftEvery;
  if (b.strategy !== undefined) {
    if (typeof b.strategy !== 'string' || !isStrategyName(b.strategy)) throw new HttpError(400, `"strategy": expected ${strategyNames().join(', ')}`);
    options.strategy = b.strategy;
  }
  if (b.pool !== undefined) {
    if (typeof b.pool !== 'string' || !NAME_RE.test(b.pool)) throw new HttpError(400, '"pool": expected a name of letters, digits, ".", "_" and "-"');
    options.pool = b.pool;
  }
  if (b.earlyStop !== undefined) {
    if (typeof b.earlyStop !== 'boolean') throw new HttpError(400, '"earlyStop": expected true or false');
    if (!b.earlyStop) options.earlyStop = false;
  }
  if (b.fidelity !== undefined) {
    if (typeof b.fidelity !== 'boolean') throw new HttpError(400, '"fidelity": expected true or false');
    if (!b.fidelity) options.fidelity = false;
  }
  const file = typeof b.file === 'string' ? resolve(defaultDir, b.file) : resolve(defaultDir, 'submitted.yaml');
  return { yaml: b.yaml, file, options };
}

