// Fidelity: what wayfinder measures of a unikernel image against the same image measured by hand,
// interleaved in one run (docs/targets.md, "Fidelity"). Two measurements:
//
//   npx tsx bench/fidelity.ts boot  --kernel IMG [--marker RE] [--memory 32M] [--cpu 1] [--rounds 4] [--runs 5]
//   npx tsx bench/fidelity.ts nginx --kernel IMG --initrd CPIO --args ARGS [--cpus 0,1] [--rounds 3] [--runs 3]
//                                   [--duration 10] [--connections 30] [--path index.html]
//   both: [--warmup 1]  runs each side makes first in every round and leaves out (a cold page cache
//                       and a fresh process are not what either side measures afterwards)
//
// "Ours" is `wayfinder run` of a one-configuration experiment that boots the image (its vm.boot_ms,
// or its wrk.requests_per_sec through scripts/test/unikraft-wrk.sh). "By hand" is what a user would
// type: QEMU with the same options (not paused, no QMP), started with setsid and taskset as from a
// terminal of its own; boot time from just before QEMU's exec to the marker in its console file;
// for NGINX the vCPU thread pinned to the first CPU with taskset -p, curl until it answers, then wrk
// on the last CPU. Rounds alternate which side goes first. Prints every sample, the medians, the
// ratio ours / by hand with a bootstrap 95% interval, a rank test, and the load average.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import Database from 'better-sqlite3';
import { mannWhitney, medianRatio } from '../src/metrics/two-sample.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'bin', 'wayfinder.js');
const QEMU = 'qemu-system-x86_64';

interface Options {
  mode: 'boot' | 'nginx';
  kernel: string;
  initrd?: string;
  args?: string;
  marker: string;
  memory: string;
  cpus: number[];
  rounds: number;
  runs: number;
  warmup: number;
  duration: number;
  connections: number;
  path: string;
}

function parse(argv: string[]): Options {
  const [mode, ...rest] = argv;
  if (mode !== 'boot' && mode !== 'nginx') usage(`first argument must be boot or nginx, not '${mode ?? ''}'`);
  const flags = new Map<string, string>();
  for (let i = 0; i < rest.length; i += 2) {
    const k = rest[i] as string;
    const v = rest[i + 1];
    if (!k.startsWith('--') || v === undefined) usage(`expected --flag value, got '${k}'`);
    flags.set(k.slice(2), v);
  }
  const num = (k: string, d: number): number => {
    const v = flags.get(k);
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < (k === 'warmup' ? 0 : 1)) usage(`--${k} must be a ${k === 'warmup' ? 'whole number' : 'positive whole number'}, not '${v}'`);
    return n;
  };
  const kernel = flags.get('kernel') ?? usage('--kernel IMG is needed');
  const o: Options = {
    mode,
    kernel: resolve(kernel),
    marker: flags.get('marker') ?? (mode === 'boot' ? 'Hello world' : 'Powered by|Unikraft'),
    memory: flags.get('memory') ?? (mode === 'boot' ? '32M' : '256M'),
    cpus: (flags.get('cpus') ?? flags.get('cpu') ?? (mode === 'boot' ? '1' : '0,1')).split(',').map(Number),
    rounds: num('rounds', mode === 'boot' ? 4 : 3),
    runs: num('runs', mode === 'boot' ? 5 : 3),
    warmup: num('warmup', 1),
    duration: num('duration', 10),
    connections: num('connections', 30),
    path: flags.get('path') ?? 'index.html',
  };
  if (flags.has('initrd')) o.initrd = resolve(flags.get('initrd') as string);
  if (flags.has('args')) o.args = flags.get('args') as string;
  if (mode === 'nginx' && o.cpus.length < 2) usage('nginx needs --cpus with two CPUs: the vCPU on the first, wrk on the last');
  return o;
}

