// The guard rails on a scripted clock and scripted signals: each rail fires, and says why.

import { describe, expect, it } from 'vitest';
import type { GuardSpec } from '../../src/control/config.js';
import { Rails } from '../../src/control/rails.js';
import { batchPolicy } from './policy-fixture.js';

const none: GuardSpec = { dwellMs: 0, hysteresis: 0, rate: undefined, revert: undefined };
const rails = (guard: Partial<GuardSpec>, objective = true) =>
  new Rails({
    policy: batchPolicy(),
    domains: { BATCH: { kind: 'range', min: 1, max: 64, integer: true } },
    guard: { ...none, ...guard },
    objective: objective ? { signal: 'latency', direction: 'minimize' } : undefined,
    initial: { BATCH: 4 },
  });

describe('guard rails', () => {
  it('applies the policy, clamped to the declared domain', () => {
    const r = rails({});
    expect(r.step(0, { flows: 5, latency: 1 })).toBeNull();
    const d = r.step(10, { flows: 50, latency: 1 })!;
    expect(d.action).toBe('apply');
    expect(d.to).toEqual({ BATCH: 64 });
    expect(d.rule).toMatch(/policy: flows=50 > 10, flows=50 > 40: leaf 2; clamped BATCH 128 -> 64 \(domain 1\.\.64\)/);
    expect(r.current).toEqual({ BATCH: 64 });
  });

  it('falls back when a feature leaves the trained range or is missing, at once whatever the dwell', () => {
    const r = rails({ dwellMs: 1000 });
    expect(r.step(0, { flows: 20, latency: 1 })!.to).toEqual({ BATCH: 16 });
    const d = r.step(10, { flows: 500, latency: 1 })!;
    expect(d.action).toBe('fallback');
    expect(d.to).toEqual({ BATCH: 8 });
    expect(d.rule).toMatch(/fallback \(static-best\): flows=500 outside the trained 1\.\.64/);
    // Back in range before the dwell has passed: held.
    const h = r.step(20, { flows: 20, latency: 1 })!;
    expect(h.action).toBe('hold');
    expect(h.rule).toMatch(/^dwell: .*last change was 10 ms ago \(dwell 1000 ms\)/);
    expect(r.step(30, { flows: 20, latency: 1 })).toBeNull(); // the same hold is recorded once
    expect(r.step(1010, { flows: 20, latency: 1 })!.action).toBe('apply');
    expect(r.step(1020, { latency: 1 })!.action).toBe('fallback'); // flows missing: NaN
  });

  it('holds a change that does not survive the hysteresis band around a split', () => {
    const r = rails({ hysteresis: 0.05 }); // 5% of 1..64: 3.15
    const d = r.step(0, { flows: 12, latency: 1 })!; // 12 - 3.15 <= 10: leaf 0 again
    expect(d.action).toBe('hold');
    expect(d.rule).toMatch(/^hysteresis: flows=12 > 10, flows=12 <= 40: leaf 1, but flows=8\.85 \(moved by -3\.15, 5% of its trained range\) decides otherwise/);
    expect(r.current).toEqual({ BATCH: 4 });
    expect(r.step(10, { flows: 14, latency: 1 })!.action).toBe('apply');
  });

  it('limits the rate of changes', () => {
    const r = rails({ rate: { changes: 2, windowMs: 1000 } });
    expect(r.step(0, { flows: 20 })!.action).toBe('apply');
    expect(r.step(100, { flows: 5 })!.action).toBe('apply');
    const h = r.step(200, { flows: 20 })!;
    expect(h.action).toBe('hold');
    expect(h.rule).toMatch(/^rate limit: .*2 changes in the last 1000 ms \(at most 2\)/);
    expect(r.step(1001, { flows: 20 })!.action).toBe('apply');
  });

  it('reverts a change after which the objective got worse beyond noise for N periods, and avoids it there', () => {
    const r = rails({ revert: { periods: 3, noise: 0.05 } });
    for (let t = 0; t < 5; t++) expect(r.step(t * 10, { flows: 5, latency: 100 + (t % 2) })).toBeNull();
    expect(r.step(50, { flows: 20, latency: 100 })!.action).toBe('apply');
    // Worse: 130, 140, 150 against the median 100 of the last 3 periods, beyond max(5%, half their range) = 5.
    expect(r.step(60, { flows: 20, latency: 130 })?.action ?? 'hold').toBe('hold');
    expect(r.step(70, { flows: 20, latency: 140 })).toBeNull();
    const d = r.step(80, { flows: 20, latency: 150 })!;
    expect(d.action).toBe('revert');
    expect(d.to).toEqual({ BATCH: 4 });
    expect(d.rule).toMatch(/revert: latency after the change 130, 140, 150 against 100 before \(median of 3\), worse by more than the noise 5 for 3 periods; avoided in leaf 1/);
    const h = r.step(90, { flows: 20, latency: 100 })!;
    expect(h.action).toBe('hold');
    expect(h.rule).toMatch(/^avoided:/);
    expect(r.avoids).toEqual({ 'leaf 1': [{ BATCH: 16 }] });
    // Another context is not affected.
    expect(r.step(100, { flows: 50, latency: 100 })!.action).toBe('apply');
  });

  it('keeps a change whose objective stayed within noise', () => {
    const r = rails({ revert: { periods: 2, noise: 0.1 } });
    for (let t = 0; t < 3; t++) r.step(t, { flows: 5, latency: 100 });
    expect(r.step(3, { flows: 20, latency: 100 })!.action).toBe('apply');
    r.step(4, { flows: 20, latency: 109 });
    expect(r.step(5, { flows: 20, latency: 105 })).toBeNull();
    expect(r.current).toEqual({ BATCH: 16 });
  });
});
