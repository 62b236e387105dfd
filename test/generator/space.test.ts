import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Space } from '../../src/generator/index.js';
import { InputError, type Config, type Param } from '../../src/types.js';
import { Rng } from '../../src/util/random.js';
import { list, range, unikraftNginx } from './helpers.js';

const small = () => new Space([list('A', [1, 2]), list('B', ['x', 'y', 'z'])]);

/** 300 parameters with 2, 3, 5 and 7 values in turn (and a range and a power range among them). */
function huge(): { params: Param[]; expected: bigint } {
  const params: Param[] = [];
  let expected = 1n;
  for (let i = 0; i < 300; i++) {
    const n = [2, 3, 5, 7][i % 4] as number;
    if (i % 50 === 1) params.push(range(`P${i}`, 10, 10 + 2 * (n - 1), 2));
    else if (i % 50 === 2) params.push(range(`P${i}`, 1, 2 ** (n - 1), 2, 'power'));
    else params.push(list(`P${i}`, Array.from({ length: n }, (_, k) => k * 10)));
    expected *= BigInt(n);
  }
  return { params, expected };
}

describe('size', () => {
  it('is the exact product of the domain sizes, even past 10^79', () => {
    const { params, expected } = huge();
    const s = new Space(params);
    // 2*3*5*7 = 210 per four parameters, 75 times.
    expect(expected).toBe(210n ** 75n);
    expect(s.size).toBe(expected);
    expect(s.size >= 10n ** 79n).toBe(true);
  });

  it("is 512 for Wayfinder's paper-era Unikraft NGINX parameters", () => {
    const s = new Space(unikraftNginx());
    expect(s.size).toBe(512n);
    expect(s.distinctCount()).toBe(512n);
  });

  it('is 1 for no parameters: the empty configuration', () => {
    const s = new Space([]);
    expect(s.size).toBe(1n);
    expect([...s.enumerate()]).toEqual([{}]);
  });
});

