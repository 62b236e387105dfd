// Report benchmark: how long `renderReport` takes on stores of 100 to 1,000 measured configurations,
// how much of it the importance analysis is, and whether the analysis still finds the planted answer
// (an interaction as the top pair, irrelevant parameters last) at each size.
// Run: npx tsx bench/report.ts [--sizes 100x6,500x10,1000x12]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { parameterImportance } from '../src/report/importance.js';
import { renderReport } from '../src/report/index.js';
import { Rng } from '../src/util/random.js';
import { measure, openExperiment } from '../test/report/fill.js';

const args = process.argv.slice(2);
const i = args.indexOf('--sizes');
const SIZES = (i >= 0 ? args[i + 1]! : '100x6,500x10,1000x12').split(',').map((s) => s.split('x').map(Number) as [number, number]);

console.log('configs  params  report ms  importance ms  share  top pair    irrelevant last  CV R²');
for (const [n, d] of SIZES) {
  const dir = mkdtempSync(join(tmpdir(), 'wf-bench-report-'));
  try {
    // p0: strong linear effect; p1 × p2: multiplicative interaction; s3: categorical effect; the rest nothing.
    const params = Array.from({ length: d }, (_, k) =>
      k === 3 ? `  - { name: s${k}, type: string, only: [a, b, c, d], default: a }` : `  - { name: p${k}, type: integer, min: 0, max: 1000, step: 1, default: 0 }`,
    );
    const f = openExperiment(
      dir,
      `name: bench\nparams:\n${params.join('\n')}\ntest:\n  run: 'true'\nmetrics:\n  - { name: score, parser: regex, pattern: '(\\d+)' }\nobjective: { metric: score, direction: maximize }\n`,
    );
    const rng = new Rng(11);
    for (let c = 0; c < n; c++) {
      const cfg: Record<string, number | string> = {};
      for (const p of f.exp.params) cfg[p.name] = p.type === 'string' ? ['a', 'b', 'c', 'd'][rng.int(4)]! : rng.int(1001);
      const mean = 1000 + 2 * (cfg.p0 as number) + ((cfg.p1 as number) * (cfg.p2 as number)) / 500 + (cfg.s3 === 'a' ? 500 : 0);
      measure(f, cfg, [0, 1, 2].map(() => mean * (1 + (rng.next() - 0.5) * 0.02)), { isDefault: c === 0 });
    }
    const t0 = performance.now();
    const r = renderReport(f.store, f.id);
    const total = performance.now() - t0;
    const observed = r.json.configurations.map((c) => ({ config: c.params, value: c.objective! }));
    const t1 = performance.now();
    const imp = parameterImportance(f.exp.params, observed)!;
    const impMs = performance.now() - t1;
    const top = [...imp.pairs[0]!.names].sort().join('×');
    const relevant = new Set(['p0', 'p1', 'p2', 's3']);
    const irrelevantLast = imp.params.slice(4).every((p) => !relevant.has(p.name));
    console.log(
      [
        String(n).padStart(7),
        String(d).padStart(7),
        total.toFixed(0).padStart(10),
        impMs.toFixed(0).padStart(14),
        `${((100 * impMs) / total).toFixed(0)}%`.padStart(6),
        top.padEnd(11),
        String(irrelevantLast).padEnd(16),
        (imp.cvR2 ?? NaN).toFixed(2),
      ].join('  '),
    );
    f.store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
