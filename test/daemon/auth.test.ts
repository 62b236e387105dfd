import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requireTool, tempDir, wayfinder, writeFile } from '../helpers.js';
import { api, startDaemon, type Proc } from './helpers.js';

const procs: Proc[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill('SIGKILL');
  cleanups.splice(0).forEach((f) => f());
});

describe('daemon security and set-up errors', () => {
  it('refuses to listen off loopback without a token; with one, every request must carry it', async () => {
    requireTool('redis-server');
    const { dir, cleanup } = tempDir('wf-auth-');
    cleanups.push(cleanup);
    const open = await wayfinder(['daemon', '--listen', '0.0.0.0:0', '--workdir', join(dir, 'wd')]);
    expect(open.status).toBe(2);
    expect(open.stderr).toMatch(/--listen 0\.0\.0\.0:0: not a loopback address, and no --token-file/);
    const short = writeFile(dir, 'short', 'abc\n');
    const weak = await wayfinder(['daemon', '--listen', '0.0.0.0:0', '--workdir', join(dir, 'wd'), '--token-file', short]);
    expect(weak.status).toBe(2);
    expect(weak.stderr).toMatch(/at least 16 characters/);

    const token = 'a'.repeat(8) + 'Zq3-secret-token-9';
    const tokenFile = writeFile(dir, 'token', `${token}\n`);
    const d = await startDaemon(join(dir, 'wd'), ['--listen', '0.0.0.0:0', '--token-file', tokenFile].slice(0));
    procs.push(d);
    const port = new URL(d.url).port;
    const url = `http://127.0.0.1:${port}`;
    expect((await api(url, '/health')).status).toBe(401);
    expect((await api(url, '/experiments', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    // Same length, one character off.
    expect((await api(url, '/experiments', { headers: { authorization: `Bearer ${token.slice(0, -1)}X` } })).status).toBe(401);
    expect((await api(url, '/experiments', { method: 'POST', headers: { authorization: 'Basic x' }, body: '{}' })).status).toBe(401);
    const ok = await api<{ ok: boolean }>(url, '/health', { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);

    const viaFile = await wayfinder(['status', '--server', url, '--token-file', tokenFile]);
    expect(viaFile.status, viaFile.stderr).toBe(0);
    expect(viaFile.stdout).toBe('no experiments submitted\n');
    const viaEnv = await wayfinder(['status', '--server', url], { env: { WAYFINDER_TOKEN: token } });
    expect(viaEnv.status).toBe(0);
    const without = await wayfinder(['status', '--server', url]);
    expect(without.status).toBe(2);
    expect(without.stderr).toMatch(/missing or wrong token/);
  }, 120000);

  it('--help of daemon, worker and submit says that experiments run commands on the host', async () => {
    for (const cmd of ['daemon', 'worker', 'submit']) {
      const r = await wayfinder([cmd, '--help']);
      expect(r.status).toBe(0);
      expect(r.stdout, cmd).toMatch(/runs? (its|their) build and test commands on (this host|the daemon's hosts)|commands run on the daemon's hosts/);
    }
  }, 120000);

  it('a missing redis-server, a bad or unreachable --redis: a clear error and status 2', async () => {
    const { dir, cleanup } = tempDir('wf-redis-');
    cleanups.push(cleanup);
    const file = writeFile(
      dir,
      'x.yaml',
      `
name: x
params: [{ name: A, type: integer, only: [1], default: 1, when: test }]
test: { run: 'echo v=1' }
metrics: [{ name: v, parser: regex, pattern: 'v=(\\d+)' }]
objective: { metric: v, direction: maximize }
`,
    );
    // A PATH with a shell and nothing else: no redis-server.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync('/bin/sh', join(bin, 'sh'));
    const r = await wayfinder(['run', file, '--workdir', join(dir, 'wd')], { env: { PATH: bin } });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/redis-server is not installed.*apt-get install redis-server.*--redis/);
    const d = await wayfinder(['daemon', '--workdir', join(dir, 'wd2')], { env: { PATH: bin } });
    expect(d.status).toBe(2);
    expect(d.stderr).toMatch(/redis-server is not installed/);

    const bad = await wayfinder(['daemon', '--workdir', join(dir, 'wd3'), '--redis', 'http://x']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--redis: unsupported scheme "http:"/);
    const gone = await wayfinder(['run', file, '--workdir', join(dir, 'wd4'), '--redis', 'redis://127.0.0.1:1/0']);
    expect(gone.status).toBe(2);
    expect(gone.stderr).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1\/0/);
    const noRedis = await wayfinder(['worker', '--workdir', join(dir, 'wd5')]);
    expect(noRedis.status).toBe(2);
    expect(noRedis.stderr).toMatch(/--redis: a worker needs/);
  }, 120000);
});
