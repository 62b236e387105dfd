import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chooseWays, fullMask, popcount, rootMaskFrom, roundBandwidth, runsOf, type CacheGeometry } from '../../src/isolation/resctrl-alloc.js';

const gold: CacheGeometry = { cbmLen: 12, minBits: 1, shareable: 0, sparse: false };

describe('chooseWays', () => {
  it('stacks jobs from the top so the default group keeps one contiguous run at the bottom', () => {
    const a = chooseWays(gold, 0xfff, 4) as number;
    expect(a).toBe(0xf00);
    const b = chooseWays(gold, 0xfff & ~a, 3) as number;
    expect(b).toBe(0x0e0);
    expect(rootMaskFrom(0xfff & ~a & ~b, false)).toBe(0x01f);
  });

  it('avoids the ways devices share (shareable_bits) when it can', () => {
    const spr: CacheGeometry = { cbmLen: 15, minBits: 1, shareable: 0x6000, sparse: false };
    const m = chooseWays(spr, fullMask(15), 4) as number;
    expect(m & 0x6000).toBe(0);
    expect(runsOf(m)).toHaveLength(1);
  });

  it('respects min_cbm_bits for the default group and refuses what does not fit', () => {
    const hsw: CacheGeometry = { cbmLen: 20, minBits: 2, shareable: 0, sparse: false };
    expect(chooseWays(hsw, fullMask(20), 18)).toBe(0xffffc);
    expect(chooseWays(hsw, fullMask(20), 19)).toBeUndefined();
    expect(chooseWays(gold, 0x00f, 5)).toBeUndefined();
  });

  it('any sequence of grants is disjoint, contiguous, inside the mask and leaves the default group enough', () => {
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 20 }), fc.integer({ min: 1, max: 2 }), fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 8 }), (len, minBits, reqs) => {
        const geo: CacheGeometry = { cbmLen: len, minBits, shareable: 0, sparse: false };
        let free = fullMask(len);
        for (const ways of reqs) {
          if (ways < minBits) continue;
          const m = chooseWays(geo, free, ways);
          if (m === undefined) continue;
          expect(m & ~free).toBe(0);
          expect(popcount(m)).toBe(ways);
          expect(runsOf(m)).toHaveLength(1);
          free &= ~m;
          expect(popcount(rootMaskFrom(free, false))).toBeGreaterThanOrEqual(minBits);
        }
      }),
    );
  });
});

describe('roundBandwidth', () => {
  it('rounds up to the granularity, clamps to [min,max]', () => {
    const intel = { min: 10, gran: 10, max: 100 };
    expect(roundBandwidth(33, intel)).toBe(40);
    expect(roundBandwidth(40, intel)).toBe(40);
    expect(roundBandwidth(3, intel)).toBe(10);
    expect(roundBandwidth(100, intel)).toBe(100);
    expect(roundBandwidth(1023.2, { min: 0, gran: 1, max: 2048 })).toBe(1024);
  });
});
