// Nanoseconds per decision of the C export (`wayfinder learn --c`): the header compiled with gcc -O2,
// a million calls timed in batches of a thousand, the median batch's cost per call. Random feature
// vectors (10% outside the trained range) make the branches unpredictable, the worst case for a
// tree; a steady workload (the same vector every call) is the common case in a fast path. decide()
// in JavaScript is timed the same way for comparison. Target: at most 100 ns per decision.
//
//   npx tsx bench/policy.ts

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cDouble, policyHeader } from '../src/policy/c-export.js';
import { learn } from '../src/policy/learn.js';
import { decide, type Policy } from '../src/policy/policy.js';
import { workloadFromTable } from '../src/policy/sources.js';
import { treeDepth } from '../src/policy/text.js';
import { Rng } from '../src/util/random.js';
import { twoDimCsv } from '../test/policy/synthetic.js';

const CALLS = 1_000_000;
const BATCH = 1000;

/** One workload dimension with 64 values, each with its own best BATCH: a 64-leaf tree. */
function wideCsv(): string {
  const lines = ['BATCH,FLOWS,throughput'];
  for (let f = 1; f <= 64; f++) for (let b = 1; b <= 64; b++) lines.push(`${b},${f},${(1000 / (1 + 0.01 * (b - f) ** 2)).toFixed(3)}`);
  return `${lines.join('\n')}\n`;
}

const HARNESS = (features: number) => `
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include "policy.h"
#define CALLS ${CALLS}
#define BATCH ${BATCH}
static double xs[CALLS][${features}];
static double per[CALLS / BATCH];
static const double lo[${features}] = LO, hi[${features}] = HI;
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
static double run(int steady, volatile int64_t *sink) {
  for (int b = 0; b < CALLS / BATCH; b++) {
    double t0 = now();
    for (int i = 0; i < BATCH; i++) *sink += wf_policy_decide(xs[steady ? 0 : b * BATCH + i])->leaf;
    per[b] = (now() - t0) / BATCH;
  }
  qsort(per, CALLS / BATCH, sizeof per[0], cmp);
  return per[CALLS / BATCH / 2];
}
int main(void) {
  uint64_t s = 88172645463325252ull;
  for (int i = 0; i < CALLS; i++)
    for (int f = 0; f < ${features}; f++) {
      s ^= s << 13; s ^= s >> 7; s ^= s << 17;
      double u = (double)(s >> 11) / 9007199254740992.0;
      double span = hi[f] - lo[f];
      xs[i][f] = lo[f] - 0.05 * span + u * 1.1 * span;
    }
  volatile int64_t sink = 0;
  run(0, &sink);
  double random = run(0, &sink);
  double p10 = per[CALLS / BATCH / 10], p90 = per[CALLS / BATCH * 9 / 10];
  double steady = run(1, &sink);
  printf("%.2f %.2f %.2f %.2f\\n", random, p10, p90, steady);
  return 0;
}
`;

function jsNs(p: Policy): number {
  const rng = new Rng(3);
  const xs = Array.from({ length: CALLS }, () => p.features.map((f) => f.min - 0.05 * (f.max - f.min) + rng.next() * 1.1 * (f.max - f.min)));
  const per: number[] = [];
  let sink = 0;
  for (let pass = 0; pass < 2; pass++) {
    per.length = 0;
    for (let b = 0; b < CALLS / BATCH; b++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < BATCH; i++) sink += decide(p, xs[b * BATCH + i]!).leaf ?? -1;
      per.push(Number(process.hrtime.bigint() - t0) / BATCH);
    }
  }
  if (sink === 0.5) console.log('');
  return per.sort((a, b) => a - b)[per.length >> 1]!;
}

const dir = mkdtempSync(join(tmpdir(), 'wf-bench-policy-'));
try {
  const policies: [string, Policy][] = [
    ['2 features (FLOWS, LOSS)', learn(workloadFromTable({ csv: twoDimCsv(), file: 'two.csv', objective: 'latency_us', workload: ['FLOWS', 'LOSS'], minimize: true }), { maxDepth: 4, tolerance: 0.01 }).policy],
    ['1 feature, 64 values', learn(workloadFromTable({ csv: wideCsv(), file: 'wide.csv', objective: 'throughput', workload: ['FLOWS'] }), { maxDepth: 8, tolerance: 0.01 }).policy],
  ];
  console.log(`C: gcc -O2, ${CALLS.toLocaleString('en-US')} calls in batches of ${BATCH}; ns per decision, median batch (p10-p90); target <= 100 ns`);
  console.log('policy                      leaves  depth  C random (p10-p90)     C steady  JS random');
  let worst = 0;
  for (const [name, p] of policies) {
    writeFileSync(join(dir, 'policy.h'), policyHeader(p));
    const bounds = (k: 'min' | 'max'): string => `{ ${p.features.map((f) => cDouble(f[k])).join(', ')} }`;
    writeFileSync(join(dir, 'bench.c'), HARNESS(p.features.length));
    const exe = join(dir, 'bench');
    const cc = spawnSync('gcc', ['-std=c11', '-O2', `-DLO=${bounds('min')}`, `-DHI=${bounds('max')}`, '-o', exe, join(dir, 'bench.c')], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`gcc failed (is gcc installed?): ${cc.stderr || cc.error?.message}`);
    const run = spawnSync(exe, { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`bench failed: ${run.stderr}`);
    const [random, p10, p90, steady] = run.stdout.trim().split(' ').map(Number) as [number, number, number, number];
    worst = Math.max(worst, random);
    console.log(
      `${name.padEnd(26)}  ${String(p.leaves.length).padStart(6)}  ${String(treeDepth(p.tree)).padStart(5)}  ${`${random.toFixed(1)} (${p10.toFixed(1)}-${p90.toFixed(1)})`.padEnd(21)}  ${steady.toFixed(1).padStart(8)}  ${jsNs(p).toFixed(1).padStart(9)}`,
    );
  }
  console.log(worst <= 100 ? `every policy decides in at most 100 ns (worst median ${worst.toFixed(1)} ns)` : `ABOVE TARGET: worst median ${worst.toFixed(1)} ns per decision`);
  process.exitCode = worst <= 100 ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
