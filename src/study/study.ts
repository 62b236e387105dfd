// The study loop: ask the strategy for configurations, queue their builds and tests, take results
// back from the transport, store them, and tell the strategy. This process is the only writer of
// the store; every step that changes it is one transaction, so a kill at any moment loses at most
// the runs in flight and a restart continues where it stopped. The store and the transport are
// given (as Optuna's Study is given its storage): SQLite and BullMQ for real, in memory for tests.

import { EventEmitter } from 'node:events';
import { paramEnv, Space } from '../generator/index.js';
import { earlyResolution, effectiveIdentity, identityOf, resolutionKey, resolveEffective } from '../targets/effective.js';
import type { Resolved } from '../targets/params/kconfig.js';
import type { Strategy } from '../strategies/index.js';
import { describeStop, looksFor, PooledNoise, shouldStop, stageAt } from '../strategies/early-stop.js';
import type { BuildRow, ConfigRow, EffectiveIdentity, ResultsStore, StoredRun } from '../store/results-store.js';
import type { ResultStream, WorkTransport } from '../queue/transport.js';
import type { BuildResult, ExtraPurpose, ResultMessage, RunResult, TestWork } from '../wire.js';
import type { Config, Experiment, Failure, JobSpec, Observation } from '../types.js';
import { aggregateRuns } from './aggregate.js';
import { experimentId } from './identity.js';
import { defaultConfiguration, identify, studyStrategy } from './proposals.js';
import { warmStartPrior, type WarmStartSource } from './warm-start.js';

export interface StudyOptions {
  /** Facts about the host, recorded with the experiment. */
  host?: unknown;
  /** Measure the default configuration too (the baseline every result is compared with). */
  baseline?: boolean;
  /** Measure exactly these configurations instead of exploring (regress: fixed configurations). */
  configs?: Config[];
  /** Store under this experiment id instead of the experiment's own (a fresh measurement). */
  id?: string;
  /** Milliseconds between checks of the workers holding in-flight configurations' builds (default 5000). */
  lostCheckMs?: number;
  /**
   * How often one piece of work (a build, or one test of a configuration) is queued again after
   * infrastructure failures in one run of the study before the experiment stops (default 3).
   */
  infraRetries?: number;
  /**
   * A folder where each configuration's Kconfig symbols are resolved by the target's own tool
   * before its build is queued (src/targets/effective.ts); its effective configuration then
   * decides its identity. Absent: configurations keep their requested identity.
   */
  resolveDir?: string;
  /**
   * Stop a configuration whose first iterations are below the best's by the early-stopping test
   * (src/strategies/early-stop.ts): default on. Never for the default configuration, a fixed list
   * of configurations (`configs`), or experiments of several tests or a single iteration.
   */
  earlyStop?: boolean;
  /** The early-stopping test's false-stop rate per configuration (default EARLY_STOP_ALPHA). */
  earlyStopAlpha?: number;
  /**
   * Give each configuration a cheap look first when its test declares a fidelity (default on; see
   * cheapLook). Never for a fixed list of configurations, or experiments of several tests.
   */
  fidelity?: boolean;
}

/**
 * The experiment stopped because workers could not run its work (infrastructure failures that
 * persisted); its state is 'failed' with this message. Nothing of it was told to the strategy:
 * running it again (once the hosts are fixed) resumes it.
 */
export class InfrastructureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InfrastructureError';
  }
}

/** A piece of work queued again after an infrastructure failure, or given up on. */
export interface WorkRetried {
  work: 'build' | 'test';
  buildId?: string;
  configId?: string;
  test?: string;
  host: string;
  error: string;
  /** The retry queued now (1 for the first); absent when given up. */
  retry?: number;
}

export interface StudyEvents {
  'config-queued': [ConfigRow];
  'config-finished': [ConfigRow];
  /** A configuration's Kconfig symbols were resolved (its row holds the resolution) and it goes on to be built. */
  'config-resolved': [ConfigRow];
  /**
   * A configuration resolved to the effective configuration of another (the second row), measured
   * or being measured: it is recorded as that one's duplicate, not built or measured.
   */
  'config-duplicate': [ConfigRow, ConfigRow];
  /** A configuration's Kconfig symbols could not be resolved here: it is built as asked, and its build's resolution decides its identity (onBuild). */
  'resolution-failed': [ConfigRow, string];
  'build-finished': [BuildResult];
  'run-finished': [RunResult];
  /** A build's worker is gone with its artifacts: its configurations are built again elsewhere. */
  'build-lost': [{ buildId: string; worker: string; configIds: string[] }];
  /** A worker could not run a build or a test: it is queued again (never told to the strategy). */
  'work-retried': [WorkRetried];
  /**
   * The transport could not be reached for a while (Redis restarting, a network blip): weather,
   * not a verdict. The study keeps its state and goes on once the transport answers again; this
   * is said once per outage, and `recovered` once it is over.
   */
  'transport-error': [Error];
  'transport-recovered': [];
  /** The earlier experiments whose measurements warm-start the search (exploration.warm_start), with how many each gave. */
  'warm-start': [WarmStartSource[]];
  'done': [];
}

/** How often the workers holding in-flight configurations' builds are checked for signs of life. */
const LOST_CHECK_MS = 5_000;
const INFRA_RETRIES = 3;

/** The key under which the store counts a piece of work's retries. */
const buildKey = (buildId: string): string => `b:${buildId}`;
const testKey = (configId: string, test: string): string => `t:${configId}:${test}`;
const extraKey = (configId: string, test: string, iteration: number): string => `${configId}:${test}:${iteration}`;

