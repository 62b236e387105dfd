// The daemon's front door, against a real daemon over its unix socket (and over TCP where a
// browser or another host would come): what it lets in, what it stores, what it says.

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { tempDir, wayfinder, writeFile } from '../helpers.js';
import { api, daemonPerFile, query, sockApi, startDaemon } from './helpers.js';

const EXP = (name: string, extra = '', sleep = '0') => `
name: ${name}
params:
  - { name: A, type: integer, min: 1, max: 3, default: 1, when: test }
  - { name: B, type: integer, only: [1, 2], default: 1, when: test${extra} }
test:
  run: 'sleep ${sleep}; echo "v=$(( A * B ))"'
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { parallel: 2 }
`;

// A submission measures the exploration alone (see submitBody in helpers.ts).
const JSON_POST = (body: unknown): { method: string; headers: Record<string, string>; body: string } => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(typeof body === 'object' && body !== null && 'yaml' in body && !('confirm' in body) ? { confirm: false, ...body } : body),
});

const shared = daemonPerFile('wf-door-', ['--no-tcp']);
const workdir = shared.workdir;

interface Status {
  id: string;
  state: string;
  pool: string;
  error?: string;
  waiting?: string;
  firstEvent: number;
  summary: { done: number };
}

async function waitSock(socket: string, id: string, states: string[], timeoutMs: number): Promise<Status> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await sockApi<Status>(socket, `/experiments/${id}`).catch(() => undefined);
    if (r?.status === 200 && states.includes(r.body.state)) return r.body;
    if (Date.now() > deadline) throw new Error(`${id} did not reach ${states.join('/')}: ${JSON.stringify(r?.body)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** Read an experiment's event stream over the socket until `stop` says so; the records with their SSE ids. */
function readEvents(
  socket: string,
  path: string,
  headers: Record<string, string>,
  stop: (e: { sseId: string; id: number; type: string; data: Record<string, unknown> }) => boolean,
): Promise<{ sseId: string; id: number; type: string; data: Record<string, unknown> }[]> {
  return new Promise((resolveEvents, reject) => {
    const out: { sseId: string; id: number; type: string; data: Record<string, unknown> }[] = [];
    const req = request({ socketPath: socket, path, headers }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        let cut: number;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const rec = buf.slice(0, cut).split('\n');
          buf = buf.slice(cut + 2);
          const data = rec.find((l) => l.startsWith('data: '));
          if (!data) continue;
          const e = { sseId: (rec.find((l) => l.startsWith('id: ')) ?? '').slice(4), ...(JSON.parse(data.slice(6)) as { id: number; type: string; data: Record<string, unknown> }) };
          out.push(e);
          if (stop(e)) {
            req.destroy();
            resolveEvents(out);
            return;
          }
        }
      });
      res.on('end', () => resolveEvents(out));
    });
    req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
    req.end();
  });
}

describe('submissions are checked as `wayfinder plan` checks them, before anything is stored', () => {
  it('refuses a broken condition and 20,000 nested parentheses with their location; nothing is stored; the daemon serves on', async () => {
    const broken = writeFile(shared.dir, 'broken.yaml', EXP('broken', ', if: "A == 1 &&"'));
    const deep = writeFile(shared.dir, 'deep.yaml', EXP('deep', `, if: "${'('.repeat(20_000)}A == 1${')'.repeat(20_000)}"`));
    for (const [file, reason] of [
      [broken, /broken\.yaml:5:\d+: .*condition "A == 1 &&", column 10: expected a parameter name/],
      [deep, /deep\.yaml:5:\d+: .*40006 characters long; at most 4096/],
    ] as const) {
      const plan = await wayfinder(['plan', file]);
      expect(plan.status).toBe(2);
      // Idle pool or not: the daemon answers as plan does.
      for (const pool of [undefined, 'idle']) {
        const r = await sockApi<{ error: string }>(shared.daemon.socket, '/experiments', JSON_POST({ yaml: readFileSync(file, 'utf8'), file, ...(pool ? { pool } : {}) }));
        expect(r.status, r.text).toBe(400);
        expect(r.body.error).toMatch(reason);
        expect(plan.stderr).toContain(r.body.error.split(': ')[0]);
      }
    }
    expect(query(workdir(), 'SELECT * FROM submissions')).toEqual([]);
    expect((await sockApi(shared.daemon.socket, '/experiments')).status).toBe(200);
    expect((await sockApi<{ ok: boolean }>(shared.daemon.socket, '/health')).body.ok).toBe(true);
    expect(shared.daemon.child.exitCode).toBeNull();
  }, 120_000);
});

describe('nothing stored stops the daemon from starting or serving', () => {
  it('poison rows written into the store: the daemon restarts, fails each alone with its reason, and runs the next experiment', async () => {
    const { dir: d2, cleanup: c2 } = tempDir('wf-poison-');
    try {
      const wd = join(d2, 'wd');
      let d = await startDaemon(wd, ['--no-tcp']);
      await d.kill('SIGTERM');
      const db = new Database(join(wd, 'wayfinder.db'));
      const put = db.prepare('INSERT INTO submissions (experiment_id, seq, priority, pool, file, text, options_json, state, submitted_at) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?)');
      const now = Date.now();
      put.run('cond-0000000000', 1, 'default', '/x/cond.yaml', EXP('cond', ', if: "A == 1 &&"'), '{}', 'queued', now);
      put.run('deep-0000000000', 2, 'default', '/x/deep.yaml', EXP('deep', `, if: "${'('.repeat(20_000)}A${')'.repeat(20_000)}"`), '{}', 'running', now);
      put.run('opts-0000000000', 3, 'default', '/x/opts.yaml', EXP('opts'), 'not json', 'queued', now);
      put.run('yaml-0000000000', 4, 'default', '/x/yaml.yaml', ': : [', '{}', 'queued', now);
      put.run('name-0000000000', 5, 'default', '/x/name.yaml', EXP('other'), '{}', 'queued', now);
      db.close();

      d = await startDaemon(wd, ['--no-tcp']);
      try {
        const list = await sockApi<{ experiments: Status[] }>(d.socket, '/experiments');
        expect(list.status).toBe(200);
        expect(list.body.experiments).toHaveLength(5);
        const reasons: Record<string, RegExp> = {
          'cond-0000000000': /cond\.yaml:5:\d+: .*column 10: expected a parameter name/,
          'deep-0000000000': /deep\.yaml:5:\d+: .*at most 4096/,
          'opts-0000000000': /stored options are not a JSON object/,
          'yaml-0000000000': /yaml\.yaml:1:\d+/,
          'name-0000000000': /its text is experiment other-[0-9a-f]{10}/,
        };
        for (const [id, reason] of Object.entries(reasons)) {
          const st = await waitSock(d.socket, id, ['failed'], 30_000);
          expect(st.error, id).toMatch(reason);
        }
        const good = writeFile(d2, 'good.yaml', EXP('good'));
        const sub = await sockApi<{ id: string }>(d.socket, '/experiments', JSON_POST({ yaml: readFileSync(good, 'utf8'), file: good }));
        expect(sub.status).toBe(201);
        expect((await waitSock(d.socket, sub.body.id, ['done', 'failed'], 60_000)).state).toBe('done');
        expect(d.child.exitCode).toBeNull();
      } finally {
        await d.kill('SIGTERM');
      }
    } finally {
      c2();
    }
  }, 180_000);
});

describe('local access control', () => {
  it('listens on a unix socket of mode 0660 and on no TCP port by default', async () => {
    expect(shared.daemon.socket).toBe(join(workdir(), 'daemon.sock'));
    expect(shared.daemon.url).toBe('');
    const st = statSync(shared.daemon.socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o660);
    expect(shared.daemon.stderr()).toMatch(/listening on unix:\/\/\S+daemon\.sock\n/);
    // The CLI speaks to the socket of .wayfinder under the current directory unless told otherwise.
    const { dir: d2, cleanup: c2 } = tempDir('wf-default-');
    try {
      const d = await startDaemon(join(d2, '.wayfinder'), ['--no-tcp']);
      try {
        const r = await wayfinder(['status'], { cwd: d2, env: { WAYFINDER_SERVER: '' } });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toBe('no experiments submitted\n');
      } finally {
        await d.kill('SIGTERM');
      }
      const gone = await wayfinder(['status'], { cwd: d2, env: { WAYFINDER_SERVER: '' } });
      expect(gone.status).toBe(2);
      expect(gone.stderr).toMatch(/cannot reach the daemon at unix:\/\/\S+\/\.wayfinder\/daemon\.sock/);
    } finally {
      c2();
    }
  }, 120_000);

  it('TCP needs a token, on loopback too, unless the operator opts out by name (with a warning)', async () => {
    const { dir: d2, cleanup: c2 } = tempDir('wf-tcp-');
    try {
      const bare = await wayfinder(['daemon', '--workdir', join(d2, 'a'), '--listen', '127.0.0.1:0']);
      expect(bare.status).toBe(2);
      expect(bare.stderr).toMatch(/--listen 127\.0\.0\.1:0: TCP needs --token-file, on loopback too.*--insecure-loopback-no-token/);
      const wide = await wayfinder(['daemon', '--workdir', join(d2, 'b'), '--listen', '0.0.0.0:0', '--insecure-loopback-no-token']);
      expect(wide.status).toBe(2);
      expect(wide.stderr).toMatch(/not a loopback address, and no --token-file/);
      const alone = await wayfinder(['daemon', '--workdir', join(d2, 'c'), '--insecure-loopback-no-token']);
      expect(alone.status).toBe(2);
      expect(alone.stderr).toMatch(/--insecure-loopback-no-token: only with --listen/);
      const group = await wayfinder(['daemon', '--workdir', join(d2, 'e'), '--socket-group', 'no-such-group-wf']);
      expect(group.status).toBe(2);
      expect(group.stderr).toBe('wayfinder: --socket-group: no group "no-such-group-wf" on this host\n');

      const d = await startDaemon(join(d2, 'd'), ['--listen', '127.0.0.1:0', '--insecure-loopback-no-token']);
      try {
        expect(d.stderr()).toMatch(/WARNING: --insecure-loopback-no-token: 127\.0\.0\.1:0 takes requests without a token\. Every user and every process on this host .* run their commands as this daemon's user/);
        expect((await api(d.url, '/health')).status).toBe(200);
      } finally {
        await d.kill('SIGTERM');
      }
    } finally {
      c2();
    }
  }, 120_000);

  it('the socket is open to its group and closed to other users', async () => {
    if (process.getuid?.() !== 0) throw new Error('this test runs other users\' processes: run the suite as root (as CI does)');
    const { dir: d2, cleanup: c2 } = tempDir('wf-group-');
    // Only the socket's own mode may stand between another user and the daemon here.
    chmodSync(d2, 0o755);
    try {
      const nogroup = spawnSync('getent', ['group', 'nogroup'], { encoding: 'utf8' }).stdout.split(':')[2] ?? '65534';
      const probe = (socket: string, uid: number, gid: number) => {
        const r = spawnSync(
          process.execPath,
          ['-e', `require('node:net').connect(${JSON.stringify(socket)}).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); })`],
          { uid, gid, encoding: 'utf8' },
        );
        return r.stdout.trim();
      };
      const closed = await startDaemon(join(d2, 'closed'), ['--no-tcp']);
      try {
        chmodSync(join(d2, 'closed'), 0o755);
        expect(probe(closed.socket, 65534, 65534)).toBe('EACCES');
      } finally {
        await closed.kill('SIGTERM');
      }
      const open = await startDaemon(join(d2, 'open'), ['--no-tcp', '--socket-group', 'nogroup']);
      try {
        chmodSync(join(d2, 'open'), 0o755);
        expect(statSync(open.socket).gid).toBe(Number(nogroup));
        expect(probe(open.socket, 65534, Number(nogroup))).toBe('connected');
      } finally {
        await open.kill('SIGTERM');
      }
    } finally {
      c2();
    }
  }, 120_000);

  it('refuses cross-site and non-JSON changes (over TCP, where a web page could send them), and names ambiguous ids (409)', async () => {
    const { dir: d2, cleanup: c2 } = tempDir('wf-csrf-');
    try {
      const d = await startDaemon(join(d2, 'wd'), ['--listen', '127.0.0.1:0', '--insecure-loopback-no-token', '--no-worker']);
      try {
        // Two experiments named alike, in a pool no worker serves: they stay queued.
        const ids: string[] = [];
        for (const sleep of ['0', '0.01']) {
          const file = writeFile(d2, 'dup.yaml', EXP('dup', '', sleep));
          const r = await api<{ id: string }>(d.url, '/experiments', JSON_POST({ yaml: readFileSync(file, 'utf8'), file }));
          expect(r.status, r.text).toBe(201);
          ids.push(r.body.id);
        }
        expect(ids[0]).not.toBe(ids[1]);
        const cancel = (ref: string, headers: Record<string, string>) => api<{ error: string; state: string }>(d.url, `/experiments/${ref}/cancel`, { method: 'POST', headers, body: '{}' });
        const simple = await cancel(ids[0]!, { origin: 'http://evil.example', 'content-type': 'text/plain' });
        expect(simple.status).toBe(415);
        const cross = await cancel(ids[0]!, { origin: 'http://evil.example', 'content-type': 'application/json' });
        expect(cross.status).toBe(403);
        expect(cross.body.error).toMatch(/cross-site request refused \(Origin http:\/\/evil\.example\)/);
        const fetchSite = await cancel(ids[0]!, { 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' });
        expect(fetchSite.status).toBe(403);
        const post = await api(d.url, '/experiments', { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'application/json' }, body: JSON.stringify({ yaml: EXP('evil') }) });
        expect(post.status).toBe(403);
        expect((await api<Status>(d.url, `/experiments/${ids[0]}`)).body.state).toBe('queued');
        expect(query(join(d2, 'wd'), "SELECT * FROM submissions WHERE experiment_id LIKE 'evil%'")).toEqual([]);

        const amb = await api<{ error: string; matches: string[] }>(d.url, '/experiments/dup');
        expect(amb.status).toBe(409);
        expect(amb.body.matches.sort()).toEqual([...ids].sort());
        expect(amb.body.error).toMatch(/"dup" names 2 experiments: .*; give more of the id/);
        const ambCancel = await cancel('dup-', { 'content-type': 'application/json' });
        expect(ambCancel.status).toBe(409);
        // The same origin (the daemon's own page) may; so may a client that sends none.
        const own = await cancel(ids[0]!, { origin: d.url, 'content-type': 'application/json' });
        expect(own.status, own.text).toBe(200);
        expect(own.body.state).toBe('cancelled');
        const cli = await wayfinder(['status', 'dup', '--server', `unix://${d.socket}`]);
        expect(cli.status).toBe(2);
        expect(cli.stderr).toMatch(/"dup" names 2 experiments/);
      } finally {
        await d.kill('SIGTERM');
      }
    } finally {
      c2();
    }
  }, 120_000);

  it('a browser opens a report through a one-time link the CLI prints', async () => {
    const { dir: d2, cleanup: c2 } = tempDir('wf-link-');
    try {
      const token = 'Zq3-secret-token-for-links-9';
      const tokenFile = writeFile(d2, 'token', `${token}\n`);
      const d = await startDaemon(join(d2, 'wd'), ['--listen', '127.0.0.1:0', '--token-file', tokenFile]);
      try {
        const file = writeFile(d2, 'linked.yaml', EXP('linked'));
        const sub = await sockApi<{ id: string }>(d.socket, '/experiments', JSON_POST({ yaml: readFileSync(file, 'utf8'), file }));
        await waitSock(d.socket, sub.body.id, ['done'], 60_000);
        const link = await wayfinder(['link', 'linked', '--server', `unix://${d.socket}`]);
        expect(link.status, link.stderr).toBe(0);
        const url = link.stdout.trim();
        expect(url).toMatch(new RegExp(`^${d.url}/experiments/${sub.body.id}/report\\?ticket=[A-Za-z0-9_-]{32}$`));
        expect(link.stderr).toMatch(/opens linked-[0-9a-f]{10}'s report once/);
        expect((await api(d.url, `/experiments/${sub.body.id}/report`)).status).toBe(401);
        const first = await fetch(url, { redirect: 'manual' });
        expect(first.status).toBe(303);
        const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0] as string;
        expect(first.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Lax/);
        const page = await api(d.url, `/experiments/${sub.body.id}/report`, { headers: { cookie } });
        expect(page.status).toBe(200);
        expect(page.text).toMatch(/^<!DOCTYPE html>/i);
        // Once only; and the cookie opens that report, nothing else.
        expect((await fetch(url, { redirect: 'manual' })).status).toBe(401);
        expect((await api(d.url, '/experiments', { headers: { cookie } })).status).toBe(401);
        expect((await api(d.url, `/experiments/${sub.body.id}/results`, { headers: { cookie } })).status).toBe(401);
        // Without a TCP port there is nothing a browser could open: said, not a dead link.
        const none = await wayfinder(['link', 'linked', '--server', `unix://${shared.daemon.socket}`]);
        expect(none.status).toBe(2);
      } finally {
        await d.kill('SIGTERM');
      }
    } finally {
      c2();
    }
  }, 120_000);
});

