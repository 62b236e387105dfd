// The daemon's cost per job: 1,000 trivial jobs (`true`) submitted to a real `wayfinder daemon`
// (embedded redis-server, SQLite store, its own worker), against the same 1,000 commands run by
// a plain loop of child processes (as many at a time as the daemon may run). Overhead per job =
// daemon wall time per job minus the plain loop's time per job. Target: under 5 ms per job on a
// 2-core machine. The daemon's work directory goes where the daemon keeps it by default, in the
// current directory (.wayfinder), or under WAYFINDER_BENCH_DIR: where it lives matters, since each
// run makes a folder and two output files and each result is flushed to disk, and a file system's
// cost per file differs by an order of magnitude between folders of this very machine (its /tmp).
//
//   npx tsx bench/daemon.ts [JOBS] [PARALLEL ...]     (default 1000 jobs, parallel 1 and 2)

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const JOBS = Number(process.argv[2] ?? 1000);
const PARALLEL = process.argv.length > 3 ? process.argv.slice(3).map(Number) : [1, 2];
const CLI = fileURLToPath(new URL('../bin/wayfinder.js', import.meta.url));
const BASE = resolve(process.env.WAYFINDER_BENCH_DIR ?? '.', '.wayfinder-bench');
mkdirSync(BASE, { recursive: true });
// On ext4, folders made where thousands of files were just deleted (the last run's clean-up) cost
// more than ten times as much to create, for a while: the top-of-hierarchy flag makes each run's work
// directory start in a block group of its own, as a new daemon's would. Elsewhere it is a no-op.
const spread = spawnSync('chattr', ['+T', BASE], { stdio: 'ignore' }).status === 0;

/** `n` × `sh -c true`, `parallel` at a time, each started as soon as one ends. */
async function plainLoop(n: number, parallel: number): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      next++;
      await new Promise<void>((res, rej) => {
        const c = spawn('/bin/sh', ['-c', 'true'], { stdio: 'ignore' });
        c.once('error', rej);
        c.once('exit', () => res());
      });
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return performance.now() - t0;
}

/** CPU milliseconds (user + system) of a process and of its children it has waited for. */
function cpuOf(pid: number): { own: number; reaped: number; comm: string } | undefined {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ').map(Number);
    const tick = 10; // USER_HZ is 100 on Linux
    return { own: ((f[11] as number) + (f[12] as number)) * tick, reaped: ((f[13] as number) + (f[14] as number)) * tick, comm: st.slice(st.indexOf('(') + 1, st.lastIndexOf(')')) };
  } catch {
    return undefined;
  }
}

