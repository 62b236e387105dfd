// The daemon's experiments: accepts submissions, runs them one pool at a time in priority then
// submission order, turns each study's progress into events (live stream and a per-experiment
// log), and on start resumes what a stopped or killed daemon left unfinished. Each experiment is
// measured through the daemon's MeasurementSession, as `wayfinder run` measures: its host settings
// are applied on this host's worker before its first job and put back after its last (workers on
// other hosts apply them around the jobs they run).

import { EventEmitter } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { Space } from '../generator/index.js';
import { eventsPath, experimentDir } from '../workdir.js';
import { withExploration } from '../spec/exploration.js';
import { parseExperiment } from '../spec/index.js';
import type { ConfigRow } from '../store/store.js';
import { experimentId } from '../study/identity.js';
import type { Study } from '../study/study.js';
import type { MeasurementSession } from '../session/session.js';
import { better, summarizeStudy, type StudySummary } from '../study/summary.js';
import type { Workspace } from '../study/workspace.js';
import type { Experiment, Objective } from '../types.js';
import { Submissions, type Submission, type SubmissionState, type SubmitOptions } from './submissions.js';

export type EventType =
  | 'state'
  | 'config-queued'
  | 'job-started'
  | 'job-finished'
  | 'job-failed'
  | 'config-finished'
  | 'build-lost'
  | 'job-refused'
  | 'best';

export interface DaemonEvent {
  experimentId: string;
  type: EventType;
  at: number;
  data: Record<string, unknown>;
}

export interface ExperimentStatus {
  id: string;
  name: string;
  state: SubmissionState;
  pool: string;
  priority: number;
  seq: number;
  submittedAt: number;
  startedAt?: number;
  finishedAt?: number;
  error?: string;
  strategy: string;
  objective: Objective;
  /** Configurations it will try at most (budget or space size). */
  total: number;
  summary: StudySummary;
}

export class NotFoundError extends Error {}

const FINISHED: SubmissionState[] = ['done', 'cancelled', 'failed'];

/** Listeners get each event with its JSON text, made once for the log and every stream. */
export class Manager extends EventEmitter<{ event: [DaemonEvent, string] }> {
  readonly submissions: Submissions;
  /** The study is there once the experiment's session has begun (its host settings may wait for another's). */
  private readonly running = new Map<string, { study?: Study; exp: Experiment; pool: string; done: Promise<void> }>();
  private readonly ws: Workspace;
  private readonly logs = new Map<string, WriteStream>();
  private readonly best = new Map<string, number>();
  private announcements?: { close(): Promise<void> };
  private stopped = false;

  constructor(private readonly session: MeasurementSession) {
    super();
    this.ws = session.ws;
    this.submissions = new Submissions(this.ws.store);
  }

  get store(): Workspace['store'] {
    return this.ws.store;
  }

  /** Listen for workers' job-started announcements and resume unfinished experiments. */
  async start(): Promise<void> {
    this.announcements = await this.ws.transport.onJobStarted((e) => {
      if (e.kind === 'refused') {
        // Someone queued a job the coordinator did not sign (or altered one): said wherever it names.
        this.ws.log.warn({ experiment: e.experimentId, job: e.job, worker: e.worker, reason: e.reason }, 'a worker refused a job');
        if (this.submissions.get(e.experimentId)) this.emitEvent(e.experimentId, 'job-refused', { job: e.job, host: e.host, worker: e.worker, reason: e.reason });
        return;
      }
      if (!this.running.has(e.experimentId)) return;
      this.emitEvent(e.experimentId, 'job-started', { job: e.job, host: e.host, worker: e.worker });
    });
    this.schedule();
  }

