// How many jobs a host's queue workers may hold at once: a worker takes a further job from the queue
// only while every job this host took is placed (running), so jobs it cannot run now stay in the
// queue for other hosts. A host cannot know whether a job fits before it has taken it, so each worker
// (builds, tests) may hold one job that does not fit yet: it waits on this host's reservation, which
// is what keeps a large job from being starved, and no more are taken until it starts.

import type { Dispatcher } from './dispatch.js';

/** A queue worker whose number of jobs in flight can be changed while it runs (BullMQ's Worker). */
export interface Fetcher {
  concurrency: number;
}

export class Intake {
  private readonly fetchers = new Map<string, Fetcher>();
  private readonly active = new Map<string, number>();

  constructor(
    private readonly dispatcher: Dispatcher,
    /** Never more jobs per worker than this (the host's CPUs). */
    private readonly limit: number,
  ) {
    dispatcher.onChange = () => this.update();
  }

  add(name: string, f: Fetcher): void {
    this.fetchers.set(name, f);
    this.update();
  }

  /** Count a job of worker `name` as held while `fn` runs. */
  async hold<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.active.set(name, (this.active.get(name) ?? 0) + 1);
    this.update();
    try {
      return await fn();
    } finally {
      this.active.set(name, (this.active.get(name) ?? 1) - 1);
      this.update();
    }
  }

  /** What each worker may hold now: its jobs, plus one more when nothing this host took is waiting. */
  allowance(name: string): number {
    const waiting = this.dispatcher.scheduler.queued().length;
    return Math.min(this.limit, Math.max(1, (this.active.get(name) ?? 0) + (waiting === 0 ? 1 : 0)));
  }

  update(): void {
    for (const [name, f] of this.fetchers) {
      const n = this.allowance(name);
      if (f.concurrency !== n) f.concurrency = n;
    }
  }
}
