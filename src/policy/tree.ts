// The policy's tree: greedy splits of the workload points on one feature at a time, each leaf the
// configuration with the least total regret over its points. A split is kept only when it lowers
// that regret; splits that end in the same configuration on both sides are merged back.

import { bestOver, type RegretMatrix } from './regret.js';

export type FitNode =
  | { kind: 'leaf'; config: number; points: number[] }
  | { kind: 'split'; feature: number; le: number; left: FitNode; right: FitNode };

export interface FitOptions {
  maxDepth: number;
  /** Least mean regret a split must save over its points to be made. */
  minGain?: number;
  /** Configurations a leaf may be (default all). */
  candidates?: readonly number[];
}

/**
 * A threshold between two neighbouring trained values: their midpoint, as a double that both
 * neighbours compare to exactly as in the tree (a <= le < b).
 */
export function midpoint(a: number, b: number): number {
  const m = a + (b - a) / 2;
  return m >= b ? a : m;
}

export function fitTree(m: RegretMatrix, points: readonly number[][], train: readonly number[], o: FitOptions): FitNode {
  const minGain = o.minGain ?? 1e-3;
  const dims = points[0]?.length ?? 0;
  const grow = (set: number[], depth: number): FitNode => {
    const here = bestOver(m, set, o.candidates);
    const leaf: FitNode = { kind: 'leaf', config: here.config, points: set };
    if (depth >= o.maxDepth || set.length < 2) return leaf;
    let bestSplit: { feature: number; le: number; left: number[]; right: number[]; cost: number } | undefined;
    for (let f = 0; f < dims; f++) {
      const vals = [...new Set(set.map((p) => points[p]![f]!))].sort((a, b) => a - b);
      for (let i = 0; i + 1 < vals.length; i++) {
        const le = midpoint(vals[i]!, vals[i + 1]!);
        const left = set.filter((p) => points[p]![f]! <= le);
        const right = set.filter((p) => points[p]![f]! > le);
        const c = bestOver(m, left, o.candidates).cost + bestOver(m, right, o.candidates).cost;
        // Of splits that save as much, the most even one keeps the tree shallow.
        const uneven = Math.abs(left.length - right.length);
        if (!bestSplit || c < bestSplit.cost - 1e-12 || (c <= bestSplit.cost + 1e-12 && uneven < Math.abs(bestSplit.left.length - bestSplit.right.length))) {
          bestSplit = { feature: f, le, left, right, cost: c };
        }
      }
    }
    if (!bestSplit || here.cost - bestSplit.cost <= minGain * set.length) return leaf;
    const left = grow(bestSplit.left, depth + 1);
    const right = grow(bestSplit.right, depth + 1);
    if (left.kind === 'leaf' && right.kind === 'leaf' && left.config === right.config) return leaf;
    return { kind: 'split', feature: bestSplit.feature, le: bestSplit.le, left, right };
  };
  return grow([...train], 0);
}

/** The leaf a feature vector falls into (no range check). */
export function leafOf(node: FitNode, x: readonly number[]): FitNode & { kind: 'leaf' } {
  let n = node;
  while (n.kind === 'split') n = x[n.feature]! <= n.le ? n.left : n.right;
  return n;
}

export function leaves(node: FitNode): (FitNode & { kind: 'leaf' })[] {
  return node.kind === 'leaf' ? [node] : [...leaves(node.left), ...leaves(node.right)];
}

export function depth(node: FitNode): number {
  return node.kind === 'leaf' ? 0 : 1 + Math.max(depth(node.left), depth(node.right));
}
