import { describe, expect, it } from 'vitest';
import { DurationHistory } from '../../src/scheduler/durations.js';

describe('DurationHistory', () => {
  it('estimates a job by the median of its last nine runs, per experiment, phase and job', () => {
    const h = new DurationHistory();
    const k = DurationHistory.key('exp', 'test', 'wrk');
    expect(h.estimate(k)).toBeUndefined();
    h.record(k, 10);
    expect(h.estimate(k)).toBe(10);
    h.record(k, 30);
    expect(h.estimate(k)).toBe(20);
    h.record(k, 1000);
    expect(h.estimate(k)).toBe(30);
    for (let i = 0; i < 9; i++) h.record(k, 5);
    expect(h.estimate(k)).toBe(5);
    expect(h.estimate(DurationHistory.key('exp', 'build', 'wrk'))).toBeUndefined();
    h.record(k, Number.NaN);
    expect(h.estimate(k)).toBe(5);
  });
});
