// A results store in memory, for fast tests of the study loop: the same promises as the SQLite
// Store (a repeated run or build result stored once, a transaction all or nothing) without a file.
// Kept across Study objects it stands for the disk: a second study on it resumes the first.

import type { BuildResult, RunResult } from '../wire.js';
import type {
  BuildRow,
  ConfigRow,
  ConfigStatus,
  ConfigurationOutcome,
  EffectiveIdentity,
  ExperimentRow,
  ExperimentState,
  NewConfiguration,
  NewExperiment,
  ResultsStore,
  SavedStrategyState,
  StoredComparison,
  StoredRun,
} from './results-store.js';

interface Tables {
  experiments: Map<string, ExperimentRow>;
  configurations: Map<string, ConfigRow>;
  builds: Map<string, BuildRow & { experimentId: string }>;
  runs: Map<string, StoredRun & { experimentId: string }>;
  states: Map<string, { json: string; seen: string[] }>;
  retries: Map<string, number>;
  /** Per experiment, its confirmations' verdicts in order. */
  comparisons: Map<string, StoredComparison[]>;
}

const key = (...parts: (string | number)[]): string => JSON.stringify(parts);

export class MemoryStore implements ResultsStore {
  private t: Tables = {
    experiments: new Map(),
    configurations: new Map(),
    builds: new Map(),
    runs: new Map(),
    states: new Map(),
    retries: new Map(),
    comparisons: new Map(),
  };
  /** How many times flush() was called (tests check that acknowledgements waited for one). */
  flushes = 0;

  upsertExperiment(e: NewExperiment): ExperimentRow {
    const now = Date.now();
    const current = this.t.experiments.get(e.id);
    const row: ExperimentRow = current
      ? { ...current, file: e.file, text: e.text, hash: e.hash, strategy: e.strategy, updatedAt: now, ...(e.host !== undefined ? { host: e.host } : {}) }
      : { ...e, state: 'created', createdAt: now, updatedAt: now };
    if (current && e.host === undefined) delete row.host;
    this.t.experiments.set(e.id, row);
    return clone(row);
  }

  getExperiment(id: string): ExperimentRow | undefined {
    const r = this.t.experiments.get(id);
    return r ? clone(r) : undefined;
  }

  findExperiment(ref: string): ExperimentRow | undefined {
    const exact = this.getExperiment(ref);
    if (exact) return exact;
    const rows = [...this.t.experiments.values()].filter((e) => e.id.startsWith(ref) || e.name === ref).sort((a, b) => b.updatedAt - a.updatedAt);
    return rows[0] ? clone(rows[0]) : undefined;
  }

  setExperimentState(id: string, state: ExperimentState, error?: string): void {
    const r = this.t.experiments.get(id);
    if (!r) return;
    const next: ExperimentRow = { ...r, state, updatedAt: Date.now() };
    delete next.error;
    if (state === 'failed' && error !== undefined) next.error = error;
    this.t.experiments.set(id, next);
  }

  strategyState(id: string): SavedStrategyState | undefined {
    const s = this.t.states.get(id);
    return s ? { ...(JSON.parse(s.json) as Record<string, unknown>), seen: [...s.seen] } : undefined;
  }

  saveStrategyState(id: string, state: { seen: readonly string[] }, savedSeen = -1): void {
    this.transaction(() => {
      const { seen, ...rest } = state;
      const current = this.t.states.get(id);
      // As the SQLite store: the first `savedSeen` are taken as written, only the rest are added.
      let from = savedSeen;
      let list = [...(current?.seen ?? [])];
      if (from < 0 || from > seen.length) {
        list = [];
        from = 0;
      }
      for (let i = from; i < seen.length; i++) if (!list.includes(seen[i] as string)) list.push(seen[i] as string);
      this.t.states.set(id, { json: JSON.stringify(rest), seen: list });
    });
  }

  addConfiguration(c: NewConfiguration): void {
    const k = key(c.experimentId, c.configId);
    if (this.t.configurations.has(k)) return;
    const seq = [...this.t.configurations.values()].filter((r) => r.experimentId === c.experimentId).reduce((n, r) => Math.max(n, r.seq + 1), 0);
    this.t.configurations.set(k, {
      experimentId: c.experimentId,
      configId: c.configId,
      buildId: c.buildId,
      seq,
      params: { ...c.params },
      isDefault: c.isDefault,
      ...(c.strategy ? { strategy: c.strategy } : {}),
      status: 'running',
      createdAt: Date.now(),
    });
  }

  countConfigurations(experimentId: string, status: ConfigStatus): number {
    let n = 0;
    for (const r of this.t.configurations.values()) if (r.experimentId === experimentId && r.status === status) n++;
    return n;
  }

  configurations(experimentId: string, status?: ConfigStatus): ConfigRow[] {
    return [...this.t.configurations.values()]
      .filter((r) => r.experimentId === experimentId && (status === undefined || r.status === status))
      .sort((a, b) => a.seq - b.seq)
      .map(clone);
  }

  getConfiguration(experimentId: string, configId: string): ConfigRow | undefined {
    const r = this.t.configurations.get(key(experimentId, configId));
    return r ? clone(r) : undefined;
  }