function usage(why: string): never {
  process.stderr.write(`bench/fidelity: ${why}\nusage: npx tsx bench/fidelity.ts boot|nginx --kernel IMG [...] (see the file's head)\n`);
  process.exit(2);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- ours: wayfinder run of a one-configuration experiment ----

function experiment(o: Options, dir: string): string {
  const vm = [
    `    kernel: ${JSON.stringify(o.kernel)}`,
    ...(o.initrd ? [`    initrd: ${JSON.stringify(o.initrd)}`] : []),
    `    memory: ${o.memory}`,
    '    cores: 1',
    '    accel: tcg',
    ...(o.args !== undefined ? [`    args: ${JSON.stringify(o.args)}`] : []),
    `    marker: ${JSON.stringify(o.marker)}`,
    ...(o.mode === 'nginx' ? ['    forward: [80]', '    probe: { kind: http, port: 80, path: / }', '    boot_timeout: 60'] : ['    boot_timeout: 30']),
  ];
  const test =
    o.mode === 'boot'
      ? ['test:', '  name: boot', `  cores: 1`, `  iterations: ${o.runs}`, `  warmup: ${o.warmup}`, '  vm:', ...vm]
      : [
          'test:',
          '  name: wrk',
          `  script: ${JSON.stringify(join(ROOT, 'scripts/test/unikraft-wrk.sh'))}`,
          `  cores: ${o.cpus.length}`,
          `  iterations: ${o.runs}`,
          `  warmup: ${o.warmup}`,
          '  timeout: 5m',
          `  env: { WRK_DURATION: "${o.duration}", WRK_CONNECTIONS: "${o.connections}", WRK_PATH: ${JSON.stringify(o.path)} }`,
          '  vm:',
          ...vm,
        ];
  const text = [
    `name: fidelity-${o.mode}`,
    'params:',
    '  - { name: ROUND, type: integer, only: [1], default: 1, when: test }',
    ...test,
    ...(o.mode === 'nginx' ? ['metrics:', '  - { name: wrk, parser: wrk }', 'objective: { metric: wrk.requests_per_sec, direction: maximize }'] : ['objective: { minimize: vm.boot_ms }']),
    '',
  ].join('\n');
  const file = join(dir, 'exp.yaml');
  writeFileSync(file, text);
  return file;
}

function ours(o: Options, round: number): number[] {
  const dir = mkdtempSync(join(tmpdir(), `wf-fidelity-${round}-`));
  try {
    const file = experiment(o, dir);
    const workdir = join(dir, 'wd');
    const r = spawnSync(process.execPath, [CLI, 'run', file, '--workdir', workdir, '--no-confirm', '--no-early-stop', '--quiet', '--cpus', o.cpus.join(',')], {
      encoding: 'utf8',
      timeout: 20 * 60_000,
    });
    if (r.status !== 0) throw new Error(`wayfinder run failed (${r.status ?? r.signal}): ${(r.stderr + r.stdout).trim().split('\n').slice(-5).join(' | ')}`);
    const db = new Database(join(workdir, 'wayfinder.db'), { readonly: true });
    const rows = db.prepare("SELECT metrics_json FROM runs WHERE status = 'ok' ORDER BY iteration").all() as { metrics_json: string }[];
    db.close();
    const key = o.mode === 'boot' ? 'vm.boot_ms' : 'wrk.requests_per_sec';
    return rows.map((row) => (JSON.parse(row.metrics_json) as Record<string, number>)[key]).filter((v): v is number => typeof v === 'number');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- by hand ----

function qemuArgs(o: Options, consoleFile: string, port?: number): string[] {
  const a = ['-name', 'byhand,debug-threads=on', '-nodefaults', '-no-user-config', '-display', 'none', '-vga', 'none', '-monitor', 'none', '-no-reboot'];
  a.push('-serial', `file:${consoleFile}`, '-accel', 'tcg', '-cpu', 'max', '-smp', '1', '-m', o.memory, '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-kernel', o.kernel);
  if (o.initrd) a.push('-initrd', o.initrd);
  if (o.args !== undefined) a.push('-append', o.args);
  if (port !== undefined) a.push('-netdev', `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:80`, '-device', 'virtio-net-pci,netdev=n0');
  else a.push('-nic', 'none');
  return a;
}

function start(cpus: number[], args: string[]): ChildProcess {
  // setsid: a session of its own, as a terminal would give it (Linux's autogroup scheduling shares
  // the CPU per session, so QEMU started from this busy process's session would boot slower).
  return spawn('setsid', ['taskset', '-c', cpus.join(','), QEMU, ...args], { stdio: 'ignore' });
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await done;
}

async function handBoot(o: Options): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'wf-byhand-'));
  const consoleFile = join(dir, 'console.log');
  writeFileSync(consoleFile, '');
  const marker = new RegExp(o.marker);
  const t0 = performance.now();
  const p = start(o.cpus, qemuArgs(o, consoleFile));
  try {
    for (;;) {
      if (marker.test(readFileSync(consoleFile, 'utf8'))) return performance.now() - t0;
      if (p.exitCode !== null) throw new Error(`QEMU exited (${p.exitCode}) before /${o.marker}/`);
      if (performance.now() - t0 > 60_000) throw new Error(`no /${o.marker}/ within 60 s`);
      await sleep(1);
    }
  } finally {
    await stop(p);
    rmSync(dir, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

function vcpuThread(pid: number): number | undefined {
  // `taskset` runs QEMU in place (exec), so the spawned pid under setsid is QEMU's once it started.
  for (const p of [pid, ...children(pid)]) {
    try {
      for (const t of readdirSync(`/proc/${p}/task`)) {
        if (readFileSync(`/proc/${p}/task/${t}/comm`, 'utf8').trim().startsWith('CPU 0/')) return Number(t);
      }
    } catch {
      // gone or not yet there
    }
  }
  return undefined;
}

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function handNginx(o: Options): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'wf-byhand-'));
  const consoleFile = join(dir, 'console.log');
  writeFileSync(consoleFile, '');
  const port = await freePort();
  const p = start(o.cpus, qemuArgs(o, consoleFile, port));
  try {
    const deadline = performance.now() + 60_000;
    let thread: number | undefined;
    while (thread === undefined && performance.now() < deadline) {
      thread = vcpuThread(p.pid as number);
      if (thread === undefined) await sleep(5);
    }
    if (thread === undefined) throw new Error('no vCPU thread found');
    const pin = spawnSync('taskset', ['-p', '-c', String(o.cpus[0]), String(thread)], { encoding: 'utf8' });
    if (pin.status !== 0) throw new Error(`taskset -p: ${pin.stderr}`);
    const url = `http://127.0.0.1:${port}/${o.path}`;
    for (;;) {
      if (spawnSync('curl', ['-sf', '-m', '2', '-o', '/dev/null', `http://127.0.0.1:${port}/`]).status === 0) break;
      if (p.exitCode !== null) throw new Error(`QEMU exited (${p.exitCode}) before answering`);
      if (performance.now() > deadline) throw new Error('no http answer within 60 s');
      await sleep(50);
    }
    const last = o.cpus[o.cpus.length - 1] as number;
    const w = spawnSync('taskset', ['-c', String(last), 'wrk', '--latency', '-t', '1', '-c', String(o.connections), '-d', `${o.duration}s`, url], { encoding: 'utf8' });
    const m = /Requests\/sec:\s+([0-9.]+)/.exec(w.stdout);
    if (!m) throw new Error(`wrk said: ${(w.stdout + w.stderr).trim().split('\n').slice(-3).join(' | ')}`);
    return Number(m[1]);
  } finally {
    await stop(p);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function hand(o: Options): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < o.warmup + o.runs; i++) {
    const v = o.mode === 'boot' ? await handBoot(o) : await handNginx(o);
    if (i >= o.warmup) out.push(v);
  }
  return out;
}

