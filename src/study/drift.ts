// Watching the default during a long run. Every result is compared with the default measured at the
// start; if the host slows down or speeds up meanwhile (another tenant, thermal limits, a noisy
// neighbour), later configurations look worse or better than they are. So every `every` finished
// configurations, once at least `minGapMs` (5 minutes) has passed since the default was last
// measured (drift takes time: a short run has none to speak of), the default is measured once more (an extra run flagged 'drift-check'), and a
// change is reported when the new value is both outside the range of the default's own runs and
// more than `threshold` (10%) away from their median: one noisy run inside the old spread is not
// drift. The confirmation at the end measures best and default interleaved, which drift cannot bias.

import type { ConfigRow, ResultsStore } from '../store/results-store.js';
import { median } from 'simple-statistics';
import { objectiveOf } from './confirm.js';
import type { Study } from './study.js';

/** Relative change of the default beyond which (and beyond its own runs' range) it has drifted. */
export const DRIFT_THRESHOLD = 0.1;
/** The default is measured again at most this often (WAYFINDER_DRIFT_MIN_GAP_MS changes it, for tests and short experiments). */
export const DRIFT_MIN_GAP_MS = 5 * 60_000;

/** The least time between two measurements of the default: WAYFINDER_DRIFT_MIN_GAP_MS when it is a whole number, else 5 minutes. */
export function driftMinGapMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.WAYFINDER_DRIFT_MIN_GAP_MS;
  return v !== undefined && /^\d+$/.test(v.trim()) ? Number(v) : DRIFT_MIN_GAP_MS;
}

export interface DriftCheck {
  /** Finished configurations when the check was made. */
  after: number;
  /** The median of the default's own runs. */
  was: number;
  /** What it measures now (undefined: the run failed). */
  now?: number;
  /** now / was - 1. */
  change?: number;
  drifted: boolean;
}

/** Whether `now` says the default has drifted from its own runs `own`. */
export function judgeDrift(own: number[], now: number, threshold = DRIFT_THRESHOLD): { was: number; change: number; drifted: boolean } {
  const was = median(own);
  const change = was !== 0 ? now / was - 1 : now === 0 ? 0 : Infinity;
  const outside = now < Math.min(...own) || now > Math.max(...own);
  return { was, change, drifted: outside && Math.abs(change) > threshold };
}

export interface DriftWatchOptions {
  /** Check after every this many finished configurations (default 10)... */
  every?: number;
  /** ...and once this long has passed since the default was last measured (default 5 minutes, or WAYFINDER_DRIFT_MIN_GAP_MS). */
  minGapMs?: number;
  /** The clock (tests). */
  now?: () => number;
  threshold?: number;
  /** Told each check, drifted or not. */
  onCheck?: (c: DriftCheck) => void;
}

/** Measures the default again every `every` finished configurations of a running study. */
export class DriftWatch {
  readonly checks: DriftCheck[] = [];
  private finished = 0;
  private sinceCheck = 0;
  private lastAt: number | undefined;
  private busy = false;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly study: Study,
    private readonly store: ResultsStore,
    private readonly o: DriftWatchOptions = {},
  ) {}

  /** Call with each finished configuration (the study's 'config-finished'). */
  configFinished(r: ConfigRow): void {
    if (r.isDefault) return;
    this.finished++;
    this.sinceCheck++;
    if (this.sinceCheck < (this.o.every ?? 10) || this.busy) return;
    const dflt = this.store.configurations(this.study.id).find((c) => c.isDefault && c.status === 'done');
    if (!dflt) return;
    const now = (this.o.now ?? Date.now)();
    if (now - (this.lastAt ?? dflt.finishedAt ?? dflt.createdAt) < (this.o.minGapMs ?? driftMinGapMs())) return;
    this.lastAt = now;
    this.sinceCheck = 0;
    this.busy = true;
    const after = this.finished;
    this.pending = this.check(dflt, after)
      .catch(() => undefined) // cancelled with the run: nothing to report
      .finally(() => {
        this.busy = false;
      });
  }

  /** Wait for a check under way. */
  settled(): Promise<void> {
    return this.pending;
  }

  private async check(dflt: ConfigRow, after: number): Promise<void> {
    const metric = this.study.exp.objective.metric;
    const own = this.store
      .runs(this.study.id, dflt.configId)
      .filter((r) => r.extra === undefined && r.status === 'ok')
      .map((r) => r.metrics[metric])
      .filter((v): v is number => v !== undefined);
    if (own.length === 0) return;
    const now = objectiveOf(await this.study.measureExtra(dflt.configId, 'drift-check', { warmup: false }), metric);
    const c: DriftCheck = now === undefined ? { after, was: median(own), drifted: false } : { after, now, ...judgeDrift(own, now, this.o.threshold) };
    this.checks.push(c);
    this.o.onCheck?.(c);
  }
}
