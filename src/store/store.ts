// The results database: one SQLite file in the work directory, written by one process (the
// coordinator), each result in a transaction, so a kill loses nothing already stored.

import { closeSync, fdatasync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Config, Failure, Resolution, StoppedEarly } from '../types.js';
import type { BuildResult, ExtraPurpose, RunResult, RunUsage } from '../wire.js';
import { MIGRATIONS } from './migrations.js';
import type {
  BuildRow,
  ConfigRow,
  ConfigStatus,
  ConfigurationOutcome,
  EffectiveIdentity,
  ExperimentRow,
  ExperimentState,
  MetricSummaryRow,
  NewConfiguration,
  NewExperiment,
  ResolutionRow,
  ResultsStore,
  SavedStrategyState,
  StoredBuild,
  StoredComparison,
  StoredRun,
} from './results-store.js';

export type { BuildRow, ConfigRow, ConfigStatus, ExperimentRow, ExperimentState, MetricSummaryRow, ResolutionRow, ResultsStore, StoredBuild, StoredComparison, StoredRun } from './results-store.js';

import type { DynamicWindow } from '../types.js';
export type { DynamicWindow } from '../types.js';

/** One run of a variant (a static configuration or a controller) through a dynamic schedule. */
export interface DynamicRun {
  id: number;
  name: string;
  file: string;
  text: string;
  variant: string;
  kind: 'static' | 'controller';
  params: Record<string, unknown>;
  repeat: number;
  windowUs: number;
  objective: string;
  loadavg: string;
  summary: Record<string, unknown>;
  startedAt: number;
}
export interface ControlSessionRow {
  id: number;
  policyFile: string;
  configFile: string;
  objective?: string;
  direction?: 'maximize' | 'minimize';
  features: string[];
  knobs: string[];
  periodMs: number;
  startedAt: number;
  endedAt?: number;
  endReason?: string;
}

export interface ControlDecisionRow {
  seq: number;
  timeMs: number;
  action: string;
  rule: string;
  context: string;
  from: Config;
  to: Config;
  wanted: Config;
  signals: Record<string, number | null>;
  applied?: unknown;
}

export interface ControlObservationRow {
  seq: number;
  timeMs: number;
  signals: Record<string, number | null>;
  knobs: Config;
  objective?: number;
}


/** The daemon's record of a submitted experiment (its options are the daemon's, kept as given). */
export interface SubmissionRow {
  experimentId: string;
  seq: number;
  priority: number;
  pool: string;
  file: string;
  text: string;
  options: unknown;
  state: string;
  error?: string;
  submittedAt: number;
  startedAt?: number;
  finishedAt?: number;
}

