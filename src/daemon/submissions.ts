// The daemon's queue of experiments, in the results database: what was submitted (the text, where
// it came from, the options), in which order, and how far it got. A restarted daemon reads it back.

import type { ExplorationOverrides } from '../spec/exploration.js';
import type { Store } from '../store/store.js';

export type SubmissionState = 'queued' | 'running' | 'done' | 'cancelled' | 'failed';

/** What a submission may set beside its file: the exploration's settings, its place in line and its pool. */
export interface SubmitOptions extends ExplorationOverrides {
  /** Higher runs first; equal priorities run in submission order. */
  priority?: number;
  /** The pool of hosts it runs on (overrides the file's `pool`). */
  pool?: string;
}

export interface Submission {
  experimentId: string;
  seq: number;
  priority: number;
  pool: string;
  file: string;
  text: string;
  options: SubmitOptions;
  state: SubmissionState;
  error?: string;
  submittedAt: number;
  startedAt?: number;
  finishedAt?: number;
}

export class Submissions {
  constructor(private readonly store: Store) {}

  /** Queue an experiment; a finished one submitted again is queued again (to resume or extend it). */
  put(s: { experimentId: string; priority: number; pool: string; file: string; text: string; options: SubmitOptions }): Submission {
    const db = this.store.db;
    const seq = (db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM submissions').get() as { n: number }).n;
    db.prepare(
      `INSERT INTO submissions (experiment_id, seq, priority, pool, file, text, options_json, state, submitted_at)
       VALUES (@experimentId, @seq, @priority, @pool, @file, @text, @options, 'queued', @now)
       ON CONFLICT (experiment_id) DO UPDATE SET seq = excluded.seq, priority = excluded.priority, pool = excluded.pool,
         file = excluded.file, text = excluded.text, options_json = excluded.options_json, state = 'queued', error = NULL,
         submitted_at = excluded.submitted_at, started_at = NULL, finished_at = NULL`,
    ).run({ ...s, seq, options: JSON.stringify(s.options), now: Date.now() });
    return this.get(s.experimentId) as Submission;
  }

  get(experimentId: string): Submission | undefined {
    const r = this.store.db.prepare('SELECT * FROM submissions WHERE experiment_id = ?').get(experimentId) as Record<string, unknown> | undefined;
    return r ? fromRow(r) : undefined;
  }

  /** By exact id, else a unique id prefix, else the newest of that experiment name. */
  find(ref: string): Submission | undefined {
    const exact = this.get(ref);
    if (exact) return exact;
    const rows = this.store.db
      .prepare(
        `SELECT s.* FROM submissions s LEFT JOIN experiments e ON e.id = s.experiment_id
         WHERE s.experiment_id LIKE ? ESCAPE '\\' OR e.name = ? ORDER BY s.seq DESC`,
      )
      .all(`${ref.replace(/[\\%_]/g, (c) => `\\${c}`)}%`, ref) as Record<string, unknown>[];
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  /** In the order they run: those already started first, then by priority, then submission order. */
  list(): Submission[] {
    return (
      this.store.db
        .prepare("SELECT * FROM submissions ORDER BY (state = 'running') DESC, priority DESC, seq")
        .all() as Record<string, unknown>[]
    ).map(fromRow);
  }

  setState(experimentId: string, state: SubmissionState, error?: string): void {
    const now = Date.now();
    this.store.db
      .prepare(
        `UPDATE submissions SET state = ?, error = ?,
           started_at = CASE WHEN ? = 'running' THEN ? ELSE started_at END,
           finished_at = CASE WHEN ? IN ('done', 'cancelled', 'failed') THEN ? ELSE finished_at END
         WHERE experiment_id = ?`,
      )
      .run(state, error ?? null, state, now, state, now, experimentId);
  }
}

function fromRow(r: Record<string, unknown>): Submission {
  return {
    experimentId: r.experiment_id as string,
    seq: r.seq as number,
    priority: r.priority as number,
    pool: r.pool as string,
    file: r.file as string,
    text: r.text as string,
    options: JSON.parse(r.options_json as string) as SubmitOptions,
    state: r.state as SubmissionState,
    ...(r.error ? { error: r.error as string } : {}),
    submittedAt: r.submitted_at as number,
    ...(r.started_at ? { startedAt: r.started_at as number } : {}),
    ...(r.finished_at ? { finishedAt: r.finished_at as number } : {}),
  };
}
