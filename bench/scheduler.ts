// Simulated run of the scheduler (discrete events, no processes): 200 two-CPU tests at isolation
// `core` and 20 four-CPU builds at `none`, with seeded random durations, on the 32-, 64- and 96-CPU
// snapshots. Prints the makespan, its lower bound max(CPU-seconds / usable CPUs, longest job) and
// their ratio (target: at most 1.10), and what the scheduler's own work cost.
//
//   npx tsx bench/scheduler.ts [seeds=10]     (WAYFINDER_BENCH_ESTIMATE_ERROR=0.25: estimate error; -1: none)

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobRequest } from '../src/scheduler/allocator.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { readTopology, type Topology } from '../src/scheduler/topology.js';
import { Rng } from '../src/util/random.js';

const FIXTURES =
  process.env.WAYFINDER_FIXTURES ?? fileURLToPath(new URL('../test/fixtures/topologies', import.meta.url));
const HOSTS = ['32intel64-2p8co2t+8ve', 'fakecpuid1f-64intel64-2p4d2n2c2t', '96em64t-4no4pa3ca2co'];
const TESTS = 200;
const BUILDS = 20;
/** Relative error of the duration estimates (WAYFINDER_BENCH_ESTIMATE_ERROR; negative: no estimates). */
const ESTIMATE_ERROR = Number(process.env.WAYFINDER_BENCH_ESTIMATE_ERROR ?? 0.25);

interface Job {
  req: JobRequest;
  seconds: number;
}

/** What the scheduler is told: the true duration off by up to ESTIMATE_ERROR either way (past runs predict, they do not know). */
function estimate(rng: Rng, seconds: number): number | undefined {
  if (ESTIMATE_ERROR < 0) return undefined;
  return seconds * (1 + ESTIMATE_ERROR * (2 * rng.next() - 1));
}

function workload(seed: number): Job[] {
  const rng = new Rng(seed);
  // Its own stream, so the durations are the same whatever the estimates.
  const err = new Rng(seed + 1_000_003);
  const jobs: Job[] = [];
  // Builds come first, as they do in an experiment (a configuration's tests follow its build).
  for (let i = 0; i < BUILDS; i++) {
    const seconds = 120 + rng.int(481);
    jobs.push({ req: { id: `build${i}`, cores: 4, isolation: 'none', estimateSec: estimate(err, seconds) }, seconds });
  }
  for (let i = 0; i < TESTS; i++) {
    const seconds = 20 + rng.int(101);
    jobs.push({ req: { id: `test${i}`, cores: 2, isolation: 'core', group: 'exp', estimateSec: estimate(err, seconds) }, seconds });
  }
  return jobs;
}

interface Outcome {
  makespan: number;
  bound: number;
  /** Share of the CPUs busy while jobs were waiting: below 1, the allocator left usable room idle. */
  utilisation: number;
  schedulerMs: number;
  events: number;
}

function simulate(topo: Topology, jobs: Job[]): Outcome {
  const s = new Scheduler(topo);
  const byId = new Map(jobs.map((j) => [j.req.id, j]));
  const ends: { id: string; at: number }[] = [];
  let now = 0;
  let makespan = 0;
  let schedulerMs = 0;
  let events = 0;
  let busy = 0;
  let busyCpuSeconds = 0;
  let waitedUntil = 0;
  const started = (ids: { id: string }[]): void => {
    for (const g of ids) {
      const at = now + (byId.get(g.id) as Job).seconds;
      ends.push({ id: g.id, at });
      busy += (byId.get(g.id) as Job).req.cores;
      makespan = Math.max(makespan, at);
    }
  };
  const timed = <T>(f: () => T): T => {
    const t0 = performance.now();
    const r = f();
    schedulerMs += performance.now() - t0;
    events++;
    return r;
  };
  for (const j of jobs) started(timed(() => s.submit(j.req)));
  while (ends.length > 0) {
    ends.sort((a, b) => a.at - b.at || a.id.localeCompare(b.id));
    const next = ends.shift() as { id: string; at: number };
    if (s.queued().length > 0) {
      busyCpuSeconds += busy * (next.at - now);
      waitedUntil = next.at;
    }
    now = next.at;
    busy -= (byId.get(next.id) as Job).req.cores;
    started(timed(() => s.release(next.id)));
  }
  if (s.queued().length > 0) throw new Error(`jobs never started: ${s.queued().map((q) => q.id).join(', ')}`);
  const cpuSeconds = jobs.reduce((sum, j) => sum + j.req.cores * j.seconds, 0);
  const bound = Math.max(cpuSeconds / topo.cpus.length, ...jobs.map((j) => j.seconds));
  const utilisation = waitedUntil > 0 ? busyCpuSeconds / (topo.cpus.length * waitedUntil) : 1;
  return { makespan, bound, utilisation, schedulerMs, events };
}

function unpack(dir: string, name: string): string {
  const into = join(dir, name);
  mkdirSync(into, { recursive: true });
  execFileSync('tar', ['xjf', join(FIXTURES, `${name}.tar.bz2`), '-C', into]);
  return join(into, readdirSync(into)[0] as string, 'sys');
}

const seeds = Number(process.argv[2] ?? 10);
const dir = mkdtempSync(join(tmpdir(), 'wf-bench-'));
try {
  console.log(`${TESTS} tests (2 CPUs, isolation core, 20-120 s) + ${BUILDS} builds (4 CPUs, isolation none, 120-600 s), ${seeds} seeds`);
  console.log(ESTIMATE_ERROR < 0 ? 'no duration estimates (submission order)' : `duration estimates within ±${(ESTIMATE_ERROR * 100).toFixed(0)}% (longest first)`);
  console.log('host                                  CPUs  cores  makespan    bound  ratio  worst ratio  busy while waiting  sched ms/event  no-estimate ratio/worst');
  for (const name of HOSTS) {
    const topo = await readTopology({ sysfsRoot: unpack(dir, name) });
    const runs = Array.from({ length: seeds }, (_, i) => simulate(topo, workload(i + 1)));
    const fifo = Array.from({ length: seeds }, (_, i) => simulate(topo, workload(i + 1).map(({ req: { estimateSec: _e, ...req }, seconds }) => ({ req, seconds }))));
    const first = runs[0] as Outcome;
    const worst = Math.max(...runs.map((r) => r.makespan / r.bound));
    const msPerEvent = runs.reduce((s, r) => s + r.schedulerMs, 0) / runs.reduce((s, r) => s + r.events, 0);
    console.log(
      [
        name.padEnd(36),
        String(topo.cpus.length).padStart(5),
        String(topo.cores.length).padStart(6),
        first.makespan.toFixed(0).padStart(9),
        first.bound.toFixed(0).padStart(8),
        (first.makespan / first.bound).toFixed(3).padStart(6),
        worst.toFixed(3).padStart(12),
        Math.min(...runs.map((r) => r.utilisation)).toFixed(3).padStart(19),
        msPerEvent.toFixed(3).padStart(15),
        `${((fifo[0] as Outcome).makespan / (fifo[0] as Outcome).bound).toFixed(3)}/${Math.max(...fifo.map((r) => r.makespan / r.bound)).toFixed(3)}`.padStart(24),
      ].join(' '),
    );
  }
  console.log('ratio: seed 1; worst ratio: over all seeds; target: ratio <= 1.10');
  console.log('no-estimate: the same jobs without duration estimates (submission order), for comparison');
  console.log('busy while waiting: lowest over seeds of the CPU share in use while any job waited (1.000: no room left idle)');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
