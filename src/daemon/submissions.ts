// The daemon's queue of experiments, in the results database: what was submitted (the text, where
// it came from, the options), in which order, and how far it got. A restarted daemon reads it back.

import type { ExplorationOverrides } from '../spec/exploration.js';
import type { Store, SubmissionRow } from '../store/store.js';

export type SubmissionState = 'queued' | 'running' | 'done' | 'cancelled' | 'failed';

/** What a submission may set beside its file: the exploration's settings, its place in line and its pool. */
export interface SubmitOptions extends ExplorationOverrides {
  /** Higher runs first; equal priorities run in submission order. */
  priority?: number;
  /** The pool of hosts it runs on (overrides the file's `pool`). */
  pool?: string;
  /**
   * At the end, the best and the default measured again, interleaved, at most this many pairs
   * (as `run --confirm N`; default 15); false: not confirmed (`run --no-confirm`).
   */
  confirm?: number | false;
  /** The default measured again after every this many configurations (as `run --drift-every N`; default 10). */
  driftEvery?: number;
  /** false: stop no configuration early (every iteration measured); default on. */
  earlyStop?: boolean;
  /** false: no cheap looks (every configuration at its test's full fidelity); default on when the test declares a fidelity. */
  fidelity?: boolean;
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
  /** Why the stored row cannot stand for an experiment (options that are not a JSON object). */
  unreadable?: string;
}

export class Submissions {
  constructor(private readonly store: Store) {}

  /** Queue an experiment; a finished one submitted again is queued again (to resume or extend it). */
  put(s: { experimentId: string; priority: number; pool: string; file: string; text: string; options: SubmitOptions }): Submission {
    return fromRow(this.store.putSubmission(s));
  }

  get(experimentId: string): Submission | undefined {
    const r = this.store.getSubmission(experimentId);
    return r ? fromRow(r) : undefined;
  }

  /** The one with this exact id, else all whose id starts with `ref` or whose name is `ref`, newest first. */
  find(ref: string): Submission[] {
    return this.store.findSubmissions(ref).map(fromRow);
  }

  /** In the order they run: those already started first, then by priority, then submission order. */
  list(): Submission[] {
    return this.store.listSubmissions().map(fromRow);
  }

  setState(experimentId: string, state: SubmissionState, error?: string): void {
    this.store.setSubmissionState(experimentId, state, error);
  }
}

/**
 * The store keeps the options as JSON it does not interpret; they are what the daemon put there,
 * unless someone else wrote the row: then the submission says so and fails alone when launched.
 */
function fromRow(r: SubmissionRow): Submission {
  const ok = typeof r.options === 'object' && r.options !== null && !Array.isArray(r.options);
  return {
    ...r,
    options: ok ? (r.options as SubmitOptions) : {},
    state: r.state as SubmissionState,
    ...(ok ? {} : { unreadable: 'its stored options are not a JSON object' }),
  };
}
