// What `wayfinder run` shows while it works: a one-line progress bar on a terminal, plain lines
// otherwise (CI logs, pipes), in the spirit of hyperfine's care for the person watching.

import type { ConfigRow } from '../store/store.js';
import type { Objective } from '../types.js';
import { better } from '../study/summary.js';
import { fmtDuration, fmtNum } from '../util/format.js';

export class Progress {
  private done = 0;
  private failed = 0;
  private best?: number;
  private readonly started = Date.now();
  private lastDraw = 0;
  private readonly tty: boolean;

  constructor(
    private readonly total: number,
    private readonly objective: Objective,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly quiet = false,
  ) {
    this.tty = Boolean(out.isTTY) && !quiet;
  }

  /** Configurations finished before this process started (a resumed run). */
  preload(rows: ConfigRow[]): void {
    for (const r of rows) if (r.status === 'done' || r.status === 'failed') this.count(r);
  }

  private count(r: ConfigRow): void {
    if (r.status === 'failed') this.failed++;
    else this.done++;
    if (r.objective !== undefined && (this.best === undefined || better(r.objective, this.best, this.objective.direction))) this.best = r.objective;
  }

  finished(r: ConfigRow): void {
    this.count(r);
    if (this.quiet) return;
    if (this.tty) return this.draw(true);
    const n = this.done + this.failed;
    const what = r.status === 'failed' ? `failed (${r.failure ?? 'error'}): ${(r.error ?? '').slice(0, 200)}` : `${this.objective.metric} = ${fmtNum(r.objective)}`;
    const cv = r.summary?.[this.objective.metric];
    const warn = cv?.highCv ? `  [noisy: CV ${(cv.cv * 100).toFixed(1)}%]` : '';
    this.out.write(`[${n}/${this.total}] ${r.configId.slice(0, 8)}${r.isDefault ? ' (default)' : ''} ${what}${warn}\n`);
  }

  tick(): void {
    if (this.tty) this.draw(false);
  }

  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < 200) return;
    this.lastDraw = now;
    const n = this.done + this.failed;
    const width = 24;
    const filled = this.total > 0 ? Math.min(width, Math.round((n / this.total) * width)) : 0;
    const elapsed = now - this.started;
    const eta = n > 0 && this.total > n ? ` · ${fmtDuration((elapsed / n) * (this.total - n))} left` : '';
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${n}/${this.total} · ${this.failed} failed · best ${fmtNum(this.best)}${eta}`;
    this.out.write(`\r\x1b[2K${line}`);
  }

  end(): void {
    if (this.tty) this.out.write('\n');
  }
}