  /** Parse and queue an experiment. Throws InputError (with file:line:column) for a bad file. */
  submit(input: { yaml: string; file: string; options: SubmitOptions }): { submission: Submission; existing: boolean } {
    const exp = this.experimentOf(input.yaml, input.file, input.options);
    const id = experimentId(exp);
    const current = this.submissions.get(id);
    if (current && !FINISHED.includes(current.state)) return { submission: current, existing: true };
    const submission = this.submissions.put({
      experimentId: id,
      priority: input.options.priority ?? 0,
      pool: exp.pool,
      file: input.file,
      text: input.yaml,
      options: input.options,
    });
    this.emitEvent(id, 'state', { state: 'queued' });
    this.schedule();
    return { submission, existing: false };
  }

  find(ref: string): Submission {
    const s = this.submissions.find(ref);
    if (!s) throw new NotFoundError(`no experiment "${ref}"`);
    return s;
  }

  list(): ExperimentStatus[] {
    return this.submissions.list().map((s) => this.statusOf(s));
  }

  status(ref: string): ExperimentStatus {
    return this.statusOf(this.find(ref));
  }

  configurations(ref: string): ConfigRow[] {
    return this.ws.store.configurations(this.find(ref).experimentId);
  }

  /** Stop an experiment: a queued one never starts; a running one asks for nothing more, its queued work is taken back. */
  async cancel(ref: string): Promise<Submission> {
    const sub = this.find(ref);
    if (FINISHED.includes(sub.state)) return sub;
    this.submissions.setState(sub.experimentId, 'cancelled');
    const r = this.running.get(sub.experimentId);
    if (r?.study) {
      r.study.cancel();
      const removed = await this.ws.transport.withdraw(sub.experimentId, { pools: [r.pool], workers: this.ws.store.buildWorkers(sub.experimentId) });
      const builds = new Set(removed.filter((w) => w.kind === 'build').map((w) => w.buildId));
      const configs = new Set(removed.flatMap((w) => (w.kind === 'test' ? [w.configId] : [])));
      for (const c of this.ws.store.configurations(sub.experimentId, 'running')) if (builds.has(c.buildId)) configs.add(c.configId);
      r.study.abandon([...configs]);
    } else if (!r) {
      this.emitEvent(sub.experimentId, 'state', { state: 'cancelled' });
    }
    return this.find(sub.experimentId);
  }

