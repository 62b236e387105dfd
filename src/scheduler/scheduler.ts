// A queue over the allocator: jobs start in submission order, with reservation and backfilling.
// When the job at the head cannot start, it gets a reservation (the place where the fewest running
// jobs stand in its way, see Allocator.reserve); later jobs may still start, but only outside that
// place, so they never delay it. The head therefore starts once its blockers have finished, however
// many small jobs keep arriving: a `full` or large job is never starved.
//
// Jobs that carry a duration estimate are queued longest first (a short job left for the end keeps
// fewer CPUs idle while the last jobs drain), but a job is overtaken by later arrivals at most
// `maxOvertakes` times, so its wait stays bounded. Jobs without an estimate keep submission order.
//
// Jobs that could never fit this host are refused at submit with an InputError that says why.

import { InputError } from '../types.js';
import { Allocator, type Grant, type JobRequest, type Reservation } from './allocator.js';
import type { Topology } from './topology.js';
import { WayPool } from './ways.js';
import type { ResctrlInfo } from '../isolation/resctrl-info.js';

/** Large enough that an experiment's queue is ordered longest first, small enough to bound any wait. */
export const DEFAULT_MAX_OVERTAKES = 1000;

export interface Rejection {
  request: JobRequest;
  error: InputError;
}

export class Scheduler {
  readonly allocator: Allocator;
  /** How often a queued job may be overtaken by a later, longer one. */
  readonly maxOvertakes: number;
  private queue: JobRequest[] = [];
  private readonly overtaken = new Map<string, number>();
  private rejections: Rejection[] = [];
  /** Cache ways and resctrl groups, once the host is known to have resctrl; without it partitions are not enforced. */
  partitions: WayPool | undefined;

  constructor(topo: Topology | Allocator, opts: { maxOvertakes?: number } = {}) {
    this.allocator = topo instanceof Allocator ? topo : new Allocator(topo);
    this.maxOvertakes = opts.maxOvertakes ?? DEFAULT_MAX_OVERTAKES;
  }

  /** The host has resctrl: cache ways and bandwidth are granted from now on (once; later calls keep the first pool). */
  enablePartitions(info: ResctrlInfo): void {
    this.partitions ??= WayPool.fromInfo(info);
  }

  /** Queue a job; returns the grants of the jobs that start now (this one or none, usually). */
  submit(req: JobRequest): Grant[] {
    if (!this.allocator.fits(req)) throw new InputError(this.allocator.explainUnfit(req));
    const noWays = this.partitions && WayPool.wants(req.partition) ? this.partitions.explainUnfit(req.partition as object) : undefined;
    if (noWays) throw new InputError(`job "${req.id}": ${noWays}`);
    if (this.allocator.running().some((g) => g.id === req.id) || this.queue.some((q) => q.id === req.id)) {
      throw new InputError(`job "${req.id}" was already submitted`);
    }
    this.enqueue({ ...req });
    return this.dispatch();
  }

  /** Longest first among estimated jobs behind the head; never past a job without an estimate or one overtaken enough. */
  private enqueue(req: JobRequest): void {
    let at = this.queue.length;
    const est = req.estimateSec;
    if (est !== undefined) {
      while (at > 1) {
        const before = this.queue[at - 1] as JobRequest;
        if (before.estimateSec === undefined || before.estimateSec >= est) break;
        if ((this.overtaken.get(before.id) ?? 0) >= this.maxOvertakes) break;
        at--;
      }
    }
    for (let i = at; i < this.queue.length; i++) {
      const id = (this.queue[i] as JobRequest).id;
      this.overtaken.set(id, (this.overtaken.get(id) ?? 0) + 1);
    }
    this.queue.splice(at, 0, req);
  }

  /** A running job finished, or a queued one is cancelled; returns the grants of the jobs that start now. */
  release(id: string): Grant[] {
    if (this.allocator.running().some((g) => g.id === id)) {
      this.allocator.release(id);
      this.partitions?.free(id);
    } else {
      const i = this.queue.findIndex((q) => q.id === id);
      if (i < 0) throw new Error(`no running or queued job "${id}"`);
      this.dequeue(i);
      this.allocator.unreserve(id);
    }
    return this.dispatch();
  }

  private dequeue(i: number): void {
    const [gone] = this.queue.splice(i, 1);
    if (gone) this.overtaken.delete(gone.id);
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

  private wantsWays(req: JobRequest): boolean {
    return this.partitions !== undefined && WayPool.wants(req.partition);
  }

  /** Place on CPUs of cache domains with ways left, then take the ways there. */
  private place(req: JobRequest): Grant | undefined {
    if (!this.wantsWays(req)) return this.allocator.tryPlace(req);
    const pool = this.partitions as WayPool;
    const full = pool.cpusWithoutRoom(req.partition as object);
    if (!full) return undefined;
    const g = this.allocator.withCpusTaken(full, () => this.allocator.tryPlace(req));
    if (!g) return undefined;
    if (!pool.hold(req.id, g.cpus, req.partition as object)) {
      this.allocator.release(req.id);
      return undefined;
    }
    const masks = pool.masksOf(req.id);
    return masks ? { ...g, l3Masks: masks } : g;
  }

  private dispatch(): Grant[] {
    const started: Grant[] = [];
    for (;;) {
      const head = this.queue[0];
      if (!head) return started;
      if (!this.allocator.fits(head)) {
        this.dequeue(0);
        this.allocator.unreserve(head.id);
        this.rejections.push({ request: head, error: new InputError(this.allocator.explainUnfit(head)) });
        continue;
      }
      const g = this.place(head);
      if (!g) break;
      started.push(g);
      this.dequeue(0);
    }
    const head = this.queue[0] as JobRequest;
    const held = this.reservation();
    if (held?.id !== head.id || !this.allocator.kindsFor(head).includes(held.kind)) {
      if (held) this.allocator.unreserve(held.id);
      if (!this.allocator.reserve(head)) throw new Error(`internal: no place to reserve for job "${head.id}"`);
    }
    // Backfill. A shape that failed once in this pass fails again: placements only take room. While
    // the head waits for cache ways, no later job takes ways, so the head's wait stays bounded.
    const failed = new Set<string>();
    const waysHeld = this.wantsWays(head);
    for (let i = 1; i < this.queue.length; ) {
      const req = this.queue[i] as JobRequest;
      const ways = this.wantsWays(req);
      const shape = `${req.cores}/${req.isolation}/${this.allocator.kindsFor(req).join(',')}/${ways ? `${req.partition?.l3Ways ?? 0}w${req.partition?.mbPercent ?? 0}` : ''}`;
      const g = failed.has(shape) || (ways && waysHeld) ? undefined : this.place(req);
      if (g) {
        started.push(g);
        this.dequeue(i);
      } else {
        failed.add(shape);
        i++;
      }
    }
    return started;
  }
}