/** Extra runs were asked for and the study was cancelled before they came back. */
export class ExtraCancelledError extends Error {
  constructor() {
    super('cancelled before the extra runs were measured');
    this.name = 'ExtraCancelledError';
  }
}

export class Study extends EventEmitter<StudyEvents> {
  readonly id: string;
  readonly space: Space;
  /** Set by run(); a study only asked for extra runs (measureExtra) has none. */
  private strategy!: Strategy;
  private readonly waitingOnBuild = new Map<string, string[]>();
  private results?: ResultStream;
  private finished?: () => void;
  private cancelled = false;
  private interrupted = false;
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
  /** Infrastructure failures per piece of work in this run (the store keeps the count over all runs). */
  private readonly infraSeen = new Map<string, number>();
  /** Set when infrastructure failures persisted: the experiment stops with it. */
  private stoppedBy?: InfrastructureError;
  /** Extra runs asked for and not back yet, by configuration, test and iteration. */
  private readonly extraWaiting = new Map<string, { resolve: (r: RunResult) => void; reject: (e: Error) => void }>();
  /** measureExtra() calls under way: the study does not finish while one is. */
  private extraCalls = 0;
  /** Resolutions under way or done, by the requested Kconfig values (configurations differing elsewhere share one). */
  private readonly resolutions = new Map<string, Promise<Resolved | { error: string }>>();
  /** The last resolution queued: the next waits for it (they share one folder). */
  private resolvingDone: Promise<unknown> = Promise.resolve();
  /** Fully measured configurations' objective samples, pooled for the early-stopping test's variance. */
  private readonly noise = new PooledNoise();
  private readonly pooled = new Set<string>();
  /** Every configuration's cheap-look samples, pooled apart: the cheap fidelity has a spread of its own. */
  private readonly cheapNoise = new PooledNoise();
  private readonly cheapPooled = new Set<string>();

  constructor(
    readonly exp: Experiment,
    private readonly store: ResultsStore,
    private readonly transport: WorkTransport,
    private readonly opts: StudyOptions = {},
  ) {
    super();
    this.id = opts.id ?? experimentId(exp);
    this.space = new Space(exp.params);
  }

  /** Run to the end of the budget or the space; resolves when every configuration has a result. */
  async run(): Promise<void> {
    // Read at every start, before the experiment is registered (a name the store lacks leaves
    // nothing behind): a resumed search is given the same earlier measurements (finished experiments).
    const warm = this.opts.configs || !this.exp.exploration.warmStart ? undefined : warmStartPrior(this.store, this.exp, this.id);
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
    const prior = warm?.map((w) => w.prior);
    // A saved state resumes the same sequence; a changed strategy starts its own search.
    this.strategy = studyStrategy(this.exp, this.space, {
      ...(this.opts.configs ? { configs: this.opts.configs } : {}),
      ...(saved ? { saved: saved as never, savedFor: row.strategy } : {}),
      ...(prior ? { prior } : {}),
    });
    if (!saved) this.tellFinished();
    if (warm) this.emit('warm-start', warm.map((w) => ({ ref: w.ref, experimentId: w.experimentId, name: w.name, measured: w.prior.observations.length })));
    this.store.setExperimentState(this.id, 'running');

    const done = new Promise<void>((resolve) => {
      this.finished = resolve;
    });
    if (this.interrupted) this.finished?.();
    await this.resubmitInFlight();
    if (this.opts.baseline !== false) await this.ensureDefault();
    // Results arriving together (about one per parallel slot) are taken at once and stored together;
    // there are no more slots than configurations in flight.
    this.results = await this.transport.consumeResults(this.id, (msg) => this.onResult(msg), {
      concurrency: this.exp.exploration.parallel,
      // A connection error is retried by the transport itself (with backoff): the study keeps
      // its state and waits, it never fails the experiment for it.
      onError: (e) => this.onTransportError(e),
    });
    if (this.exp.build) {
      this.lostCheck = setInterval(
        // Its only remote calls are the transport's: a failure is an outage, and the next check retries.
        () => void this.rebuildLost().catch((e: unknown) => this.onTransportError(e instanceof Error ? e : new Error(String(e)))),
        this.opts.lostCheckMs ?? LOST_CHECK_MS,
      );
      this.lostCheck.unref();
    }
    await this.fill();
    try {
      await done;
    } finally {
      clearInterval(this.lostCheck);
      clearInterval(this.transportProbe);
    }
    await this.results?.close();
    this.results = undefined;
    if (this.interrupted) {
      // What no worker has started goes back; what runs is ended by the caller. Both stay in flight
      // in the store, and the next run of the experiment queues them again (resubmitInFlight).
      await this.transport.withdraw(this.id, { pools: [this.exp.pool], workers: this.store.buildWorkers(this.id) });
      this.store.setExperimentState(this.id, 'cancelled');
      return;
    }
    if (this.stoppedBy) {
      // What no worker has started goes back: a later run queues it again.
      await this.transport.withdraw(this.id, { pools: [this.exp.pool], workers: this.store.buildWorkers(this.id) });
      this.store.setExperimentState(this.id, 'failed', this.stoppedBy.message);
      throw this.stoppedBy;
    }
    this.store.setExperimentState(this.id, this.cancelled ? 'cancelled' : 'done');
    this.emit('done');
  }

  private transportDown = false;
  private transportProbe: NodeJS.Timeout | undefined;

