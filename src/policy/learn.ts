// What the measurements say about adapting to the workload: the best configuration per workload
// point, the best single static configuration and what it loses, which knobs must follow the
// workload, and a policy tree with its regret estimated on workload values it was not trained on.

import { parameterImportance } from '../report/importance.js';
import type { Config, Param, Value } from '../types.js';
import { Rng } from '../util/random.js';
import type { WorkloadData } from './data.js';
import { POLICY_FORMAT, POLICY_VERSION, knobType, type Policy, type PolicyNode, type RegretFigures } from './policy.js';
import { bestOver, regretMatrix, UNMEASURED, type RegretMatrix } from './regret.js';
import { fitTree, leafOf, leaves, type FitNode } from './tree.js';

export interface LearnOptions {
  /** Deepest the tree may grow (splits on the way to a leaf). */
  maxDepth: number;
  /** A knob whose best fixed value loses at most this mean regret need not follow the workload. */
  tolerance: number;
  /** The fallback's configuration; default the best static configuration. */
  fallback?: Config;
  seed?: number;
}

export interface PointRow {
  /** The workload point: a value per feature. */
  point: Record<string, number>;
  /** The best measured configuration there (absent when every configuration failed there). */
  best?: { params: Config; value: number };
  /** The best static configuration's value there (null: failed; absent: not measured) and regret. */
  static: { value?: number | null; regret?: number };
  /** The policy's choice there (trained on every point) and its regret. */
  policy: { leaf: number; value?: number | null; regret?: number };
  measured: number;
}

export interface KnobAdaptation {
  name: string;
  /** Mean regret over the workload points with this knob held at its best single value (the others free). */
  lossIfFixed: number;
  /** The worst point's regret with it held there. */
  maxLossIfFixed: number;
  fixedAt: Value;
  /** Share of the objective's variance in this knob's interactions with the workload dimensions (fANOVA). */
  interaction?: number;
  /** Whether it must follow the workload: its loss if fixed exceeds the tolerance. */
  adapt: boolean;
  /** Its value in each point's best configuration. */
  bestValues: (Value | null)[];
}

export interface HeldOut {
  feature: string;
  value: number;
  kind: 'interpolation' | 'extrapolation';
  /** The policy as deployed (outside the trained range: the fallback). */
  policy: RegretFigures;
  /** The bare tree, without the range check. */
  tree: RegretFigures;
}

export interface LearnResult {
  objective: string;
  direction: 'maximize' | 'minimize';
  features: string[];
  knobs: string[];
  configurations: number;
  points: number;
  measured: number;
  notes: string[];
  perPoint: PointRow[];
  static: { params: Config; mean: number; max: number; unmeasured: number };
  adaptation: KnobAdaptation[];
  interactionMethod?: string;
  heldOut: HeldOut[];
  policy: Policy;
}

export function learn(d: WorkloadData, o: LearnOptions): LearnResult {
  const m = regretMatrix(d);
  const all = d.points.map((_, p) => p);
  const fit = train(d, m, all, o);
  const staticBest = fit.staticBest;
  const notes = [...d.notes];
  if (o.fallback && configIndex(d, o.fallback) < 0) notes.push('the fallback configuration given was never measured: its regret is unknown');
  const tree = fit.tree;
  const fitLeaves = leaves(tree);
  const leafNo = new Map(fitLeaves.map((l, i) => [l, i]));

  const regretAt = (c: number, p: number): number | undefined => (c < 0 ? undefined : m.r[c]![p]);
  const perPoint: PointRow[] = all.map((p) => {
    const b = m.bestConfig[p]!;
    const leaf = leafOf(tree, d.points[p]!);
    const sv = d.value[staticBest]![p];
    const pv = d.value[leaf.config]![p];
    return {
      point: Object.fromEntries(d.features.map((f, i) => [f, d.points[p]![i]!])),
      ...(b >= 0 ? { best: { params: d.configs[b]!, value: m.best[p]! } } : {}),
      static: { ...(sv !== undefined ? { value: sv } : {}), ...(regretAt(staticBest, p) !== undefined ? { regret: regretAt(staticBest, p)! } : {}) },
      policy: { leaf: leafNo.get(leaf)!, ...(pv !== undefined ? { value: pv } : {}), ...(regretAt(leaf.config, p) !== undefined ? { regret: regretAt(leaf.config, p)! } : {}) },
      measured: d.value.filter((row) => row[p] !== undefined).length,
    };
  });
  const staticFig = figures(all.map((p) => regretAt(staticBest, p)));

  const heldOut = estimate(d, m, o);
  const pool = (kind: HeldOut['kind']): RegretFigures | undefined => {
    const h = heldOut.filter((x) => x.kind === kind);
    if (h.length === 0) return undefined;
    return merge(h.map((x) => x.policy));
  };
  const interpolation = pool('interpolation');
  const extrapolation = pool('extrapolation');

  const policy: Policy = {
    format: POLICY_FORMAT,
    version: POLICY_VERSION,
    objective: { name: d.objective, direction: d.minimize ? 'minimize' : 'maximize' },
    features: d.features.map((name, i) => ({ name, min: Math.min(...d.points.map((p) => p[i]!)), max: Math.max(...d.points.map((p) => p[i]!)) })),
    knobs: d.knobs.map((k) => ({ name: k.name, type: knobType(k.values) })),
    leaves: fitLeaves.map((l) => ({ params: d.configs[l.config]!, points: l.points.length, regret: figures(l.points.map((p) => regretAt(l.config, p))).mean })),
    tree: toPolicyNode(tree, d.features, leafNo),
    fallback: o.fallback ? { params: o.fallback, why: 'given' } : { params: d.configs[staticBest]!, why: 'static-best' },
    regret: {
      trained: figures(all.map((p) => regretAt(leafOf(tree, d.points[p]!).config, p))),
      ...(interpolation ? { interpolation } : {}),
      ...(extrapolation ? { extrapolation } : {}),
    },
    source: d.source,
    createdAt: new Date().toISOString(),
  };

  const adaptation = fit.adaptation;
  const inter = interactions(d, o.seed ?? 1);
  if (inter) for (const a of adaptation) a.interaction = inter.get(a.name) ?? 0;
  return {
    objective: d.objective,
    direction: d.minimize ? 'minimize' : 'maximize',
    features: d.features,
    knobs: d.knobs.map((k) => k.name),
    configurations: d.configs.length,
    points: d.points.length,
    measured: d.value.reduce((s, row) => s + row.filter((v) => v !== undefined).length, 0),
    notes,
    perPoint,
    static: { params: d.configs[staticBest]!, mean: staticFig.mean, max: staticFig.max, unmeasured: staticFig.unmeasured },
    adaptation,
    ...(inter ? { interactionMethod: 'functional ANOVA over a random forest of knobs and workload dimensions: the variance share of each knob × workload pair' } : {}),
    heldOut,
    policy,
  };
}

