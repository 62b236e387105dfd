// The daemon's experiments: accepts submissions, runs them one pool at a time in priority then
// submission order, turns each study's progress into events (live stream and a per-experiment
// log), and on start resumes what a stopped or killed daemon left unfinished. Each experiment is
// measured through the daemon's MeasurementSession, as `wayfinder run` measures: its host settings
// are applied on this host's worker before its first job and put back after its last (workers on
// other hosts apply them around the jobs they run).

import { EventEmitter } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { checkPlan } from '../generator/index.js';
import { eventsPath, experimentDir } from '../workdir.js';
import { withExploration } from '../spec/exploration.js';
import { parseExperiment } from '../spec/index.js';
import type { ConfigRow } from '../store/store.js';
import { experimentId } from '../study/identity.js';
import { describeWarmStart, resolveWarmStart, type WarmStartSource } from '../study/warm-start.js';
import type { Study } from '../study/study.js';
import type { MeasurementSession } from '../session/session.js';
import { better, summarizeStudy, verdictLine, workloadNames, type StudySummary } from '../study/summary.js';
import { comparisonJson, confirmStudy, DEFAULT_CONFIRM_PAIRS } from '../study/confirm.js';
import { DriftWatch } from '../study/drift.js';
import { fmtNum } from '../util/format.js';
import type { Workspace } from '../study/workspace.js';
import { InputError, type Experiment, type Objective } from '../types.js';
import { Submissions, type Submission, type SubmissionState, type SubmitOptions } from './submissions.js';

export type EventType =
  | 'state'
  | 'warm-start'
  | 'config-queued'
  | 'job-started'
  | 'job-finished'
  | 'job-failed'
  | 'config-finished'
  | 'build-lost'
  | 'job-refused'
  | 'best'
  | 'waiting'
  | 'drift'
  | 'confirming'
  | 'confirm-pair'
  | 'comparison'
  // A controller's session (src/daemon/control-sessions.ts): experimentId is then the session's id.
  | 'control-started'
  | 'decision'
  | 'control-note'
  | 'control-drift'
  | 'control-ended';

export interface DaemonEvent {
  /** Numbers an experiment's events 1, 2, 3... in its events log, across restarts: a stream resumes after one. */
  id: number;
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
  /** The id of the event that queued it this time: following its events from there misses nothing of this round. */
  firstEvent: number;
  /** Why it waits, when it waits for something other than its turn (no live worker in its pool). */
  waiting?: string;
  summary: StudySummary;
}

export class NotFoundError extends Error {}

/** A reference that several experiments answer to: acting on the newest could act on the wrong one. */
export class AmbiguousError extends Error {
  constructor(
    ref: string,
    readonly matches: string[],
  ) {
    super(`"${ref}" names ${matches.length} experiments: ${matches.join(', ')}; give more of the id`);
  }
}

const FINISHED: SubmissionState[] = ['done', 'cancelled', 'failed'];
/** How often an experiment waiting for a worker of its pool looks again. */
const POOL_POLL_MS = 1_000;

/** Listeners get each event with its JSON text, made once for the log and every stream. */
export class Manager extends EventEmitter<{ event: [DaemonEvent, string] }> {
  readonly submissions: Submissions;
  /** The study is there once the experiment's session has begun (its host settings may wait for another's). */
  private readonly running = new Map<string, RunningExperiment>();
  private readonly ws: Workspace;
  /** The events logs of experiments that are live in this process (opened at their first event, closed when they finish). */
  private readonly logs = new Map<string, EventLog>();
  /** Per experiment, the id of the event that queued its current round (read from its log once). */
  private readonly rounds = new Map<string, number>();
  private readonly best = new Map<string, number>();
  private announcements?: { close(): Promise<void> };
  /** Why a queued experiment that has its pool's turn does not start (no live worker there). */
  private readonly waiting = new Map<string, string>();
  private stopped = false;

