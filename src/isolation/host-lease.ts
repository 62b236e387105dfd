// The host settings (`host:` of an experiment) in force on one host's worker, shared by every job
// that asks for the same settings and put back when none of them is left.
//
// Why here, on the worker, and not where the experiment is launched: the jobs run on the worker's
// host (the daemon's own worker or `wayfinder worker` on another machine), so the settings travel
// with each job and the worker applies them before the first job that needs them. Two rules keep
// measurements honest:
//   - one set of settings at a time: a job whose settings differ from those in force is refused
//     at once (HostBusyError; the worker puts it back in the queue for a moment) until the jobs
//     holding the others are done. It never waits inside the worker, so it never blocks the jobs
//     it waits for. Settings asked for nothing ("as the host is") are a set like any other: an
//     untuned experiment is not measured under another one's tuning either.
//   - a session (`wayfinder run`, `regress`, the daemon's experiment on its own worker) holds its
//     experiment's settings from before its first job to after its last, like a job that lasts the
//     whole experiment; its jobs join that hold whatever settings they carry (a queue left by an
//     earlier run of an edited file carries the old ones). Another session waits for it to end.
// Jobs' holds linger a little after the last one ends, so the gap between two jobs of one
// experiment does not put the settings back and apply them again; a job of other settings ends
// the linger at once. Once an experiment's session here has ended, no job of it is waited for:
// the session's end waits (a while) for its jobs still finishing, and the last puts them back
// at once, so "the experiment is done" means "its settings are put back". The values found
// before are saved in the work directory before anything is written (HostTuning), so a worker
// killed with settings applied puts them back at its next start.

import type { HostSettings } from '../types.js';
import { HostTuning } from './host.js';
import { describeHostReport } from './tune-host.js';
import { withTimeout } from '../util/timeout.js';

/** Refused: other host settings are in force for jobs still running here. */
export class HostBusyError extends Error {}

export interface HostHold {
  /** "setting=value (was …)" for each value written. */
  tuned: string[];
  /** "host setting: reason" for each setting this host lacks. */
  unavailable: string[];
  release(): Promise<void>;
}

export interface HostLeaseOptions {
  stateFile: string;
  sysfsRoot?: string;
  procRoot?: string;
  /** Milliseconds the settings of finished jobs stay in force for the next job of the same settings. */
  lingerMs?: number;
}

