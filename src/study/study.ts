// The study loop: ask the strategy for configurations, queue their builds and tests, take results
// back from the queue, store them, and tell the strategy. This process is the only writer of the
// store; every step that changes it is one transaction, so a kill at any moment loses at most the
// runs in flight and a restart continues where it stopped.

import { EventEmitter } from 'node:events';
import { Worker, type Job } from 'bullmq';
import { buildChecksum, configChecksum, defaultConfig, paramEnv, Space } from '../generator/index.js';
import { createStrategy, ListStrategy, type Strategy } from '../strategies/index.js';
import type { ConfigRow, Store } from '../store/store.js';
import { releaseLocks } from '../queue/locks.js';
import { buildJobId, buildQueueName, buildResultId, resultsQueueName, testJobId, workerQueueName, type WorkQueues } from '../queue/queues.js';
import type { BuildResult, ResultMessage, RunResult } from '../wire.js';
import type { Config, Experiment, Observation } from '../types.js';
import { aggregateRuns } from './aggregate.js';
import { experimentId } from './identity.js';

export interface StudyOptions {
  /** Facts about the host, recorded with the experiment. */
  host?: unknown;
  /** Measure the default configuration too (the baseline every result is compared with). */
  baseline?: boolean;
  /** Measure exactly these configurations instead of exploring (regress: fixed configurations). */
  configs?: Config[];
  /** Store under this experiment id instead of the experiment's own (a fresh measurement). */
  id?: string;
}

export interface StudyEvents {
  'config-queued': [ConfigRow];
  'config-finished': [ConfigRow];
  'build-finished': [BuildResult];
  'run-finished': [RunResult];
  /** A build's worker is gone with its artifacts: its configurations are built again elsewhere. */
  'build-lost': [{ buildId: string; worker: string; configIds: string[] }];
  'done': [];
}

/** How often the workers holding in-flight configurations' builds are checked for signs of life. */
const LOST_CHECK_MS = 5_000;

export class Study extends EventEmitter<StudyEvents> {
  readonly id: string;
  readonly space: Space;
  private strategy!: Strategy;
  private readonly waitingOnBuild = new Map<string, string[]>();
  private resultsWorker?: Worker;
  private finished?: () => void;
  private failedWith?: (e: Error) => void;
  private cancelled = false;
  private readonly batch: { msg: RunResult; settle: (e?: Error) => void }[] = [];
  private storing: Promise<void> = Promise.resolve();
  private filling = false;
  /** How many of the strategy's seen configurations are in the store (-1: not known yet). */
  private seenSaved = -1;
  private lostCheck: NodeJS.Timeout | undefined;
  /** Configurations taken back from a lost worker: their tests skip the iterations it measured. */
  private readonly resumed = new Set<string>();
  private checkingLost = false;
  private refill = false;

  constructor(
    readonly exp: Experiment,
    private readonly store: Store,
    private readonly queues: WorkQueues,
    private readonly opts: StudyOptions = {},
  ) {
    super();
    this.id = opts.id ?? experimentId(exp);
    this.space = new Space(exp.params);
  }

