// An asynchronous front to the Scheduler for the queue workers: a job awaits its grant, which
// arrives when the scheduler places it (now, or when running jobs release their CPUs).

import type { Grant, JobRequest } from './allocator.js';
import type { Scheduler } from './scheduler.js';

export class Dispatcher {
  private readonly waiters = new Map<string, (g: Grant) => void>();

  constructor(readonly scheduler: Scheduler) {}

  /** Resolves with the job's grant; rejects at once (InputError) if the job can never fit this host. */
  acquire(req: JobRequest): Promise<Grant> {
    return new Promise<Grant>((resolve, reject) => {
      this.waiters.set(req.id, resolve);
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

  private deliver(grants: Grant[]): void {
    for (const g of grants) {
      const resolve = this.waiters.get(g.id);
      this.waiters.delete(g.id);
      resolve?.(g);
    }
  }
}
