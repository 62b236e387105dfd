// The statistics on real measurements of a command whose speed the test controls, on a machine
// others are using: the two sides are measured alternately (A B A B ...), so that a change in the
// machine's load falls on both alike.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareMetric, type Verdict } from '../../src/regress/compare.js';
import { ROOT, requireTool } from '../helpers.js';

const SLEEPER = join(ROOT, 'test', 'fixtures', 'regress', 'sleeper.sh');
const ITERATIONS = 10;

function sample(ms: number): number {
  const r = spawnSync(SLEEPER, { env: { ...process.env, SLEEPER_MS: String(ms) }, encoding: 'utf8' });
  const m = /elapsed_ms: ([0-9.]+)/.exec(r.stdout);
  if (r.status !== 0 || !m) throw new Error(`sleeper failed: ${r.stderr}`);
  return Number(m[1]);
}

/** One comparison: ITERATIONS samples of each side, interleaved, after one warm-up of each. */
function pair(baseMs: number, nowMs: number): { base: number[]; now: number[] } {
  sample(baseMs);
  sample(nowMs);
  const base: number[] = [];
  const now: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    base.push(sample(baseMs));
    now.push(sample(nowMs));
  }
  return { base, now };
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

  it('a 20% slowdown is a regression every time', () => {
    requireTool('perl');
    const verdicts: Verdict[] = [];
    for (let rep = 0; rep < 5; rep++) {
      const { base, now } = pair(50, 60);
      verdicts.push(compareMetric('elapsed_ms', 'minimize', base, now, { threshold: 0.05, confidence: 0.95, seed: rep + 1 }).verdict);
    }
    expect(tally(verdicts)).toEqual({ regression: 5 });
  }, 120_000);
});