/**
 * Learn from some of the points: the best static configuration, which knobs must follow the
 * workload, and the tree, whose leaves may differ only in those knobs: the others keep the static
 * configuration's values (each of them, held alone, costs at most the tolerance), so a leaf never
 * changes a knob on the strength of noise.
 */
function train(d: WorkloadData, m: RegretMatrix, points: number[], o: LearnOptions): { staticBest: number; adaptation: KnobAdaptation[]; tree: FitNode } {
  const staticBest = bestOver(m, points).config;
  const adaptation = adapt(d, m, o.tolerance, points);
  const fixed = adaptation.filter((a) => !a.adapt).map((a) => a.name);
  const base = d.configs[staticBest]!;
  const candidates = d.configs.flatMap((c, i) => (fixed.every((k) => c[k] === base[k]) ? [i] : []));
  return { staticBest, adaptation, tree: fitTree(m, d.points, points, { maxDepth: o.maxDepth, candidates }) };
}

/** Index of a configuration among the measured ones, -1 when it was never measured. */
export function configIndex(d: WorkloadData, c: Config): number {
  const key = JSON.stringify(d.knobs.map((k) => c[k.name]));
  return d.configs.findIndex((x) => JSON.stringify(d.knobs.map((k) => x[k.name])) === key);
}

function toPolicyNode(n: FitNode, features: string[], leafNo: Map<FitNode, number>): PolicyNode {
  if (n.kind === 'leaf') return { leaf: leafNo.get(n)! };
  return { feature: features[n.feature]!, le: n.le, left: toPolicyNode(n.left, features, leafNo), right: toPolicyNode(n.right, features, leafNo) };
}

function figures(regrets: (number | undefined)[]): RegretFigures {
  const known = regrets.filter((r): r is number => r !== undefined);
  return {
    mean: known.length ? known.reduce((a, b) => a + b, 0) / known.length : NaN,
    max: known.length ? Math.max(...known) : NaN,
    points: regrets.length,
    unmeasured: regrets.length - known.length,
  };
}

function merge(fs: RegretFigures[]): RegretFigures {
  const known = fs.reduce((s, f) => s + f.points - f.unmeasured, 0);
  const sum = fs.reduce((s, f) => s + (f.points - f.unmeasured > 0 ? f.mean * (f.points - f.unmeasured) : 0), 0);
  return {
    mean: known ? sum / known : NaN,
    max: known ? Math.max(...fs.filter((f) => !Number.isNaN(f.max)).map((f) => f.max)) : NaN,
    points: fs.reduce((s, f) => s + f.points, 0),
    unmeasured: fs.reduce((s, f) => s + f.unmeasured, 0),
  };
}

/**
 * Leave each value of each workload dimension out in turn, learn from the rest, and judge the
 * choices at the points left out: an interior value tests interpolation, the lowest and highest
 * extrapolation (where the deployed policy answers with its fallback; the bare tree is judged too).
 */
