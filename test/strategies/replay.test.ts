import { describe, expect, it } from 'vitest';
import { evaluate, loadTable, replay, runReplay } from '../../src/strategies/replay.js';
import { InputError } from '../../src/types.js';

// 2 x 3 x 2 = 12 configurations, throughput; one failure marked -1.
const CSV = [
  'threads,sched,pin,rps,host',
  ...[1, 2].flatMap((t) =>
    ['fifo', 'rr', 'other'].flatMap((s) =>
      ['on', 'off'].map((p) => {
        const rps = t === 2 && s === 'rr' && p === 'on' ? -1 : 100 * t + (s === 'fifo' ? 50 : s === 'rr' ? 20 : 0) + (p === 'on' ? 7 : 0);
        return `${t},${s},${p},${rps},bench1`;
      }),
    ),
  ),
].join('\n');

describe('loadTable', () => {
  it('reads parameters, values, failures and the best row; drops constant columns with a note', () => {
    const t = loadTable(CSV, { objective: 'rps', failure: -1 });
    expect(t.params.map((p) => p.name)).toEqual(['threads', 'sched', 'pin']);
    expect(t.params[0]!.domain).toEqual({ kind: 'list', values: [1, 2] });
    expect(t.rows).toHaveLength(12);
    expect(t.values.filter((v) => v === undefined)).toHaveLength(1);
    expect(t.best).toBe(257);
    expect(t.bestRows).toEqual([7]);
    expect(t.notes.join('\n')).toMatch(/dropped column "host"/);
  });

  it('names unknown columns', () => {
    expect(() => loadTable(CSV, { objective: 'latency' })).toThrow(/unknown objective column "latency"/);
    expect(() => loadTable(CSV, { objective: 'rps', params: ['threads', 'nope'] })).toThrow(/unknown parameter column "nope"/);
  });

  it('names the row and column of a missing value', () => {
    const bad = CSV.replace('1,rr,off', '1,,off');
    const err = (() => {
      try {
        loadTable(bad, { objective: 'rps' });
      } catch (e) {
        return e as InputError;
      }
    })();
    expect(err).toBeInstanceOf(InputError);
    expect(err!.message).toBe('row 4 (line 5), column "sched": missing value');
  });

  it('refuses a single-valued column named explicitly', () => {
    expect(() => loadTable(CSV, { objective: 'rps', params: ['threads', 'host'] })).toThrow(/"host" has a single value/);
  });

  it('refuses duplicate configurations, naming both rows', () => {
    expect(() => loadTable(CSV, { objective: 'rps', params: ['threads', 'sched'] })).toThrow(/rows 1 and 2 have the same configuration \(threads=1, sched=fifo\)/);
  });

  it('refuses a non-numeric objective and reports ties in the best value', () => {
    expect(() => loadTable(CSV.replace('157,bench1', 'fast,bench1'), { objective: 'rps' })).toThrow(/"fast" is not a number/);
    const tied = loadTable(CSV.replace('250,bench1', '257,bench1'), { objective: 'rps' });
    expect(tied.bestRows).toEqual([7, 8]);
    expect(tied.notes.join('\n')).toMatch(/reached by 2 rows \(7, 8\)/);
  });

  it('handles quoted fields and minimisation', () => {
    const t = loadTable('"a","b",lat\n"x,1",1,5\n"y ""q""",1,3\n"x,1",2,9\n', { objective: 'lat', minimize: true });
    expect(t.params[0]!.domain).toEqual({ kind: 'list', values: ['x,1', 'y "q"'] });
    expect(t.best).toBe(3);
  });
});

describe('replay', () => {
  const table = loadTable(CSV, { objective: 'rps', failure: -1 });

  it('picks only recorded rows, each once, and a run is a prefix of a longer one', () => {
    for (const s of ['grid', 'random', 'bayesian'] as const) {
      const long = replay(table, s, 12, 3);
      expect(long.bestSoFar).toHaveLength(12);
      expect(long.found).toBe(257);
      expect(replay(table, s, 6, 3).bestSoFar).toEqual(long.bestSoFar.slice(0, 6));
    }
  });

  it('summarises ratios over seeds', () => {
    const r = evaluate(table, ['random'], [1, 12], 5);
    expect(r.map((x) => x.budget)).toEqual([1, 12]);
    // The whole table: every seed finds the best.
    expect(r[1]).toMatchObject({ meanRatio: 1, stdRatio: 0, shareBest: 1, share95: 1 });
    expect(r[0]!.meanRatio).toBeLessThan(1);
  });

  it('runReplay prints a table and draws one line per strategy', () => {
    const out = runReplay({ csv: CSV, objective: 'rps', failure: -1, budgets: [4, 8], seeds: 4 });
    expect(out.results).toHaveLength(6);
    expect(out.text).toMatch(/12 configurations, 3 parameters/);
    expect(out.text).toMatch(/^bayesian\s+8/m);
    expect(out.svg.match(/<polyline/g)).toHaveLength(3);
    expect(out.svg.startsWith('<svg')).toBe(true);
  });
});