export class Store implements ResultsStore {
  /** Nothing outside this folder writes SQL: every query the program needs is a method here. */
  private readonly db: Database.Database;
  private lazyCommits = 0;
  private flushedUpTo = 0;
  private flushing: Promise<void> | undefined;
  /** The write-ahead log, kept open: it is the same file as long as our connection is open. */
  private walFd: number | undefined;
  /** Compiled statements by text: compiling one costs more than running it, and each runs once per job. */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // FULL: a result acknowledged to the queue must be on disk before the queue forgets it (the
    // results path gets there by lazyTransaction + flush, off the event loop).
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new Error(`the results database was written by a newer wayfinder (schema ${version}, this one knows ${MIGRATIONS.length})`);
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v] as string);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  close(): void {
    if (this.walFd !== undefined) closeSync(this.walFd);
    this.walFd = undefined;
    this.db.close();
  }

  private sql(text: string): Database.Statement {
    let st = this.statements.get(text);
    if (!st) {
      st = this.db.prepare(text);
      this.statements.set(text, st);
    }
    return st;
  }

  upsertExperiment(e: NewExperiment): ExperimentRow {
    const now = Date.now();
    this.sql(
        `INSERT INTO experiments (id, name, file, text, hash, format, space_size, host_json, strategy, created_at, updated_at)
         VALUES (@id, @name, @file, @text, @hash, @format, @spaceSize, @host, @strategy, @now, @now)
         ON CONFLICT (id) DO UPDATE SET file = excluded.file, text = excluded.text, hash = excluded.hash,
           host_json = excluded.host_json, strategy = excluded.strategy, updated_at = excluded.updated_at`,
      )
      .run({ ...e, host: e.host === undefined ? null : JSON.stringify(e.host), now });
    return this.getExperiment(e.id) as ExperimentRow;
  }

  getExperiment(id: string): ExperimentRow | undefined {
    const r = this.sql('SELECT * FROM experiments WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return r ? experimentFromRow(r) : undefined;
  }

  listExperiments(): ExperimentRow[] {
    return (this.sql('SELECT * FROM experiments ORDER BY created_at').all() as Record<string, unknown>[]).map(experimentFromRow);
  }

  /**
   * The exploration run last (started or finished last). Fixed measurements (`wayfinder regress`'s,
   * stored with the `list` strategy: exactly the configurations given) are not explorations.
   */
  lastExploration(): ExperimentRow | undefined {
    const r = this.sql("SELECT * FROM experiments WHERE strategy != 'list' ORDER BY updated_at DESC, rowid DESC LIMIT 1").get() as Record<string, unknown> | undefined;
    return r ? experimentFromRow(r) : undefined;
  }

  /** Find an experiment by id, unique id prefix or name (the newest of that name). */
  findExperiment(ref: string): ExperimentRow | undefined {
    const exact = this.getExperiment(ref);
    if (exact) return exact;
    const rows = this.sql('SELECT * FROM experiments WHERE id LIKE ? OR name = ? ORDER BY updated_at DESC')
      .all(`${ref}%`, ref) as Record<string, unknown>[];
    return rows[0] ? experimentFromRow(rows[0]) : undefined;
  }

  setExperimentState(id: string, state: ExperimentState, error?: string): void {
    this.sql('UPDATE experiments SET state = ?, error = ?, updated_at = ? WHERE id = ?').run(state, state === 'failed' ? (error ?? null) : null, Date.now(), id);
  }

  /** The strategy's saved state with the configurations it has seen, or undefined before the first save. */
  strategyState(id: string): SavedStrategyState | undefined {
    const r = this.sql('SELECT json FROM strategy_states WHERE experiment_id = ?').get(id) as { json: string } | undefined;
    if (!r) return undefined;
    const seen = (this.sql('SELECT key FROM strategy_seen WHERE experiment_id = ?').all(id) as { key: string }[]).map((s) => s.key);
    return { ...(JSON.parse(r.json) as Record<string, unknown>), seen };
  }

  /**
   * Save a strategy's state. What it has seen only grows, in order: the first `savedSeen` of its
   * list were saved before by this same strategy object, and only the rest are written; -1 (a
   * first save, or another object) writes them all.
   */
  saveStrategyState(id: string, state: { seen: readonly string[] }, savedSeen = -1): void {
    const save = (): void => {
      const { seen, ...rest } = state;
      let from = savedSeen;
      if (from < 0 || from > seen.length) {
        this.sql('DELETE FROM strategy_seen WHERE experiment_id = ?').run(id);
        from = 0;
      }
      const add = this.sql('INSERT OR IGNORE INTO strategy_seen (experiment_id, key) VALUES (?, ?)');
      for (let i = from; i < seen.length; i++) add.run(id, seen[i]);
      this.sql('INSERT INTO strategy_states (experiment_id, json) VALUES (?, ?) ON CONFLICT (experiment_id) DO UPDATE SET json = excluded.json').run(id, JSON.stringify(rest));
    };
    if (this.db.inTransaction) save();
    else this.transaction(save);
  }

  /** Record a configuration the strategy asked for; a second call for the same one changes nothing. */
  addConfiguration(c: NewConfiguration): void {
    const seq = (this.sql('SELECT COALESCE(MAX(seq) + 1, 0) AS n FROM configurations WHERE experiment_id = ?').get(c.experimentId) as { n: number }).n;
    this.sql(
        `INSERT OR IGNORE INTO configurations (experiment_id, config_id, build_id, seq, params_json, is_default, strategy, status, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?)`,
      )
      .run(c.experimentId, c.configId, c.buildId, seq, JSON.stringify(c.params), c.isDefault ? 1 : 0, c.strategy ?? null, Date.now());
  }

  countConfigurations(experimentId: string, status: ConfigStatus): number {
    return (this.sql('SELECT COUNT(*) AS n FROM configurations WHERE experiment_id = ? AND status = ?').get(experimentId, status) as { n: number }).n;
  }

  configurations(experimentId: string, status?: ConfigStatus): ConfigRow[] {
    const rows = (
      status
        ? this.sql('SELECT * FROM configurations WHERE experiment_id = ? AND status = ? ORDER BY seq').all(experimentId, status)
        : this.sql('SELECT * FROM configurations WHERE experiment_id = ? ORDER BY seq').all(experimentId)
    ) as Record<string, unknown>[];
    return rows.map(configFromRow);
  }

  getConfiguration(experimentId: string, configId: string): ConfigRow | undefined {
    const r = this.sql('SELECT * FROM configurations WHERE experiment_id = ? AND config_id = ?').get(experimentId, configId) as
      | Record<string, unknown>
      | undefined;
    return r ? configFromRow(r) : undefined;
  }

  finishConfiguration(experimentId: string, configId: string, f: ConfigurationOutcome): void {
    this.sql(
        `UPDATE configurations SET status = ?, objective = ?, summary_json = ?, failure = ?, error = ?, stopped_json = ?, finished_at = ?
         WHERE experiment_id = ? AND config_id = ?`,
      )
      .run(
        f.status,
        f.objective ?? null,
        f.summary ? JSON.stringify(f.summary) : null,
        f.failure ?? null,
        f.error ?? null,
        f.stopped ? JSON.stringify(f.stopped) : null,
        Date.now(),
        experimentId,
        configId,
      );
  }

  setEffective(experimentId: string, configId: string, e: EffectiveIdentity): void {
    this.sql('UPDATE configurations SET effective_id = ?, build_id = ?, resolution_json = ? WHERE experiment_id = ? AND config_id = ?')
      .run(e.effectiveId, e.buildId, JSON.stringify(e.resolution), experimentId, configId);
  }

  markDuplicate(experimentId: string, configId: string, of: string, e: EffectiveIdentity): void {
    this.sql(
        `UPDATE configurations SET status = 'duplicate', duplicate_of = ?, effective_id = ?, build_id = ?, resolution_json = ?, finished_at = ?
         WHERE experiment_id = ? AND config_id = ?`,
      )
      .run(of, e.effectiveId, e.buildId, JSON.stringify(e.resolution), Date.now(), experimentId, configId);
  }

  findEffective(experimentId: string, effectiveId: string): ConfigRow | undefined {
    const r = this.sql("SELECT * FROM configurations WHERE experiment_id = ? AND effective_id = ? AND status != 'duplicate' ORDER BY seq LIMIT 1").get(experimentId, effectiveId) as
      | Record<string, unknown>
      | undefined;
    return r ? configFromRow(r) : undefined;
  }

  duplicatesOf(experimentId: string, configId: string): ConfigRow[] {
    return (this.sql('SELECT * FROM configurations WHERE experiment_id = ? AND duplicate_of = ? ORDER BY seq').all(experimentId, configId) as Record<string, unknown>[]).map(configFromRow);
  }

  /** Forget a build whose artifacts are gone with the host that had them: the next result for it counts. */
  forgetBuild(experimentId: string, buildId: string): void {
    this.sql('DELETE FROM builds WHERE experiment_id = ? AND build_id = ?').run(experimentId, buildId);
  }

  /** Store a build's result; only the first result for a build counts. */
  recordBuild(r: BuildResult): boolean {
    const info = this.sql(
        `INSERT OR IGNORE INTO builds (experiment_id, build_id, status, error, duration_ms, host, worker, started_at, finished_at, resolution_json)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(r.experimentId, r.buildId, r.status, r.error ?? null, r.durationMs, r.host, r.worker ?? null, r.startedAt, Date.now(), r.resolution ? JSON.stringify(r.resolution) : null);
    return info.changes > 0;
  }

  getBuild(experimentId: string, buildId: string): BuildRow | undefined {
    const r = this.sql('SELECT status, error, duration_ms, worker, resolution_json FROM builds WHERE experiment_id = ? AND build_id = ?').get(experimentId, buildId) as
      | { status: string; error: string | null; duration_ms: number | null; worker: string | null; resolution_json: string | null }
      | undefined;
    return r
      ? {
          status: r.status,
          ...(r.error ? { error: r.error } : {}),
          ...(r.duration_ms !== null ? { durationMs: r.duration_ms } : {}),
          ...(r.worker ? { worker: r.worker } : {}),
          ...(r.resolution_json ? { resolution: JSON.parse(r.resolution_json) as Resolution } : {}),
        }
      : undefined;
  }

  buildWorkers(experimentId: string): string[] {
    return (this.sql('SELECT DISTINCT worker FROM builds WHERE experiment_id = ? AND worker IS NOT NULL').all(experimentId) as { worker: string }[]).map((r) => r.worker);
  }

  workRetries(experimentId: string, key: string): number {
    const r = this.sql('SELECT count FROM work_retries WHERE experiment_id = ? AND key = ?').get(experimentId, key) as { count: number } | undefined;
    return r?.count ?? 0;
  }

  addWorkRetry(experimentId: string, key: string): number {
    this.sql('INSERT INTO work_retries (experiment_id, key, count) VALUES (?, ?, 1) ON CONFLICT (experiment_id, key) DO UPDATE SET count = count + 1').run(experimentId, key);
    return this.workRetries(experimentId, key);
  }

  /** Store a measured run exactly once: a repeated delivery of the same (configuration, test, iteration) is ignored. */
  recordRun(r: RunResult): boolean {
    const info = this.sql(
        `INSERT OR IGNORE INTO runs (experiment_id, config_id, test, iteration, status, failure, error, metrics_json, duration_ms,
           attempts, host, placement_json, started_at, stored_at, cpus, isolation, l3_mask, mb_percent, cpu_isolation_only,
           cpu_ms, peak_memory_bytes, usage_source, extra)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        r.experimentId,
        r.configId,
        r.test,
        r.iteration,
        r.status,
        r.failure ?? null,
        r.error ?? null,
        JSON.stringify(r.metrics),
        r.durationMs,
        r.attempts,
        r.placement.host,
        JSON.stringify(r.placement),
        r.startedAt,
        Date.now(),
        r.placement.cpus.join(','),
        r.placement.isolation,
        r.placement.l3Mask ?? null,
        r.placement.mbPercent ?? null,
        r.placement.cpuIsolationOnly === undefined ? null : r.placement.cpuIsolationOnly ? 1 : 0,
        r.usage?.cpuMs ?? null,
        r.usage?.peakMemoryBytes ?? null,
        r.usage?.source ?? null,
        r.extra ?? null,
      );
    return info.changes > 0;
  }

  runs(experimentId: string, configId?: string): StoredRun[] {
    const rows = (
      configId
        ? this.sql('SELECT * FROM runs WHERE experiment_id = ? AND config_id = ? ORDER BY test, iteration').all(experimentId, configId)
        : this.sql('SELECT * FROM runs WHERE experiment_id = ? ORDER BY config_id, test, iteration').all(experimentId)
    ) as Record<string, unknown>[];
    return rows.map((r) => ({
      configId: r.config_id as string,
      test: r.test as string,
      iteration: r.iteration as number,
      status: r.status as 'ok' | 'failed',
      ...(r.failure ? { failure: r.failure as Failure } : {}),
      ...(r.error ? { error: r.error as string } : {}),
      metrics: JSON.parse(r.metrics_json as string) as Record<string, number>,
      durationMs: r.duration_ms as number,
      host: r.host as string,
      placement: JSON.parse(r.placement_json as string) as unknown,
      startedAt: r.started_at as number,
      ...(r.usage_source
        ? { usage: { cpuMs: r.cpu_ms as number, ...(r.peak_memory_bytes !== null ? { peakMemoryBytes: r.peak_memory_bytes as number } : {}), source: r.usage_source as RunUsage['source'] } }
        : {}),
      ...(r.extra ? { extra: r.extra as ExtraPurpose } : {}),
    }));
  }

  recordComparison(experimentId: string, c: StoredComparison): void {
    this.transaction(() => {
      const seq = (this.sql('SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM comparisons WHERE experiment_id = ?').get(experimentId) as { n: number }).n;
      this.sql(
        `INSERT INTO comparisons (experiment_id, seq, best_config_id, default_config_id, metric, direction, ratio, ci_low, ci_high, p_value, significant, n,
           confidence, looks, alpha_per_look, stopped, error, samples_json, measured_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        experimentId, seq, c.bestConfigId, c.defaultConfigId, c.metric, c.direction, finiteOrNull(c.ratio), finiteOrNull(c.ci?.[0]), finiteOrNull(c.ci?.[1]),
        c.pValue, c.significant ? 1 : 0, c.n, c.confidence, c.looks, c.alphaPerLook, c.stopped, c.error ?? null, JSON.stringify(c.samples), c.measuredAt,
      );
    });
  }

  lastComparison(experimentId: string): StoredComparison | undefined {
    const r = this.sql('SELECT * FROM comparisons WHERE experiment_id = ? ORDER BY seq DESC LIMIT 1').get(experimentId) as Record<string, unknown> | undefined;
    if (!r) return undefined;
    return {
      bestConfigId: r.best_config_id as string,
      defaultConfigId: r.default_config_id as string,
      metric: r.metric as string,
      direction: r.direction as StoredComparison['direction'],
      ...(r.ratio !== null ? { ratio: r.ratio as number } : {}),
      ...(r.ci_low !== null && r.ci_high !== null ? { ci: [r.ci_low as number, r.ci_high as number] as [number, number] } : {}),
      pValue: r.p_value as number,
      significant: r.significant === 1,
      n: r.n as number,
      confidence: r.confidence as number,
      looks: r.looks as number,
      alphaPerLook: r.alpha_per_look as number,
      stopped: r.stopped as StoredComparison['stopped'],
      ...(r.error !== null ? { error: r.error as string } : {}),
      samples: JSON.parse(r.samples_json as string) as StoredComparison['samples'],
      measuredAt: r.measured_at as number,
    };
  }

  builds(experimentId: string): StoredBuild[] {
    const rows = this.sql('SELECT * FROM builds WHERE experiment_id = ? ORDER BY started_at').all(experimentId) as Record<string, unknown>[];
    return rows.map((r) => ({
      buildId: r.build_id as string,
      status: r.status as string,
      ...(r.error ? { error: r.error as string } : {}),
      ...(r.duration_ms !== null ? { durationMs: r.duration_ms as number } : {}),
      ...(r.started_at !== null ? { startedAt: r.started_at as number } : {}),
      ...(r.finished_at !== null ? { finishedAt: r.finished_at as number } : {}),
    }));
  }

  /** Queue an experiment in the daemon's list; one submitted again is queued again (to resume or extend it). */
  putSubmission(s: { experimentId: string; priority: number; pool: string; file: string; text: string; options: unknown }): SubmissionRow {
    this.transaction(() => {
      const seq = (this.sql('SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM submissions').get() as { n: number }).n;
      this.sql(
        `INSERT INTO submissions (experiment_id, seq, priority, pool, file, text, options_json, state, submitted_at)
         VALUES (@experimentId, @seq, @priority, @pool, @file, @text, @options, 'queued', @now)
         ON CONFLICT (experiment_id) DO UPDATE SET seq = excluded.seq, priority = excluded.priority, pool = excluded.pool,
           file = excluded.file, text = excluded.text, options_json = excluded.options_json, state = 'queued', error = NULL,
           submitted_at = excluded.submitted_at, started_at = NULL, finished_at = NULL`,
      ).run({ ...s, seq, options: JSON.stringify(s.options), now: Date.now() });
    });
    return this.getSubmission(s.experimentId) as SubmissionRow;
  }

  getSubmission(experimentId: string): SubmissionRow | undefined {
    const r = this.sql('SELECT * FROM submissions WHERE experiment_id = ?').get(experimentId) as Record<string, unknown> | undefined;
    return r ? submissionFromRow(r) : undefined;
  }

  /** The submission with this exact id, else every one whose id starts with it or whose experiment has that name, newest first. */
  findSubmissions(ref: string): SubmissionRow[] {
    const exact = this.getSubmission(ref);
    if (exact) return [exact];
    const rows = this.sql(
      `SELECT s.* FROM submissions s LEFT JOIN experiments e ON e.id = s.experiment_id
       WHERE s.experiment_id LIKE ? ESCAPE '\\' OR e.name = ? ORDER BY s.seq DESC`,
    ).all(`${ref.replace(/[\\%_]/g, (c) => `\\${c}`)}%`, ref) as Record<string, unknown>[];
    return rows.map(submissionFromRow);
  }

  /** In the order they run: those already started first, then by priority, then submission order. */
  listSubmissions(): SubmissionRow[] {
    return (this.sql("SELECT * FROM submissions ORDER BY (state = 'running') DESC, priority DESC, seq").all() as Record<string, unknown>[]).map(submissionFromRow);
  }

  /** Running stamps the start; done, cancelled and failed stamp the end. */
  setSubmissionState(experimentId: string, state: string, error?: string): void {
    const now = Date.now();
    this.sql(
      `UPDATE submissions SET state = ?, error = ?,
         started_at = CASE WHEN ? = 'running' THEN ? ELSE started_at END,
         finished_at = CASE WHEN ? IN ('done', 'cancelled', 'failed') THEN ? ELSE finished_at END
       WHERE experiment_id = ?`,
    ).run(state, error ?? null, state, now, state, now, experimentId);
  }

  /** Store a dynamic run and its windows in one transaction; returns the run's id. */
  addDynamicRun(run: Omit<DynamicRun, 'id'>, windows: readonly DynamicWindow[]): number {
    return this.db.transaction(() => {
      const r = this.sql(
        `INSERT INTO dynamic_runs (name, file, text, variant, kind, params_json, repeat, window_us, objective, loadavg, summary_json, started_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(run.name, run.file, run.text, run.variant, run.kind, JSON.stringify(run.params), run.repeat, run.windowUs, run.objective, run.loadavg, JSON.stringify(run.summary), run.startedAt);
      const id = Number(r.lastInsertRowid);
      const w = this.sql(
        `INSERT INTO dynamic_windows (run_id, t_us, flows, rate, loss, sent, received, lost, dropped, p50_us, p90_us, p99_us, p999_us, max_us, knobs_json)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const x of windows)
        w.run(id, x.tUs, x.flows, x.rate, x.loss, x.sent, x.received, x.lost, x.dropped, x.p50Us, x.p90Us, x.p99Us, x.p999Us, x.maxUs, JSON.stringify(x.knobs));
      return id;
    })();
  }

  /** Dynamic runs, oldest first; of one experiment name when given. */
  dynamicRuns(name?: string): DynamicRun[] {
    const rows = (name === undefined ? this.sql('SELECT * FROM dynamic_runs ORDER BY id').all() : this.sql('SELECT * FROM dynamic_runs WHERE name = ? ORDER BY id').all(name)) as Record<string, unknown>[];
    return rows.map((r) => ({
      id: r.id as number,
      name: r.name as string,
      file: r.file as string,
      text: r.text as string,
      variant: r.variant as string,
      kind: r.kind as 'static' | 'controller',
      params: JSON.parse(r.params_json as string) as Record<string, unknown>,
      repeat: r.repeat as number,
      windowUs: r.window_us as number,
      objective: r.objective as string,
      loadavg: r.loadavg as string,
      summary: JSON.parse(r.summary_json as string) as Record<string, unknown>,
      startedAt: r.started_at as number,
    }));
  }

  dynamicWindows(runId: number): DynamicWindow[] {
    const rows = this.sql('SELECT * FROM dynamic_windows WHERE run_id = ? ORDER BY t_us').all(runId) as Record<string, number | string | null>[];
    return rows.map((r) => ({
      tUs: r.t_us as number,
      flows: r.flows as number,
      rate: r.rate as number,
      loss: r.loss as number,
      sent: r.sent as number,
      received: r.received as number,
      lost: r.lost as number,
      dropped: r.dropped as number,
      p50Us: r.p50_us as number | null,
      p90Us: r.p90_us as number | null,
      p99Us: r.p99_us as number | null,
      p999Us: r.p999_us as number | null,
      maxUs: r.max_us as number | null,
      knobs: JSON.parse(r.knobs_json as string) as Record<string, number>,
    }));
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /**
   * A transaction that is not flushed to disk on its own (WAL, synchronous NORMAL): safe against a
   * kill of the process, and made durable by the next ordinary transaction or by flush(). For writes
   * that a power loss may undo without harm (what the strategy asked, with its state: the same is
   * asked again), and for results whose acknowledgement waits for flush().
   */
  lazyTransaction<T>(fn: () => T): T {
    this.sql('PRAGMA synchronous = NORMAL').run();
    try {
      const out = this.db.transaction(fn)();
      this.lazyCommits++;
      return out;
    } finally {
      this.sql('PRAGMA synchronous = FULL').run();
    }
  }

  /** fdatasync the write-ahead log on the thread pool (any descriptor flushes its data); no log yet, nothing to flush. */
  private syncWal(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.walFd === undefined) {
        try {
          this.walFd = openSync(`${this.db.name}-wal`, 'r');
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') resolve();
          else reject(e);
          return;
        }
      }
      fdatasync(this.walFd, (e) => (e ? reject(e) : resolve()));
    });
  }

  /**
   * Make every lazy transaction committed so far durable: one fdatasync of the write-ahead log, on
   * a worker thread, shared by every caller that arrives while it runs (group commit). The event
   * loop goes on meanwhile, so a result can be acted on before the disk has it, and acknowledged
   * after. The log holds every commit not yet checkpointed; a checkpoint syncs what it moves.
   */
  async flush(): Promise<void> {
    const want = this.lazyCommits;
    while (this.flushedUpTo < want) {
      if (!this.flushing) {
        const upTo = this.lazyCommits;
        this.flushing = this.syncWal()
          .then(() => {
            this.flushedUpTo = Math.max(this.flushedUpTo, upTo);
          })
          .finally(() => {
            this.flushing = undefined;
          });
      }
      await this.flushing;
    }
  }

  startControlSession(s: Omit<ControlSessionRow, 'id' | 'endedAt' | 'endReason'>): number {
    const r = this.sql(
      `INSERT INTO control_sessions (policy_file, config_file, objective, direction, features_json, knobs_json, period_ms, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(s.policyFile, s.configFile, s.objective ?? null, s.direction ?? null, JSON.stringify(s.features), JSON.stringify(s.knobs), s.periodMs, s.startedAt);
    return Number(r.lastInsertRowid);
  }

  endControlSession(id: number, endedAt: number, reason: string): void {
    this.sql('UPDATE control_sessions SET ended_at = ?, end_reason = ? WHERE id = ?').run(endedAt, reason, id);
  }

  /** Decisions and observations of one session, in one transaction (NaN signals are stored as null). */
  recordControl(sessionId: number, decisions: readonly ControlDecisionRow[], observations: readonly ControlObservationRow[]): void {
    const d = this.sql(
      `INSERT OR IGNORE INTO control_decisions (session_id, seq, time_ms, action, rule, context, from_json, to_json, wanted_json, signals_json, applied_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const o = this.sql(`INSERT OR IGNORE INTO control_observations (session_id, seq, time_ms, signals_json, knobs_json, objective) VALUES (?, ?, ?, ?, ?, ?)`);
    this.db.transaction(() => {
      for (const x of decisions)
        d.run(sessionId, x.seq, x.timeMs, x.action, x.rule, x.context, JSON.stringify(x.from), JSON.stringify(x.to), JSON.stringify(x.wanted), JSON.stringify(x.signals), x.applied === undefined ? null : JSON.stringify(x.applied));
      for (const x of observations) o.run(sessionId, x.seq, x.timeMs, JSON.stringify(x.signals), JSON.stringify(x.knobs), x.objective !== undefined && Number.isFinite(x.objective) ? x.objective : null);
    })();
  }

  controlSessions(): ControlSessionRow[] {
    return (this.sql('SELECT * FROM control_sessions ORDER BY id').all() as Record<string, unknown>[]).map((r) => ({
      id: r.id as number,
      policyFile: r.policy_file as string,
      configFile: r.config_file as string,
      ...(r.objective ? { objective: r.objective as string } : {}),
      ...(r.direction ? { direction: r.direction as 'maximize' | 'minimize' } : {}),
      features: JSON.parse(r.features_json as string) as string[],
      knobs: JSON.parse(r.knobs_json as string) as string[],
      periodMs: r.period_ms as number,
      startedAt: r.started_at as number,
      ...(r.ended_at ? { endedAt: r.ended_at as number } : {}),
      ...(r.end_reason ? { endReason: r.end_reason as string } : {}),
    }));
  }

  controlDecisions(sessionId: number): ControlDecisionRow[] {
    return (this.sql('SELECT * FROM control_decisions WHERE session_id = ? ORDER BY seq').all(sessionId) as Record<string, unknown>[]).map((r) => ({
      seq: r.seq as number,
      timeMs: r.time_ms as number,
      action: r.action as string,
      rule: r.rule as string,
      context: r.context as string,
      from: JSON.parse(r.from_json as string) as Config,
      to: JSON.parse(r.to_json as string) as Config,
      wanted: JSON.parse(r.wanted_json as string) as Config,
      signals: JSON.parse(r.signals_json as string) as Record<string, number | null>,
      ...(r.applied_json ? { applied: JSON.parse(r.applied_json as string) as unknown } : {}),
    }));
  }

  controlObservations(sessionId: number): ControlObservationRow[] {
    return (this.sql('SELECT * FROM control_observations WHERE session_id = ? ORDER BY seq').all(sessionId) as Record<string, unknown>[]).map((r) => ({
      seq: r.seq as number,
      timeMs: r.time_ms as number,
      signals: JSON.parse(r.signals_json as string) as Record<string, number | null>,
      knobs: JSON.parse(r.knobs_json as string) as Config,
      ...(r.objective !== null ? { objective: r.objective as number } : {}),
    }));
  }
}

function experimentFromRow(r: Record<string, unknown>): ExperimentRow {
  return {
    id: r.id as string,
    name: r.name as string,
    file: r.file as string,
    text: r.text as string,
    hash: r.hash as string,
    format: r.format as string,
    spaceSize: r.space_size as string,
    ...(r.host_json ? { host: JSON.parse(r.host_json as string) as unknown } : {}),
    state: r.state as ExperimentState,
    ...(r.error ? { error: r.error as string } : {}),
    strategy: r.strategy as string,
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
  };

}

function configFromRow(r: Record<string, unknown>): ConfigRow {
  return {
    experimentId: r.experiment_id as string,
    configId: r.config_id as string,
    buildId: r.build_id as string,
    seq: r.seq as number,
    params: JSON.parse(r.params_json as string) as Config,
    isDefault: r.is_default === 1,
    ...(r.strategy ? { strategy: r.strategy as string } : {}),
    status: r.status as ConfigStatus,
    ...(r.failure ? { failure: r.failure as Failure } : {}),
    ...(r.error ? { error: r.error as string } : {}),
    ...(r.objective !== null && r.objective !== undefined ? { objective: r.objective as number } : {}),
    ...(r.summary_json ? { summary: JSON.parse(r.summary_json as string) as Record<string, MetricSummaryRow> } : {}),
    ...(r.stopped_json ? { stopped: JSON.parse(r.stopped_json as string) as StoppedEarly } : {}),
    createdAt: r.created_at as number,
    ...(r.finished_at ? { finishedAt: r.finished_at as number } : {}),
    ...(r.effective_id ? { effectiveId: r.effective_id as string } : {}),
    ...(r.duplicate_of ? { duplicateOf: r.duplicate_of as string } : {}),
    ...(r.resolution_json ? { resolution: JSON.parse(r.resolution_json as string) as ResolutionRow } : {}),
  };
}

function parseJson(text: unknown): unknown {
  try {
    return typeof text === 'string' ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

function submissionFromRow(r: Record<string, unknown>): SubmissionRow {
  return {
    experimentId: r.experiment_id as string,
    seq: r.seq as number,
    priority: r.priority as number,
    pool: r.pool as string,
    file: r.file as string,
    text: r.text as string,
    // Whatever is in the row, reading it never throws: a daemon must start whatever it stored.
    options: parseJson(r.options_json),
    state: r.state as string,
    ...(r.error ? { error: r.error as string } : {}),
    submittedAt: r.submitted_at as number,
    ...(r.started_at ? { startedAt: r.started_at as number } : {}),
    ...(r.finished_at ? { finishedAt: r.finished_at as number } : {}),
  };
}

/** SQLite has no infinities or NaN to keep: such a value is stored as absent. */
function finiteOrNull(v: number | undefined): number | null {
  return v !== undefined && Number.isFinite(v) ? v : null;
}
