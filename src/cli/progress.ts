// What `wayfinder run` shows while it works: a one-line progress bar on a terminal, plain lines
// otherwise (CI logs, pipes), in the spirit of hyperfine's care for the person watching.

import type { ConfigRow } from '../store/store.js';
import type { Objective } from '../types.js';
import { better } from '../study/summary.js';
import { fmtDuration, fmtNum } from '../util/format.js';

/**
 * A failure on one line of about `max` characters. An error ends with the last lines of the job's
 * stderr joined by ' | ', and the last of them is where a build script says why it failed: it is
 * kept whole, and what is cut is the middle (make's echoes, our own Kconfig notes), never the cause.
 */
export function shortError(error: string, max = 200): string {
  if (error.length <= max) return error;
  const parts = error.split(' | ');
  const last = (parts.pop() as string).trim();
  const head = (parts[0] ?? '').split(': ')[0] as string;
  const room = Math.max(0, max - last.length - head.length - 7);
  const rest = parts.join(' | ').slice(head.length).replace(/^: /, '');
  const middle = rest.length <= room ? rest : room > 20 ? `${rest.slice(0, room - 1)}…` : '…';
  const keep = last.length > 400 ? `${last.slice(0, 399)}…` : last;
  return parts.length === 0 ? keep : `${head}: ${middle} | ${keep}`;
}

export class Progress {
  private done = 0;
  private failed = 0;
  /** Of the failed: stopped early (below the best, not broken). */
  private stopped = 0;
  private best?: number;
  /** Configurations finished before this process started: they took none of its time. */
  private before = 0;
  private readonly started: number;
  private lastDraw = 0;
  private readonly tty: boolean;

  constructor(
    private total: number,
    private readonly objective: Objective,
    private readonly out: Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean } = process.stderr,
    private readonly quiet = false,
    private readonly now: () => number = Date.now,
  ) {
    this.tty = Boolean(out.isTTY) && !quiet;
    this.started = now();
  }

  /** At most this many configurations will be measured (duplicates found on the way leave fewer). */
  atMost(n: number): void {
    this.total = Math.max(0, Math.min(this.total, n));
  }

  /** Configurations finished before this process started (a resumed run): counted, and with `announce`, said. */
  preload(rows: ConfigRow[], o: { announce?: boolean } = {}): void {
    for (const r of rows) if (r.status === 'done' || r.status === 'failed') this.count(r);
    this.before = this.done + this.failed;
    if (this.before > 0 && o.announce && !this.quiet) {
      const left = Math.max(0, this.total - this.before);
      this.out.write(`resuming ${this.before}/${this.total}: ${this.before} configuration(s) measured before (best ${this.objective.metric} ${fmtNum(this.best)}), ${left} to go\n`);
    }
  }

  /** Time left, from this process's own pace: configurations measured before it started took none of its time. */
  eta(): number | undefined {
    const n = this.done + this.failed;
    const mine = n - this.before;
    if (mine <= 0 || n >= this.total) return undefined;
    return ((this.now() - this.started) / mine) * (this.total - n);
  }

  private count(r: ConfigRow): void {
    if (r.status === 'failed') this.failed++;
    else this.done++;
    if (r.failure === 'stopped') this.stopped++;
    if (r.objective !== undefined && (this.best === undefined || better(r.objective, this.best, this.objective.direction))) this.best = r.objective;
  }

  finished(r: ConfigRow): void {
    this.count(r);
    if (this.quiet) return;
    if (this.tty) return this.draw(true);
    const n = this.done + this.failed;
    const what = r.failure === 'stopped' ? (r.error ?? 'stopped early') : r.status === 'failed' ? `failed (${r.failure ?? 'error'}): ${shortError(r.error ?? '')}` : `${this.objective.metric} = ${fmtNum(r.objective)}`;
    const cv = r.summary?.[this.objective.metric];
    const warn = cv?.highCv ? `  [noisy: CV ${(cv.cv * 100).toFixed(1)}%]` : '';
    const eta = this.eta();
    this.out.write(`[${n}/${this.total}] ${r.configId.slice(0, 8)}${r.isDefault ? ' (default)' : ''} ${what}${warn}${eta !== undefined ? `  (~${fmtDuration(eta)} left)` : ''}\n`);
  }

  tick(): void {
    if (this.tty) this.draw(false);
  }

  private draw(force: boolean): void {
    const now = this.now();
    if (!force && now - this.lastDraw < 200) return;
    this.lastDraw = now;
    const n = this.done + this.failed;
    const width = 24;
    const filled = this.total > 0 ? Math.min(width, Math.round((n / this.total) * width)) : 0;
    const left = this.eta();
    const eta = left !== undefined ? ` · ${fmtDuration(left)} left` : '';
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${n}/${this.total} · ${this.failed - this.stopped} failed${this.stopped ? ` · ${this.stopped} stopped early` : ''} · best ${fmtNum(this.best)}${eta}`;
    this.out.write(`\r\x1b[2K${line}`);
  }

  end(): void {
    if (this.tty) this.out.write('\n');
  }
}
