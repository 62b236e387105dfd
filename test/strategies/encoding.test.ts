// Where another experiment's value falls in this experiment's domain (codec.nearest, used by the
// warm start): the same value where the domain has it, else the nearest number; nothing for a
// category the domain lacks.
import { describe, expect, it } from 'vitest';
import { codecFor, Encoder } from '../../src/strategies/encoding.js';
import { listParam, rangeParam } from './helpers.js';

describe('nearest value of a domain', () => {
  it('a numeric list: the value itself where listed, else the nearest by number (the list need not be sorted)', () => {
    const c = codecFor(listParam('n', [64, 1, 8, 4096]));
    expect(c.nearest(8)).toBe(2);
    expect(c.nearest(9)).toBe(2);
    expect(c.nearest(40)).toBe(0); // 64 is nearer than 8
    expect(c.nearest(36)).toBe(2); // equally near: the smaller
    expect(c.nearest(-5)).toBe(1);
    expect(c.nearest(1e12)).toBe(3);
    expect(c.nearest('8')).toBe(-1);
  });

  it('a range: the nearest step, clamped to its ends; a power range as the list of its values', () => {
    const r = codecFor(rangeParam('r', 10, 20, 2));
    expect(r.nearest(13.2)).toBe(2); // 14
    expect(r.nearest(0)).toBe(0);
    expect(r.nearest(99)).toBe(5);
    const p = codecFor(rangeParam('p', 1, 64, 2, 'power'));
    expect(p.valueAt(p.nearest(40))).toBe(32);
    expect(p.valueAt(p.nearest(50))).toBe(64);
  });

  it('categories and booleans: only the values the domain has', () => {
    const s = codecFor(listParam('s', ['a', 'b']));
    expect(s.nearest('b')).toBe(1);
    expect(s.nearest('c')).toBe(-1);
    expect(s.nearest(1)).toBe(-1);
    const b = codecFor(listParam('b', [true, false]));
    expect(b.nearest(false)).toBe(1);
  });

  it('an encoder maps a configuration of another experiment value by value; without nearest, unknown values stay unknown', () => {
    const enc = new Encoder([listParam('n', [1, 2, 4]), listParam('s', ['x', 'y']), rangeParam('r', 0, 100, 10)]);
    const other = { n: 3.5, s: 'z', r: 44 };
    expect([...enc.indices(other, true)]).toEqual([2, -1, 4]);
    expect([...enc.indices(other)]).toEqual([-1, -1, -1]);
  });
});
