import { describe, expect, it } from 'vitest';
import { conditionNames, evaluateCondition, parseCondition } from '../../src/generator/index.js';
import { InputError, type Config } from '../../src/types.js';

const ev = (src: string, config: Config) => evaluateCondition(parseCondition(src), config);

function errorOf(src: string, loc = { file: 'x.yaml', line: 7, col: 10 }): InputError {
  try {
    parseCondition(src, loc);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error(`"${src}" parsed without error`);
}

describe('precedence', () => {
  it('binds && tighter than ||', () => {
    expect(parseCondition('A || B && C')).toMatchObject({ kind: 'or', right: { kind: 'and' } });
    // (A || B) && C would be false here.
    expect(ev('A || B && C', { A: true, B: false, C: false })).toBe(true);
    expect(ev('(A || B) && C', { A: true, B: false, C: false })).toBe(false);
  });

  it('binds ! tighter than &&', () => {
    // !(A && B) would be true here.
    expect(ev('!A && B', { A: false, B: false })).toBe(false);
    expect(ev('!(A && B)', { A: false, B: false })).toBe(true);
  });

  it('reads the words and, or, not as the symbols', () => {
    const configs: Config[] = [
      { A: true, B: false, C: true },
      { A: false, B: true, C: false },
      { A: false, B: false, C: true },
    ];
    for (const c of configs) {
      expect(ev('not A and B or C', c)).toBe(ev('!A && B || C', c));
    }
  });

  it('chains left to right and nests parentheses', () => {
    expect(ev('((A == 1)) && (B == 2 || (C == 3 && !D))', { A: 1, B: 0, C: 3, D: false })).toBe(true);
    expect(ev('A == 1 && B == 2 && C == 3', { A: 1, B: 2, C: 4 })).toBe(false);
  });
});

describe('comparisons and membership', () => {
  it('compares integers and strings', () => {
    const c = { N: 16, S: 'caching' };
    expect(ev('N == 16', c)).toBe(true);
    expect(ev('N != 16', c)).toBe(false);
    expect(ev('N < 16', c)).toBe(false);
    expect(ev('N <= 16', c)).toBe(true);
    expect(ev('N > -3', c)).toBe(true);
    expect(ev('N >= 17', c)).toBe(false);
    expect(ev('S == "caching"', c)).toBe(true);
    expect(ev("S != 'nocaching'", c)).toBe(true);
    expect(ev('S < "d"', c)).toBe(true);
  });

  it('tests membership with in and not in', () => {
    expect(ev('N in [8, 16, 32]', { N: 16 })).toBe(true);
    expect(ev('N in [8, 32]', { N: 16 })).toBe(false);
    expect(ev('N not in [8, 32,]', { N: 16 })).toBe(true);
    expect(ev('S in ["a", \'b\']', { S: 'b' })).toBe(true);
    expect(ev('S in []', { S: 'b' })).toBe(false);
    expect(ev('!(N in [16]) || S in [T]', { N: 16, S: 'x', T: 'x' })).toBe(true);
  });

  it('treats Kconfig y/n as the booleans they stand for', () => {
    expect(ev('NET == y', { NET: 'y' })).toBe(true);
    expect(ev('NET == y', { NET: 'n' })).toBe(false);
    expect(ev('FLAG == y', { FLAG: true })).toBe(true);
    expect(ev('FLAG == n', { FLAG: true })).toBe(false);
    expect(ev('FLAG == true', { FLAG: 'y' })).toBe(true);
    expect(ev('NET', { NET: 'n' })).toBe(false);
    expect(ev('NET', { NET: 'y' })).toBe(true);
    expect(ev('N', { N: 0 })).toBe(false);
  });

  it('reads quoted text with escapes, and keywords inside quotes as text', () => {
    expect(ev('S == "a \\"b\\" and c"', { S: 'a "b" and c' })).toBe(true);
    expect(ev("S == 'or'", { S: 'or' })).toBe(true);
  });

  it('refuses to evaluate a name the configuration lacks, or to order text against a number', () => {
    expect(() => ev('A == 1', { B: 1 })).toThrow(/names 'A'/);
    expect(() => ev('S < 3', { S: 'abc' })).toThrow(/not a number/);
  });
});

describe('names', () => {
  it('lists each parameter once, in order, without literals', () => {
    expect(conditionNames(parseCondition('B == 1 && (A in [C, "D", 3] || !B) && y != E'))).toEqual(['B', 'A', 'C', 'E']);
  });
});

describe('errors', () => {
  it('points at the column inside the condition and says what was expected', () => {
    const e = errorOf('A ==');
    expect(e.message).toMatch(/column 5: expected a parameter name, a number, a quoted string, true or false, found the end/);
    expect(e.loc).toEqual({ file: 'x.yaml', line: 7, col: 14 });
  });

  it('explains a single = or &', () => {
    const e = errorOf('A = 1');
    expect(e.message).toMatch(/column 3: expected '==' to compare/);
    expect(e.loc?.col).toBe(12);
    expect(errorOf('A & B').message).toMatch(/column 3: expected '&&'/);
  });

  it('reports an unclosed parenthesis, list or string', () => {
    expect(errorOf('A && (B || C').message).toMatch(/column 13: expected '\)' to close the '\(' at column 6, found the end/);
    expect(errorOf('A in 1').message).toMatch(/column 6: expected '\[' to start the list/);
    expect(errorOf('A in [1 2]').message).toMatch(/column 9: expected ',' or '\]' in the list, found '2'/);
    const s = errorOf('S == "abc');
    expect(s.message).toMatch(/column 6: unterminated string/);
    expect(s.loc?.col).toBe(15);
  });

  it('reports trailing tokens, empty conditions and stray characters', () => {
    expect(errorOf('A B').message).toMatch(/column 3: expected '&&', '\|\|' or the end of the condition, found 'B'/);
    expect(errorOf('   ').message).toMatch(/empty condition/);
    expect(errorOf('A == 1 @').message).toMatch(/column 8: unexpected character '@'/);
    expect(errorOf('A == 12abc').message).toMatch(/column 6: expected an integer/);
    expect(errorOf('A == and').message).toMatch(/found 'and'/);
  });

  it('is no way into code: JavaScript is rejected, not run', () => {
    let ran = false;
    (globalThis as Record<string, unknown>).__conditionRan = () => (ran = true);
    expect(errorOf('globalThis.__conditionRan()').message).toMatch(/unexpected character '\.'/);
    expect(errorOf('A == `x`').message).toMatch(/unexpected character '`'/);
    expect(ran).toBe(false);
  });

  it('has no location when none is given, and still names the column', () => {
    let caught: unknown;
    try {
      parseCondition('A ==');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as InputError).loc).toBeUndefined();
    expect((caught as InputError).message).toMatch(/column 5/);
  });
});

