// How a browser opens one experiment's report from a daemon that wants a token (or listens on a
// unix socket a browser cannot reach): the CLI asks for a link holding a one-time ticket; opening
// it trades the ticket for a cookie that lets that browser read that report (and only it, and only
// read it: the page reloads itself while the experiment runs) for a while. A ticket works once and
// for a few minutes, so a link left in a terminal's scroll-back or a shell history opens nothing.

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

const TICKET_MS = 5 * 60_000;
const PASS_MS = 12 * 60 * 60_000;
const COOKIE = 'wayfinder_report';

interface Grant {
  experimentId: string;
  expiresAt: number;
}

export class ReportPasses {
  private readonly tickets = new Map<string, Grant>();
  private readonly passes = new Map<string, Grant>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A one-time ticket for the experiment's report. */
  issue(experimentId: string): { ticket: string; expiresAt: number } {
    this.sweep();
    const ticket = randomBytes(24).toString('base64url');
    const expiresAt = this.now() + TICKET_MS;
    this.tickets.set(ticket, { experimentId, expiresAt });
    return { ticket, expiresAt };
  }

  /**
   * Serve a report request that carries no token, when it may be: a ticket is redeemed (a redirect
   * to the same page without it, setting the cookie), a valid cookie lets it through. Returns
   * 'served' when it answered, 'admit' when the request may go on to the API, 'refuse' otherwise.
   */
  admit(req: IncomingMessage, res: ServerResponse): 'served' | 'admit' | 'refuse' {
    if (req.method !== 'GET') return 'refuse';
    const url = new URL(req.url ?? '/', 'http://daemon');
    const m = /^\/experiments\/([^/]+)\/report$/.exec(url.pathname);
    if (!m) return 'refuse';
    let id: string;
    try {
      id = decodeURIComponent(m[1] as string);
    } catch {
      return 'refuse';
    }
    const now = this.now();
    const ticket = url.searchParams.get('ticket');
    if (ticket !== null) {
      const g = this.tickets.get(ticket);
      this.tickets.delete(ticket);
      if (!g || g.experimentId !== id || g.expiresAt < now) return 'refuse';
      const pass = randomBytes(24).toString('base64url');
      this.passes.set(pass, { experimentId: id, expiresAt: now + PASS_MS });
      url.searchParams.delete('ticket');
      const path = `/experiments/${encodeURIComponent(id)}/report`;
      res
        .writeHead(303, {
          location: `${path}${url.search}`,
          'set-cookie': `${COOKIE}=${pass}; Path=${path}; Max-Age=${PASS_MS / 1000}; HttpOnly; SameSite=Lax`,
          'cache-control': 'no-store',
        })
        .end();
      return 'served';
    }
    const pass = cookie(req, COOKIE);
    const g = pass !== undefined ? this.passes.get(pass) : undefined;
    return g && g.experimentId === id && g.expiresAt >= now ? 'admit' : 'refuse';
  }

  private sweep(): void {
    const now = this.now();
    for (const map of [this.tickets, this.passes]) for (const [k, g] of map) if (g.expiresAt < now) map.delete(k);
  }
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}