  /** Run to the end of the budget or the space; resolves when every configuration has a result. */
  async run(): Promise<void> {
    const row = this.store.upsertExperiment({
      id: this.id,
      name: this.exp.name,
      file: this.exp.file,
      text: this.exp.text,
      hash: this.exp.hash,
      format: this.exp.format,
      spaceSize: this.space.size.toString(),
      host: this.opts.host,
      strategy: this.opts.configs ? 'list' : this.exp.exploration.strategy,
    });
    const saved = this.store.strategyState(this.id);
    this.strategy = this.opts.configs
      ? new ListStrategy(this.space, this.opts.configs, {
          seed: this.exp.exploration.seed,
          direction: this.exp.objective.direction,
          ...(saved && row.strategy === 'list' ? { state: saved as never } : {}),
        })
      : createStrategy(this.exp.exploration.strategy, this.space, {
          seed: this.exp.exploration.seed,
          direction: this.exp.objective.direction,
          randomStart: this.exp.exploration.randomStart,
          ...(this.exp.exploration.budget !== undefined ? { budget: this.exp.exploration.budget } : {}),
          // A saved state resumes the same sequence; a changed strategy starts its own search.
          ...(saved && row.strategy === this.exp.exploration.strategy ? { state: saved as never } : {}),
        });
    if (!saved) this.tellFinished();
    this.store.setExperimentState(this.id, 'running');

    const done = new Promise<void>((resolve, reject) => {
      this.finished = resolve;
      this.failedWith = reject;
    });
    await this.resubmitInFlight();
    if (this.opts.baseline !== false) await this.ensureDefault();
    // This process is the one reader of the experiment's results: a result still marked active
    // was being stored by a killed predecessor, and is taken again now (storing it is idempotent).
    const resultsQueue = resultsQueueName(this.id);
    await releaseLocks(this.queues.client, this.queues.config.prefix, [resultsQueue], 'all');
    this.resultsWorker = new Worker(resultsQueue, async (job: Job<ResultMessage>) => this.onResult(job.data), {
      connection: this.queues.config.connection,
      prefix: this.queues.config.prefix,
      // Results arriving together (about one per parallel slot) are taken at once and stored
      // together. Each slot beyond what arrives costs a fetch from Redis per result that finds
      // nothing, so there are no more slots than configurations in flight.
      concurrency: this.exp.exploration.parallel,
    });
    this.resultsWorker.on('error', (e) => this.failedWith?.(e));
    if (this.exp.build) {
      this.lostCheck = setInterval(() => void this.rebuildLost().catch((e: unknown) => this.failedWith?.(e instanceof Error ? e : new Error(String(e)))), LOST_CHECK_MS);
      this.lostCheck.unref();
    }
    await this.fill();
    try {
      await done;
    } finally {
      clearInterval(this.lostCheck);
    }
    await this.resultsWorker.close();
    this.store.setExperimentState(this.id, this.cancelled ? 'cancelled' : 'done');
    this.emit('done');
  }

  /** Stop asking for new configurations; those in flight still finish. */
  cancel(): void {
    this.cancelled = true;
    this.checkDone();
  }

  /** Stop taking results without changing the experiment's state (the daemon shuts down; a restart resumes). */
  async detach(): Promise<void> {
    clearInterval(this.lostCheck);
    await this.resultsWorker?.close();
  }

  /**
   * A configuration's tests run only on the worker that built it. When that worker has shown no
   * sign of life for its lifetime (lost, not restarted), the tests it held are taken back, the
   * build is forgotten, and the configuration is built again on a live worker of the pool, whose
   * tests skip the iterations measured already.
   */
  private async rebuildLost(): Promise<void> {
    if (this.checkingLost) return;
    this.checkingLost = true;
    try {
      const byBuild = new Map<string, { worker: string; rows: ConfigRow[] }>();
      for (const row of this.inFlight()) {
        const b = this.store.getBuild(this.id, row.buildId);
        if (b?.status !== 'ok' || !b.worker) continue;
        const entry = byBuild.get(row.buildId) ?? { worker: b.worker, rows: [] };
        entry.rows.push(row);
        byBuild.set(row.buildId, entry);
      }
      const alive = new Map<string, boolean>();
      for (const [buildId, { worker, rows }] of byBuild) {
        if (!alive.has(worker)) alive.set(worker, await this.queues.isAlive(worker));
        if (alive.get(worker) || this.cancelled) continue;
        await this.rebuild(buildId, worker, rows);
      }
    } finally {
      this.checkingLost = false;
    }
  }

