// Controllers (`wayfinder control --server ...`) that report to the daemon: each registers a control
// session and sends its events as they happen; the daemon publishes them on its event stream (a
// decision as a `decision` event: what changed and why) next to the experiments' events. The
// controller runs beside its dataplane, not in the daemon: its knobs and signals are on that host,
// and the daemon being slow or away must never hold a knob back. The events of the sessions this
// daemon process has seen are kept in memory (the last MAX_EVENTS of each) for a stream that
// starts late; the controller's own results database keeps every decision.

import { HttpError } from './http-error.js';
import type { DaemonEvent, EventType } from './manager.js';

export interface ControlSessionInfo {
  id: string;
  host: string;
  policy: string;
  config: string;
  state: 'running' | 'ended';
  registeredAt: number;
  /** The controller's session in its own work directory's results database. */
  localSession?: number;
  decisions: number;
  lastDecision?: Record<string, unknown>;
  endReason?: string;
}

/** The controller's event names (its --json lines) and the stream's types for them. */
const TYPES: Record<string, EventType> = {
  'control-started': 'control-started',
  'control-decision': 'decision',
  'control-note': 'control-note',
  'control-drift': 'control-drift',
  'control-ended': 'control-ended',
};

const MAX_EVENTS = 10_000;
const MAX_SESSIONS = 1_000;

export class ControlSessions {
  private readonly sessions = new Map<string, { info: ControlSessionInfo; events: { event: DaemonEvent; text: string }[]; last: number }>();
  private seq = 0;

  constructor(private readonly emit: (e: DaemonEvent, text: string) => void) {}

  register(body: unknown): ControlSessionInfo {
    const b = object(body);
    const str = (k: string): string => {
      const v = b[k];
      if (typeof v !== 'string' || v === '' || v.length > 4096) throw new HttpError(400, `"${k}": expected a non-empty string`);
      return v;
    };
    for (const k of Object.keys(b)) if (!['host', 'policy', 'config'].includes(k)) throw new HttpError(400, `unknown field "${k}"`);
    // Ended sessions go first when there are too many: a long-lived daemon keeps a bounded set.
    if (this.sessions.size >= MAX_SESSIONS) {
      const ended = [...this.sessions.values()].find((s) => s.info.state === 'ended');
      if (!ended) throw new HttpError(409, `${MAX_SESSIONS} control sessions are running already`);
      this.sessions.delete(ended.info.id);
    }
    // Unique in this daemon process and across its restarts (the time in base 36).
    const id = `control-${Date.now().toString(36)}-${++this.seq}`;
    const info: ControlSessionInfo = { id, host: str('host'), policy: str('policy'), config: str('config'), state: 'running', registeredAt: Date.now(), decisions: 0 };
    this.sessions.set(id, { info, events: [], last: 0 });
    return info;
  }

  list(): ControlSessionInfo[] {
    return [...this.sessions.values()].map((s) => s.info);
  }

  has(id: string): boolean {
    return this.sessions.has(id);
  }

  /** A controller's events, in its order; each is published on the stream. Returns how many. */
  add(id: string, body: unknown): number {
    const s = this.sessions.get(id);
    if (!s) throw new HttpError(404, `no control session "${id}"`);
    const b = object(body);
    if (!Array.isArray(b.events)) throw new HttpError(400, '"events": expected an array of the controller\'s events');
    const events = b.events.map((raw, i) => {
      const e = object(raw, `events[${i}]`);
      const type = typeof e.event === 'string' ? TYPES[e.event] : undefined;
      if (!type) throw new HttpError(400, `events[${i}].event: expected one of ${Object.keys(TYPES).join(', ')}`);
      if (s.info.state === 'ended') throw new HttpError(409, `control session "${id}" has ended`);
      return { type, data: e };
    });
    for (const { type, data } of events) {
      const { event: _name, ...rest } = data;
      const e: DaemonEvent = { id: ++s.last, experimentId: id, type, at: Date.now(), data: rest };
      const text = JSON.stringify(e);
      s.events.push({ event: e, text });
      if (s.events.length > MAX_EVENTS) s.events.shift();
      if (type === 'control-started' && typeof rest.session === 'number') s.info.localSession = rest.session;
      if (type === 'decision') {
        s.info.decisions++;
        s.info.lastDecision = rest;
      }
      if (type === 'control-ended') {
        s.info.state = 'ended';
        if (typeof rest.reason === 'string') s.info.endReason = rest.reason;
      }
      this.emit(e, text);
    }
    return events.length;
  }

  eventsAfter(id: string, after: number): { event: DaemonEvent; text: string }[] {
    const s = this.sessions.get(id);
    if (!s) throw new HttpError(404, `no control session "${id}"`);
    return s.events.filter((e) => e.event.id > after);
  }
}

function object(v: unknown, what = 'the request body'): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HttpError(400, `${what}: expected a JSON object`);
  return v as Record<string, unknown>;
}
