// policy.json: a learned policy as a versioned document (docs/policy-format.md), and the one
// function that evaluates it. The C export (c-export.ts) evaluates the same tree with the same
// comparisons, so both pick the same leaf for every feature vector.

import type { Config, Value } from '../types.js';

export const POLICY_FORMAT = 'wayfinder-policy';
export const POLICY_VERSION = 1;

/** x <= le goes left. */
export type PolicyNode = { leaf: number } | { feature: string; le: number; left: PolicyNode; right: PolicyNode };

export type KnobType = 'integer' | 'number' | 'boolean' | 'string';

export interface RegretFigures {
  /** Mean and worst regret over the workload points judged (shares of each point's best). */
  mean: number;
  max: number;
  /** Points judged, and points whose chosen configuration was never measured there (not counted). */
  points: number;
  unmeasured: number;
}

export interface Policy {
  format: typeof POLICY_FORMAT;
  version: typeof POLICY_VERSION;
  objective: { name: string; direction: 'maximize' | 'minimize' };
  /** The workload features, in the order the C function takes them, with the range trained on. */
  features: { name: string; min: number; max: number }[];
  knobs: { name: string; type: KnobType }[];
  /** The tree's leaves in depth-first order, left first; `points`: workload points trained in it. */
  leaves: { params: Config; points: number; regret: number }[];
  tree: PolicyNode;
  /** What any feature outside its trained range (or not a number) gets. */
  fallback: { params: Config; why: 'static-best' | 'given' };
  /** Regret on the trained points, and estimated on points left out (learn.ts). */
  regret: { trained: RegretFigures; interpolation?: RegretFigures; extrapolation?: RegretFigures };
  source: { kind: 'table'; file: string } | { kind: 'experiment'; id: string; name: string };
  createdAt: string;
}

export interface Decision {
  params: Config;
  /** Index into policy.leaves; null for the fallback. */
  leaf: number | null;
  fallback: boolean;
}

/** The configuration a policy picks for a feature vector (in policy.features order). */
export function decide(p: Policy, x: readonly number[]): Decision {
  for (let i = 0; i < p.features.length; i++) {
    const f = p.features[i]!;
    const v = x[i]!;
    // Written so that NaN fails it too, as the C function's test does.
    if (!(v >= f.min && v <= f.max)) return { params: p.fallback.params, leaf: null, fallback: true };
  }
  const index = new Map(p.features.map((f, i) => [f.name, i]));
  let n = p.tree;
  while (!('leaf' in n)) n = x[index.get(n.feature)!]! <= n.le ? n.left : n.right;
  return { params: p.leaves[n.leaf]!.params, leaf: n.leaf, fallback: false };
}

export function knobType(values: readonly Value[]): KnobType {
  if (values.every((v) => typeof v === 'number')) return values.every((v) => Number.isSafeInteger(v)) ? 'integer' : 'number';
  if (values.every((v) => typeof v === 'boolean')) return 'boolean';
  return 'string';
}