  private async rebuild(buildId: string, worker: string, rows: ConfigRow[]): Promise<void> {
    const q = this.queues;
    const own = workerQueueName(worker);
    // The lost worker's jobs are held by no one now: their locks go, then the jobs.
    await releaseLocks(q.client, q.config.prefix, [own], 'all');
    for (const row of rows) {
      for (const t of this.exp.tests) if (!(await q.removeJob(own, testJobId(this.id, row.configId, t.name)))) return;
    }
    // The earlier build's job and result keep their ids for a week; a new build needs them gone.
    if (!(await q.removeJob(resultsQueueName(this.id), buildResultId(this.id, buildId)))) return;
    if (!(await q.removeJob(buildQueueName(this.exp.pool), buildJobId(this.id, buildId)))) return;
    this.store.forgetBuild(this.id, buildId);
    this.emit('build-lost', { buildId, worker, configIds: rows.map((r) => r.configId) });
    for (const row of rows) {
      this.resumed.add(row.configId);
      await this.submit(row);
    }
  }

  /** After cancel(): configurations whose queued work was taken back will get no results. */
  abandon(configIds: string[]): void {
    for (const id of configIds) this.finishFailed(id, 'cancelled', 'experiment cancelled before this configuration ran');
    this.checkDone();
  }

  /** After a strategy change, teach the fresh strategy what is already measured. */
  private tellFinished(): void {
    const obs = this.store
      .configurations(this.id)
      .filter((c) => c.status === 'done' || c.status === 'failed')
      .map((c) => this.observation(c));
    if (obs.length > 0) this.strategy.tell(obs);
    this.saveState();
  }

  /** Save the strategy's state (in the caller's transaction); what it has seen is written as it grows. */
  private saveState(): void {
    const state = this.strategy.state();
    this.store.saveStrategyState(this.id, state, this.seenSaved);
    this.seenSaved = state.seen.length;
  }

  private observation(c: ConfigRow): Observation {
    const samples = this.store
      .runs(this.id, c.configId)
      .map((r) => r.metrics[this.exp.objective.metric])
      .filter((v): v is number => v !== undefined);
    return {
      config: c.params,
      configId: c.configId,
      status: c.status === 'done' ? 'ok' : 'failed',
      ...(c.objective !== undefined ? { value: c.objective } : {}),
      ...(samples.length > 0 ? { samples } : {}),
      ...(c.failure ? { failure: c.failure } : {}),
    };
  }

  private inFlight(): ConfigRow[] {
    return this.store.configurations(this.id, 'running');
  }

  /** How many configurations are in flight, without reading them (asked several times per result). */
  private inFlightCount(): number {
    return this.store.countConfigurations(this.id, 'running');
  }

  private async resubmitInFlight(): Promise<void> {
    for (const c of this.inFlight()) await this.submit(c);
  }

  private async ensureDefault(): Promise<void> {
    const config = this.space.normalize(defaultConfig(this.exp.params));
    const configId = configChecksum(this.exp.params, config);
    if (this.store.getConfiguration(this.id, configId)) return;
    this.store.addConfiguration({ experimentId: this.id, configId, buildId: buildChecksum(this.exp.params, config), params: config, isDefault: true, strategy: this.exp.exploration.strategy });
    const row = this.store.getConfiguration(this.id, configId) as ConfigRow;
    this.emit('config-queued', row);
    await this.submit(row);
  }

  /**
   * Ask the strategy for as many configurations as there are free parallel slots, until none are
   * free: a configuration settled at once (its build already failed, or it was measured as the
   * baseline) frees its slot without any result arriving to ask again.
   */
  private async fill(): Promise<void> {
    if (this.filling) {
      this.refill = true;
      return;
    }
    this.filling = true;
    try {
      do {
        this.refill = false;
        while (!this.cancelled && !this.strategy.exhausted) {
          const free = this.exp.exploration.parallel - this.inFlightCount();
          if (free <= 0) break;
          const asked = this.strategy.ask(free);
          if (asked.length === 0) break;
          for (const row of this.record(asked)) {
            this.emit('config-queued', row);
            await this.submit(row);
          }
        }
      } while (this.refill);
    } finally {
      this.filling = false;
    }
    this.checkDone();
  }