  finishConfiguration(experimentId: string, configId: string, f: ConfigurationOutcome): void {
    const k = key(experimentId, configId);
    const r = this.t.configurations.get(k);
    if (!r) return;
    const { failure: _f, error: _e, objective: _o, summary: _s, stopped: _st, ...rest } = r;
    this.t.configurations.set(k, {
      ...rest,
      status: f.status,
      ...(f.objective !== undefined ? { objective: f.objective } : {}),
      ...(f.summary ? { summary: clone(f.summary) } : {}),
      ...(f.failure ? { failure: f.failure } : {}),
      ...(f.error ? { error: f.error } : {}),
      ...(f.stopped ? { stopped: { ...f.stopped } } : {}),
      finishedAt: Date.now(),
    });
  }

  setEffective(experimentId: string, configId: string, e: EffectiveIdentity): void {
    const r = this.t.configurations.get(key(experimentId, configId));
    if (r) this.t.configurations.set(key(experimentId, configId), { ...r, effectiveId: e.effectiveId, buildId: e.buildId, resolution: clone(e.resolution) });
  }

  markDuplicate(experimentId: string, configId: string, of: string, e: EffectiveIdentity): void {
    const r = this.t.configurations.get(key(experimentId, configId));
    if (!r) return;
    this.t.configurations.set(key(experimentId, configId), {
      ...r, status: 'duplicate', duplicateOf: of, effectiveId: e.effectiveId, buildId: e.buildId, resolution: clone(e.resolution), finishedAt: Date.now(),
    });
  }

  findEffective(experimentId: string, effectiveId: string): ConfigRow | undefined {
    return this.configurations(experimentId).find((r) => r.effectiveId === effectiveId && r.status !== 'duplicate');
  }

  duplicatesOf(experimentId: string, configId: string): ConfigRow[] {
    return this.configurations(experimentId).filter((r) => r.duplicateOf === configId);
  }

  recordBuild(r: BuildResult): boolean {
    const k = key(r.experimentId, r.buildId);
    if (this.t.builds.has(k)) return false;
    this.t.builds.set(k, {
      experimentId: r.experimentId,
      status: r.status,
      ...(r.error ? { error: r.error } : {}),
      durationMs: r.durationMs,
      ...(r.worker ? { worker: r.worker } : {}),
      ...(r.resolution ? { resolution: r.resolution } : {}),
    });
    return true;
  }

  getBuild(experimentId: string, buildId: string): BuildRow | undefined {
    const r = this.t.builds.get(key(experimentId, buildId));
    if (!r) return undefined;
    const { experimentId: _, ...row } = r;
    return { ...row };
  }

  forgetBuild(experimentId: string, buildId: string): void {
    this.t.builds.delete(key(experimentId, buildId));
  }

  buildWorkers(experimentId: string): string[] {
    return [...new Set([...this.t.builds.values()].filter((b) => b.experimentId === experimentId && b.worker).map((b) => b.worker as string))];
  }

  recordRun(r: RunResult): boolean {
    const k = key(r.experimentId, r.configId, r.test, r.iteration);
    if (this.t.runs.has(k)) return false;
    this.t.runs.set(k, {
      experimentId: r.experimentId,
      configId: r.configId,
      test: r.test,
      iteration: r.iteration,
      status: r.status,
      ...(r.failure ? { failure: r.failure } : {}),
      ...(r.error ? { error: r.error } : {}),
      metrics: { ...r.metrics },
      durationMs: r.durationMs,
      host: r.placement.host,
      placement: clone(r.placement),
      startedAt: r.startedAt,
      ...(r.extra ? { extra: r.extra } : {}),
    });
    return true;
  }

  runs(experimentId: string, configId?: string): StoredRun[] {
    return [...this.t.runs.values()]
      .filter((r) => r.experimentId === experimentId && (configId === undefined || r.configId === configId))
      .sort((a, b) => cmp(a.configId, b.configId) || cmp(a.test, b.test) || a.iteration - b.iteration)
      .map(({ experimentId: _, ...r }) => clone(r));
  }

  recordComparison(experimentId: string, c: StoredComparison): void {
    this.t.comparisons.set(experimentId, [...(this.t.comparisons.get(experimentId) ?? []), clone(c)]);
  }

  lastComparison(experimentId: string): StoredComparison | undefined {
    const last = this.t.comparisons.get(experimentId)?.at(-1);
    return last && clone(last);
  }

  workRetries(experimentId: string, k: string): number {
    return this.t.retries.get(key(experimentId, k)) ?? 0;
  }

  addWorkRetry(experimentId: string, k: string): number {
    const n = this.workRetries(experimentId, k) + 1;
    this.t.retries.set(key(experimentId, k), n);
    return n;
  }

  /** A nested call is a savepoint, as in SQLite: its failure undoes only its own writes. */
  transaction<T>(fn: () => T): T {
    const saved = this.snapshot();
    try {
      return fn();
    } catch (e) {
      this.t = saved;
      throw e;
    }
  }

  lazyTransaction<T>(fn: () => T): T {
    return this.transaction(fn);
  }

  /** Nothing to make durable; it still yields, as the real flush does, so callers meet the same ordering. */
  async flush(): Promise<void> {
    this.flushes++;
    await new Promise<void>((r) => setImmediate(r));
  }

  private snapshot(): Tables {
    return {
      experiments: new Map(this.t.experiments),
      configurations: new Map(this.t.configurations),
      builds: new Map(this.t.builds),
      runs: new Map(this.t.runs),
      states: new Map(this.t.states),
      retries: new Map(this.t.retries),
      comparisons: new Map(this.t.comparisons),
    };
  }
}

/** Rows are never shared with a caller: what it changes is not the store's. */
function clone<T>(v: T): T {
  return structuredClone(v);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
