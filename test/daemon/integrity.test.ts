// Queue integrity: workers run only jobs the coordinator signed (an HMAC with the job key), a job
// added to Redis by anyone else or altered there is refused and reported; Redis with a password
// (loopback port, unix socket) and TLS works for the daemon and its workers.

import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalJson, checkJob, readJobKey, signJob } from '../../src/queue/signing.js';
import { parseRedisUrl, redact } from '../../src/queue/redis.js';
import { requireTool, tempDir, waitFor, wayfinder, writeFile } from '../helpers.js';
import { api, query, startDaemon, startWorker, submitBody, waitState, type Proc } from './helpers.js';
import { jobKeyFile, testRedis, type TestRedis } from './redis-server.js';

const procs: Proc[] = [];
const servers: TestRedis[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill('SIGKILL');
  for (const r of servers.splice(0)) await r.kill('SIGKILL');
  cleanups.splice(0).forEach((f) => f());
});

const EXP = (name: string, pool = 'p'): string => `
name: ${name}
pool: ${pool}
params:
  - { name: X, type: integer, min: 1, max: 3, default: 1 }
test:
  run: 'echo "v=$X"'
  iterations: 2
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { parallel: 2 }
`;

describe('job signatures', () => {
  it('sign the canonical content: key order and absent members do not matter, any change does', () => {
    const key = Buffer.from('x'.repeat(40));
    const work = { kind: 'test', experimentId: 'e', job: { run: 'true', iterations: 2 }, env: { A: '1' }, resumed: undefined };
    expect(canonicalJson(work)).toBe('{"env":{"A":"1"},"experimentId":"e","job":{"iterations":2,"run":"true"},"kind":"test"}');
    const sig = signJob(key, 'test', 't.e.c.test', work);
    expect(checkJob(key, 'test', 't.e.c.test', { env: { A: '1' }, job: { iterations: 2, run: 'true' }, kind: 'test', experimentId: 'e', signature: sig })).toBeUndefined();
    expect(checkJob(key, 'test', 't.e.c.test', { ...work, job: { run: 'id > /tmp/x', iterations: 2 }, signature: sig })).toMatch(/does not match its content/);
    expect(checkJob(key, 'build', 't.e.c.test', { ...work, signature: sig })).toMatch(/does not match/);
    // The same signed job copied under another id, to run it again.
    expect(checkJob(key, 'test', 'copy-1', { ...work, signature: sig })).toMatch(/copied under another id/);
    expect(checkJob(Buffer.from('y'.repeat(40)), 'test', 't.e.c.test', { ...work, signature: sig })).toMatch(/does not match/);
    expect(checkJob(key, 'test', 't.e.c.test', work)).toBe('the job is not signed');
    expect(checkJob(key, 'test', 't.e.c.test', { ...work, signature: 'abc' })).toBe('the job is not signed');
  });

  it('a job key file must be the owner\'s alone and long enough', () => {
    const { dir, cleanup } = tempDir('wf-jobkey-');
    cleanups.push(cleanup);
    const path = jobKeyFile(dir);
    expect(readJobKey(path).length).toBeGreaterThanOrEqual(32);
    chmodSync(path, 0o640);
    expect(() => readJobKey(path)).toThrow(/may be read by others \(mode 0640\).*chmod 600/);
    writeFileSync(path, 'short\n', { mode: 0o600 });
    chmodSync(path, 0o600);
    expect(() => readJobKey(path)).toThrow(/at least 32 characters/);
    expect(() => readJobKey(join(dir, 'none'))).toThrow(/--job-key: cannot read .*ENOENT/);
  });

  it('Redis URLs: password and ACL user, TLS, unix sockets with a password; printed without the password', () => {
    expect(parseRedisUrl('redis://:p%40ss@queue-host:6380/2')).toEqual({ host: 'queue-host', port: 6380, db: 2, password: 'p@ss' });
    expect(parseRedisUrl('redis://wayfinder:secret@10.0.0.1')).toEqual({ host: '10.0.0.1', port: 6379, db: 0, username: 'wayfinder', password: 'secret' });
    expect(parseRedisUrl('rediss://:pw@queue-host:6390/1')).toEqual({ host: 'queue-host', port: 6390, db: 1, password: 'pw', tls: { servername: 'queue-host' } });
    expect(parseRedisUrl('unix://:pw@/run/redis/redis.sock?db=3')).toEqual({ path: '/run/redis/redis.sock', db: 3, password: 'pw' });
    expect(parseRedisUrl('unix:///run/redis.sock')).toEqual({ path: '/run/redis.sock' });
    expect(() => parseRedisUrl('http://x')).toThrow(/unsupported scheme "http:"/);
    expect(() => parseRedisUrl('redis://:pw@h/x')).toThrow(/bad database number in "redis:\/\/:\*\*\*@h\/x"/);
    expect(redact('redis://user:secret@h:1/0')).toBe('redis://user:***@h:1/0');
    expect(redact('unix://:secret@/run/r.sock')).toBe('unix://:***@/run/r.sock');
  });

  it('workers run only signed jobs: a job added to Redis directly, or altered there, is refused and reported, and runs nothing', async () => {
    requireTool('redis-server');
    const { dir, cleanup } = tempDir('wf-signed-');
    cleanups.push(cleanup);
    const password = 'integrity-pass';
    const socket = join(dir, 'redis.sock');
    const redis = await testRedis({ dir: join(dir, 'redis'), password, socket });
    servers.push(redis);
    const key = jobKeyFile(dir);
    const workdir = join(dir, 'wd');
    // The daemon reaches Redis on its socket, the worker on the loopback port: both with the password.
    const d = await startDaemon(workdir, ['--no-worker', '--redis', `unix://:${password}@${socket}`, '--job-key', key]);
    procs.push(d);
    const w = await startWorker(['--redis', `redis://:${password}@127.0.0.1:${redis.port}/0`, '--job-key', key, '--workdir', join(dir, 'w1'), '--pool', 'p', '--name', 'w1']);
    procs.push(w);
    const file = writeFile(dir, 'signed.yaml', EXP('signed'));
    const sub = await api<{ id: string }>(d.url, '/experiments', submitBody(readFileSync(file, 'utf8'), file));
    await waitState(d.url, sub.body.id, ['done'], 60_000);
    expect(query(workdir, 'SELECT COUNT(*) AS n FROM runs')).toEqual([{ n: 6 }]);

    // Someone who can write to Redis queues a command of their own, and alters a signed job.
    const q = new Queue('test.p', { connection: { ...redis.connection, maxRetriesPerRequest: null }, prefix: 'wayfinder' });
    try {
      const signed = (await q.getJobs(['completed']))[0];
      expect(signed?.data.signature).toMatch(/^[0-9a-f]{64}$/);
      const pwned = join(dir, 'pwned');
      const forged = { ...signed?.data, configId: 'forged', job: { ...signed?.data.job, run: `touch ${pwned}.1` } };
      delete (forged as { signature?: string }).signature;
      const altered = { ...signed?.data, configId: 'altered', job: { ...signed?.data.job, run: `touch ${pwned}.2` } };
      await q.add('test', forged, { jobId: 'forged-1' });
      await q.add('test', altered, { jobId: 'altered-1' });
      // A signed job, unaltered, copied under a new id to run it again.
      await q.add('test', signed?.data, { jobId: 'replayed-1' });
      await waitFor(() => (w.stderr().match(/refused job/g) ?? []).length >= 3, 30_000, 'three refusals');
      expect(w.stderr()).toMatch(/refused job replayed-1 from queue test\.p: .*copied under another id/);
      expect(w.stderr()).toMatch(/refused job forged-1 from queue test\.p: the job is not signed; this worker runs only jobs signed with its job key/);
      expect(w.stderr()).toMatch(/refused job altered-1 from queue test\.p: the job's signature does not match its content/);
      for (const id of ['forged-1', 'altered-1']) {
        const job = await q.getJob(id);
        expect(await job?.getState()).toBe('failed');
        expect(job?.failedReason).toMatch(/^refused job/);
        expect(job?.attemptsMade).toBe(1);
      }
      expect(existsSync(`${pwned}.1`)).toBe(false);
      expect(existsSync(`${pwned}.2`)).toBe(false);
      // Reported where the experiment it named is followed, and as a failure that says why, never a measurement.
      await waitFor(() => /refused job altered-1/.test(readFileSync(join(workdir, 'logs', 'wayfinder.log'), 'utf8')), 10_000, 'the daemon\'s log line');
      const logs = await api(d.url, `/experiments/${sub.body.id}/logs`);
      expect(logs.text).toMatch(/w1 refused job forged-1: refused job forged-1 from queue test\.p: the job is not signed/);
      const results = new Queue(`results.${sub.body.id}`, { connection: { ...redis.connection, maxRetriesPerRequest: null }, prefix: 'wayfinder' });
      const answered = (await results.getJobs(['waiting', 'prioritized'])).map((j) => j.data as { configId: string; status: string; failure: string; error: string });
      await results.close();
      expect(answered.map((r) => [r.configId, r.status, r.failure]).sort()).toEqual([['altered', 'failed', 'infra'], ['forged', 'failed', 'infra']]);
      expect(query(workdir, "SELECT COUNT(*) AS n FROM runs WHERE config_id IN ('forged', 'altered')")).toEqual([{ n: 0 }]);
    } finally {
      await q.close();
    }
  }, 120_000);

  it('a wrong password, and a job key others may read, stop a worker at start with one line and status 2', async () => {
    requireTool('redis-server');
    const { dir, cleanup } = tempDir('wf-badauth-');
    cleanups.push(cleanup);
    const redis = await testRedis({ dir: join(dir, 'redis'), password: 'right-one' });
    servers.push(redis);
    const wrong = await wayfinder(['worker', '--redis', `redis://:wrong-one@127.0.0.1:${redis.port}`, '--workdir', join(dir, 'w')], { timeoutMs: 30_000 });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(new RegExp(`cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${redis.port}: WRONGPASS`));
    expect(wrong.stderr).not.toContain('wrong-one');
    expect(wrong.stderr).not.toMatch(/\n\s+at /);
    const key = jobKeyFile(dir);
    chmodSync(key, 0o644);
    const open = await wayfinder(['worker', '--redis', `redis://:right-one@127.0.0.1:${redis.port}`, '--job-key', key, '--workdir', join(dir, 'w')], { timeoutMs: 30_000 });
    expect(open.status).toBe(2);
    expect(open.stderr).toMatch(/--job-key: .* may be read by others \(mode 0644\)/);
  }, 60_000);

  it('wayfinder run --job-key signs and checks its own jobs; a key others may read stops it with status 2', async () => {
    requireTool('redis-server');
    const { dir, cleanup } = tempDir('wf-runkey-');
    cleanups.push(cleanup);
    const key = jobKeyFile(dir);
    const file = writeFile(dir, 'run.yaml', EXP('run-signed', 'default'));
    const ok = await wayfinder(['run', file, '--workdir', join(dir, 'wd'), '--job-key', key, '--json', '--no-confirm'], { timeoutMs: 60_000 });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).not.toMatch(/refused/);
    expect(query(join(dir, 'wd'), 'SELECT COUNT(*) AS n FROM runs')).toEqual([{ n: 6 }]);
    // The jobs it queued were signed: their data in the append-only file carries the signature.
    const aof = execFileSync('sh', ['-c', `cat "${join(dir, 'wd', 'redis')}"/appendonlydir/*.aof`], { encoding: 'utf8' });
    expect(aof.match(/\\?"signature\\?":\\?"[0-9a-f]{64}/g)?.length).toBeGreaterThanOrEqual(3);
    chmodSync(key, 0o604);
    const open = await wayfinder(['run', file, '--workdir', join(dir, 'wd2'), '--job-key', key], { timeoutMs: 30_000 });
    expect(open.status).toBe(2);
    expect(open.stderr).toMatch(/^wayfinder: --job-key: .* may be read by others \(mode 0604\)/);
  }, 90_000);

  it('TLS: the daemon and its worker use a rediss:// Redis (password on, certificate checked)', async () => {
    requireTool('redis-server');
    requireTool('openssl');
    const { dir, cleanup } = tempDir('wf-tls-');
    cleanups.push(cleanup);
    // A CA, and a certificate for 127.0.0.1 it signed.
    const f = (n: string): string => join(dir, n);
    const ssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=wayfinder test CA', '-keyout', f('ca.key'), '-out', f('ca.crt'));
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr'));
    writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', f('ext.cnf'), '-out', f('server.crt'));
    const redis = await testRedis({ dir: join(dir, 'redis'), password: 'tls-pass', tls: { cert: f('server.crt'), key: f('server.key'), ca: f('ca.crt') } });
    servers.push(redis);
    const url = `rediss://:tls-pass@127.0.0.1:${redis.port}/0`;
    // Without the CA, the certificate is refused: the daemon says so and stops.
    const untrusted = await wayfinder(['daemon', '--listen', '127.0.0.1:0', '--insecure-loopback-no-token', '--workdir', join(dir, 'x'), '--redis', url], { timeoutMs: 30_000 });
    expect(untrusted.status).toBe(2);
    expect(untrusted.stderr).toMatch(/cannot reach Redis at rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0: .*(certificate|self.signed)/i);
    const workdir = join(dir, 'wd');
    const d = await startDaemon(workdir, ['--redis', url, '--pool', 'p'], { NODE_EXTRA_CA_CERTS: f('ca.crt') });
    procs.push(d);
    const file = writeFile(dir, 'tls.yaml', EXP('tls'));
    const sub = await api<{ id: string }>(d.url, '/experiments', submitBody(readFileSync(file, 'utf8'), file));
    await waitState(d.url, sub.body.id, ['done'], 60_000);
    expect(query(workdir, 'SELECT COUNT(*) AS n FROM runs')).toEqual([{ n: 6 }]);
    expect((await api<{ redis: { ok: boolean } }>(d.url, '/health')).body.redis.ok).toBe(true);
  }, 90_000);
});