function estimate(d: WorkloadData, m: RegretMatrix, o: LearnOptions): HeldOut[] {
  const out: HeldOut[] = [];
  d.features.forEach((feature, f) => {
    const vals = [...new Set(d.points.map((p) => p[f]!))].sort((a, b) => a - b);
    for (const v of vals) {
      const kept = d.points.flatMap((p, i) => (p[f] !== v ? [i] : []));
      const test = d.points.flatMap((p, i) => (p[f] === v ? [i] : []));
      const { tree, staticBest } = train(d, m, kept, o);
      const fallback = o.fallback ? configIndex(d, o.fallback) : staticBest;
      const lo = d.features.map((_, i) => Math.min(...kept.map((p) => d.points[p]![i]!)));
      const hi = d.features.map((_, i) => Math.max(...kept.map((p) => d.points[p]![i]!)));
      const at = (c: number, p: number): number | undefined => (c < 0 ? undefined : m.r[c]![p]);
      const treeChoice = test.map((p) => leafOf(tree, d.points[p]!).config);
      const policyChoice = test.map((p, k) => (d.points[p]!.every((x, i) => x >= lo[i]! && x <= hi[i]!) ? treeChoice[k]! : fallback));
      out.push({
        feature,
        value: v,
        kind: v === vals[0] || v === vals[vals.length - 1] ? 'extrapolation' : 'interpolation',
        policy: figures(test.map((p, k) => at(policyChoice[k]!, p))),
        tree: figures(test.map((p, k) => at(treeChoice[k]!, p))),
      });
    }
  });
  return out;
}

function adapt(d: WorkloadData, m: RegretMatrix, tolerance: number, points: number[]): KnobAdaptation[] {
  const P = points.length;
  return d.knobs.map((k) => {
    let best: { v: Value; mean: number; max: number } | undefined;
    for (const v of k.values) {
      const per = new Array<number>(P).fill(UNMEASURED);
      d.configs.forEach((c, ci) => {
        if (c[k.name] !== v) return;
        points.forEach((p, j) => {
          const r = m.r[ci]![p];
          if (r !== undefined && r < per[j]!) per[j] = r;
        });
      });
      const mean = per.reduce((a, b) => a + b, 0) / P;
      if (!best || mean < best.mean - 1e-12) best = { v, mean, max: Math.max(...per) };
    }
    return {
      name: k.name,
      lossIfFixed: best!.mean,
      maxLossIfFixed: best!.max,
      fixedAt: best!.v,
      adapt: best!.mean > tolerance,
      bestValues: points.map((p) => m.bestConfig[p]!).map((c) => (c >= 0 ? d.configs[c]![k.name]! : null)),
    };
  });
}

/** At most this many measurements are fitted for the interaction shares. */
const MAX_FANOVA_ROWS = 2000;

/** Per knob, the fANOVA share of its pairs with the workload dimensions; undefined with too few measurements. */
function interactions(d: WorkloadData, seed: number): Map<string, number> | undefined {
  const params: Param[] = [
    ...d.knobs.map((k): Param => ({ name: k.name, type: paramType(k.values), domain: { kind: 'list', values: k.values }, when: 'test' })),
    ...d.features.map((f, i): Param => ({ name: f, type: 'integer', domain: { kind: 'list', values: [...new Set(d.points.map((p) => p[i]!))].sort((a, b) => a - b) }, when: 'test', workload: true })),
  ];
  const rows = d.value.flatMap((row, c) =>
    row.flatMap((v, p) => (typeof v === 'number' ? [{ config: { ...d.configs[c]!, ...Object.fromEntries(d.features.map((f, i) => [f, d.points[p]![i]!])) }, value: v }] : [])),
  );
  // Fully grown trees on every measurement cost seconds beyond a few thousand; variance shares
  // settle well before that, so a seeded sample of them is fitted.
  const rng = new Rng(seed);
  for (let i = 0; i < Math.min(MAX_FANOVA_ROWS, rows.length - 1); i++) {
    const j = i + rng.int(rows.length - i);
    [rows[i], rows[j]] = [rows[j]!, rows[i]!];
  }
  rows.length = Math.min(rows.length, MAX_FANOVA_ROWS);
  const imp = parameterImportance(params, rows, { seed, topPairs: (params.length * (params.length - 1)) / 2, maxPairParams: params.length });
  if (!imp) return undefined;
  const features = new Set(d.features);
  const out = new Map<string, number>();
  for (const pair of imp.pairs) {
    const [a, b] = pair.names;
    const knob = features.has(a) && !features.has(b) ? b : features.has(b) && !features.has(a) ? a : undefined;
    if (knob) out.set(knob, (out.get(knob) ?? 0) + pair.fraction);
  }
  return out;
}

function paramType(values: readonly Value[]): Param['type'] {
  return values.every((v) => typeof v === 'number') ? 'integer' : values.every((v) => typeof v === 'boolean') ? 'boolean' : 'string';
}