/** The settings that change the host, in a stable form: equal settings, equal keys; "" asks for nothing. */
export function hostSettingsKey(s: HostSettings | undefined): string {
  if (!s) return '';
  const o: Record<string, unknown> = {};
  if (s.governor !== undefined) o.governor = s.governor;
  if (s.turbo !== undefined) o.turbo = s.turbo;
  if (s.smt !== undefined) o.smt = s.smt;
  if (s.aslr !== undefined) o.aslr = s.aslr;
  const sysctls = Object.entries(s.sysctls ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (sysctls.length > 0) o.sysctls = sysctls;
  return Object.keys(o).length > 0 ? JSON.stringify(o) : '';
}

interface InForce {
  key: string;
  tuning: HostTuning | undefined;
  tuned: string[];
  unavailable: string[];
  holders: number;
  /** Experiments whose session holds these settings: their jobs join whatever they carry. */
  pinned: Map<string, number>;
  /** Holds of jobs, by experiment. */
  jobs: Map<string, number>;
  /** Experiments whose session here has ended: their jobs' holds do not linger. */
  ended: Set<string>;
  /** Resolved when these settings are put back (by markGone). */
  gone: Promise<void>;
  markGone: () => void;
  timer?: NodeJS.Timeout;
}

/** How long a session's end waits for its own jobs still finishing (sending their last results, cleaning up). */
export const SESSION_END_WAIT_MS = 30_000;

function add(m: Map<string, number>, k: string, by: number): void {
  const n = (m.get(k) ?? 0) + by;
  if (n > 0) m.set(k, n);
  else m.delete(k);
}

export class HostLease {
  private inForce: InForce | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private waiters: { wake: () => void; fail: (e: Error) => void }[] = [];
  private closed = false;

  constructor(private readonly o: HostLeaseOptions) {}

  /** At start, before any job: put back what a killed predecessor left applied. True when there was something. */
  recover(): Promise<boolean> {
    return this.serial(() => HostTuning.recover(this.o.stateFile));
  }

  /**
   * A session's hold for `experiment`: waits while other settings are held, applies these, and
   * keeps them until release (then puts them back at once, unless jobs still hold them).
   */
  async hold(settings: HostSettings | undefined, experiment: string): Promise<HostHold> {
    const key = hostSettingsKey(settings);
    for (;;) {
      if (this.closed) throw new Error('host settings: the worker is stopping');
      const got = await this.take(key, settings, experiment, true, 0);
      if ('release' in got) return got;
      await got.turn;
    }
  }

  /**
   * A job's hold: the settings it carries (or those its experiment's session holds), granted at
   * once or refused with HostBusyError. Work that carries no settings at all (queued by an older
   * wayfinder) takes no hold.
   */
  async holdForJob(settings: HostSettings | undefined, experiment: string): Promise<HostHold | undefined> {
    if (settings === undefined) return undefined;
    if (this.closed) throw new HostBusyError('host settings: the worker is stopping');
    const got = await this.take(hostSettingsKey(settings), settings, experiment, false, this.o.lingerMs ?? 5_000);
    if (!('release' in got)) throw new HostBusyError(`host settings: other settings are in force on this host for jobs still running`);
    return got;
  }

  /** Refuse every session still waiting (the worker stops). */
  cancelWaiting(e: Error): void {
    for (const w of this.waiters.splice(0)) w.fail(e);
  }

  /** Put back what is applied, whoever holds it (the worker stops: nothing runs any more). */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelWaiting(new Error('host settings: the worker is stopping'));
    await this.serial(() => this.putBack());
  }

  /** The hold, or (refused) the moment the settings in force are put back. */
  private take(key: string, settings: HostSettings | undefined, experiment: string, session: boolean, lingerMs: number): Promise<HostHold | { turn: Promise<void> }> {
    return this.serial(async () => {
      let cur = this.inForce;
      // A job of an experiment a session holds the host for runs under the session's settings.
      const joins = cur !== undefined && (cur.key === key || (!session && cur.pinned.has(experiment)));
      // Jobs of the settings in force keep joining while others wait: an experiment runs at its
      // full width and the host switches settings (SMT off and on again...) as rarely as it can.
      if (cur && !joins) {
        if (cur.holders > 0) {
          // Queued while still in the serial section, so the put-back that ends this hold cannot be missed.
          const turn = new Promise<void>((wake, fail) => {
            if (session) this.waiters.push({ wake, fail });
            else wake();
          });
          return { turn };
        }
        await this.putBack();
        cur = undefined;
      }
      if (!cur) {
        cur = await this.apply(key, settings);
        this.inForce = cur;
      }
      clearTimeout(cur.timer);
      cur.holders++;
      if (session) {
        add(cur.pinned, experiment, 1);
        cur.ended.delete(experiment);
      } else add(cur.jobs, experiment, 1);
      return this.handle(cur, experiment, session, lingerMs);
    });
  }

  private handle(f: InForce, experiment: string, session: boolean, lingerMs: number): HostHold {
    let released = false;
    return {
      tuned: f.tuned,
      unavailable: f.unavailable,
      release: async () => {
        const rest = await this.serial(async () => {
          if (released) return undefined;
          released = true;
          if (this.inForce !== f) return undefined;
          f.holders--;
          add(session ? f.pinned : f.jobs, experiment, -1);
          if (session && !f.pinned.has(experiment)) f.ended.add(experiment);
          if (f.holders > 0) {
            // Only this experiment's own jobs are left, finishing after its last result: its end
            // waits for them, so it ends with the host as it found it.
            return session && f.ended.has(experiment) && f.jobs.get(experiment) === f.holders ? { until: f.gone } : undefined;
          }
          if (lingerMs <= 0 || this.waiters.length > 0 || f.ended.has(experiment)) await this.putBack();
          else {
            f.timer = setTimeout(() => void this.serial(async () => (this.inForce === f && f.holders === 0 ? this.putBack() : undefined)).catch(() => undefined), lingerMs);
            f.timer.unref();
          }
          return undefined;
        });
        // A job that outlives it longer puts the settings back itself when it ends.
        if (rest) await withTimeout(rest.until, SESSION_END_WAIT_MS, 'its jobs still running').catch(() => undefined);
      },
    };
  }

  private async apply(key: string, settings: HostSettings | undefined): Promise<InForce> {
    let markGone = (): void => undefined;
    const gone = new Promise<void>((resolve) => (markGone = resolve));
    const base = { key, holders: 0, pinned: new Map<string, number>(), jobs: new Map<string, number>(), ended: new Set<string>(), gone, markGone };
    if (key === '' || !settings) return { ...base, tuning: undefined, tuned: [], unavailable: [] };
    const tuning = new HostTuning({
      stateFile: this.o.stateFile,
      ...(this.o.sysfsRoot ? { sysfsRoot: this.o.sysfsRoot } : {}),
      ...(this.o.procRoot ? { procRoot: this.o.procRoot } : {}),
    });
    const report = describeHostReport(await tuning.apply(settings));
    return { ...base, tuning, ...report };
  }

  /** Restore the values found before, then let waiting sessions try again. */
  private async putBack(): Promise<void> {
    const f = this.inForce;
    if (!f) return;
    clearTimeout(f.timer);
    await f.tuning?.restore();
    this.inForce = undefined;
    f.markGone();
    for (const w of this.waiters.splice(0)) w.wake();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }
}