  /** The experiment's log: one line per event, oldest first. */
  logText(ref: string): string {
    const path = this.logPath(this.find(ref).experimentId);
    if (!existsSync(path)) return '';
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => formatEvent(JSON.parse(l) as DaemonEvent))
      .join('\n')
      .concat('\n');
  }

  /** Stop taking results (running jobs' results wait in the queue for the next start). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.running.values()].map((r) => r.study?.detach()));
    await this.announcements?.close();
    await Promise.all([...this.logs.values()].map((s) => new Promise<void>((res) => s.end(res))));
  }

  /**
   * Whether the daemon can make progress: its queue's Redis answers (with, for an embedded
   * redis-server, how often it was restarted and whether it is being restarted now).
   */
  async health(): Promise<{ ok: boolean; redis: { ok: boolean; latencyMs?: number; error?: string; restarts?: number; restarting?: boolean } }> {
    const r = await this.ws.transport.health();
    const sup = this.ws.redis.supervision?.();
    const redis = { ...r, ...(sup ? { restarts: sup.restarts, restarting: sup.restarting } : {}) };
    return { ok: r.ok, redis };
  }

  /** Whether nothing is running or queued (for tests and the benchmark). */
  idle(): boolean {
    return this.running.size === 0 && !this.submissions.list().some((s) => s.state === 'queued');
  }

  private experimentOf(text: string, file: string, o: SubmitOptions): Experiment {
    const exp = withExploration(parseExperiment(text, file), o);
    return o.pool ? { ...exp, pool: o.pool } : exp;
  }

  private statusOf(s: Submission): ExperimentStatus {
    const exp = this.running.get(s.experimentId)?.exp ?? this.experimentOf(s.text, s.file, s.options);
    const size = new Space(exp.params).size;
    const budget = exp.exploration.budget;
    return {
      id: s.experimentId,
      name: exp.name,
      state: s.state,
      pool: s.pool,
      priority: s.priority,
      seq: s.seq,
      submittedAt: s.submittedAt,
      ...(s.startedAt ? { startedAt: s.startedAt } : {}),
      ...(s.finishedAt ? { finishedAt: s.finishedAt } : {}),
      ...(s.error ? { error: s.error } : {}),
      strategy: exp.exploration.strategy,
      objective: exp.objective,
      total: Number(budget !== undefined && BigInt(budget) < size ? BigInt(budget) : size),
      summary: summarizeStudy(this.ws.store, s.experimentId, exp.objective),
    };
  }

  /** Start the next experiment of every pool that has none running. */
  private schedule(): void {
    if (this.stopped) return;
    const busy = new Set([...this.running.values()].map((r) => r.pool));
    for (const s of this.submissions.list()) {
      if ((s.state !== 'queued' && s.state !== 'running') || busy.has(s.pool) || this.running.has(s.experimentId)) continue;
      busy.add(s.pool);
      this.launch(s);
    }
  }

  private launch(s: Submission): void {
    const id = s.experimentId;
    let exp: Experiment;
    try {
      exp = this.experimentOf(s.text, s.file, s.options);
    } catch (e) {
      this.finish(id, 'failed', e instanceof Error ? e.message : String(e));
      return;
    }
    this.best.delete(id);
    for (const r of this.ws.store.configurations(id)) this.noteBest(id, exp, r, false);
    const entry: { study?: Study; exp: Experiment; pool: string; done: Promise<void> } = { exp, pool: exp.pool, done: Promise.resolve() };
    const measured = async (): Promise<void> => {
      const m = await this.session.begin(exp);
      try {
        // Cancelled while its host settings waited: nothing was queued.
        if (this.submissions.get(id)?.state === 'cancelled') return;
        entry.study = m.study;
        this.follow(id, exp, m.study);
        // Running from here: its study registers it in the store as it starts.
        this.submissions.setState(id, 'running');
        this.emitEvent(id, 'state', { state: 'running' });
        this.ws.log.info({ experiment: id }, 'experiment started');
        await m.study.run();
      } finally {
        await m.end();
      }
    };
    entry.done = measured().then(
      () => this.finish(id, this.submissions.get(id)?.state === 'cancelled' ? 'cancelled' : 'done'),
      (e: unknown) => this.finish(id, 'failed', e instanceof Error ? e.message : String(e)),
    );
    this.running.set(id, entry);
  }

  /** The study's progress as the experiment's events. */
  private follow(id: string, exp: Experiment, study: Study): void {
    study.on('config-queued', (r) => this.emitEvent(id, 'config-queued', { configId: r.configId, params: r.params, default: r.isDefault }));
    study.on('build-finished', (b) =>
      this.emitEvent(id, b.status === 'ok' ? 'job-finished' : 'job-failed', { kind: 'build', buildId: b.buildId, status: b.status, error: b.error, host: b.host, durationMs: b.durationMs }),
    );
    study.on('run-finished', (r) =>
      this.emitEvent(id, r.status === 'ok' ? 'job-finished' : 'job-failed', {
        kind: 'test', configId: r.configId, test: r.test, iteration: r.iteration, status: r.status, failure: r.failure, error: r.error,
        metrics: r.metrics, host: r.placement.host, durationMs: r.durationMs,
      }),
    );
    study.on('build-lost', (l) => {
      this.emitEvent(id, 'build-lost', l);
      this.ws.log.warn({ experiment: id, ...l }, 'build lost with its worker; building again');
    });
    study.on('transport-error', (e) => this.ws.log.warn({ experiment: id, err: e.message }, 'the queue does not answer; waiting for it (nothing is lost)'));
    study.on('transport-recovered', () => this.ws.log.warn({ experiment: id }, 'the queue answers again'));
    study.on('work-retried', (r) =>
      this.ws.log.warn({ experiment: id, ...r }, r.retry ? 'a worker could not run the job; queued again' : 'workers could not run the job; stopping the experiment'),
    );
    study.on('config-finished', (r) => {
      this.emitEvent(id, 'config-finished', { row: r });
      this.noteBest(id, exp, r, true);
    });
  }

  private finish(id: string, state: SubmissionState, error?: string): void {
    this.running.delete(id);
    if (this.stopped) return;
    this.submissions.setState(id, state, error);
    this.emitEvent(id, 'state', { state, ...(error ? { error } : {}) });
    this.ws.log.info({ experiment: id, state, error }, 'experiment finished');
    this.schedule();
  }

  private noteBest(id: string, exp: Experiment, r: ConfigRow, announce: boolean): void {
    if (r.status !== 'done' || r.objective === undefined) return;
    const cur = this.best.get(id);
    if (cur !== undefined && !better(r.objective, cur, exp.objective.direction)) return;
    this.best.set(id, r.objective);
    if (announce) this.emitEvent(id, 'best', { configId: r.configId, objective: r.objective, params: r.params, metric: exp.objective.metric });
  }

  private logPath(id: string): string {
    return eventsPath(this.ws.workdir, id);
  }

  private emitEvent(experimentId: string, type: EventType, data: Record<string, unknown>): void {
    const e: DaemonEvent = { experimentId, type, at: Date.now(), data };
    let log = this.logs.get(experimentId);
    if (!log && !this.stopped) {
      mkdirSync(experimentDir(this.ws.workdir, experimentId), { recursive: true });
      log = createWriteStream(this.logPath(experimentId), { flags: 'a' });
      log.on('error', () => undefined);
      this.logs.set(experimentId, log);
    }
    const text = JSON.stringify(e);
    log?.write(`${text}\n`);
    this.emit('event', e, text);
  }
}