// ---- the run ----

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(', ');

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const unit = o.mode === 'boot' ? 'ms' : 'requests/s';
  console.log(
    `fidelity ${o.mode}: ${o.kernel}${o.initrd ? ` + ${o.initrd}` : ''}, TCG, CPUs ${o.cpus.join(',')}, ${o.rounds} rounds of ${o.runs} + ${o.runs}` +
      `${o.warmup > 0 ? ` after ${o.warmup} left out on each side` : ''}, order alternating`,
  );
  const all = { ours: [] as number[], hand: [] as number[] };
  const loads: number[] = [];
  for (let r = 0; r < o.rounds; r++) {
    const order: Array<'ours' | 'hand'> = r % 2 === 0 ? ['ours', 'hand'] : ['hand', 'ours'];
    for (const side of order) {
      loads.push(loadavg()[0] as number);
      const got = side === 'ours' ? ours(o, r) : await hand(o);
      all[side].push(...got);
      console.log(`  round ${r + 1} ${side.padEnd(4)}: ${fmt(got)} ${unit}  (load ${(loadavg()[0] as number).toFixed(1)})`);
    }
  }
  const ratio = medianRatio(all.hand, all.ours, { confidence: 0.95, seed: 1 });
  const rank = mannWhitney(all.ours, all.hand);
  const p = Math.min(1, 2 * Math.min(rank.pGreater, rank.pLess));
  console.log(`ours:    median ${median(all.ours).toFixed(1)} ${unit}, least ${Math.min(...all.ours).toFixed(1)}, most ${Math.max(...all.ours).toFixed(1)} (n=${all.ours.length})`);
  console.log(`by hand: median ${median(all.hand).toFixed(1)} ${unit}, least ${Math.min(...all.hand).toFixed(1)}, most ${Math.max(...all.hand).toFixed(1)} (n=${all.hand.length})`);
  const within = ratio.ci[0] >= 0.95 && ratio.ci[1] <= 1.05;
  console.log(
    `ratio ours / by hand (medians): ${ratio.ratio.toFixed(3)}, bootstrap 95% CI ${ratio.ci[0].toFixed(3)}-${ratio.ci[1].toFixed(3)}; Mann-Whitney p=${p.toFixed(3)}; ` +
      `${within ? 'within 5% (the whole interval is inside 0.95-1.05)' : 'not shown within 5% (the interval reaches outside 0.95-1.05)'}`,
  );
  console.log(`load average (1 min) during the run: ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/fidelity: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
