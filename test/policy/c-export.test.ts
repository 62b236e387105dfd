// The C header: compiled with gcc and run on 10,000 feature vectors (inside, on and just beside
// every threshold and range end, outside, NaN), it picks what decide() picks, value for value;
// `wayfinder policy decide` is the same function behind the command line.

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { policyHeader } from '../../src/policy/c-export.js';
import { learn } from '../../src/policy/learn.js';
import { decide, type Policy, type PolicyNode } from '../../src/policy/policy.js';
import { workloadFromTable } from '../../src/policy/sources.js';
import { parsePolicy } from '../../src/policy/policy-file.js';
import { Rng } from '../../src/util/random.js';
import { requireTool, tempDir, wayfinder } from '../helpers.js';
import { twoDimCsv } from './synthetic.js';

const t = tempDir('wf-policy-c-');
afterAll(() => t.cleanup());

/** A learned policy with two features and integer and string knobs. */
function policy(): Policy {
  const data = workloadFromTable({ csv: twoDimCsv(), file: 'two.csv', objective: 'latency_us', workload: ['FLOWS', 'LOSS'], minimize: true });
  return learn(data, { maxDepth: 4, tolerance: 0.01 }).policy;
}

const MAIN = `
#include <stdio.h>
#include <stdlib.h>
#include "policy.h"
int main(void) {
  char line[256];
  double x[WF_POLICY_FEATURES];
  while (fgets(line, sizeof line, stdin)) {
    char *p = line;
    for (int i = 0; i < WF_POLICY_FEATURES; i++) x[i] = strtod(p, &p);
    const struct wf_policy_config *c = wf_policy_decide(x);
    printf("%d %d %lld %lld %s\\n", (int)c->leaf, (int)c->fallback, (long long)c->BATCH, (long long)c->RETRIES, c->MODE);
  }
  return 0;
}
`;

function next(x: number, up: boolean): number {
  const f = new Float64Array([x]);
  const b = new BigInt64Array(f.buffer);
  if (x === 0) return up ? Number.MIN_VALUE : -Number.MIN_VALUE;
  b[0]! += (x > 0) === up ? 1n : -1n;
  return f[0]!;
}

function thresholds(n: PolicyNode, feature: string): number[] {
  return 'leaf' in n ? [] : [...(n.feature === feature ? [n.le] : []), ...thresholds(n.left, feature), ...thresholds(n.right, feature)];
}

/** Feature vectors that probe every boundary the tree and the range check have. */
function vectors(p: Policy, count: number): number[][] {
  const rng = new Rng(7);
  const pick = <T,>(xs: T[]): T => xs[rng.int(xs.length)]!;
  const marks = p.features.map((f) => [f.min, f.max, ...thresholds(p.tree, f.name)]);
  const one = (i: number): number => {
    const f = p.features[i]!;
    const span = f.max - f.min;
    const k = rng.int(10);
    if (k < 4) return f.min - 0.1 * span + rng.next() * 1.2 * span;
    if (k < 6) return pick(marks[i]!);
    if (k < 8) return next(pick(marks[i]!), rng.next() < 0.5);
    if (k < 9) return Math.round(f.min + rng.next() * span);
    return pick([NaN, Infinity, -Infinity, -0, 1e300, -1e300, Number.MIN_VALUE]);
  };
  return Array.from({ length: count }, () => p.features.map((_, i) => one(i)));
}