/** CPU per role in the daemon's process tree: the daemon, its redis-server, the job launcher, and the jobs (the launcher's reaped children). */
function cpuByRole(daemonPid: number): Record<string, number> {
  const out: Record<string, number> = { daemon: cpuOf(daemonPid)?.own ?? 0 };
  let kids: number[] = [];
  try {
    kids = readFileSync(`/proc/${daemonPid}/task/${daemonPid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);
  } catch {
    // gone
  }
  for (const k of kids) {
    const c = cpuOf(k);
    if (!c) continue;
    if (c.comm.startsWith('redis')) out.redis = (out.redis ?? 0) + c.own;
    else {
      out.launcher = (out.launcher ?? 0) + c.own;
      out.jobs = (out.jobs ?? 0) + c.reaped;
    }
  }
  return out;
}

async function startDaemon(workdir: string): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [CLI, 'daemon', '--listen', '127.0.0.1:0', '--insecure-loopback-no-token', '--workdir', workdir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  for (let i = 0; i < 600; i++) {
    const m = / and (http:\/\/\S+)/.exec(err);
    if (m) return { url: m[1] as string, pid: child.pid as number, stop: async () => void (child.kill('SIGTERM'), await exited) };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`daemon did not start: ${err}`);
}

/**
 * Milliseconds per folder and per empty file made in `dir` (a run makes up to three folders and two
 * files): this machine's file system costs 0.02 ms here and 0.6 ms there, and more where many files
 * were just deleted, so the figure says what the daemon's runs paid.
 */
function fileCost(dir: string): { folder: number; file: number } {
  const probe = mkdtempSync(join(dir, 'probe-'));
  const n = 100;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) mkdirSync(join(probe, `d${i}`));
  const t1 = performance.now();
  for (let i = 0; i < n; i++) closeSync(openSync(join(probe, `d${i}`, 'f'), 'a'));
  return { folder: (t1 - t0) / n, file: (performance.now() - t1) / n };
}

// Every work directory stays until the end: files deleted just before make the next ones slow to
// create nearby, which would charge one measurement with the last one's clean-up.
const made: string[] = [];
process.once('exit', () => made.forEach((d) => rmSync(d, { recursive: true, force: true })));
process.once('SIGINT', () => process.exit(130));

async function throughDaemon(n: number, parallel: number): Promise<{ wallMs: number; jobMs: number; stored: number; once: boolean; cpu: Record<string, number> }> {
  const dir = mkdtempSync(join(BASE, 'run-'));
  made.push(dir);
  const fs = fileCost(dir);
  console.log(`  file system there: ${fs.folder.toFixed(3)} ms per folder, ${fs.file.toFixed(3)} ms per file`);
  const file = join(dir, 'trivial.yaml');
  // `true` prints no metric: every configuration is stored as a parse failure, which costs the
  // same path (run, result, transaction) as a measured one.
  writeFileSync(
    file,
    `
name: trivial
params:
  - { name: N, type: integer, min: 1, max: ${n}, default: 1, when: test }
test: { run: 'true', iterations: 1 }
metrics: [{ name: v, parser: regex, pattern: 'v=(\\d+)' }]
objective: { metric: v, direction: maximize }
exploration: { strategy: grid, parallel: ${parallel} }
`,
  );
  const d = await startDaemon(join(dir, 'wd'));
  try {
    const cpu0 = cpuByRole(d.pid);
    const t0 = performance.now();
    const res = await fetch(`${d.url}/experiments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ yaml: (await import('node:fs')).readFileSync(file, 'utf8'), file }),
    });
    const { id } = (await res.json()) as { id: string };
    // The end is read from the event stream: polling the status would load the daemon being measured.
    const events = await fetch(`${d.url}/experiments/${id}/events`);
    const reader = (events.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const ended = (): boolean => /"type":"state","at":\d+,"data":\{"state":"(done|failed|cancelled)"/.test(text);
    const st = (await (await fetch(`${d.url}/experiments/${id}`)).json()) as { state: string };
    while (st.state !== 'done' && !ended()) {
      const { value, done } = await reader.read();
      if (done) break;
      text = text.slice(-4096) + new TextDecoder().decode(value);
    }
    await reader.cancel();
    const wallMs = performance.now() - t0;
    const cpu1 = cpuByRole(d.pid);
    const cpu = Object.fromEntries(Object.entries(cpu1).map(([k, v]) => [k, v - (cpu0[k] ?? 0)]));
    const db = new Database(join(dir, 'wd', 'wayfinder.db'), { readonly: true });
    const r = db.prepare('SELECT COUNT(*) AS n, SUM(duration_ms) AS ms FROM runs').get() as { n: number; ms: number };
    const dup = db.prepare('SELECT COUNT(*) AS n FROM (SELECT 1 FROM runs GROUP BY config_id, iteration HAVING COUNT(*) > 1)').get() as { n: number };
    db.close();
    return { wallMs, jobMs: r.ms, stored: r.n, once: dup.n === 0, cpu };
  } finally {
    await d.stop();
  }
}

console.log(`work directories under ${BASE} (WAYFINDER_BENCH_DIR, default the current directory)${spread ? ', each in a block group of its own (chattr +T)' : ''}; ${JOBS} jobs of \`true\` each way; the load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
let worst = 0;
for (const p of PARALLEL) {
  // The baseline runs the same commands as many at a time as the daemon may.
  const plainCpu0 = cpuOf(process.pid);
  const plain = await plainLoop(JOBS, p);
  const plainCpu = (cpuOf(process.pid)?.reaped ?? 0) - (plainCpu0?.reaped ?? 0);
  const perPlain = plain / JOBS;
  console.log(`plain loop of child processes, ${p} at a time: ${JOBS} × sh -c true in ${(plain / 1000).toFixed(2)} s = ${perPlain.toFixed(2)} ms/job (the jobs' CPU ${(plainCpu / JOBS).toFixed(2)} ms/job)`);
  const r = await throughDaemon(JOBS, p);
  const per = r.wallMs / JOBS;
  const overhead = per - perPlain;
  const runner = r.jobMs / r.stored;
  worst = Math.max(worst, overhead);
  console.log(
    `daemon, parallel ${p}: ${r.stored} jobs stored${r.once ? ', each once' : ', DUPLICATES'} in ${(r.wallMs / 1000).toFixed(2)} s = ${per.toFixed(2)} ms/job; ` +
      `overhead ${overhead.toFixed(2)} ms/job over the plain loop (ratio ${(per / perPlain).toFixed(2)}×); ` +
      `the job as the runner timed it (launcher, cgroup, process group) ${runner.toFixed(2)} ms`,
  );
  console.log(`  CPU per job: ${Object.entries(r.cpu).map(([k, v]) => `${k} ${(v / r.stored).toFixed(2)} ms`).join(', ')}`);
}
console.log(`target: overhead under 5 ms/job at every parallelism: ${worst < 5 ? 'met' : 'NOT met'} (worst ${worst.toFixed(2)} ms)`);
