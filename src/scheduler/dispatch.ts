// An asynchronous front to the Scheduler for the queue workers: a job awaits its grant, which
// arrives when the scheduler places it (now, or when running jobs release their CPUs), or is
// refused when the scheduler takes it off the queue because it can no longer ever fit.

import type { Grant, JobRequest } from './allocator.js';
import type { Scheduler } from './scheduler.js';

interface Waiter {
  resolve: (g: Grant) => void;
  reject: (e: Error) => void;
}

export class Dispatcher {
  private readonly waiters = new Map<string, Waiter>();
  /** How many of the scheduler's rejections have been passed on. */
  private rejectionsSeen = 0;
  /** Called after every change of the scheduler's queue or running set. */
  onChange: (() => void) | undefined;

  constructor(readonly scheduler: Scheduler) {}

  /** Resolves with the job's grant; rejects (InputError) if the job can never fit this host, at once or when that becomes so. */
  acquire(req: JobRequest): Promise<Grant> {
    return new Promise<Grant>((resolve, reject) => {
      this.waiters.set(req.id, { resolve, reject });
      try {
        this.deliver(this.scheduler.submit(req));
      } catch (e) {
        this.waiters.delete(req.id);
        reject(e);
      }
    });
  }

  /** The job finished (or gave up waiting): its CPUs go to whoever is next. */
  release(id: string): void {
    this.waiters.delete(id);
    this.deliver(this.scheduler.release(id));
  }

  /** Refuse every job still waiting for a grant: a stopping worker hands them back to the queue. */
  cancelWaiting(reason: Error): void {
    const waiting = [...this.waiters.entries()];
    this.waiters.clear();
    for (const [id, w] of waiting) {
      try {
        this.scheduler.release(id);
      } catch {
        // already refused by the scheduler
      }
      w.reject(reason);
    }
  }

  private deliver(grants: Grant[]): void {
    for (const g of grants) {
      const w = this.waiters.get(g.id);
      this.waiters.delete(g.id);
      w?.resolve(g);
    }
    const rejections = this.scheduler.rejected();
    for (const r of rejections.slice(this.rejectionsSeen)) {
      const w = this.waiters.get(r.request.id);
      this.waiters.delete(r.request.id);
      w?.reject(r.error);
    }
    this.rejectionsSeen = rejections.length;
    this.onChange?.();
  }
}