  constructor(private readonly session: MeasurementSession) {
    super();
    // Each event-stream client is a listener; there is no small right number of them.
    this.setMaxListeners(0);
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

  /**
   * Check and queue an experiment. It is checked as `wayfinder plan` checks (the space built, its
   * conditions parsed) before anything is stored: throws InputError (with file:line:column).
   */
  submit(input: { yaml: string; file: string; options: SubmitOptions }): { submission: Submission; existing: boolean } {
    const exp = this.experimentOf(input.yaml, input.file, input.options);
    const id = experimentId(exp);
    const current = this.submissions.get(id);
    if (current && !FINISHED.includes(current.state)) return { submission: current, existing: true };
    // A warm start's earlier experiments are read when this one starts: a name must be in the store
    // by then, so one measured before or queued ahead (not failed or cancelled) will do.
    const submitted = (ref: string): { id: string } | undefined => {
      const s = this.submissions.find(ref).find((x) => x.state !== 'failed' && x.state !== 'cancelled');
      return s ? { id: s.experimentId } : undefined;
    };
    resolveWarmStart(exp, id, (ref) => this.ws.store.findExperiment(ref) ?? submitted(ref), {
      where: 'in the results store or queued before it',
      hint: 'name an experiment run or submitted before (`wayfinder status` lists them)',
    });
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
    const found = this.submissions.find(ref);
    const [s] = found;
    if (!s) throw new NotFoundError(`no experiment "${ref}"`);
    if (found.length > 1) throw new AmbiguousError(ref, found.map((f) => f.experimentId));
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
      this.closeLog(sub.experimentId);
    }
    return this.find(sub.experimentId);
  }

  /** The experiment's log: one line per event, oldest first. */
  logText(ref: string): string {
    const events = this.eventsAfter(this.find(ref).experimentId, 0);
    return events.length === 0 ? '' : `${events.map((e) => formatEvent(e.event)).join('\n')}\n`;
  }

  /**
   * The experiment's events with ids above `after`, from its events log. Every event is in the log
   * before it is sent to a stream, so reading this and then listening, in one go, misses none.
   */
  /** An event that is not an experiment's (a controller's decision) to every stream; not logged here. */
  publish(e: DaemonEvent, text: string): void {
    this.emit('event', e, text);
  }

  eventsAfter(experimentId: string, after: number): { event: DaemonEvent; text: string }[] {
    return readEvents(this.logPath(experimentId)).filter((e) => e.event.id > after);
  }

  /** The id of the event that queued this experiment's current round (0 when its log has none). */
  firstEvent(experimentId: string): number {
    let round = this.rounds.get(experimentId);
    if (round === undefined) {
      round = roundOf(readEvents(this.logPath(experimentId)));
      this.rounds.set(experimentId, round);
    }
    return round;
  }

