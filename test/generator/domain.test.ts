import { describe, expect, it } from 'vitest';
import { domainIndex, domainSize, domainValue, domainValues } from '../../src/generator/index.js';
import { InputError } from '../../src/types.js';
import { list, range } from './helpers.js';

describe('increment ranges', () => {
  it('walks min, min+step, ... up to max', () => {
    const p = range('A', 1, 10, 3);
    expect(domainValues(p)).toEqual([1, 4, 7, 10]);
    expect(domainSize(p)).toBe(4n);
  });

  it('stops below a max the steps do not reach exactly', () => {
    const p = range('A', 0, 10, 3);
    expect(domainValues(p)).toEqual([0, 3, 6, 9]);
    expect(domainSize(p)).toBe(4n);
  });

  it('handles negative bounds and a single value', () => {
    expect(domainValues(range('A', -4, 4, 4))).toEqual([-4, 0, 4]);
    expect(domainValues(range('A', 7, 7, 5))).toEqual([7]);
  });

  it('counts and indexes a range of 2^50 without listing it', () => {
    const p = range('A', 1, 2 ** 50, 1);
    expect(domainSize(p)).toBe(2n ** 50n);
    expect(domainValue(p, 2n ** 50n - 1n)).toBe(2 ** 50);
    expect(domainValue(p, 12345n)).toBe(12346);
    expect(domainIndex(p, 2 ** 40)).toBe(2n ** 40n - 1n);
    expect(() => domainValues(p)).toThrow(/too many to list/);
  });
});

describe('power ranges', () => {
  it("matches Wayfinder's README example: 1..16 step 2 is 1, 2, 4, 8, 16", () => {
    expect(domainValues(range('B', 1, 16, 2, 'power'))).toEqual([1, 2, 4, 8, 16]);
  });

  it('multiplies from min and stops below an unreached max', () => {
    expect(domainValues(range('B', 8, 100, 2, 'power'))).toEqual([8, 16, 32, 64]);
    expect(domainValues(range('B', 3, 100, 3, 'power'))).toEqual([3, 9, 27, 81]);
    expect(domainSize(range('B', 5, 4999, 10, 'power'))).toBe(3n);
  });

  it('counts 1..2^50 by doubling as 51 values', () => {
    const p = range('B', 1, 2 ** 50, 2, 'power');
    expect(domainSize(p)).toBe(51n);
    expect(domainValue(p, 50n)).toBe(2 ** 50);
    expect(domainIndex(p, 2 ** 20)).toBe(20n);
  });

  it('refuses a walk that would never grow', () => {
    expect(() => domainSize(range('B', 1, 16, 1, 'power'))).toThrow(InputError);
    expect(() => domainSize(range('B', 0, 16, 2, 'power'))).toThrow(/min >= 1 and step >= 2/);
  });
});

describe('lists and booleans', () => {
  it('keeps an only-list in its order', () => {
    const p = list('C', [100, 1, 20]);
    expect(domainValues(p)).toEqual([100, 1, 20]);
    expect(domainSize(p)).toBe(3n);
    expect(domainIndex(p, 20)).toBe(2n);
    expect(domainIndex(p, 21)).toBe(-1n);
    expect(domainIndex(p, '20')).toBe(-1n);
  });

  it('gives a boolean without a list both truth values', () => {
    const p = list('D', [], { type: 'boolean' });
    expect(domainValues(p)).toEqual([false, true]);
    expect(domainSize(p)).toBe(2n);
    expect(domainValues(list('E', [true]))).toEqual([true]);
  });

  it('refuses an empty list for a non-boolean', () => {
    expect(() => domainSize(list('S', [], { type: 'string' }))).toThrow(/'S' has no values/);
  });
});

describe('bad ranges and indexes', () => {
  it('names the parameter and the problem', () => {
    expect(() => domainSize(range('R', 5, 1, 1))).toThrow(/min \(5\) of 'R' is greater than its max \(1\)/);
    expect(() => domainSize(range('R', 1, 5, 0))).toThrow(/step of 'R' must be positive/);
    expect(() => domainSize(range('R', 1.5, 5, 1))).toThrow(/min of 'R' must be an integer/);
    expect(() => domainValue(range('R', 1, 5, 1), 5n)).toThrow(RangeError);
  });

  it('finds only the values a range contains', () => {
    const inc = range('A', 0, 10, 3);
    expect([0, 3, 9].map((v) => domainIndex(inc, v))).toEqual([0n, 1n, 3n]);
    expect([1, 12, -3, 3.5, '3', true].map((v) => domainIndex(inc, v))).toEqual([-1n, -1n, -1n, -1n, -1n, -1n]);
    const pow = range('B', 8, 100, 2, 'power');
    expect([8, 64, 12, 128, 4].map((v) => domainIndex(pow, v))).toEqual([0n, 3n, -1n, -1n, -1n]);
  });
});
