// One-time report links, without a daemon: expiry and scope, with the clock in the test's hands.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ReportPasses } from '../../src/daemon/report-passes.js';

function req(url: string, cookie?: string, method = 'GET'): IncomingMessage {
  return { method, url, headers: cookie ? { cookie } : {} } as unknown as IncomingMessage;
}

function res(): ServerResponse & { status?: number; headers?: Record<string, string> } {
  const r = {
    writeHead(status: number, headers: Record<string, string>) {
      r.status = status;
      r.headers = headers;
      return r;
    },
    end() {
      return r;
    },
  } as unknown as ServerResponse & { status?: number; headers?: Record<string, string> };
  return r;
}

describe('report passes', () => {
  it('a ticket opens its experiment once, within 5 minutes; the cookie it sets opens that report for 12 hours', () => {
    let now = 1_000_000;
    const passes = new ReportPasses(() => now);
    const { ticket } = passes.issue('exp-1');
    // Not another experiment's report, not another path, not with POST.
    expect(passes.admit(req(`/experiments/exp-2/report?ticket=${ticket}`), res())).toBe('refuse');
    const t2 = passes.issue('exp-1').ticket;
    expect(passes.admit(req(`/experiments/exp-1/results?ticket=${t2}`), res())).toBe('refuse');
    expect(passes.admit(req(`/experiments/exp-1/report?ticket=${t2}`, undefined, 'POST'), res())).toBe('refuse');
    const t3 = passes.issue('exp-1').ticket;
    now += 5 * 60_000 + 1;
    expect(passes.admit(req(`/experiments/exp-1/report?ticket=${t3}`), res())).toBe('refuse');

    const t4 = passes.issue('exp-1').ticket;
    const r = res();
    expect(passes.admit(req(`/experiments/exp-1/report?format=html&ticket=${t4}`), r)).toBe('served');
    expect(r.status).toBe(303);
    expect(r.headers?.location).toBe('/experiments/exp-1/report?format=html');
    const cookie = (r.headers?.['set-cookie'] ?? '').split(';')[0] as string;
    expect(cookie).toMatch(/^wayfinder_report=[A-Za-z0-9_-]{32}$/);
    expect(passes.admit(req(`/experiments/exp-1/report?ticket=${t4}`), res())).toBe('refuse');
    expect(passes.admit(req('/experiments/exp-1/report', cookie), res())).toBe('admit');
    expect(passes.admit(req('/experiments/exp-2/report', cookie), res())).toBe('refuse');
    expect(passes.admit(req('/experiments', cookie), res())).toBe('refuse');
    now += 12 * 60 * 60_000 + 1;
    expect(passes.admit(req('/experiments/exp-1/report', cookie), res())).toBe('refuse');
  });
});