  /** Store what the strategy asked for, with its state; see recordAsked. */
  private record(asked: Config[]): ConfigRow[] {
    return this.store.lazyTransaction(() => {
      const rows = this.recordAsked(asked);
      this.saveState();
      return rows;
    });
  }

  /** Inside a transaction: a configuration measured already is told, not re-measured; the others are stored. */
  private recordAsked(asked: Config[]): ConfigRow[] {
    const rows: ConfigRow[] = [];
    for (const raw of asked) {
      const config = this.space.normalize(raw);
      const configId = configChecksum(this.exp.params, config);
      const existing = this.store.getConfiguration(this.id, configId);
      if (existing) {
        // Measured already: told now. In flight (the baseline): told when it finishes.
        if (existing.status !== 'running') this.strategy.tell([this.observation(existing)]);
        continue;
      }
      this.store.addConfiguration({ experimentId: this.id, configId, buildId: buildChecksum(this.exp.params, config), params: config, isDefault: false, strategy: this.strategy.name });
      rows.push(this.store.getConfiguration(this.id, configId) as ConfigRow);
    }
    return rows;
  }

  private checkDone(): void {
    if (this.inFlightCount() > 0) return;
    if (this.cancelled || this.strategy.exhausted) this.finished?.();
  }

  private async submit(row: ConfigRow): Promise<void> {
    const build = this.exp.build;
    if (build) {
      const b = this.store.getBuild(this.id, row.buildId);
      if (!b) {
        const waiting = this.waitingOnBuild.get(row.buildId) ?? [];
        if (!waiting.includes(row.configId)) waiting.push(row.configId);
        this.waitingOnBuild.set(row.buildId, waiting);
        const buildEnv = paramEnv(
          this.exp.params.filter((p) => p.when === 'build'),
          row.params,
        );
        await this.queues.addBuild(
          {
            kind: 'build', experimentId: this.id, buildId: row.buildId, job: build, env: buildEnv, experimentDir: this.exp.dir,
            params: this.exp.params.filter((p) => p.when === 'build'),
            host: this.exp.host,
          },
          this.exp.pool,
        );
        return;
      }
      if (b.status !== 'ok') {
        this.finishFailed(row.configId, 'build', b.error ?? 'build failed');
        return;
      }
      await this.submitTests(row, b.worker);
      return;
    }
    await this.submitTests(row);
  }

  /** A built configuration's tests go to the worker that built it; others to any worker of the pool. */
  private async submitTests(row: ConfigRow, builtBy?: string): Promise<void> {
    const env = paramEnv(this.exp.params, row.params);
    const route = { pool: this.exp.pool, ...(builtBy ? { worker: builtBy } : {}) };
    for (const test of this.exp.tests) {
      await this.queues.addTest({
        kind: 'test',
        experimentId: this.id,
        configId: row.configId,
        buildId: row.buildId,
        hasBuild: this.exp.build !== undefined,
        buildOutputs: this.exp.build?.outputs ?? [],
        job: test,
        env,
        metrics: this.exp.metrics,
        experimentDir: this.exp.dir,
        host: this.exp.host,
        ...(this.resumed.has(row.configId) ? { resumed: true } : {}),
      }, route);
    }
  }

  /**
   * A result's queue job completes only once the result is on disk. Run results that arrive while
   * others are being stored wait and are stored together: one transaction. The next configurations
   * are asked for and queued before the flush to disk, which runs on a worker thread and is shared
   * by the results stored meanwhile; only the acknowledgement waits for it.
   */
  private onResult(msg: ResultMessage): Promise<void> {
    if (msg.experimentId !== this.id) return Promise.resolve();
    if (msg.kind === 'build') return this.onBuild(msg);
    return new Promise<void>((resolve, reject) => {
      this.batch.push({ msg, settle: (e) => (e === undefined ? resolve() : reject(e)) });
      if (this.batch.length === 1) this.storing = this.storing.then(() => this.storeBatch());
    });
  }

