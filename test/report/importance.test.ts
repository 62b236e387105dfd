import { afterEach, describe, expect, it } from 'vitest';
import { renderReport } from '../../src/report/index.js';
import { Rng } from '../../src/util/random.js';
import { tempDir } from '../helpers.js';
import { grid, measure, openExperiment, type Filled } from './fill.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

function experiment(params: string): Filled {
  const { dir, cleanup } = tempDir('wf-report-');
  const f = openExperiment(
    dir,
    `name: landscape
params:
${params}
test:
  name: t
  run: 'true'
metrics:
  - { name: score, parser: regex, pattern: 'score: (\\d+)' }
objective: { metric: score, direction: maximize }
`,
  );
  cleanups.push(() => {
    f.store.close();
    cleanup();
  });
  return f;
}

describe('parameter importance (fANOVA over a random-forest surrogate)', () => {
  it('recovers the exact variance decomposition of a fully measured grid', () => {
    // y = A + 2B + AB over A, B in {0, 1, 2}, C irrelevant. Centred (a = A - 1, b = B - 1):
    // y = 4 + 2a + 3b + ab, so Var = 4·2/3 + 9·2/3 + (2/3)² = 82/9: A 24/82, B 54/82, A×B 4/82, C 0.
    const f = experiment(`  - { name: A, type: integer, only: [0, 1, 2], default: 0 }
  - { name: B, type: integer, only: [0, 1, 2], default: 0 }
  - { name: C, type: string, only: [x, y], default: x }`);
    for (const c of grid({ A: [0, 1, 2], B: [0, 1, 2], C: ['x', 'y'] })) {
      const A = c.A as number;
      const B = c.B as number;
      measure(f, c, [A + 2 * B + A * B], { isDefault: A === 0 && B === 0 && c.C === 'x' });
    }
    const imp = renderReport(f.store, f.id).json.importance!;
    expect(imp.method).toMatch(/functional ANOVA/);
    const share = (n: string): number => imp.params.find((p) => p.name === n)!.fraction;
    expect(share('A')).toBeCloseTo(24 / 82, 6);
    expect(share('B')).toBeCloseTo(54 / 82, 6);
    expect(share('C')).toBeCloseTo(0, 9);
    expect(imp.pairs[0]!.names).toEqual(['A', 'B']);
    expect(imp.pairs[0]!.fraction).toBeCloseTo(4 / 82, 6);
    expect(imp.params.map((p) => p.name)).toEqual(['B', 'A', 'C']);
    // The marginal of B is the mean over A of y: 1 + 3B.
    const mb = imp.marginals.find((m) => m.name === 'B')!;
    mb.mean.forEach((v, i) => expect(v).toBeCloseTo(1 + 3 * (mb.values[i] as number), 6));
  });

  it('analyses an objective spanning orders of magnitude on a log scale, where multiplicative effects add up', () => {
    // y = 10^A · 3^B: log10 y = A + B·log10(3), no interaction at all. A uniform on {0..3} has variance
    // 1.25; B on {0, 1, 2} has 2/3·log10(3)².
    const f = experiment(`  - { name: A, type: integer, only: [0, 1, 2, 3], default: 0 }
  - { name: B, type: integer, only: [0, 1, 2], default: 0 }
  - { name: C, type: string, only: [x, y], default: x }`);
    for (const c of grid({ A: [0, 1, 2, 3], B: [0, 1, 2], C: ['x', 'y'] })) {
      measure(f, c, [10 ** (c.A as number) * 3 ** (c.B as number)], { isDefault: c.A === 0 && c.B === 0 && c.C === 'x' });
    }
    const r = renderReport(f.store, f.id);
    const imp = r.json.importance!;
    expect(imp.scale).toBe('log10');
    const vb = (2 / 3) * Math.log10(3) ** 2;
    expect(imp.params.find((p) => p.name === 'A')!.fraction).toBeCloseTo(1.25 / (1.25 + vb), 6);
    expect(imp.params.find((p) => p.name === 'B')!.fraction).toBeCloseTo(vb / (1.25 + vb), 6);
    expect(imp.pairs[0]!.fraction).toBeCloseTo(0, 9);
    // Marginals come back in the objective's units: the geometric mean over B of 10^A · 3^B.
    const ma = imp.marginals.find((m) => m.name === 'A')!;
    ma.mean.forEach((v, i) => expect(v / (10 ** (ma.values[i] as number) * 3)).toBeCloseTo(1, 6));
    expect(r.html).toContain('to log10 of the objective');
    expect(r.figures.find((x) => x.name === 'objective')!.svg).toContain('log scale');
  });

  it('ranks parameters that do not matter last and finds a planted interaction as the top pair, from a noisy sample', () => {
    // y = 100 + 40·(A xor B) + 10·C + noise; D and E do nothing. A and B have no main effect at all:
    // only as a pair do they matter.
    const f = experiment(`  - { name: A, type: integer, only: [0, 1], default: 0 }
  - { name: B, type: integer, only: [0, 1], default: 0 }
  - { name: C, type: integer, only: [1, 2, 3, 4], default: 1 }
  - { name: D, type: string, only: [p, q, r], default: p }
  - { name: E, type: integer, min: 1, max: 5, step: 1, default: 1 }`);
    const rng = new Rng(42);
    const all = grid({ A: [0, 1], B: [0, 1], C: [1, 2, 3, 4], D: ['p', 'q', 'r'], E: [1, 2, 3, 4, 5] });
    for (let i = all.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
    for (const c of all.slice(0, 70)) {
      const mean = 100 + 40 * (((c.A as number) ^ (c.B as number)) as number) + 10 * (c.C as number);
      measure(f, c, [0, 1, 2].map(() => mean + (rng.next() - 0.5) * 6));
    }
    const { importance: imp, mainEffects } = renderReport(f.store, f.id).json;
    expect(imp).toBeDefined();
    expect([...imp!.pairs[0]!.names].sort()).toEqual(['A', 'B']);
    expect(imp!.pairs[0]!.fraction).toBeGreaterThan(0.4);
    expect(new Set(imp!.params.slice(-2).map((p) => p.name))).toEqual(new Set(['D', 'E']));
    // C is the only main effect of note.
    const main = [...imp!.params].sort((a, b) => b.fraction - a.fraction);
    expect(main[0]!.name).toBe('C');
    expect(imp!.cvR2).toBeGreaterThan(0.5);
    // Main effects are drawn for what matters, with intervals from the measurements.
    expect(mainEffects.map((e) => e.name)).toEqual(expect.arrayContaining(['A', 'B', 'C']));
    const c = mainEffects.find((e) => e.name === 'C')!;
    expect(c.values.map((v) => v.value)).toEqual([1, 2, 3, 4]);
    for (const v of c.values) {
      expect(v.ci![0]).toBeLessThanOrEqual(v.median!);
      expect(v.ci![1]).toBeGreaterThanOrEqual(v.median!);
    }
    // The surrogate's marginal of C rises with C, about 10 per step.
    const m = c.values.map((v) => v.marginal!);
    expect(m[3]! - m[0]!).toBeGreaterThan(20);
  });

  it('shows a large domain at evenly spread values, each measurement counted at the nearest', () => {
    const f = experiment(`  - { name: A, type: integer, min: 0, max: 999, step: 1, default: 0 }
  - { name: B, type: string, only: [u, v], default: u }`);
    const rng = new Rng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 50; i++) {
      let A = rng.int(1000);
      while (seen.has(A)) A = rng.int(1000);
      seen.add(A);
      measure(f, { A, B: i % 2 ? 'u' : 'v' }, [1000 + A], { isDefault: i === 0 });
    }
    const { mainEffects, importance } = renderReport(f.store, f.id).json;
    expect(importance!.params[importance!.params.length - 1]!.name).toBe('B');
    const a = mainEffects.find((e) => e.name === 'A')!;
    expect(a.values).toHaveLength(40);
    expect(a.values[0]!.value).toBe(0);
    expect(a.values[39]!.value).toBe(999);
    expect(a.values.reduce((s, v) => s + v.n, 0)).toBe(50);
    for (const v of a.values.filter((x) => x.bin)) {
      expect(v.bin![0] as number).toBeLessThanOrEqual(v.bin![1] as number);
      // Every value counted here is nearer to it than to the neighbouring shown values (about 25.6 apart).
      expect(Math.abs((v.bin![0] as number) - (v.value as number))).toBeLessThanOrEqual(13);
      expect(Math.abs((v.bin![1] as number) - (v.value as number))).toBeLessThanOrEqual(13);
    }
    // The surrogate's marginal follows y = 1000 + A.
    expect(a.values[39]!.marginal! - a.values[0]!.marginal!).toBeGreaterThan(700);
  });

  it('gives no importance from too few measurements, and says why', () => {
    const f = experiment(`  - { name: A, type: integer, only: [0, 1, 2], default: 0 }`);
    measure(f, { A: 0 }, [5, 5], { isDefault: true });
    measure(f, { A: 1 }, [7, 7]);
    const r = renderReport(f.store, f.id);
    expect(r.json.importance).toBeUndefined();
    expect(r.json.importanceNote).toMatch(/at least 6 measured configurations \(have 2\)/);
    expect(r.figures.map((x) => x.name)).not.toContain('importance');
    expect(r.html).toContain('No importance analysis');
  });
});