/** One log line for a person. */
export function formatEvent(e: DaemonEvent): string {
  const t = new Date(e.at).toISOString();
  const d = e.data as Record<string, unknown>;
  const cfg = (id: unknown): string => String(id ?? '').slice(0, 8);
  switch (e.type) {
    case 'state':
      return `${t} experiment ${String(d.state)}${d.error ? `: ${String(d.error)}` : ''}`;
    case 'config-queued':
      return `${t} queued ${cfg(d.configId)}${d.default ? ' (default)' : ''} ${Object.entries((d.params ?? {}) as object).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`;
    case 'job-started':
      return `${t} started ${String(d.job)} on ${String(d.host)}`;
    case 'job-finished':
    case 'job-failed': {
      const what = d.kind === 'build' ? `build ${cfg(d.buildId)}` : `${cfg(d.configId)} ${String(d.test)}#${String(d.iteration)}`;
      const out = e.type === 'job-failed' ? `failed (${String(d.failure ?? 'error')}): ${String(d.error ?? '').slice(0, 300)}` : 'ok';
      const metrics = d.metrics && Object.keys(d.metrics as object).length > 0 ? ` ${Object.entries(d.metrics as object).map(([k, v]) => `${k}=${String(v)}`).join(' ')}` : '';
      return `${t} ${what} ${out}${metrics} on ${String(d.host)} in ${String(d.durationMs)} ms`;
    }
    case 'config-finished': {
      const r = d.row as ConfigRow;
      return `${t} finished ${cfg(r.configId)} ${r.status}${r.objective !== undefined ? ` objective=${r.objective}` : ''}${r.error ? `: ${r.error.slice(0, 300)}` : ''}`;
    }
    case 'build-lost':
      return `${t} build ${cfg(d.buildId)} lost with worker ${String(d.worker)}: building again for ${(d.configIds as string[] | undefined)?.length ?? 0} configuration(s)`;
    case 'job-refused':
      return `${t} ${String(d.host)} refused job ${String(d.job)}: ${String(d.reason)}`;
    case 'best':
      return `${t} best so far ${cfg(d.configId)}: ${String(d.metric)} = ${String(d.objective)}`;
  }
}