describe('at and indexOf', () => {
  it('decodes with the last parameter varying fastest', () => {
    const s = small();
    expect([0n, 1n, 2n, 3n, 5n].map((i) => s.at(i))).toEqual([
      { A: 1, B: 'x' },
      { A: 1, B: 'y' },
      { A: 1, B: 'z' },
      { A: 2, B: 'x' },
      { A: 2, B: 'z' },
    ]);
    expect(() => s.at(6n)).toThrow(RangeError);
    expect(() => s.at(-1n)).toThrow(RangeError);
  });

  it('round-trips every index of random small spaces', () => {
    const paramsArb = fc
      .array(
        fc.oneof(
          fc.integer({ min: 1, max: 5 }).map((n) => ({ kind: 'list' as const, n })),
          fc.record({ kind: fc.constant('inc' as const), min: fc.integer({ min: -20, max: 20 }), n: fc.integer({ min: 1, max: 6 }), step: fc.integer({ min: 1, max: 4 }) }),
          fc.record({ kind: fc.constant('pow' as const), min: fc.integer({ min: 1, max: 5 }), n: fc.integer({ min: 1, max: 5 }), step: fc.integer({ min: 2, max: 3 }) }),
        ),
        { maxLength: 6 },
      )
      .map((specs) =>
        specs.map((d, i): Param => {
          if (d.kind === 'list') return list(`L${i}`, Array.from({ length: d.n }, (_, k) => `v${k}`));
          if (d.kind === 'inc') return range(`I${i}`, d.min, d.min + d.step * (d.n - 1), d.step);
          return range(`W${i}`, d.min, d.min * d.step ** (d.n - 1), d.step, 'power');
        }),
      );
    fc.assert(
      fc.property(paramsArb, fc.bigInt({ min: 0n, max: 1n << 40n }), (params, r) => {
        const s = new Space(params);
        const i = r % s.size;
        const c = s.at(i);
        expect(Object.keys(c)).toEqual(params.map((p) => p.name));
        expect(s.indexOf(c)).toBe(i);
        expect(s.at(s.indexOf(c))).toEqual(c);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('round-trips indexes across a space of more than 10^79 points', () => {
    const s = new Space(huge().params);
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: s.size - 1n }), (i) => {
        expect(s.indexOf(s.at(i))).toBe(i);
      }),
      { numRuns: 200, seed: 11 },
    );
    const last = s.at(s.size - 1n);
    expect(last.P0).toBe(10);
    expect(last.P1).toBe(10 + 2 * 2); // range 10..14 step 2, third value
    expect(last.P2).toBe(16); // power 1..16, fifth value
    expect(s.indexOf(last)).toBe(s.size - 1n);
  });

  it('refuses a value outside its domain, a missing value and an unknown name', () => {
    const s = small();
    expect(() => s.indexOf({ A: 3, B: 'x' })).toThrow(InputError);
    expect(() => s.indexOf({ A: 3, B: 'x' })).toThrow(/value 3 is not in the domain of parameter 'A'/);
    expect(() => s.indexOf({ A: '1', B: 'x' })).toThrow(/"1" is not in the domain of parameter 'A'/);
    expect(() => s.indexOf({ A: 1 })).toThrow(/no value for parameter 'B'/);
    expect(() => s.indexOf({ A: 1, B: 'x', C: 2 })).toThrow(/'C', which is not a parameter/);
  });
});

describe('enumerate', () => {
  it('walks the grid in declaration order, the last parameter fastest', () => {
    expect([...small().enumerate()].map((c) => `${c.A}${c.B}`)).toEqual(['1x', '1y', '1z', '2x', '2y', '2z']);
  });

  it('starts anywhere and wraps around once', () => {
    expect([...small().enumerate(4n)].map((c) => `${c.A}${c.B}`)).toEqual(['2y', '2z', '1x', '1y', '1z', '2x']);
    expect([...small().enumerate(10n)].map((c) => `${c.A}${c.B}`)[0]).toBe('2y');
  });

  it('agrees with at() over a mixed space', () => {
    const s = new Space([range('A', 0, 6, 3), list('B', [true, false]), range('C', 1, 9, 3, 'power')]);
    const all = [...s.enumerate(5n)];
    expect(all).toHaveLength(18);
    all.forEach((c, k) => expect(c).toEqual(s.at((5n + BigInt(k)) % 18n)));
    expect(new Set(all.map((c) => JSON.stringify(c))).size).toBe(18);
  });

  it('can take a few configurations of a huge space lazily', () => {
    const s = new Space(huge().params);
    const it = s.enumerate(s.size - 1n);
    expect(s.indexOf(it.next().value as Config)).toBe(s.size - 1n);
    expect(s.indexOf(it.next().value as Config)).toBe(0n);
  });
});

describe('sample', () => {
  /** Pearson's chi-square statistic of observed counts against a uniform expectation. */
  function chiSquare(counts: number[], total: number): number {
    const e = total / counts.length;
    return counts.reduce((x, o) => x + (o - e) ** 2 / e, 0);
  }
  // 99.9th percentile of chi-square with 11 degrees of freedom.
  const CRITICAL_11 = 31.264;
  const N = 24_000;

  function counts(s: Space, draw: () => Config): number[] {
    const out = new Array<number>(Number(s.size)).fill(0);
    for (let k = 0; k < N; k++) out[Number(s.indexOf(draw()))]! += 1;
    return out;
  }

  it('is uniform over a 3x4 space', () => {
    const s = new Space([list('A', ['a', 'b', 'c']), range('B', 1, 8, 2, 'power')]);
    const rng = new Rng(42);
    const c = counts(s, () => s.sample(rng));
    expect(c.every((n) => n > 0)).toBe(true);
    expect(chiSquare(c, N)).toBeLessThan(CRITICAL_11);
  });

  it('has a check that a biased sampler fails', () => {
    const s = new Space([list('A', ['a', 'b', 'c']), range('B', 1, 8, 2, 'power')]);
    const rng = new Rng(42);
    // Off by one: never draws the last point.
    expect(chiSquare(counts(s, () => s.at(BigInt(rng.int(11)))), N)).toBeGreaterThan(CRITICAL_11);
    // Favouring low indexes slightly (min of a uniform draw and a second one, a tenth of the time).
    const skewed = () => {
      const i = rng.bigint(12n);
      return s.at(rng.next() < 0.1 ? (i < rng.bigint(12n) ? i : rng.bigint(12n)) : i);
    };
    expect(chiSquare(counts(s, skewed), N)).toBeGreaterThan(CRITICAL_11);
  });

  it('draws from a space of more than 10^79 points, reproducibly from the seed', () => {
    const s = new Space(huge().params);
    const a = s.sample(new Rng(5));
    expect(s.sample(new Rng(5))).toEqual(a);
    expect(s.indexOf(a) < s.size).toBe(true);
    expect(s.sample(new Rng(6))).not.toEqual(a);
  });
});

describe('conditions', () => {
  // NET_BUF matters only with NET; NET_POLL only with a buffer of at least 16.
  const params = (): Param[] => [
    list('NET', ['y', 'n']),
    list('NET_BUF', [8, 16, 32], { if: 'NET == y', default: 16 }),
    list('NET_POLL', [false, true], { if: 'NET_BUF >= 16' }),
  ];

  it('gives an inactive parameter its default, or its first value', () => {
    const s = new Space(params());
    expect(s.hasConditions).toBe(true);
    expect(s.normalize({ NET: 'n', NET_BUF: 32, NET_POLL: true })).toEqual({ NET: 'n', NET_BUF: 16, NET_POLL: true });
    expect(s.normalize({ NET: 'y', NET_BUF: 8, NET_POLL: true })).toEqual({ NET: 'y', NET_BUF: 8, NET_POLL: false });
    expect(s.normalize({ NET: 'y', NET_BUF: 32, NET_POLL: true })).toEqual({ NET: 'y', NET_BUF: 32, NET_POLL: true });
  });

  it('evaluates a chain on the values already normalised', () => {
    const s = new Space(params());
    // Raw NET_BUF 8 would switch NET_POLL off; normalised to 16 (NET is off) it keeps NET_POLL on.
    const raw = { NET: 'n', NET_BUF: 8, NET_POLL: true };
    expect(s.normalize(raw)).toEqual({ NET: 'n', NET_BUF: 16, NET_POLL: true });
    expect(s.isActive('NET_BUF', raw)).toBe(false);
    expect(s.isActive('NET_POLL', raw)).toBe(true);
    expect(s.isActive('NET', raw)).toBe(true);
    expect(s.isActive('NET_POLL', { NET: 'y', NET_BUF: 8, NET_POLL: true })).toBe(false);
    expect(() => s.isActive('NOPE', raw)).toThrow(/'NOPE' is not a parameter/);
  });

  it('evaluates a condition naming a later parameter on its raw value', () => {
    const s = new Space([list('A', [1, 2], { if: 'B == 1', default: 2 }), list('B', [1, 2], { if: 'A == 1' })]);
    // A is inactive (B raw 2) and becomes 2; B's condition then sees A = 2 and B becomes 1.
    expect(s.normalize({ A: 1, B: 2 })).toEqual({ A: 2, B: 1 });
    expect(s.normalize({ A: 1, B: 1 })).toEqual({ A: 1, B: 1 });
  });

  it('counts the distinct configurations normalisation leaves', () => {
    const s = new Space(params());
    expect(s.size).toBe(12n);
    // NET=y: buffer 8 (poll forced off) 1, buffers 16 and 32 with both polls 4; NET=n: buffer 16, both polls 2.
    expect(s.distinctCount()).toBe(7n);
    expect(s.distinctCount(11n)).toBeUndefined();
    expect(s.distinctCount(12n)).toBe(7n);
    const seen = new Set([...s.enumerate()].map((c) => JSON.stringify(s.normalize(c))));
    expect(BigInt(seen.size)).toBe(s.distinctCount());
  });

  it('reports a space without conditions as all distinct, and a huge one as uncountable', () => {
    expect(small().hasConditions).toBe(false);
    expect(small().distinctCount()).toBe(6n);
    expect(new Space(huge().params).distinctCount()).toBeUndefined();
  });

  it('rejects conditions that name unknown parameters, themselves, or compare mismatched types', () => {
    const loc = { file: 'e.yaml', line: 4, col: 9 };
    const bad = (cond: string) => () => new Space([list('N', [1, 2]), list('S', ['a'], { if: cond, loc })]);
    expect(bad('M == 1')).toThrow(/condition of 'S' \("M == 1"\), column 1: 'M' is not a parameter/);
    expect(bad('S == "a"')).toThrow(/cannot name the parameter itself/);
    expect(bad('N == "1"')).toThrow(/compares integer with string/);
    expect(bad('N < true')).toThrow(/orders two integers or two strings/);
    expect(bad('N in [1, "2"]')).toThrow(/lists a string for a integer/);
    let caught: unknown;
    try {
      bad('N == 1 && Q')();
    } catch (e) {
      caught = e;
    }
    expect((caught as InputError).loc).toEqual({ file: 'e.yaml', line: 4, col: 9 + 10 });
    expect(bad('N ==')).toThrow(InputError);
    expect(() => new Space([list('A', [1]), list('A', [2])])).toThrow(/'A' is declared twice/);
  });
});