  /** Stop taking results (running jobs' results wait in the queue for the next start). */
  async stop(): Promise<void> {
    this.stopped = true;
    // A confirmation under way stops waiting for its runs; the experiment stays running, and the
    // next start measures it again from the start (its exploration is all stored).
    for (const r of this.running.values()) if (r.confirming) r.study?.cancel();
    await Promise.all([...this.running.values()].map((r) => r.study?.detach()));
    await this.announcements?.close();
    for (const l of this.logs.values()) closeSync(l.fd);
    this.logs.clear();
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

  /** The experiment a submission stands for, checked as `wayfinder plan` checks it. */
  private experimentOf(text: string, file: string, o: SubmitOptions): Experiment {
    const parsed = withExploration(parseExperiment(text, file), o);
    const exp = o.pool ? { ...parsed, pool: o.pool } : parsed;
    checkPlan(exp);
    return exp;
  }

  /** The experiment a stored submission stands for; throws when the row does not read. */
  private storedExperiment(s: Submission): Experiment {
    if (s.unreadable) throw new Error(`stored submission ${s.experimentId}: ${s.unreadable}`);
    const exp = this.experimentOf(s.text, s.file, s.options);
    // Its results are kept under the id its text gives: a row whose id says otherwise was not written by a daemon.
    if (experimentId(exp) !== s.experimentId) throw new Error(`stored submission ${s.experimentId}: its text is experiment ${experimentId(exp)}`);
    return exp;
  }

  private statusOf(s: Submission): ExperimentStatus {
    let exp: Experiment;
    try {
      exp = this.running.get(s.experimentId)?.exp ?? this.storedExperiment(s);
    } catch (e) {
      // A stored submission that no longer reads (edited database, older daemon): shown, never fatal.
      return this.unreadableStatus(s, e);
    }
    const size = checkPlan(exp).size;
    const budget = exp.exploration.budget;
    const waiting = this.waiting.get(s.experimentId);
    return {
      ...submissionFields(s),
      name: exp.name,
      ...(s.error ? { error: s.error } : {}),
      strategy: exp.exploration.strategy,
      objective: exp.objective,
      total: Number(budget !== undefined && BigInt(budget) < size ? BigInt(budget) : size),
      firstEvent: this.firstEvent(s.experimentId),
      ...(waiting && s.state === 'queued' ? { waiting } : {}),
      summary: summarizeStudy(this.ws.store, s.experimentId, exp.objective, { workload: workloadNames(exp.params) }),
    };
  }

  private unreadableStatus(s: Submission, e: unknown): ExperimentStatus {
    return {
      ...submissionFields(s),
      name: s.experimentId.replace(/-[0-9a-f]{10}$/, ''),
      error: s.error ?? reasonOf(e),
      strategy: '',
      objective: { metric: '', direction: 'maximize' },
      total: 0,
      firstEvent: this.firstEvent(s.experimentId),
      summary: { total: 0, done: 0, failed: 0, stopped: 0, running: 0, duplicates: 0, highCv: 0 },
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

  /**
   * Start an experiment. Whatever is wrong with it (a stored submission that no longer reads, a
   * study that cannot begin) fails this experiment alone, with its reason: never the daemon.
   */
  private launch(s: Submission): void {
    const id = s.experimentId;
    let exp: Experiment;
    try {
      exp = this.storedExperiment(s);
      this.best.delete(id);
      for (const r of this.ws.store.configurations(id)) this.noteBest(id, exp, r, false);
    } catch (e) {
      this.finish(id, 'failed', reasonOf(e));
      return;
    }
    const entry: RunningExperiment = { exp, pool: exp.pool, done: Promise.resolve(), confirming: false };
    const measured = async (): Promise<void> => {
      if (!(await this.untilServed(id, exp.pool))) return;
      const m = await this.session.begin(exp, { ...(s.options.earlyStop === false ? { earlyStop: false } : {}), ...(s.options.fidelity === false ? { fidelity: false } : {}) });
      try {
        // Cancelled while its host settings waited: nothing was queued.
        if (this.submissions.get(id)?.state === 'cancelled') return;
        entry.study = m.study;
        // As `wayfinder run`: the default measured again now and then, a warning when it drifted.
        const drift = new DriftWatch(m.study, this.ws.store, {
          ...(s.options.driftEvery !== undefined ? { every: s.options.driftEvery } : {}),
          onCheck: (c) => {
            this.emitEvent(id, 'drift', { ...c, metric: exp.objective.metric });
            if (c.drifted) this.ws.log.warn({ experiment: id, drift: c }, 'the default has drifted since it was first measured');
          },
        });
        this.follow(id, exp, m.study, drift);
        // Running from here: its study registers it in the store as it starts.
        this.submissions.setState(id, 'running');
        this.emitEvent(id, 'state', { state: 'running' });
        this.ws.log.info({ experiment: id }, 'experiment started');
        await m.study.run();
        await drift.settled();
        entry.confirming = true;
        await this.confirm(id, exp, m.study, s.options);
      } finally {
        entry.confirming = false;
        await m.study.detach();
        await m.end();
      }
    };
    entry.done = measured().then(
      () => this.finish(id, this.submissions.get(id)?.state === 'cancelled' ? 'cancelled' : 'done'),
      (e: unknown) => this.finish(id, 'failed', reasonOf(e)),
    );
    this.running.set(id, entry);
  }

  /**
   * Wait until some worker takes the pool's work, saying why meanwhile (status `waiting`, a
   * `waiting` event, a warning in the log). False when it was cancelled or the daemon stops first.
   */
  private async untilServed(id: string, pool: string): Promise<boolean> {
    const count = (): Promise<number> => this.ws.transport.poolWorkers(pool).catch(() => 1);
    if ((await count()) > 0) return true;
    const reason = `no live worker in pool "${pool}": it starts when a \`wayfinder worker --pool ${pool}\` connects`;
    this.waiting.set(id, reason);
    this.emitEvent(id, 'waiting', { reason });
    this.ws.log.warn({ experiment: id, pool }, 'no live worker in the pool; the experiment waits');
    try {
      for (;;) {
        await new Promise((r) => setTimeout(r, POOL_POLL_MS).unref());
        if (this.stopped || this.submissions.get(id)?.state === 'cancelled') return false;
        if ((await count()) > 0) return true;
      }
    } finally {
      this.waiting.delete(id);
    }
  }

  /**
   * As at the end of `wayfinder run`: the best and the default measured again, interleaved, the
   * verdict stored (status and report show it) and sent as a `comparison` event, with a
   * `confirming` event and one `confirm-pair` per pair before it.
   */
  private async confirm(id: string, exp: Experiment, study: Study, o: SubmitOptions): Promise<void> {
    if (this.stopped || this.submissions.get(id)?.state === 'cancelled') return;
    const summary = summarizeStudy(this.ws.store, id, exp.objective, { workload: workloadNames(exp.params) });
    const metric = exp.objective.metric;
    const c = await confirmStudy(study, this.ws.store, summary, {
      pairs: o.confirm === false ? undefined : (o.confirm ?? DEFAULT_CONFIRM_PAIRS),
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
      onStart: (ids, start, cap) => this.emitEvent(id, 'confirming', { best: ids.best, default: ids.default, start, cap, metric }),
      onPair: (pair, cap, best, dflt) => this.emitEvent(id, 'confirm-pair', { pair, cap, best: best ?? null, default: dflt ?? null, metric }),
    });
    if (c.state === 'interrupted') return;
    if (c.state === 'skipped') {
      this.emitEvent(id, 'comparison', { comparison: null, reason: c.reason });
      return;
    }
    const after = summarizeStudy(this.ws.store, id, exp.objective, { workload: workloadNames(exp.params) });
    const text = verdictLine(after, exp.objective) ?? '';
    this.emitEvent(id, 'comparison', { comparison: comparisonJson(c.comparison), best: summary.best?.configId, default: summary.baseline?.configId, text });
    this.ws.log.info({ experiment: id, comparison: comparisonJson(c.comparison) }, 'best against default confirmed');
  }

  /** The study's progress as the experiment's events. */
  private follow(id: string, exp: Experiment, study: Study, drift: DriftWatch): void {
    study.on('warm-start', (sources) => this.emitEvent(id, 'warm-start', { sources }));
    study.on('config-queued', (r) => this.emitEvent(id, 'config-queued', { configId: r.configId, params: r.params, default: r.isDefault }));
    study.on('build-finished', (b) =>
      this.emitEvent(id, b.status === 'ok' ? 'job-finished' : 'job-failed', { kind: 'build', buildId: b.buildId, status: b.status, error: b.error, host: b.host, durationMs: b.durationMs }),
    );
    study.on('run-finished', (r) =>
      this.emitEvent(id, r.status === 'ok' ? 'job-finished' : 'job-failed', {
        kind: 'test', configId: r.configId, test: r.test, iteration: r.iteration, status: r.status, failure: r.failure, error: r.error,
        metrics: r.metrics, host: r.placement.host, durationMs: r.durationMs, ...(r.extra ? { extra: r.extra } : {}),
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
      drift.configFinished(r);
    });
  }

  private finish(id: string, state: SubmissionState, error?: string): void {
    this.running.delete(id);
    if (this.stopped) return;
    this.submissions.setState(id, state, error);
    this.emitEvent(id, 'state', { state, ...(error ? { error } : {}) });
    this.closeLog(id);
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

  /** The experiment's events log, opened for appending (its last id and round read back). */
  private log(experimentId: string): EventLog | undefined {
    let log = this.logs.get(experimentId);
    if (log || this.stopped) return log;
    const path = this.logPath(experimentId);
    mkdirSync(experimentDir(this.ws.workdir, experimentId), { recursive: true });
    const old = readEvents(path);
    const fd = openSync(path, 'a');
    // A daemon killed mid-line left half a record: the next one starts on a line of its own.
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      if (text.length > 0 && !text.endsWith('\n')) writeSync(fd, '\n');
    }
    if (!this.rounds.has(experimentId)) this.rounds.set(experimentId, roundOf(old));
    log = { fd, last: old.at(-1)?.event.id ?? 0 };
    this.logs.set(experimentId, log);
    return log;
  }

  /** A finished experiment holds no descriptor: its log is opened again if it is queued again. */
  private closeLog(id: string): void {
    const log = this.logs.get(id);
    if (!log) return;
    closeSync(log.fd);
    this.logs.delete(id);
  }

  /**
   * Number the event, append it to the experiment's log (synchronously: a stream that reads the
   * log and then listens misses nothing), then send it to every stream.
   */
  private emitEvent(experimentId: string, type: EventType, data: Record<string, unknown>): void {
    let log: EventLog | undefined;
    try {
      log = this.log(experimentId);
    } catch (e) {
      this.ws.log.error({ err: e, experiment: experimentId }, 'cannot open the events log');
    }
    const e: DaemonEvent = { id: log ? ++log.last : 0, experimentId, type, at: Date.now(), data };
    const text = JSON.stringify(e);
    if (log) {
      if (type === 'state' && data.state === 'queued') this.rounds.set(experimentId, e.id);
      try {
        writeSync(log.fd, `${text}\n`);
      } catch (err) {
        this.ws.log.error({ err, experiment: experimentId }, 'cannot write the events log');
      }
    }
    this.emit('event', e, text);
  }
}

interface RunningExperiment {
  /** There once the experiment's session has begun (its host settings may wait for another's). */
  study?: Study;
  exp: Experiment;
  pool: string;
  done: Promise<void>;
  /** Measuring best and default again at the end. */
  confirming: boolean;
}

interface EventLog {
  fd: number;
  /** The id of the last event written. */
  last: number;
}

/** The id of the last event that queued the experiment (0 when none did). */
function roundOf(events: { event: DaemonEvent }[]): number {
  let round = 0;
  for (const { event } of events) if (event.type === 'state' && event.data.state === 'queued') round = event.id;
  return round;
}

/**
 * An events log's records with their text. Lines that do not read (half a line a kill left) are
 * skipped; records written before events had ids are numbered by their place.
 */
function readEvents(path: string): { event: DaemonEvent; text: string }[] {
  if (!existsSync(path)) return [];
  const out: { event: DaemonEvent; text: string }[] = [];
  let n = 0;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    let event: DaemonEvent;
    try {
      event = JSON.parse(line) as DaemonEvent;
    } catch {
      continue;
    }
    n = typeof event.id === 'number' && event.id > n ? event.id : n + 1;
    if (event.id !== n) {
      event = { ...event, id: n };
      out.push({ event, text: JSON.stringify(event) });
    } else out.push({ event, text: line });
  }
  return out;
}

/** A failure's reason as one line, with file:line:column for a bad experiment file. */
function reasonOf(e: unknown): string {
  if (e instanceof InputError) return e.format();
  return e instanceof Error ? e.message : String(e);
}

/** One log line for a person. */
export function formatEvent(e: DaemonEvent): string {
  const t = new Date(e.at).toISOString();
  const d = e.data as Record<string, unknown>;
  const cfg = (id: unknown): string => String(id ?? '').slice(0, 8);
  switch (e.type) {
    case 'state':
      return `${t} experiment ${String(d.state)}${d.error ? `: ${String(d.error)}` : ''}`;
    case 'warm-start':
      return `${t} warm start from ${describeWarmStart((d.sources ?? []) as WarmStartSource[])}`;
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
    case 'waiting':
      return `${t} waiting: ${String(d.reason)}`;
    case 'drift':
      return `${t} default measured again: ${String(d.metric)} = ${fmtNum(d.now as number | undefined)} (was ${fmtNum(d.was as number | undefined)})${d.drifted ? ', drifted' : ''}`;
    case 'confirming':
      return `${t} confirming: best ${cfg(d.best)} and default ${cfg(d.default)} measured again, interleaved, ${String(d.start)} to ${String(d.cap)} pairs`;
    case 'confirm-pair':
      return `${t} pair ${String(d.pair)}/${String(d.cap)}: best ${d.best === null ? 'failed' : fmtNum(d.best as number)} · default ${d.default === null ? 'failed' : fmtNum(d.default as number)} (${String(d.metric)})`;
    case 'comparison':
      return `${t} ${d.comparison === null ? String(d.reason) : String(d.text)}`;
    case 'control-started':
      return `${t} ${e.experimentId} started: knobs ${String(d.knobs)}, every ${String(d.periodMs)} ms`;
    case 'decision': {
      const cfgText = (c: unknown): string => Object.entries((c ?? {}) as object).map(([k, v]) => `${k}=${String(v)}`).join(' ');
      return `${t} ${e.experimentId} ${String(d.action)} ${d.action === 'hold' ? cfgText(d.wanted) : `${cfgText(d.from)} -> ${cfgText(d.to)}`}: ${String(d.rule)}`;
    }
    case 'control-note':
      return `${t} ${e.experimentId} ${String(d.what)}`;
    case 'control-drift':
      return `${t} ${e.experimentId} drift at ${JSON.stringify(d.point)}`;
    case 'control-ended':
      return `${t} ${e.experimentId} ended: ${String(d.reason)}`;
  }
}

/** What every status says of a submission, whether or not its experiment file can still be read. */
function submissionFields(s: Submission) {
  return {
    id: s.experimentId,
    state: s.state,
    pool: s.pool,
    priority: s.priority,
    seq: s.seq,
    submittedAt: s.submittedAt,
    ...(s.startedAt ? { startedAt: s.startedAt } : {}),
    ...(s.finishedAt ? { finishedAt: s.finishedAt } : {}),
  };
}
