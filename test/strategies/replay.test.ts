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
  it('reads parameters, values, failures and the best row', () => {
    const t = loadTable(CSV, { objective: 'rps', failure: -1, params: ['threads', 'sched', 'pin'] });
    expect(t.params.map((p) => p.name)).toEqual(['threads', 'sched', 'pin']);
    expect(t.params[0]!.domain).toEqual({ kind: 'list', values: [1, 2] });
    expect(t.rows).toHaveLength(12);
    expect(t.values.filter((v) => v === undefined)).toHaveLength(1);
    expect(t.best).toBe(257);
    expect(t.bestRows).toEqual([7]);
    expect(t.notes).toEqual([]);
  });

  it('refuses a single-valued column, named or not, at its header cell', () => {
    expect(() => loadTable(CSV, { objective: 'rps' }, 'runs.csv')).toThrow(/"host" has a single value \(bench1\)/);
    try {
      loadTable(CSV, { objective: 'rps' }, 'runs.csv');
    } catch (e) {
      expect((e as InputError).format()).toMatch(/^runs\.csv:1:23: .*\n  name the parameter columns with --params/);
    }
  });

  it('names unknown columns', () => {
    expect(() => loadTable(CSV, { objective: 'latency' })).toThrow(/unknown objective column "latency"/);
    expect(() => loadTable(CSV, { objective: 'rps', params: ['threads', 'nope'] })).toThrow(/unknown parameter column "nope"/);
  });

  it('names the row and column of a missing value', () => {
    const bad = CSV.replace('1,rr,off', '1,,off');
    const err = (() => {
      try {
        loadTable(bad, { objective: 'rps', params: ['threads', 'sched', 'pin'] }, 'runs.csv');
      } catch (e) {
        return e as InputError;
      }
    })();
    expect(err).toBeInstanceOf(InputError);
    expect(err!.format()).toBe('runs.csv:5:3: column "sched": missing value');
  });

  it('refuses a single-valued column named explicitly', () => {
    expect(() => loadTable(CSV, { objective: 'rps', params: ['threads', 'host'] })).toThrow(/"host" has a single value/);
  });

  it('refuses rows that tie on every parameter, naming both lines', () => {
    expect(() => loadTable(CSV, { objective: 'rps', params: ['threads', 'sched'] })).toThrow(/ties with line 2: both are the configuration threads=1, sched=fifo/);
  });

  it('refuses a non-numeric objective and reports ties in the best value', () => {
    const params = ['threads', 'sched', 'pin'];
    expect(() => loadTable(CSV.replace('157,bench1', 'fast,bench1'), { objective: 'rps', params })).toThrow(/"fast" is not a number/);
    const tied = loadTable(CSV.replace('250,bench1', '257,bench1'), { objective: 'rps', params });
    expect(tied.bestRows).toEqual([7, 8]);
    expect(tied.notes.join('\n')).toMatch(/reached by 2 rows \(lines 8, 9\)/);
  });

  it('handles quoted fields and minimisation', () => {
    const t = loadTable('"a","b",lat\n"x,1",1,5\n"y ""q""",1,3\n"x,1",2,9\n', { objective: 'lat', minimize: true });
    expect(t.params[0]!.domain).toEqual({ kind: 'list', values: ['x,1', 'y "q"'] });
    expect(t.best).toBe(3);
  });

  it('counts lines across quoted newlines and blank lines', () => {
    const text = 'a,b,v\n"multi\nline",1,5\n\nz,2,\n';
    expect(() => loadTable(text, { objective: 'v' }, 't.csv')).toThrow(InputError);
    try {
      loadTable(text, { objective: 'v' }, 't.csv');
    } catch (e) {
      expect((e as InputError).format()).toBe('t.csv:5:5: column "v": missing value');
    }
    expect(() => loadTable('a,v\n"open,1\n', { objective: 'v' }, 't.csv')).toThrow(/ends inside a quoted field/);
  });

  it('reads a wayfinder results export: parameters between "default" and "objective", failed rows by status', () => {
    const text = [
      'config_id,build_id,status,default,A,B,objective,v,v.ci_low,failure',
      'c1,b1,done,true,1,x,10,10,9,',
      'c2,b1,failed,false,1,y,,,,test',
      'c3,b2,done,false,2,x,30,30,28,',
      'c4,b2,running,false,2,y,,,,',
    ].join('\n');
    const t = loadTable(text, { objective: 'objective' });
    expect(t.params.map((p) => p.name)).toEqual(['A', 'B']);
    expect(t.values).toEqual([10, undefined, 30]);
    expect(t.notes.join('\n')).toMatch(/skipped 1 configurations not measured yet \(lines 5\)/);
  });
});

describe('replay', () => {
  const table = loadTable(CSV, { objective: 'rps', failure: -1, params: ['threads', 'sched', 'pin'] });

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
    const out = runReplay({ csv: CSV, objective: 'rps', failure: -1, params: ['threads', 'sched', 'pin'], budgets: [4, 8], seeds: 4 });
    expect(out.results).toHaveLength(6);
    expect(out.text).toMatch(/12 configurations, 3 parameters/);
    expect(out.text).toMatch(/^bayesian\s+8/m);
    expect(out.svg.match(/<polyline/g)).toHaveLength(3);
    expect(out.svg.startsWith('<svg')).toBe(true);
  });
});