describe('events have ids and are replayed', () => {
  it('since / Last-Event-ID replay from the events log; logs --follow and submit --wait miss nothing', async () => {
    const file = writeFile(shared.dir, 'ev.yaml', EXP('ev', '', '0.2'));
    const sub = await sockApi<{ id: string; firstEvent: number }>(shared.daemon.socket, '/experiments', JSON_POST({ yaml: readFileSync(file, 'utf8'), file }));
    expect(sub.status).toBe(201);
    expect(sub.body.firstEvent).toBe(1);
    // Followed while it runs, from the start: every line, from "queued" to "done".
    const follow = await wayfinder(['logs', sub.body.id, '--follow', '--server', `unix://${shared.daemon.socket}`]);
    expect(follow.status, follow.stderr).toBe(0);
    await waitSock(shared.daemon.socket, sub.body.id, ['done'], 60_000);
    const all = await readEvents(shared.daemon.socket, `/experiments/${sub.body.id}/events?since=0`, {}, (e) => e.type === 'state' && e.data.state === 'done');
    expect(all.map((e) => e.id)).toEqual(all.map((_, i) => i + 1));
    expect(all.map((e) => e.sseId)).toEqual(all.map((e) => String(e.id)));
    expect(all[0]).toMatchObject({ type: 'state', data: { state: 'queued' } });
    expect(all.filter((e) => e.type === 'config-finished')).toHaveLength(6);
    const logLines = (await sockApi(shared.daemon.socket, `/experiments/${sub.body.id}/logs`)).text.trim().split('\n');
    expect(follow.stdout.trim().split('\n')).toEqual(logLines);
    expect(logLines).toHaveLength(all.length);
    // Resuming after event k gives k+1 onwards, by header or by parameter.
    const k = 5;
    const after = await readEvents(shared.daemon.socket, `/experiments/${sub.body.id}/events`, { 'last-event-id': String(k) }, (e) => e.type === 'state' && e.data.state === 'done');
    expect(after.map((e) => e.id)).toEqual(all.slice(k).map((e) => e.id));
    expect((await sockApi(shared.daemon.socket, `/experiments/${sub.body.id}/events?since=x`)).status).toBe(400);

    // submit --wait on a busy machine: three CPU hogs beside it; every configuration is shown.
    const hogs = Array.from({ length: 3 }, () => spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
    try {
      const f2 = writeFile(shared.dir, 'busy.yaml', EXP('busy'));
      const r = await wayfinder(['submit', f2, '--wait', '--no-confirm', '--server', `unix://${shared.daemon.socket}`]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr.match(/^\[\d\/6\] /gm)).toHaveLength(6);
      expect(r.stdout).toMatch(/6 configurations measured: 6 ok, 0 failed/);
    } finally {
      for (const h of hogs) h.kill('SIGKILL');
    }
  }, 180_000);
});

describe('the smaller items', () => {
  it('unknown logs 404; HEAD /health 200; twelve event streams without a listener warning', async () => {
    const logs = await sockApi<{ error: string }>(shared.daemon.socket, '/experiments/nope/logs');
    expect(logs.status).toBe(404);
    expect(logs.body.error).toBe('no experiment "nope"');
    const head = await sockApi(shared.daemon.socket, '/health', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    const streams = Array.from({ length: 12 }, () => {
      const req = request({ socketPath: shared.daemon.socket, path: '/events' });
      req.end();
      return req;
    });
    const file = writeFile(shared.dir, 'many.yaml', EXP('many'));
    const sub = await sockApi<{ id: string }>(shared.daemon.socket, '/experiments', JSON_POST({ yaml: readFileSync(file, 'utf8'), file }));
    await waitSock(shared.daemon.socket, sub.body.id, ['done'], 60_000);
    for (const s of streams) s.destroy();
    expect(shared.daemon.stderr()).not.toMatch(/MaxListenersExceededWarning/);
  }, 120_000);

  it('the pool is part of an experiment\'s identity; a pool with no live worker keeps it queued, saying why', async () => {
    const file = writeFile(shared.dir, 'pooled.yaml', EXP('pooled'));
    const yaml = readFileSync(file, 'utf8');
    const here = await sockApi<{ id: string }>(shared.daemon.socket, '/experiments', JSON_POST({ yaml, file }));
    await waitSock(shared.daemon.socket, here.body.id, ['done'], 60_000);
    const there = await sockApi<{ id: string }>(shared.daemon.socket, '/experiments', JSON_POST({ yaml, file, pool: 'elsewhere' }));
    expect(there.status).toBe(201);
    expect(there.body.id).not.toBe(here.body.id);
    const deadline = Date.now() + 20_000;
    let st: Status;
    for (;;) {
      st = (await sockApi<Status>(shared.daemon.socket, `/experiments/${there.body.id}`)).body;
      if (st.waiting || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(st.state).toBe('queued');
    expect(st.pool).toBe('elsewhere');
    expect(st.waiting).toMatch(/no live worker in pool "elsewhere"/);
    expect((await sockApi(shared.daemon.socket, `/experiments/${there.body.id}/logs`)).text).toMatch(/waiting: no live worker in pool "elsewhere"/);
    // The measured runs keep their experiment: none moved to the other pool's.
    const runs = query<{ experiment_id: string; n: number }>(workdir(), 'SELECT experiment_id, COUNT(*) AS n FROM runs WHERE experiment_id IN (?, ?) GROUP BY experiment_id', here.body.id, there.body.id);
    expect(runs).toEqual([{ experiment_id: here.body.id, n: 6 }]);
    const cancelled = await sockApi<{ state: string }>(shared.daemon.socket, `/experiments/${there.body.id}/cancel`, JSON_POST({}));
    expect(cancelled.body.state).toBe('cancelled');
    expect((await waitSock(shared.daemon.socket, there.body.id, ['cancelled'], 10_000)).state).toBe('cancelled');
  }, 120_000);

  it('`run --cpus 9` on a host without CPU 9: a clear error, status 2, at once, and no redis-server left', async () => {
    const file = writeFile(shared.dir, 'cpus.yaml', EXP('cpus'));
    const wd = join(shared.dir, 'cpus-wd');
    const t0 = Date.now();
    const r = await wayfinder(['run', file, '--cpus', '9999', '--workdir', wd], { timeoutMs: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^wayfinder: --cpus 9999: none of these CPUs can run jobs here; this process may use CPUs \d/);
    expect(Date.now() - t0).toBeLessThan(20_000);
    const left = spawnSync('pgrep', ['-f', `redis-server.*${wd}`], { encoding: 'utf8' });
    expect(left.stdout).toBe('');
  }, 60_000);
});