describe('limits', () => {
  it('refuses 20,000 nested parentheses with a located error, not a stack overflow', () => {
    const src = `${'('.repeat(20_000)}A == 1${')'.repeat(20_000)}`;
    const e = errorOf(src);
    expect(e.message).toMatch(/40006 characters long; at most 4096/);
    expect(e.loc).toEqual({ file: 'x.yaml', line: 7, col: 10 });
    // The message quotes the start of the condition, not all of it.
    expect(e.message.length).toBeLessThan(300);
  });

  it('refuses nesting deeper than 64 levels where it passes the limit, and accepts 64', () => {
    expect(evaluateCondition(parseCondition(`${'('.repeat(64)}A == 1${')'.repeat(64)}`), { A: 1 })).toBe(true);
    const e = errorOf(`${'('.repeat(65)}A == 1${')'.repeat(65)}`);
    expect(e.message).toMatch(/column 65: nested more than 64 levels deep/);
    expect(e.loc).toEqual({ file: 'x.yaml', line: 7, col: 74 });
    expect(errorOf(`${'!'.repeat(65)}A`).message).toMatch(/column 65: nested more than 64/);
    expect(errorOf(`${'not '.repeat(65)}A`).message).toMatch(/nested more than 64/);
  });

  it('keeps long flat chains, which every walk handles without deep recursion trouble', () => {
    const src = Array.from({ length: 400 }, () => 'A == 1').join(' && ');
    expect(src.length).toBeLessThanOrEqual(4096);
    expect(evaluateCondition(parseCondition(src), { A: 1 })).toBe(true);
  });
});
