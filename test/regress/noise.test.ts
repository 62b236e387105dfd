// The statistics on real measurements of a command whose speed the test controls, on a machine
// others are using: the two sides are measured alternately (A B A B ...), so that a change in the
// machine's load falls on both alike.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Measurement } from '../../src/regress/baseline.js';
import { compareMetric, type Verdict } from '../../src/regress/compare.js';
import { moreIterations, pooled } from '../../src/regress/extend.js';
import { compareMeasurements } from '../../src/regress/report.js';
import { measurement as shaped } from './measurement.js';
import { ROOT, requireTool } from '../helpers.js';

const SLEEPER = join(ROOT, 'test', 'fixtures', 'regress', 'sleeper.sh');
const ITERATIONS = 10;

function sample(ms: number): number {
  const r = spawnSync(SLEEPER, { env: { ...process.env, SLEEPER_MS: String(ms) }, encoding: 'utf8' });
  const m = /elapsed_ms: ([0-9.]+)/.exec(r.stdout);
  if (r.status !== 0 || !m) throw new Error(`sleeper failed: ${r.stderr}`);
  return Number(m[1]);
}

/** One comparison: `n` samples of each side, interleaved, after one warm-up of each. */
function pair(baseMs: number, nowMs: number, n = ITERATIONS): { base: number[]; now: number[] } {
  sample(baseMs);
  sample(nowMs);
  const base: number[] = [];
  const now: number[] = [];
  for (let i = 0; i < n; i++) {
    base.push(sample(baseMs));
    now.push(sample(nowMs));
  }
  return { base, now };
}

function measurement(xs: number[]): Measurement {
  return shaped('sleeper', [{ configId: '0'.repeat(32), params: {}, isDefault: true, metrics: { elapsed_ms: xs } }], { name: 'sleeper', objective: { metric: 'elapsed_ms', direction: 'minimize' }, test: 'nap', iterations: xs.length });
}

/**
 * As `wayfinder regress` decides with its defaults: an inconclusive comparison is measured further
 * (here both sides, still interleaved, the baseline's extra samples unused) up to three first rounds.
 */
function regress(baseMs: number, nowMs: number, seed: number): Verdict {
  const first = pair(baseMs, nowMs);
  const base = measurement(first.base);
  let now = measurement(first.now);
  for (;;) {
    const report = compareMeasurements(base, 'interleaved', now, { threshold: 0.05, confidence: 0.95, inconclusive: 'exit3', seed });
    const more = moreIterations(report, now, ITERATIONS, 3 * ITERATIONS);
    if (!more) return report.configs[0]?.metrics[0]?.verdict ?? 'info';
    now = pooled(now, measurement(pair(baseMs, nowMs, more.iterations).now));
  }
}

function tally(verdicts: Verdict[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const v of verdicts) t[v] = (t[v] ?? 0) + 1;
  return t;
}

describe('regress statistics on real measurements', () => {
  it('an unchanged command passes in at least 19 of 20 repetitions at 95% confidence', () => {
    requireTool('perl');
    const verdicts: Verdict[] = [];
    for (let rep = 0; rep < 20; rep++) {
      const { base, now } = pair(50, 50);
      verdicts.push(compareMetric('elapsed_ms', 'minimize', base, now, { threshold: 0.05, confidence: 0.95, seed: rep + 1 }).verdict);
    }
    const t = tally(verdicts);
    expect(t.pass ?? 0, JSON.stringify(t)).toBeGreaterThanOrEqual(19);
    expect(t.regression ?? 0, JSON.stringify(t)).toBeLessThanOrEqual(1);
  }, 180_000);

  it('a 20% slowdown is a regression every time (an inconclusive first round measured further, as regress does)', () => {
    requireTool('perl');
    const verdicts: Verdict[] = [];
    for (let rep = 0; rep < 5; rep++) verdicts.push(regress(50, 60, rep + 1));
    expect(tally(verdicts)).toEqual({ regression: 5 });
  }, 120_000);
});