  /** Said once per outage; a probe every second says when it is over. */
  private onTransportError(e: Error): void {
    if (this.transportDown) return;
    this.transportDown = true;
    this.emit('transport-error', e);
    this.transportProbe = setInterval(() => {
      void this.transport.health().then((h) => {
        if (!h.ok || !this.transportDown) return;
        this.transportDown = false;
        clearInterval(this.transportProbe);
        this.emit('transport-recovered');
        // A Redis that was killed may have lost its last writes (an append-only file written each
        // second): the work in flight is queued again, which is a no-op for every job it still
        // has, and its tests skip the iterations whose results arrived.
        // Not after a cancel or a stop: their waiting work was taken back on purpose.
        if (this.cancelled || this.stoppedBy) return;
        for (const row of this.inFlight()) this.resumed.add(row.configId);
        void this.resubmitInFlight().catch((e: unknown) => this.onTransportError(e instanceof Error ? e : new Error(String(e))));
      });
    }, 1000);
    this.transportProbe.unref();
  }

  /** Stop asking for new configurations; those in flight still finish. */
  cancel(): void {
    this.cancelled = true;
    for (const w of this.extraWaiting.values()) w.reject(new ExtraCancelledError());
    this.extraWaiting.clear();
    this.checkDone();
  }

  /**
   * Ctrl-C: stop at once, without waiting for the configurations in flight (their jobs are ended by
   * the caller, which closes its worker); they are measured when the experiment is run again.
   */
  interrupt(): void {
    this.interrupted = true;
    this.cancel();
    this.finished?.();
  }

  /** Stop taking results without changing the experiment's state (the daemon shuts down; a restart resumes). */
  async detach(): Promise<void> {
    clearInterval(this.lostCheck);
    clearInterval(this.transportProbe);
    await this.results?.close();
    this.results = undefined;
  }

  /**
   * Measure a finished configuration's tests once more: one extra iteration per test, numbered after
   * its last run and flagged with `purpose`, through the same queue, workers and store as its own
   * runs, but kept out of its aggregate and of what the strategy is told. While run() is under way
   * its result stream carries them (and run() waits for them before it ends); otherwise a stream is
   * opened here, which detach() closes. Resolves with one result per test, failed ones included (a
   * worker's infrastructure failure too: it is not queued again).
   */
  async measureExtra(configId: string, purpose: ExtraPurpose, opts: { warmup?: boolean } = {}): Promise<RunResult[]> {
    const row = this.store.getConfiguration(this.id, configId);
    if (row?.status !== 'done') throw new Error(`configuration ${configId.slice(0, 12)} has not been measured successfully: nothing to measure again`);
    if (this.cancelled) throw new ExtraCancelledError();
    this.extraCalls++;
    try {
      this.results ??= await this.transport.consumeResults(this.id, (msg) => this.onResult(msg), {
        concurrency: this.exp.exploration.parallel,
        onError: (e) => this.onTransportError(e),
      });
      const builtBy = this.exp.build ? await this.builtOn(row) : undefined;
      const runs = this.store.runs(this.id, configId);
      const waits = this.exp.tests.map((test) => {
        const iteration = runs.filter((r) => r.test === test.name).reduce((m, r) => Math.max(m, r.iteration + 1), 0);
        const back = new Promise<RunResult>((resolve, reject) => this.extraWaiting.set(extraKey(configId, test.name, iteration), { resolve, reject }));
        return { test, iteration, back };
      });
      // Handled from the start: cancel() may reject them while the work is being queued.
      const back = Promise.all(waits.map((w) => w.back));
      back.catch(() => undefined);
      for (const { test, iteration } of waits) {
        const job = { ...test, iterations: 1, ...(opts.warmup === false ? { warmup: 0 } : {}) };
        await this.submitTest(row, job, builtBy, { firstIteration: iteration, extra: purpose });
      }
      return await back;
    } finally {
      this.extraCalls--;
      this.checkDone();
    }
  }

  /** An extra run is back (stored, or a worker's failure to run it). */
  private settleExtra(msg: RunResult): void {
    const k = extraKey(msg.configId, msg.test, msg.iteration);
    const w = this.extraWaiting.get(k);
    if (!w) return;
    this.extraWaiting.delete(k);
    w.resolve(msg);
  }