  private async storeBatch(): Promise<void> {
    const batch = this.batch.splice(0);
    try {
      const fresh: RunResult[] = [];
      const finished: ConfigRow[] = [];
      let queued: ConfigRow[] = [];
      // One transaction for the results, what they tell the strategy, what it asks next and its state.
      this.store.lazyTransaction(() => {
        for (const { msg } of batch) {
          if (!this.store.recordRun(msg)) continue;
          fresh.push(msg);
          const row = this.completeIfMeasured(msg.configId, false);
          if (row) finished.push(row);
        }
        if (finished.length === 0) return;
        if (!this.filling && !this.cancelled && !this.strategy.exhausted) {
          const free = this.exp.exploration.parallel - this.inFlightCount();
          if (free > 0) queued = this.recordAsked(this.strategy.ask(free));
        }
        this.saveState();
      });
      for (const r of fresh) this.emit('run-finished', r);
      for (const r of finished) this.emit('config-finished', r);
      for (const row of queued) {
        this.emit('config-queued', row);
        await this.submit(row);
      }
      await this.fill();
    } catch (e) {
      // A rolled-back save left out what it wrote: the next one writes everything seen.
      this.seenSaved = -1;
      for (const b of batch) b.settle(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    // Results that arrive meanwhile are stored without waiting for this flush; these are
    // acknowledged when it is done.
    this.store.flush().then(
      () => batch.forEach((b) => b.settle()),
      (e: unknown) => batch.forEach((b) => b.settle(e instanceof Error ? e : new Error(String(e)))),
    );
  }

  private async onBuild(msg: BuildResult): Promise<void> {
    const fresh = this.store.recordBuild(msg);
    if (fresh) this.emit('build-finished', msg);
    const waiting = this.waitingOnBuild.get(msg.buildId) ?? [];
    this.waitingOnBuild.delete(msg.buildId);
    const b = this.store.getBuild(this.id, msg.buildId);
    for (const configId of waiting) {
      const row = this.store.getConfiguration(this.id, configId);
      if (!row || row.status !== 'running') continue;
      if (this.cancelled) this.finishFailed(configId, 'cancelled', 'experiment cancelled before this configuration was tested');
      else if (b?.status === 'ok') await this.submitTests(row, b.worker);
      else this.finishFailed(configId, 'build', b?.error ?? 'build failed');
    }
    await this.fill();
  }

  /**
   * Inside a transaction: when every run of a configuration is in, aggregate it and tell the
   * strategy (and save its state, unless the caller saves it later in the same transaction).
   */
  private completeIfMeasured(configId: string, saveState = true): ConfigRow | undefined {
    const row = this.store.getConfiguration(this.id, configId);
    if (!row || row.status !== 'running') return undefined;
    const runs = this.store.runs(this.id, configId);
    const expected = this.exp.tests.reduce((n, t) => n + t.iterations, 0);
    const anyFailed = runs.some((r) => r.status === 'failed');
    if (!anyFailed && runs.length < expected) return undefined;
    const agg = aggregateRuns(runs, this.exp.objective);
    this.store.finishConfiguration(this.id, configId, {
      status: agg.status,
      ...(agg.objective !== undefined ? { objective: agg.objective } : {}),
      summary: agg.summary,
      ...(agg.failure ? { failure: agg.failure } : {}),
      ...(agg.error ? { error: agg.error } : {}),
    });
    const done = this.store.getConfiguration(this.id, configId) as ConfigRow;
    this.strategy.tell([this.observation(done)]);
    if (saveState) this.saveState();
    return done;
  }

  private finishFailed(configId: string, failure: string, error: string): void {
    let row: ConfigRow | undefined;
    this.store.transaction(() => {
      const current = this.store.getConfiguration(this.id, configId);
      if (!current || current.status !== 'running') return;
      this.store.finishConfiguration(this.id, configId, { status: 'failed', failure, error });
      row = this.store.getConfiguration(this.id, configId) as ConfigRow;
      this.strategy.tell([this.observation(row)]);
      this.saveState();
    });
    if (row) this.emit('config-finished', row);
  }
}
