import { describe, expect, it } from 'vitest';
import { evaluate, loadTable, quality, replay, runReplay } from '../../src/strategies/replay.js';
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

  it('leaves out a single-valued column it chose (with a note); refuses one named, at its header cell', () => {
    const t = loadTable(CSV, { objective: 'rps', failure: -1 }, 'runs.csv');
    expect(t.params.map((p) => p.name)).toEqual(['threads', 'sched', 'pin']);
    expect(t.notes).toContain('left out 1 column with one value in every row (host)');
    try {
      loadTable(CSV, { objective: 'rps', params: ['threads', 'host'] }, 'runs.csv');
      expect.unreachable();
    } catch (e) {
      expect((e as InputError).format()).toMatch(/^runs\.csv:1:23: parameter column "host" has a single value \(bench1\) in every row: nothing to choose\n  leave it out of --params/);
    }
  });

  it('an empty parameter cell is the value "unset", its own value beside the others', () => {
    // The EuroSys'26 pools leave a parameter's cell empty where it was not set.
    const text = 'A,B,v\n1,x,5\n,x,6\n2,,7\n1,y,8\n,y,9\n';
    const t = loadTable(text, { objective: 'v' });
    expect(t.params.map((p) => [p.name, p.domain])).toEqual([
      ['A', { kind: 'list', values: [1, 2, 'unset'] }],
      ['B', { kind: 'list', values: ['x', 'unset', 'y'] }],
    ]);
    expect(t.rows[1]).toEqual({ A: 'unset', B: 'x' });
    expect(t.notes).toContain('2 parameters have empty cells, read as the value "unset"');
    // Rows differing only in an unset cell are different configurations; the same unset twice ties.
    expect(() => loadTable(`${text},x,10\n`, { objective: 'v' })).toThrow(/ties with line 3/);
    for (const s of ['grid', 'random', 'bayesian'] as const) expect(replay(t, s, 5, 1).found).toBe(9);
  });

  it('leaves out columns numbering the rows (index, run ids), not parameters whose values all differ', () => {
    const rows = Array.from({ length: 30 }, (_, i) => `${i},${1000 + ((i * 7) % 30)},${(i * 7919) % 100003},${i % 3},${i + 1}`);
    const t = loadTable(['index,perm_id,FILE_MAX,M,v', ...rows].join('\n'), { objective: 'v' });
    expect(t.params.map((p) => p.name)).toEqual(['FILE_MAX', 'M']);
    expect(t.notes).toContain('left out 2 columns numbering the rows, identifiers rather than parameters (index, perm_id)');
  });

  it('judges by ratio only when every value is positive; otherwise by a normalised score, 0 = worst, 1 = best', () => {
    const positive = loadTable('a,v\n1,5\n2,10\n3,20\n', { objective: 'v' });
    expect(positive.measure).toBe('ratio');
    const signed = loadTable('a,v\n1,-5\n2,0\n3,15\n4,-999\n', { objective: 'v', failure: -999 });
    expect(signed.measure).toBe('score');
    expect([signed.best, signed.worst]).toEqual([15, -5]);
    expect(signed.notes.join('\n')).toMatch(/zero or negative: a found value is judged by its normalised score \(0 = the worst value in the table, 1 = the best\), not by a ratio/);
    const r = evaluate(signed, ['random'], [1, 4], [1, 2, 3, 4, 5, 6]);
    // After one pick, each search's score is where its value lies between the worst (-5) and the best (15).
    // (a failed pick found nothing: 0).
    const firsts = [1, 2, 3, 4, 5, 6].map((seed) => {
      const found = replay(signed, 'random', 1, seed).found;
      return Number.isNaN(found) ? 0 : (found + 5) / 20;
    });
    expect(firsts.every((f) => [0, 0.25, 1].includes(f))).toBe(true);
    expect(r[0]).toMatchObject({ measure: 'score', meanRatio: firsts.reduce((a, b) => a + b, 0) / 6 });
    expect(r[1]).toMatchObject({ measure: 'score', meanRatio: 1, shareBest: 1 });
    const lower = loadTable('a,v\n1,-5\n2,0\n3,15\n', { objective: 'v', minimize: true });
    expect(evaluate(lower, ['grid'], [3], 1)[0]).toMatchObject({ measure: 'score', meanRatio: 1 });
    expect(quality(lower, 0)).toBe(0.75);
    const out = runReplay({ csv: 'a,v\n1,-5\n2,0\n3,15\n', objective: 'v', strategies: ['grid'], budgets: [2], seeds: 1 });
    expect(out.text).toMatch(/^strategy\s+budget\s+mean score\s+spread/m);
    expect(out.text).not.toMatch(/mean ratio|ratio to the best/);
    expect(out.text).toContain('judged by its normalised score (0 = the worst value in the table, 1 = the best)');
  });

  it('names unknown columns', () => {
    expect(() => loadTable(CSV, { objective: 'latency' })).toThrow(/unknown objective column "latency"/);
    expect(() => loadTable(CSV, { objective: 'rps', params: ['threads', 'nope'] })).toThrow(/unknown parameter column "nope"/);
  });

  it('names the row and column of a missing value', () => {
    // An empty parameter cell is a value (unset); an empty objective is a missing measurement.
    const bad = CSV.replace('1,rr,off,120', '1,rr,off,');
    const err = (() => {
      try {
        loadTable(bad, { objective: 'rps', params: ['threads', 'sched', 'pin'] }, 'runs.csv');
      } catch (e) {
        return e as InputError;
      }
    })();
    expect(err).toBeInstanceOf(InputError);
    expect(err!.format()).toBe('runs.csv:5:10: column "rps": missing value');
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

  it('runReplay prints a table and draws one staircase per strategy', () => {
    const out = runReplay({ csv: CSV, objective: 'rps', failure: -1, params: ['threads', 'sched', 'pin'], budgets: [4, 8], seeds: 4 });
    expect(out.results).toHaveLength(6);
    expect(out.text).toMatch(/12 configurations, 3 parameters/);
    expect(out.text).toMatch(/^bayesian\s+8/m);
    expect(out.svg.match(/<path class="best-so-far" d="M[\d.]+ [\d.]+( [HV][\d.]+)*"/g)).toHaveLength(3);
    expect(out.svg).not.toContain('<polyline');
    expect(out.svg.startsWith('<svg')).toBe(true);
  });
});