  /**
   * The worker that holds a built configuration's artifacts (its tests run there). When that worker
   * is gone (another host's, lost since), the configuration is built again on a live one.
   */
  private async builtOn(row: ConfigRow): Promise<string | undefined> {
    const b = this.store.getBuild(this.id, row.buildId);
    if (b?.status === 'ok' && b.worker && (await this.transport.isAlive(b.worker))) return b.worker;
    if (b?.worker) {
      const buildRetry = this.store.workRetries(this.id, buildKey(row.buildId)) || undefined;
      const taken = await this.transport.reclaimLost({ experimentId: this.id, worker: b.worker, pool: this.exp.pool, buildId: row.buildId, ...(buildRetry ? { buildRetry } : {}), tests: [] });
      if (!taken) throw new Error(`the build ${row.buildId.slice(0, 12)} is held by ${b.worker}, which is not answering`);
      this.store.forgetBuild(this.id, row.buildId);
    }
    const built = new Promise<BuildResult>((resolve) => {
      const on = (m: BuildResult): void => {
        if (m.buildId !== row.buildId) return;
        this.off('build-finished', on);
        resolve(m);
      };
      this.on('build-finished', on);
    });
    await this.submitBuild(row);
    const m = await built;
    if (m.status !== 'ok') throw new Error(`building ${row.configId.slice(0, 12)} again failed: ${m.error ?? 'build failed'}`);
    return this.store.getBuild(this.id, row.buildId)?.worker;
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
        if (!alive.has(worker)) alive.set(worker, await this.transport.isAlive(worker));
        if (alive.get(worker) || this.cancelled) continue;
        await this.rebuild(buildId, worker, rows);
      }
    } finally {
      this.checkingLost = false;
    }
  }

  private async rebuild(buildId: string, worker: string, rows: ConfigRow[]): Promise<void> {
    // The ids the work was last queued under (a retry after an infrastructure failure is new work).
    const retry = (key: string): number | undefined => this.store.workRetries(this.id, key) || undefined;
    const buildRetry = retry(buildKey(buildId));
    const reclaimed = await this.transport.reclaimLost({
      experimentId: this.id,
      worker,
      pool: this.exp.pool,
      buildId,
      ...(buildRetry ? { buildRetry } : {}),
      tests: rows.flatMap((row) =>
        this.exp.tests.map((t) => {
          const r = retry(testKey(row.configId, t.name));
          const first = this.cheapDue(row, t) ? t.iterations : this.stageOf(row, t)?.[0];
          return { configId: row.configId, test: t.name, ...(r ? { retry: r } : {}), ...(first ? { first } : {}) };
        }),
      ),
    });
    if (!reclaimed) return;
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
      .map((c) => this.told(c))
      .filter((o): o is Observation => o !== undefined);
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
      .filter((r) => r.extra === undefined)
      .map((r) => r.metrics[this.exp.objective.metric])
      .filter((v): v is number => v !== undefined);
    // Stopped early: worse than the best of then; its few iterations say roughly by how much.
    if (c.failure === 'stopped') {
      return { config: c.params, configId: c.configId, status: 'failed', failure: 'stopped', ...(c.stopped ? { below: c.stopped.below } : {}), ...(samples.length > 0 ? { samples } : {}) };
    }
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
    const { config, configId, buildId } = defaultConfiguration(this.exp, this.space);
    if (this.store.getConfiguration(this.id, configId)) return;
    this.store.addConfiguration({ experimentId: this.id, configId, buildId, params: config, isDefault: true, strategy: this.exp.exploration.strategy });
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
        while (!this.cancelled && !this.stoppedBy && !this.strategy.exhausted) {
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
      const { config, configId, buildId } = identify(this.exp, this.space, raw);
      const existing = this.store.getConfiguration(this.id, configId);
      if (existing) {
        // Measured already: told now. In flight (the baseline): told when it finishes.
        const told = this.told(existing);
        if (told) this.strategy.tell([told]);
        continue;
      }
      this.store.addConfiguration({ experimentId: this.id, configId, buildId, params: config, isDefault: false, strategy: this.strategy.name });
      rows.push(this.store.getConfiguration(this.id, configId) as ConfigRow);
    }
    return rows;
  }

  private checkDone(): void {
    if (this.stoppedBy) {
      this.finished?.();
      return;
    }
    if (this.inFlightCount() > 0 || this.extraCalls > 0) return;
    if (this.cancelled || this.strategy?.exhausted) this.finished?.();
  }

  private async submit(row: ConfigRow): Promise<void> {
    if (row.effectiveId === undefined && this.opts.resolveDir !== undefined && earlyResolution(this.exp) === undefined) {
      const resolved = await this.resolve(row);
      if (!resolved) return;
      row = resolved;
    }
    if (this.exp.build) {
      const b = this.store.getBuild(this.id, row.buildId);
      if (!b) {
        const waiting = this.waitingOnBuild.get(row.buildId) ?? [];
        if (!waiting.includes(row.configId)) waiting.push(row.configId);
        this.waitingOnBuild.set(row.buildId, waiting);
        await this.submitBuild(row);
        return;
      }
      if (b.status !== 'ok') {
        this.finishFailed(row.configId, 'build', b.error ?? 'build failed');
        return;
      }
      // Built before (shared with a configuration that differs only in its tests, or before a resume).
      const adopted = this.adoptBuilt(row, b);
      if (adopted) await this.submitTests(adopted, b.worker);
      return;
    }
    await this.submitTests(row);
  }

  /**
   * Resolve a configuration's Kconfig symbols with the target's tool, before its build is queued
   * (see src/targets/effective.ts for why here). Its effective configuration becomes its identity:
   * when another configuration holds it already, this one is recorded as that one's duplicate and
   * nothing of it is built or measured (undefined is returned); the strategy is told it is the
   * same point, with that one's outcome, once there is one. Otherwise the row is returned with its
   * effective identity and the build it shares with configurations that resolve alike.
   */
  private async resolve(row: ConfigRow): Promise<ConfigRow | undefined> {
    const key = resolutionKey(this.exp, row.params);
    let pending = this.resolutions.get(key);
    if (!pending) {
      // One at a time, in one folder: what the tool builds for itself there the first time (Unikraft's
      // make builds its Kconfig program, which took 24 s here against 11 s when reused) is reused.
      const dir = this.opts.resolveDir as string;
      // A resolver that cannot even be started here is a resolution that failed, not the study's end.
      pending = this.resolvingDone
        .then(() => resolveEffective(this.exp, row.params, dir))
        .catch((e: unknown) => ({ error: e instanceof Error ? e.message : String(e) }));
      this.resolvingDone = pending;
      this.resolutions.set(key, pending);
    }
    const r = await pending;
    const current = this.store.getConfiguration(this.id, row.configId);
    if (current?.status !== 'running') return undefined;
    if ('error' in r) {
      this.emit('resolution-failed', current, r.error);
      return current;
    }
    return this.adopt(current, effectiveIdentity(this.exp, current.params, r));
  }

  /**
   * A running configuration takes its effective identity: when another configuration holds it
   * already, this one is recorded as that one's duplicate and undefined is returned (nothing more of
   * it is built or measured); otherwise its row with the identity.
   */
  private adopt(current: ConfigRow, identity: EffectiveIdentity): ConfigRow | undefined {
    const original = this.store.findEffective(this.id, identity.effectiveId);
    if (original && original.configId !== current.configId) {
      let dup: ConfigRow | undefined;
      this.store.transaction(() => {
        this.store.markDuplicate(this.id, current.configId, original.configId, identity);
        dup = this.store.getConfiguration(this.id, current.configId) as ConfigRow;
        // Measured already: told now. Being measured: told with it (completeIfMeasured, finishFailed).
        if (this.strategy && (original.status === 'done' || original.status === 'failed')) {
          this.strategy.tell([this.duplicateObservation(dup, original)]);
          this.saveState();
        }
      });
      this.emit('config-duplicate', dup as ConfigRow, original);
      this.checkDone();
      return undefined;
    }
    this.store.setEffective(this.id, current.configId, identity);
    const updated = this.store.getConfiguration(this.id, current.configId) as ConfigRow;
    this.emit('config-resolved', updated);
    return updated;
  }

  /**
   * A configuration not resolved before its build (the tree is on the workers' hosts only, or the
   * build copies its source): what its build resolved decides its identity now. Built already,
   * but a duplicate need not be measured, and the strategy learns that it is the same point.
   * Undefined when it is a duplicate; the row (with its identity) otherwise.
   */
  private adoptBuilt(row: ConfigRow, build: BuildRow): ConfigRow | undefined {
    if (row.effectiveId !== undefined || !build.resolution) return row;
    return this.adopt(row, { ...identityOf(this.exp, row.params, build.resolution), buildId: row.buildId });
  }

  /** A duplicate as the strategy is told it: its own configuration, the outcome of the one it duplicates. */
  private duplicateObservation(dup: ConfigRow, original: ConfigRow): Observation {
    return { ...this.observation(original), config: dup.params, configId: dup.configId, duplicateOf: original.configId };
  }

  /** Inside a transaction: a configuration has its outcome; its duplicates are told theirs (the same). */
  private tellDuplicates(original: ConfigRow): void {
    const dups = this.store.duplicatesOf(this.id, original.configId);
    if (dups.length > 0) this.strategy.tell(dups.map((d) => this.duplicateObservation(d, original)));
  }

  /** What the strategy is told of a finished configuration (a duplicate: once the one it duplicates has finished). */
  private told(c: ConfigRow): Observation | undefined {
    if (c.status === 'done' || c.status === 'failed') return this.observation(c);
    if (c.status !== 'duplicate' || c.duplicateOf === undefined) return undefined;
    const original = this.store.getConfiguration(this.id, c.duplicateOf);
    return original && (original.status === 'done' || original.status === 'failed') ? this.duplicateObservation(c, original) : undefined;
  }

  /** The build of a configuration (the same for every configuration with its build parameters). */
  private async submitBuild(row: ConfigRow): Promise<void> {
    const build = this.exp.build as JobSpec;
    const buildParams = this.exp.params.filter((p) => p.when === 'build');
    const retry = this.store.workRetries(this.id, buildKey(row.buildId));
    await this.transport.submitBuild(
      {
        kind: 'build', experimentId: this.id, buildId: row.buildId, job: build, env: paramEnv(buildParams, row.params), experimentDir: this.exp.dir,
        params: buildParams,
        host: this.exp.host,
        ...(retry > 0 ? { retry } : {}),
      },
      this.exp.pool,
    );
  }

  /** A built configuration's tests go to the worker that built it; others to any worker of the pool. */
  private async submitTests(row: ConfigRow, builtBy?: string): Promise<void> {
    for (const test of this.exp.tests) await this.submitStage(row, test, builtBy);
  }

  /** Whether a configuration's iterations are measured in stages, with a look after each (see early-stop.ts). */
  private staged(row: ConfigRow): boolean {
    return this.opts.earlyStop !== false && !this.opts.configs && !row.isDefault && this.exp.tests.length === 1 && (this.exp.tests[0]?.iterations ?? 0) >= 2;
  }

  /** Its own iterations of one test that are stored. */
  private measuredOf(configId: string, test: string): number {
    return this.store.runs(this.id, configId).filter((r) => r.extra === undefined && r.test === test).length;
  }

  /** The stage of a staged test that comes next, as [first, end); the whole test otherwise. */
  private stageOf(row: ConfigRow, test: JobSpec): [number, number] | undefined {
    if (!this.staged(row)) return [0, test.iterations];
    return stageAt(test.iterations, this.measuredOf(row.configId, test.name));
  }

  /**
   * Queue the stage of a test that comes next. A later stage runs no warm-up (the first one had
   * it) and is work of its own (its first iteration is part of its id); one queued again after a
   * kill part-way through keeps its id, and its worker skips the iterations that are in.
   */
  private async submitStage(row: ConfigRow, test: JobSpec, builtBy?: string): Promise<void> {
    if (this.cheapDue(row, test)) {
      await this.submitCheap(row, test, builtBy);
      return;
    }
    const stage = this.stageOf(row, test);
    if (!stage) return;
    const [first, end] = stage;
    if (first === 0 && end === test.iterations) {
      await this.submitTest(row, test, builtBy);
      return;
    }
    const partly = this.measuredOf(row.configId, test.name) > first;
    const job = { ...test, iterations: end - first, ...(first > 0 ? { warmup: 0 } : {}) };
    await this.submitTest(row, job, builtBy, { ...(first > 0 ? { firstIteration: first } : {}), ...(partly ? { resumed: true } : {}) });
  }

  private async submitTest(row: ConfigRow, test: JobSpec, builtBy?: string, extra: Pick<TestWork, 'firstIteration' | 'extra' | 'resumed'> = {}): Promise<void> {
    // The fidelity variable is set on every run of the test: its full value unless this is a cheap look.
    const f = test.fidelity;
    const fidelityEnv = f ? { [f.env]: extra.extra === 'cheap-look' ? f.cheap : f.full } : {};
    const route = { pool: this.exp.pool, ...(builtBy ? { worker: builtBy } : {}) };
    const retry = this.store.workRetries(this.id, testKey(row.configId, test.name));
    await this.transport.submitTest({
      kind: 'test',
      experimentId: this.id,
      configId: row.configId,
      buildId: row.buildId,
      hasBuild: this.exp.build !== undefined,
      buildOutputs: this.exp.build?.outputs ?? [],
      job: test,
      env: { ...paramEnv(this.exp.params, row.params), ...fidelityEnv },
      metrics: this.exp.metrics,
      experimentDir: this.exp.dir,
      host: this.exp.host,
      // Taken back from a lost worker, or queued again after a failure part-way: some iterations may be measured.
      ...(this.resumed.has(row.configId) || retry > 0 ? { resumed: true } : {}),
      ...(retry > 0 ? { retry } : {}),
      ...extra,
    }, route);
  }

  /**
   * A result's queue job completes only once the result is on disk. Run results that arrive while
   * others are being stored wait and are stored together: one transaction. The next configurations
   * are asked for and queued before the flush to disk, which runs on a worker thread and is shared
   * by the results stored meanwhile; only the acknowledgement waits for it.
   */
  private onResult(msg: ResultMessage): Promise<void> {
    if (msg.experimentId !== this.id) return Promise.resolve();
    if (msg.kind === 'run' && msg.extra && msg.extra !== 'cheap-look' && msg.status === 'failed' && msg.failure === 'infra') {
      this.settleExtra(msg);
      return Promise.resolve();
    }
    if (msg.status === 'failed' && msg.failure === 'infra') return this.onInfra(msg);
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
      /** Configurations whose look let them go on: their next stage is queued after the transaction. */
      const goOn: { row: ConfigRow; test: JobSpec }[] = [];
      // One transaction for the results, what they tell the strategy, what it asks next and its state.
      this.store.lazyTransaction(() => {
        for (const { msg } of batch) {
          if (!this.store.recordRun(msg)) continue;
          fresh.push(msg);
          if (msg.extra === 'cheap-look') {
            const look = this.cheapLook(msg.configId, msg.test);
            if (look?.stopped) finished.push(look.row);
            else if (look) goOn.push({ row: look.row, test: look.test });
            continue;
          }
          if (msg.extra) continue;
          const row = this.completeIfMeasured(msg.configId, false);
          if (row) finished.push(row);
          else {
            const look = this.look(msg.configId, msg.test);
            if (look?.stopped) finished.push(look.row);
            else if (look) goOn.push({ row: look.row, test: look.test });
          }
        }
        if (finished.length === 0) return;
        if (this.strategy && !this.filling && !this.cancelled && !this.stoppedBy && !this.strategy.exhausted) {
          const free = this.exp.exploration.parallel - this.inFlightCount();
          if (free > 0) queued = this.recordAsked(this.strategy.ask(free));
        }
        this.saveState();
      });
      for (const r of fresh) this.emit('run-finished', r);
      for (const r of fresh) if (r.extra) this.settleExtra(r);
      for (const r of finished) this.emit('config-finished', r);
      for (const { row, test } of goOn) await this.submitStage(row, test, this.exp.build ? this.store.getBuild(this.id, row.buildId)?.worker : undefined);
      for (const row of queued) {
        this.emit('config-queued', row);
        await this.submit(row);
      }
      if (this.strategy) await this.fill();
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
      let row = this.store.getConfiguration(this.id, configId);
      if (!row || row.status !== 'running') continue;
      if (this.cancelled) this.finishFailed(configId, 'cancelled', 'experiment cancelled before this configuration was tested');
      else if (b?.status === 'ok') {
        row = this.adoptBuilt(row, b);
        if (!row) continue;
        await this.submitTests(row, b.worker);
      } else this.finishFailed(configId, 'build', b?.error ?? 'build failed');
    }
    await this.fill();
  }

  /**
   * Inside a transaction, when a stage of a staged configuration is in: stop it if its iterations
   * so far are below the best's by the early-stopping test (it is finished, and the strategy told,
   * here), else say its next stage is due. Undefined when no stage ended (or it is not staged).
   */
  private look(configId: string, testName: string): { row: ConfigRow; test: JobSpec; stopped: boolean } | undefined {
    const row = this.store.getConfiguration(this.id, configId);
    const test = this.exp.tests.find((t) => t.name === testName);
    if (!row || row.status !== 'running' || !test || !this.staged(row)) return undefined;
    const runs = this.store.runs(this.id, configId).filter((r) => r.extra === undefined && r.test === testName);
    const looks = looksFor(test.iterations);
    if (!looks.includes(runs.length) || runs.some((r) => r.status === 'failed')) return undefined;
    const best = this.incumbent();
    if (!best || this.cancelled || this.stoppedBy) return { row, test, stopped: false };
    const metric = this.exp.objective.metric;
    const candidate = runs.map((r) => r.metrics[metric]).filter((v): v is number => v !== undefined && Number.isFinite(v));
    const verdict = shouldStop({
      candidate,
      incumbent: best.samples,
      noise: this.noise,
      direction: this.exp.objective.direction,
      looks: looks.length + (this.cheapStaged(row) ? 1 : 0),
      ...(this.opts.earlyStopAlpha !== undefined ? { alpha: this.opts.earlyStopAlpha } : {}),
    });
    if (!verdict.stop) return { row, test, stopped: false };
    const stopped = { after: runs.length, of: test.iterations, p: verdict.p, level: verdict.level, best: best.row.configId, below: best.row.objective as number };
    this.store.finishConfiguration(this.id, configId, {
      status: 'failed',
      failure: 'stopped',
      error: `${describeStop(stopped)} (${best.row.configId.slice(0, 12)})`,
      summary: aggregateRuns(runs, this.exp.objective).summary,
      stopped,
    });
    const done = this.store.getConfiguration(this.id, configId) as ConfigRow;
    this.strategy.tell([this.observation(done)]);
    return { row: done, test, stopped: true };
  }

  /** Whether a configuration's test gets a cheap look before its full measurement (the default's too: it is never stopped, but its cheap samples make it an incumbent). */
  private cheapStaged(row: ConfigRow): boolean {
    const test = this.exp.tests[0];
    return this.opts.fidelity !== false && !this.opts.configs && this.exp.tests.length === 1 && test?.fidelity !== undefined && row.status !== 'duplicate';
  }

  /** A configuration's cheap-look runs of one test. */
  private cheapRuns(configId: string, test: string): StoredRun[] {
    return this.store.runs(this.id, configId).filter((r) => r.extra === 'cheap-look' && r.test === test);
  }

  /** Its cheap look is still to be measured: none of its full iterations is in, its cheap ones are not all in, none failed. */
  private cheapDue(row: ConfigRow, test: JobSpec): boolean {
    if (!this.cheapStaged(row) || !test.fidelity || this.measuredOf(row.configId, test.name) > 0) return false;
    const cheap = this.cheapRuns(row.configId, test.name);
    return cheap.length < test.fidelity.iterations && !cheap.some((r) => r.status === 'failed');
  }

  /** Queue a configuration's cheap look: numbered after the test's own iterations, kept out of its aggregate. */
  private async submitCheap(row: ConfigRow, test: JobSpec, builtBy?: string): Promise<void> {
    const f = test.fidelity as NonNullable<JobSpec['fidelity']>;
    const partly = this.cheapRuns(row.configId, test.name).length > 0;
    const job = { ...test, iterations: f.iterations };
    await this.submitTest(row, job, builtBy, { firstIteration: test.iterations, extra: 'cheap-look', ...(partly ? { resumed: true } : {}) });
  }

  /**
   * Inside a transaction, when a configuration's cheap look is in: stop it if its cheap iterations
   * are below the incumbent's cheap iterations by the early-stopping test, on the variance pooled
   * over every configuration's cheap looks (the incumbent: the best fully measured configuration
   * that had a cheap look; every configuration measured with the fidelity on had one, the default
   * included). Its Bonferroni share is one look of the 1 + full looks it gets, so its false-stop
   * rate and the full looks' add up to alpha. A cheap run that failed decides nothing: the full
   * measurement follows. Undefined while its cheap iterations are not all in.
   */
  private cheapLook(configId: string, testName: string): { row: ConfigRow; test: JobSpec; stopped: boolean } | undefined {
    const row = this.store.getConfiguration(this.id, configId);
    const test = this.exp.tests.find((t) => t.name === testName);
    if (!row || row.status !== 'running' || !test?.fidelity || !this.cheapStaged(row)) return undefined;
    const runs = this.cheapRuns(configId, testName);
    const failed = runs.some((r) => r.status === 'failed');
    if (!failed && runs.length < test.fidelity.iterations) return undefined;
    const goOn = { row, test, stopped: false };
    const metric = this.exp.objective.metric;
    const valuesOf = (rs: StoredRun[]): number[] =>
      rs.filter((r) => r.status === 'ok').map((r) => r.metrics[metric]).filter((v): v is number => v !== undefined && Number.isFinite(v));
    const sign = this.exp.objective.direction === 'maximize' ? 1 : -1;
    let best: { row: ConfigRow; samples: number[] } | undefined;
    for (const c of this.store.configurations(this.id)) {
      if (this.cheapPooled.has(c.configId)) {
        if (c.status !== 'done' || c.objective === undefined) continue;
      }
      const samples = valuesOf(this.cheapRuns(c.configId, testName));
      if (!this.cheapPooled.has(c.configId) && samples.length >= test.fidelity.iterations) {
        this.cheapPooled.add(c.configId);
        this.cheapNoise.add(samples);
      }
      if (c.status !== 'done' || c.objective === undefined || samples.length === 0) continue;
      if (!best || sign * c.objective > sign * (best.row.objective as number)) best = { row: c, samples };
    }
    if (failed || row.isDefault || !best || this.cancelled || this.stoppedBy) return goOn;
    const full = this.staged(row) ? looksFor(test.iterations).length : 0;
    const verdict = shouldStop({
      candidate: valuesOf(runs),
      incumbent: best.samples,
      noise: this.cheapNoise,
      direction: this.exp.objective.direction,
      looks: 1 + full,
      ...(this.opts.earlyStopAlpha !== undefined ? { alpha: this.opts.earlyStopAlpha } : {}),
    });
    if (!verdict.stop) return goOn;
    const stopped = {
      after: runs.length, of: test.iterations, p: verdict.p, level: verdict.level, best: best.row.configId, below: best.row.objective as number,
      fidelity: { env: test.fidelity.env, value: test.fidelity.cheap },
    };
    // No summary: its cheap iterations are not measurements of the objective at full fidelity.
    this.store.finishConfiguration(this.id, configId, { status: 'failed', failure: 'stopped', error: `${describeStop(stopped)} (${best.row.configId.slice(0, 12)})`, stopped });
    const done = this.store.getConfiguration(this.id, configId) as ConfigRow;
    this.strategy.tell([this.observation(done)]);
    return { row: done, test, stopped: true };
  }

  /** The best fully measured configuration and its samples; the pooled noise brought up to date on the way. */
  private incumbent(): { row: ConfigRow; samples: number[] } | undefined {
    const metric = this.exp.objective.metric;
    const samplesOf = (configId: string): number[] =>
      this.store
        .runs(this.id, configId)
        .filter((r) => r.extra === undefined && r.status === 'ok')
        .map((r) => r.metrics[metric])
        .filter((v): v is number => v !== undefined && Number.isFinite(v));
    const sign = this.exp.objective.direction === 'maximize' ? 1 : -1;
    let best: ConfigRow | undefined;
    for (const c of this.store.configurations(this.id, 'done')) {
      if (!this.pooled.has(c.configId)) {
        this.pooled.add(c.configId);
        this.noise.add(samplesOf(c.configId));
      }
      if (c.objective === undefined) continue;
      if (!best || sign * c.objective > sign * (best.objective as number)) best = c;
    }
    return best ? { row: best, samples: samplesOf(best.configId) } : undefined;
  }

  /**
   * Inside a transaction: when every run of a configuration is in, aggregate it and tell the
   * strategy (and save its state, unless the caller saves it later in the same transaction).
   */
  private completeIfMeasured(configId: string, saveState = true): ConfigRow | undefined {
    const row = this.store.getConfiguration(this.id, configId);
    if (!row || row.status !== 'running') return undefined;
    const runs = this.store.runs(this.id, configId).filter((r) => r.extra === undefined);
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
    this.tellDuplicates(done);
    if (saveState) this.saveState();
    return done;
  }

  /**
   * A worker could not run a build or a test. That says nothing about the configuration, so it is
   * neither stored as a run nor told to the strategy, and costs no budget: the work is queued again
   * (as new work: its retry is part of its identity), up to `infraRetries` times in this run; then
   * the experiment stops with the reason. A failure of work queued again since is old news.
   */
  private async onInfra(msg: ResultMessage): Promise<void> {
    if (this.stoppedBy) return;
    const key = msg.kind === 'build' ? buildKey(msg.buildId) : testKey(msg.configId, msg.test);
    if ((msg.retry ?? 0) < this.store.workRetries(this.id, key)) return;
    const rows = msg.kind === 'build'
      ? (this.store.getBuild(this.id, msg.buildId) ? [] : this.inFlight().filter((r) => r.buildId === msg.buildId))
      : [this.store.getConfiguration(this.id, msg.configId)].filter((r): r is ConfigRow => r?.status === 'running');
    const first = rows[0];
    if (!first) return;
    const host = msg.kind === 'build' ? msg.host : msg.placement.host;
    const error = msg.error ?? 'the worker could not run the job';
    const what: Omit<WorkRetried, 'retry'> = msg.kind === 'build'
      ? { work: 'build', buildId: msg.buildId, host, error }
      : { work: 'test', configId: msg.configId, test: msg.test, host, error };
    if (this.cancelled) {
      for (const r of rows) this.finishFailed(r.configId, 'cancelled', 'experiment cancelled before this configuration was measured');
      this.checkDone();
      return;
    }
    const seen = (this.infraSeen.get(key) ?? 0) + 1;
    this.infraSeen.set(key, seen);
    const limit = this.opts.infraRetries ?? INFRA_RETRIES;
    // Counted also when given up: the work that failed keeps its id in the transport, so a later
    // run must queue it as new work.
    const retry = this.store.addWorkRetry(this.id, key);
    if (seen > limit) {
      const job = msg.kind === 'build' ? `the build ${msg.buildId.slice(0, 12)}` : `the test "${msg.test}" of configuration ${msg.configId.slice(0, 12)}`;
      this.emit('work-retried', what);
      this.stoppedBy = new InfrastructureError(
        `experiment ${this.id} stopped: the workers could not run ${job} (${seen} times${limit > 0 ? `, ${limit} of them queued again` : ''}); last on ${host}: ${error}. ` +
          'Nothing was counted against the configuration; fix the host and run again to resume.',
      );
      this.checkDone();
      return;
    }
    this.emit('work-retried', { ...what, retry });
    if (msg.kind === 'build') {
      await this.submitBuild(first);
      return;
    }
    const test = this.exp.tests.find((t) => t.name === msg.test);
    if (!test) return;
    await this.submitStage(first, test, this.exp.build ? this.store.getBuild(this.id, first.buildId)?.worker : undefined);
  }

  private finishFailed(configId: string, failure: Failure, error: string): void {
    let row: ConfigRow | undefined;
    this.store.transaction(() => {
      const current = this.store.getConfiguration(this.id, configId);
      if (!current || current.status !== 'running') return;
      this.store.finishConfiguration(this.id, configId, { status: 'failed', failure, error });
      row = this.store.getConfiguration(this.id, configId) as ConfigRow;
      this.strategy.tell([this.observation(row)]);
      this.tellDuplicates(row);
      this.saveState();
    });
    if (row) this.emit('config-finished', row);
  }
}
