import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatSchemata, parseCbm, parseSchemata } from '../../src/isolation/resctrl-schemata.js';

describe('parseSchemata', () => {
  it('reads current upstream output: right-aligned names, MB first', () => {
    const s = parseSchemata('    MB:0=100;1=100\n    L3:0=fff;1=fff\n');
    expect([...s.keys()]).toEqual(['MB', 'L3']);
    expect(s.get('L3')?.get(1)).toBe('fff');
    expect(s.get('MB')?.get(0)).toBe('100');
  });

  it('reads old-kernel output: zero-padded masks, space-padded MB, L3 first', () => {
    const s = parseSchemata('L3:0=00f;1=ff0\nMB:0= 50;1=100\n');
    expect(parseCbm(s.get('L3')?.get(0) as string)).toBe(0xf);
    expect(s.get('MB')?.get(0)).toBe('50');
  });

  it('reads CDP and AMD flavours and skips pseudo-locksetup lines', () => {
    const cdp = parseSchemata('    MB:0=100;1=100\nL3DATA:0=fff;1=fff\nL3CODE:0=ff;1=fff\nL2:uninitialized\n');
    expect(cdp.get('L3CODE')?.get(0)).toBe('ff');
    expect(cdp.has('L2')).toBe(false);
    const amd = parseSchemata('MB:0=2048;1=  16;2=2048;3=2048\nL3:0=ffff;1=ffff;2=ffff;3=ffff\n');
    expect(amd.get('MB')?.get(1)).toBe('16');
  });

  it('names the line it cannot read', () => {
    expect(() => parseSchemata('L3 0=fff\n')).toThrow(/L3 0=fff/);
    expect(() => parseSchemata('L3:0fff\n')).toThrow(/0fff/);
  });

  it('parseCbm accepts 0x and rejects non-hex', () => {
    expect(parseCbm('0x7ff')).toBe(0x7ff);
    expect(() => parseCbm('xyz')).toThrow(/xyz/);
  });
});

describe('formatSchemata', () => {
  it('writes one line per resource, domains ascending, ending in a newline', () => {
    const s = new Map([
      ['L3', new Map([[1, 'f'], [0, 'ff0']])],
      ['MB', new Map([[0, '50']])],
    ]);
    expect(formatSchemata(s)).toBe('L3:0=ff0;1=f\nMB:0=50\n');
  });

  it('round-trips through parse, whatever the padding', () => {
    const domain = fc.integer({ min: 0, max: 63 });
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('L3', 'L2', 'MB', 'L3CODE', 'SMBA'), fc.dictionary(domain.map(String), fc.integer({ min: 0, max: 0xfffff })), { minKeys: 1 }),
        fc.nat(8),
        (raw, pad) => {
          const s = new Map(
            Object.entries(raw)
              .filter(([, d]) => Object.keys(d).length > 0)
              .map(([n, d]) => [n, new Map(Object.entries(d).map(([k, v]) => [Number(k), v.toString(16)]))] as const),
          );
          const padded = formatSchemata(s)
            .split('\n')
            .map((l) => (l ? ' '.repeat(pad) + l.replace(/=/g, '= ') : l))
            .join('\n');
          expect(parseSchemata(padded)).toEqual(s);
        },
      ),
    );
  });
});