describe('the C export', () => {
  it('compiles with gcc -Wall -Wextra -Werror -pedantic and agrees with decide() on 10,000 feature vectors', () => {
    requireTool('gcc');
    const p = policy();
    expect(p.features.map((f) => f.name)).toEqual(['FLOWS', 'LOSS']);
    expect(p.leaves.length).toBeGreaterThan(4);
    writeFileSync(join(t.dir, 'policy.h'), policyHeader(p));
    writeFileSync(join(t.dir, 'main.c'), MAIN);
    const cc = spawnSync('gcc', ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-pedantic', '-o', join(t.dir, 'decide'), join(t.dir, 'main.c')], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    // Included where it is not called (a header shared by several files), and by C++: no warning either.
    writeFileSync(join(t.dir, 'unused.c'), '#include "policy.h"\nint unused(void);\nint unused(void) { return 0; }\n');
    for (const [compiler, std] of [['gcc', '-std=c99'], ['g++', '-std=c++11']] as const) {
      const u = spawnSync(compiler, [std, '-x', compiler === 'gcc' ? 'c' : 'c++', '-Wall', '-Wextra', '-Werror', '-pedantic', '-c', '-o', join(t.dir, 'unused.o'), join(t.dir, 'unused.c')], { encoding: 'utf8' });
      expect(u.status, `${compiler}: ${u.stderr}`).toBe(0);
    }
    const xs = vectors(p, 10_000);
    const run = spawnSync(join(t.dir, 'decide'), { input: `${xs.map((x) => x.map(String).join(' ')).join('\n')}\n`, encoding: 'utf8', maxBuffer: 1 << 26 });
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(xs.length);
    let fallbacks = 0;
    const leavesSeen = new Set<number>();
    xs.forEach((x, i) => {
      const d = decide(p, x);
      const want = `${d.leaf ?? -1} ${d.fallback ? 1 : 0} ${String(d.params.BATCH)} ${String(d.params.RETRIES)} ${String(d.params.MODE)}`;
      if (lines[i] !== want) expect(`${x.join(' ')} -> ${lines[i]}`).toBe(`${x.join(' ')} -> ${want}`);
      if (d.fallback) fallbacks++;
      else leavesSeen.add(d.leaf!);
    });
    // The vectors reach every leaf and the fallback, so the agreement covers the whole tree.
    expect(leavesSeen.size).toBe(p.leaves.length);
    expect(fallbacks).toBeGreaterThan(1000);
  });

  it('carries names C does not allow, quotes, trigraphs, non-ASCII strings, fractions and booleans through gcc unchanged', () => {
    requireTool('gcc');
    const text = JSON.stringify({
      format: 'wayfinder-policy',
      version: 1,
      objective: { name: 'p99', direction: 'minimize' },
      features: [{ name: 'loss-rate', min: -0.5, max: 0.30000000000000004 }],
      knobs: [
        { name: 'tcp.cc', type: 'string' },
        { name: '2ratio', type: 'number' },
        { name: 'sack', type: 'boolean' },
      ],
      leaves: [
        { params: { 'tcp.cc': 'a"b\\c??=', '2ratio': 0.1, sack: true }, points: 1, regret: 0 },
        { params: { 'tcp.cc': 'ünï\ncode', '2ratio': -1e-7, sack: false }, points: 1, regret: 0 },
      ],
      tree: { feature: 'loss-rate', le: 0.1, left: { leaf: 0 }, right: { leaf: 1 } },
      fallback: { params: { 'tcp.cc': '', '2ratio': 12345678.9, sack: false }, why: 'given' },
      regret: { trained: { mean: 0, max: 0, points: 2, unmeasured: 0 } },
      source: { kind: 'table', file: 't.csv' },
      createdAt: '2026-12-04T00:00:00Z',
    });
    const p = parsePolicy(text, 'odd.json');
    writeFileSync(join(t.dir, 'odd.h'), policyHeader(p, { prefix: 'odd' }));
    writeFileSync(
      join(t.dir, 'odd.c'),
      `#include <stdio.h>\n#include <stdlib.h>\n#include "odd.h"\nint main(int argc, char **argv) { double x[1]; (void)argc; x[0] = strtod(argv[1], 0); const struct odd_config *c = odd_decide(x);\n printf("%d|%s|%.17g|%d", (int)c->leaf, c->tcp_cc, c->_2ratio, c->sack); return 0; }\n`,
    );
    const cc = spawnSync('gcc', ['-std=c99', '-O2', '-Wall', '-Wextra', '-Werror', '-pedantic', '-trigraphs', '-o', join(t.dir, 'odd'), join(t.dir, 'odd.c')], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    for (const x of [-0.5, 0.1, 0.10000000000000002, 0.30000000000000004, 0.31, NaN]) {
      const d = decide(p, [x]);
      const out = spawnSync(join(t.dir, 'odd'), [String(x)], { encoding: 'utf8' }).stdout;
      const [leaf, cc_, ratio, sack] = out.split('|');
      // %.17g reads back as the same double: compare the doubles, not their spellings.
      expect([Number(leaf), cc_, Number(ratio), Number(sack)]).toEqual([d.leaf ?? -1, d.params['tcp.cc'], d.params['2ratio'], d.params.sack ? 1 : 0]);
    }
  });

  it('refuses to compile under -ffast-math, where NaN would no longer reach the fallback', () => {
    requireTool('gcc');
    writeFileSync(join(t.dir, 'fast.c'), '#include "policy.h"\nint main(void) { double x[2] = {1, 1}; return wf_policy_decide(x)->leaf; }\n');
    writeFileSync(join(t.dir, 'policy.h'), policyHeader(policy()));
    const cc = spawnSync('gcc', ['-O2', '-ffast-math', '-o', join(t.dir, 'fast'), join(t.dir, 'fast.c')], { encoding: 'utf8' });
    expect(cc.status).not.toBe(0);
    expect(cc.stderr).toContain('finite-math-only');
  });

  it('wayfinder policy decide prints what the compiled function returns', async () => {
    requireTool('gcc');
    const p = policy();
    const file = join(t.dir, 'policy.json');
    writeFileSync(file, JSON.stringify(p));
    writeFileSync(join(t.dir, 'policy.h'), policyHeader(p));
    writeFileSync(join(t.dir, 'main.c'), MAIN);
    expect(spawnSync('gcc', ['-std=c11', '-O2', '-o', join(t.dir, 'decide'), join(t.dir, 'main.c')]).status).toBe(0);
    for (const [flows, loss] of [[1, 0], [16, 7], [64, 40], [3, 19.5], [100, 5], [4, -1]] as const) {
      const r = await wayfinder(['policy', 'decide', file, `FLOWS=${flows}`, `LOSS=${loss}`, '--json']);
      expect(r.status, r.stderr).toBe(0);
      const got = JSON.parse(r.stdout) as { params: Record<string, unknown>; leaf: number | null; fallback: boolean };
      const c = spawnSync(join(t.dir, 'decide'), { input: `${flows} ${loss}\n`, encoding: 'utf8' }).stdout.trim();
      expect(`${got.leaf ?? -1} ${got.fallback ? 1 : 0} ${String(got.params.BATCH)} ${String(got.params.RETRIES)} ${String(got.params.MODE)}`).toBe(c);
    }
  });
});
