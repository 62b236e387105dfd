import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { Api } from '../../src/daemon/api.js';
import { ROOT, wayfinder, writeFile } from '../helpers.js';
import { api, daemonPerFile, query, submitBody, waitState } from './helpers.js';

const EXP = (name: string, sleep: string, max = 6) => `
name: ${name}
params:
  - { name: A, type: integer, min: 1, max: ${max}, default: 1, when: test }
  - { name: B, type: integer, only: [1, 2], default: 1, when: test }
test:
  run: 'sleep ${sleep}; echo "v=$(( A * B ))"'
  iterations: 2
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { parallel: 2 }
`;

const shared = daemonPerFile('wf-daemon-');
const workdir = shared.workdir;

interface Status {
  id: string;
  state: string;
  total: number;
  priority: number;
  startedAt?: number;
  summary: { done: number; failed: number; running: number; best?: { objective: number; params: Record<string, number> }; ratio?: number };
}

describe('daemon HTTP API', () => {
  it('every route it serves is described in docs/openapi.yaml, and every described route is served', async () => {
    const doc = parse(readFileSync(join(ROOT, 'docs', 'openapi.yaml'), 'utf8')) as { paths: Record<string, Record<string, unknown>> };
    const described = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops)
        .filter((k) => ['get', 'head', 'post', 'put', 'delete', 'patch'].includes(k))
        .map((m) => `${m.toUpperCase()} ${path}`),
    );
    const served = new Api({ manager: {} as never, maxBody: 1, defaultDir: '/', version: '', log: () => undefined }).routes().map((r) => `${r.method} ${r.path}`);
    expect(served.sort()).toEqual(described.sort());
    // And the live daemon answers each (a 404 for an unknown experiment is still the route answering).
    for (const r of served) {
      if (r.endsWith('/events') || r.startsWith('POST')) continue;
      const res = await api(shared.daemon.url, r.split(' ')[1]!.replace('{id}', 'nosuch'));
      expect([200, 404], r).toContain(res.status);
      if (res.status === 404) expect((res.body as { error: string }).error).toMatch(/no experiment "nosuch"/);
    }
  }, 180000);

  it('submit, follow events, status, results as JSON and CSV, logs, list', async () => {
    const file = writeFile(shared.dir, 'api.yaml', EXP('api', '0.05'));
    // Subscribe before submitting: the stream of every experiment.
    const ac = new AbortController();
    const events: { type: string; data: Record<string, unknown> }[] = [];
    const res = await fetch(`${shared.daemon.url}/events`, { signal: ac.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reading = (async () => {
      const reader = res.body!.getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        buf += new TextDecoder().decode(value);
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const data = buf.slice(0, i).split('\n').find((l) => l.startsWith('data: '));
          buf = buf.slice(i + 2);
          if (data) events.push(JSON.parse(data.slice(6)) as { type: string; data: Record<string, unknown> });
        }
      }
    })();

    const sub = await api<{ id: string; state: string; existing: boolean }>(shared.daemon.url, '/experiments', submitBody(readFileSync(file, 'utf8'), file));
    expect(sub.status).toBe(201);
    expect(sub.body.id).toMatch(/^api-[0-9a-f]{10}$/);
    // The same experiment again while it runs: that one, not a second.
    const again = await api<{ id: string; existing: boolean }>(shared.daemon.url, '/experiments', submitBody(readFileSync(file, 'utf8'), file));
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: sub.body.id, existing: true });

    await waitState(shared.daemon.url, sub.body.id, ['done'], 60_000);
    const st = (await api<Status>(shared.daemon.url, `/experiments/${sub.body.id}`)).body;
    expect(st.total).toBe(12);
    expect(st.summary.done).toBe(12);
    expect(st.summary.best).toMatchObject({ objective: 12, params: { A: 6, B: 2 } });
    expect(st.summary.ratio).toBe(12);

    const byName = await api<Status>(shared.daemon.url, '/experiments/api');
    expect(byName.body.id).toBe(sub.body.id);

    const json = await api<{ configurations: Record<string, unknown>[] }>(shared.daemon.url, `/experiments/${sub.body.id}/results`);
    expect(json.body.configurations).toHaveLength(12);
    const csv = await api(shared.daemon.url, `/experiments/${sub.body.id}/results?format=csv`);
    expect(csv.text.split('\n')[0]).toBe('config_id,build_id,status,default,A,B,objective,v,v.ci_low,v.ci_high,v.cv,v.n,samples.test,samples.iteration,samples.host,samples.cpus,samples.v');
    expect(csv.text.trim().split('\n')).toHaveLength(13);

    const logs = await api(shared.daemon.url, `/experiments/${sub.body.id}/logs`);
    expect(logs.text).toMatch(/experiment running/);
    expect(logs.text).toMatch(/test#1 ok v=\d+ on \S+ in \d+ ms/);
    expect(logs.text).toMatch(/best so far [0-9a-f]{8}: v = 12/);
    expect(logs.text).toMatch(/experiment done/);

    // The report of the finished experiment: a self-contained page with its figures, and its numbers.
    const page = await api(shared.daemon.url, `/experiments/${sub.body.id}/report`);
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/^<!DOCTYPE html>/i);
    expect(page.text.match(/<svg/g)?.length).toBeGreaterThanOrEqual(3);
    expect(page.text).not.toMatch(/http-equiv="refresh"/);
    const numbers = await api<{ counts: { done: number }; best: { objective: number }[] }>(shared.daemon.url, `/experiments/${sub.body.id}/report?format=json`);
    expect(numbers.body.counts.done).toBe(12);
    expect(numbers.body.best[0]!.objective).toBe(12);
    expect((await api(shared.daemon.url, `/experiments/${sub.body.id}/report?format=pdf`)).status).toBe(400);

    const list = await api<{ experiments: Status[] }>(shared.daemon.url, '/experiments');
    expect(list.body.experiments.map((e) => e.id)).toContain(sub.body.id);

    ac.abort();
    await reading;
    const mine = events.filter((e) => (e as unknown as { experimentId: string }).experimentId === sub.body.id);
    const types = new Set(mine.map((e) => e.type));
    for (const t of ['state', 'config-queued', 'job-started', 'job-finished', 'config-finished', 'best']) expect(types, t).toContain(t);
    expect(mine.filter((e) => e.type === 'job-finished')).toHaveLength(24);
    expect(mine.at(-1)).toMatchObject({ type: 'state', data: { state: 'done' } });

    // Every run records the host that measured it.
    const hosts = query<{ host: string }>(workdir(), 'SELECT DISTINCT host FROM runs WHERE experiment_id = ?', sub.body.id);
    expect(hosts).toHaveLength(1);
    expect(hosts[0]!.host.length).toBeGreaterThan(0);
  }, 180000);

  it('runs experiments in submission order unless a priority says otherwise; cancel stops one', async () => {
    const texts = ['first', 'second', 'urgent'].map((n) => [n, writeFile(shared.dir, `${n}.yaml`, EXP(n, '0.3', 3))] as const);
    const ids: Record<string, string> = {};
    for (const [name, file] of texts) {
      const r = await api<{ id: string }>(shared.daemon.url, '/experiments', submitBody(readFileSync(file, 'utf8'), file, name === 'urgent' ? { priority: 5 } : {}));
      expect(r.status).toBe(201);
      ids[name] = r.body.id;
    }
    await waitState(shared.daemon.url, ids.first!, ['running'], 30_000);
    // A running experiment's report is served as results arrive, and reloads itself to follow them;
    // a waiting one's page says it has no results yet.
    const running = await api(shared.daemon.url, `/experiments/${ids.first}/report`);
    expect(running.status).toBe(200);
    expect(running.text).toMatch(/http-equiv="refresh" content="10"/);
    expect(running.text).toMatch(/<svg/);
    const waiting = await api(shared.daemon.url, `/experiments/${ids.second}/report`);
    expect(waiting.status).toBe(200);
    expect(waiting.text).toMatch(/is queued: no results yet/);
    expect(waiting.text).toMatch(/http-equiv="refresh" content="10"/);
    const cancelled = await api<{ state: string }>(shared.daemon.url, `/experiments/${ids.first}/cancel`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(cancelled.body.state).toBe('cancelled');
    for (const id of Object.values(ids)) await waitState(shared.daemon.url, id, ['done', 'cancelled'], 60_000);
    const st = async (id: string) => (await api<Status>(shared.daemon.url, `/experiments/${id}`)).body;
    const [first, second, urgent] = [await st(ids.first!), await st(ids.second!), await st(ids.urgent!)];
    expect(first.state).toBe('cancelled');
    expect(first.summary.running).toBe(0);
    expect(first.summary.done).toBeLessThan(6);
    expect(urgent.startedAt!).toBeLessThan(second.startedAt!);
    expect(second.summary.done).toBe(6);
    // The cancelled experiment's queued jobs were taken back, not run.
    const ran = query<{ n: number }>(workdir(), 'SELECT COUNT(DISTINCT config_id) AS n FROM runs WHERE experiment_id = ?', ids.first);
    expect(ran[0]!.n).toBeLessThan(6);
  }, 180000);

  it('answers malformed requests with a 4xx and a reason, and keeps serving', async () => {
    const post = (body: string, type = 'application/json') => api<{ error: string }>(shared.daemon.url, '/experiments', { method: 'POST', headers: { 'content-type': type }, body });
    let r = await post('{"yaml": ');
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/not JSON/);
    r = await post('[]');
    expect(r.status).toBe(400);
    r = await post(JSON.stringify({ yaml: 'name: x', colour: 'red' }));
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/unknown field "colour"/);
    r = await post(JSON.stringify({ yaml: EXP('x', '0'), budget: -1 }));
    expect(r.body.error).toMatch(/"budget": expected a whole number ≥ 1/);
    r = await post(JSON.stringify({ yaml: EXP('x', '0'), strategy: 'guess' }));
    expect(r.body.error).toMatch(/"strategy"/);
    for (const confirm of [1, true, 'yes']) {
      r = await post(JSON.stringify({ yaml: EXP('x', '0'), confirm }));
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(/"confirm": expected a whole number ≥ 2 \(the most interleaved pairs\) or false/);
    }
    r = await post(JSON.stringify({ yaml: EXP('x', '0'), driftEvery: 0 }));
    expect(r.body.error).toMatch(/"driftEvery": expected a whole number ≥ 1/);
    r = await post(JSON.stringify({ yaml: EXP('bad', '0').replace('type: integer, min: 1', 'type: integer, min: one'), file: 'bad.yaml' }));
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/bad\.yaml:4:\d+: /);
    r = await post('yaml: x', 'application/yaml');
    expect(r.status).toBe(415);
    r = await post(JSON.stringify({ yaml: 'x'.repeat(2 * 1024 * 1024) }));
    expect(r.status).toBe(413);
    expect((await api(shared.daemon.url, '/nope')).status).toBe(404);
    expect((await api(shared.daemon.url, '/experiments', { method: 'DELETE' })).status).toBe(405);
    expect((await api(shared.daemon.url, '/experiments/%E0%A4%A')).status).toBe(404);
    // A request addressed to a name that is not loopback (DNS rebinding) is refused.
    // (fetch may not set Host, so this one goes through node:http.)
    const rebind = await new Promise<number>((res, rej) => {
      const u = new URL(shared.daemon.url);
      const req = request({ host: u.hostname, port: u.port, path: '/health', headers: { host: 'evil.example:7077' } }, (r) => {
        r.resume();
        res(r.statusCode ?? 0);
      });
      req.on('error', rej);
      req.end();
    });
    expect(rebind).toBe(401);
    expect((await api<{ ok: boolean }>(shared.daemon.url, '/health')).body.ok).toBe(true);
  }, 180000);

  it('client commands show what run shows', async () => {
    const file = writeFile(shared.dir, 'client.yaml', EXP('client', '0', 3));
    // Over the daemon's unix socket, as the client speaks by default.
    const server = ['--server', `unix://${shared.daemon.socket}`];
    const sub = await wayfinder(['submit', file, '--wait', '--no-confirm', ...server]);
    expect(sub.status, sub.stderr).toBe(0);
    expect(sub.stderr).toMatch(/submitted client-[0-9a-f]{10}/);
    // Two run at a time: which configuration finishes last is not fixed, only that six lines count up to 6/6.
    expect(sub.stderr.match(/^\[\d\/6\] [0-9a-f]{8}( \(default\))? v = \d\.00( {2}\(~\d+s left\))?$/gm)?.map((l) => l.slice(0, 5))).toEqual(['[1/6]', '[2/6]', '[3/6]', '[4/6]', '[5/6]', '[6/6]']);
    expect(sub.stderr).toMatch(/^\[\d\/6\] [0-9a-f]{8} v = 6\.00( {2}\(~\d+s left\))?$/m);
    expect(sub.stdout).toMatch(/6 configurations measured: 6 ok, 0 failed/);
    expect(sub.stdout).toMatch(/Best is 6\.000× the default/);
    const status = await wayfinder(['status', 'client', ...server]);
    expect(status.stdout).toMatch(/client-[0-9a-f]{10} \(client\): done/);
    expect(status.stdout).toMatch(/6\/6 configurations measured/);
    const list = await wayfinder(['status', ...server]);
    expect(list.stdout).toMatch(/client-[0-9a-f]{10}\s+done\s+default\s+0\s+6\/6/);
    const results = await wayfinder(['results', 'client', '--format', 'csv', ...server]);
    expect(results.stdout.trim().split('\n')).toHaveLength(7);
    const table = await wayfinder(['results', 'client', ...server]);
    expect(table.stdout).toMatch(/6 configurations \(\* = default\)/);
    const logs = await wayfinder(['logs', 'client', ...server]);
    expect(logs.stdout).toMatch(/experiment done/);
    const cancel = await wayfinder(['cancel', 'client', ...server]);
    expect(cancel.stdout).toMatch(/: done/);
    const missing = await wayfinder(['status', 'nosuch', ...server]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe('wayfinder: no experiment "nosuch"\n');
    const down = await wayfinder(['status', '--server', 'http://127.0.0.1:9']);
    expect(down.status).toBe(2);
    expect(down.stderr).toMatch(/cannot reach the daemon at http:\/\/127\.0\.0\.1:9/);
  }, 180000);
});
