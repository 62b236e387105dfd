// Best against default, confirmed, through the real CLI: BullMQ on an embedded Redis, SQLite, the
// host worker and the job launcher, with a cheap shell test whose metric varies from run to run by
// up to 3% (a function of the iteration, so that a parameter that changes nothing gives both sides
// the same values and no verdict is left to chance; sh has no $RANDOM).

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, wayfinder, writeFile } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

/** B=1 multiplies v by `effect`; every run adds up to 3%, the same for the same iteration number. */
function experiment(effect: number): string {
  return `
name: confirm-cli
params:
  - { name: B, type: integer, only: [0, 1], default: 0, when: test }
test:
  run: 'echo "v=$(( (B == 1 ? ${Math.round(100000 * effect)} : 100000) + WAYFINDER_ITERATION * 7919 % 3000 ))"'
  iterations: 3
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { strategy: grid, parallel: 1 }
`;
}

function setup(yaml: string): { file: string; workdir: string } {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  return { file: writeFile(dir, 'exp.yaml', yaml), workdir: join(dir, '.wayfinder') };
}

describe('wayfinder run, then confirm', () => {
  it('confirms a 10% better configuration against the default, interleaved, and says so with its interval and p-value', async () => {
    const { file, workdir } = setup(experiment(1.1));
    const r = await wayfinder(['run', file, '--workdir', workdir], { timeoutMs: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Best \(provisional\) \S+: v = 11\d,\d{3} \(median; range 11\d,\d{3} – 11\d,\d{3} \(only a 75% CI of the median: too few runs for 95%\), n=3/);
    expect(r.stdout).toMatch(/Best is 1\.\d{3}× the default \(higher v is better\): provisional, from the exploration \(n=3 against n=3;/);
    expect(r.stderr).toMatch(/Confirming: the best \(\w{12}\) and the default measured again, interleaved, 5 to 15 pairs/);
    expect(r.stderr).toMatch(/ {2}pair 1\/15: best 11\d,\d{3} · default 10\d,\d{3} \(v\)/);
    expect(r.stdout).toMatch(/Confirmed: the best is 1\.\d\d× \(95% CI 1\.\d\d–1\.\d\d, p[=<]0\.\d+\) higher v than the default \(5 interleaved runs each of v\)\./);

    // The confirmation runs are stored as extra runs, after each configuration's own three, interleaved in time.
    const db = new Database(join(workdir, 'wayfinder.db'), { readonly: true });
    const extra = db.prepare("SELECT config_id, iteration, started_at FROM runs WHERE extra = 'confirmation' ORDER BY started_at, rowid").all() as { config_id: string; iteration: number }[];
    const own = db.prepare('SELECT COUNT(*) AS n FROM runs WHERE extra IS NULL').get() as { n: number };
    // The verdict is kept, for report and results.
    const verdicts = db.prepare('SELECT best_config_id, significant, n FROM comparisons').all() as { best_config_id: string; significant: number; n: number }[];
    db.close();
    expect(verdicts.map((v) => [v.significant, v.n])).toEqual([[1, 5]]);
    expect(own.n).toBe(6);
    expect(extra).toHaveLength(10);
    expect(extra.every((e) => e.iteration >= 3)).toBe(true);
    // ABBA: the side changes after the 1st, 3rd, 5th... run.
    const sides = extra.map((e) => e.config_id);
    for (let i = 1; i < sides.length; i += 2) expect(sides[i], `run ${i}`).not.toBe(sides[i - 1]);

    // On demand, with JSON: measured again, the same verdict.
    const c = await wayfinder(['confirm', '--workdir', workdir, '--json', '--pairs', '8'], { timeoutMs: 120_000 });
    expect(c.status, c.stderr).toBe(0);
    const out = JSON.parse(c.stdout) as { comparison: { ratio: number; ci: [number, number]; pValue: number; significant: boolean; n: number } };
    expect(out.comparison.significant).toBe(true);
    expect(out.comparison.ratio).toBeGreaterThan(1.05);
    expect(out.comparison.ci[0]).toBeGreaterThan(1);
    expect(out.comparison.n).toBe(5);
    // results shows the last verdict, the one `confirm` just gave.
    const res = await wayfinder(['results', '--workdir', workdir, '--format', 'json']);
    expect(res.status, res.stderr).toBe(0);
    const shown = JSON.parse(res.stdout) as { comparison: { best: string; ratio: number; ci: [number, number]; pValue: number; significant: boolean; n: number } };
    expect(shown.comparison).toMatchObject({ best: verdicts[0]!.best_config_id, ratio: out.comparison.ratio, ci: out.comparison.ci, pValue: out.comparison.pValue, significant: true, n: 5 });
  }, 240_000);

  it('finds no significant difference for a parameter that changes nothing, and carries the comparison in --json', async () => {
    const { file, workdir } = setup(experiment(1));
    const r = await wayfinder(['run', file, '--workdir', workdir, '--json', '--confirm', '6'], { timeoutMs: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { ratio: number; comparison: { ratio: number; ci: [number, number]; pValue: number; significant: boolean; n: number } | null; confirmation?: string };
    if (out.comparison === null) {
      // The default itself came out best: nothing to confirm, and it says so.
      expect(out.confirmation).toMatch(/the default is the best configuration measured/);
    } else {
      expect(out.comparison.significant).toBe(false);
      expect(out.comparison.n).toBe(6);
      expect(out.comparison.ci[0]).toBeLessThanOrEqual(1);
      expect(out.comparison.ci[1]).toBeGreaterThanOrEqual(1);
      expect(out.comparison.pValue).toBeGreaterThan(0.01);
    }
  });

  it('says where a resumed run starts', async () => {
    const { file, workdir } = setup(experiment(1.1).replace('only: [0, 1]', 'only: [0, 1, 2, 3]'));
    const first = await wayfinder(['run', file, '--workdir', workdir, '--budget', '2', '--no-confirm'], { timeoutMs: 120_000 });
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('The ranking above is provisional: not confirmed (--no-confirm).');
    expect(first.stderr).not.toContain('resuming');
    const again = await wayfinder(['run', file, '--workdir', workdir, '--budget', '3', '--no-confirm'], { timeoutMs: 120_000 });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/^resuming 2\/3: 2 configuration\(s\) measured before \(best v 11\d,\d{3}\), 1 to go$/m);
    expect(again.stderr).toMatch(/^\[3\/3\] /m);
  });
});
