// A queue over the allocator: jobs start in submission order, with reservation and backfilling.
// When the job at the head cannot start, it gets a reservation (the place where the fewest running
// jobs stand in its way, see Allocator.reserve); later jobs may still start, but only outside that
// place, so they never delay it. The head therefore starts once its blockers have finished, however
// many small jobs keep arriving: a `full` or large job is never starved.
//
// Jobs that could never fit this host are refused at submit with an InputError that says why.

import { InputError } from '../types.js';
import { Allocator, type Grant, type JobRequest, type Reservation } from './allocator.js';
import type { Topology } from './topology.js';

export interface Rejection {
  request: JobRequest;
  error: InputError;
}

export class Scheduler {
  readonly allocator: Allocator;
  private queue: JobRequest[] = [];
  private rejections: Rejection[] = [];

  constructor(topo: Topology | Allocator) {
    this.allocator = topo instanceof Allocator ? topo : new Allocator(topo);
  }

  /** Queue a job; returns the grants of the jobs that start now (this one or none, usually). */
  submit(req: JobRequest): Grant[] {
    if (!this.allocator.fits(req)) throw new InputError(this.allocator.explainUnfit(req));
    if (this.allocator.running().some((g) => g.id === req.id) || this.queue.some((q) => q.id === req.id)) {
      throw new InputError(`job "${req.id}" was already submitted`);
    }
    this.queue.push({ ...req });
    return this.dispatch();
  }

  /** A running job finished, or a queued one is cancelled; returns the grants of the jobs that start now. */
  release(id: string): Grant[] {
    if (this.allocator.running().some((g) => g.id === id)) {
      this.allocator.release(id);
    } else {
      const i = this.queue.findIndex((q) => q.id === id);
      if (i < 0) throw new Error(`no running or queued job "${id}"`);
      this.queue.splice(i, 1);
      this.allocator.unreserve(id);
    }
    return this.dispatch();
  }

  queued(): JobRequest[] {
    return this.queue.map((q) => ({ ...q }));
  }

  running(): Grant[] {
    return this.allocator.running();
  }

  /** The head's reservation, while it waits. */
  reservation(): Reservation | undefined {
    return this.allocator.reservations()[0];
  }

  /** Jobs taken off the queue because they could no longer ever fit (their group settled on a smaller kind). */
  rejected(): Rejection[] {
    return [...this.rejections];
  }

  private dispatch(): Grant[] {
    const started: Grant[] = [];
    for (;;) {
      const head = this.queue[0];
      if (!head) return started;
      if (!this.allocator.fits(head)) {
        this.queue.shift();
        this.allocator.unreserve(head.id);
        this.rejections.push({ request: head, error: new InputError(this.allocator.explainUnfit(head)) });
        continue;
      }
      const g = this.allocator.tryPlace(head);
      if (!g) break;
      started.push(g);
      this.queue.shift();
    }
    const head = this.queue[0] as JobRequest;
    const held = this.reservation();
    if (held?.id !== head.id || !this.allocator.kindsFor(head).includes(held.kind)) {
      if (held) this.allocator.unreserve(held.id);
      if (!this.allocator.reserve(head)) throw new Error(`internal: no place to reserve for job "${head.id}"`);
    }
    // Backfill. A shape that failed once in this pass fails again: placements only take room.
    const failed = new Set<string>();
    for (let i = 1; i < this.queue.length; ) {
      const req = this.queue[i] as JobRequest;
      const shape = `${req.cores}/${req.isolation}/${this.allocator.kindsFor(req).join(',')}`;
      const g = failed.has(shape) ? undefined : this.allocator.tryPlace(req);
      if (g) {
        started.push(g);
        this.queue.splice(i, 1);
      } else {
        failed.add(shape);
        i++;
      }
    }
    return started;
  }
}
