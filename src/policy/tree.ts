// The policy's tree: greedy splits of the workload points on one feature at a time, each leaf the
// configuration with the least total regret over its points. A split is kept only when it lowers
// that regret; splits that end in the same configuration on both sides are merged back.

import { bestOver, UNMEASURED, type RegretMatrix } from './regret.js';

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
    let bestSplit: { feature: number; le: number; cut: number; order: number[]; cost: number } | undefined;
    const cands = o.candidates ?? m.r.map((_, c) => c);
    const n = set.length;
    for (let f = 0; f < dims; f++) {
      const order = [...set].sort((a, b) => points[a]![f]! - points[b]![f]!);
      // Cuts: how many points go left, at each change of value.
      const cuts: number[] = [];
      for (let k = 1; k < n; k++) if (points[order[k]!]![f]! !== points[order[k - 1]!]![f]!) cuts.push(k);
      if (cuts.length === 0) continue;
      // Each side's least total regret at every cut, from every candidate's running sum: one pass
      // per candidate instead of one per candidate and cut.
      const minLeft = new Array<number>(cuts.length).fill(Infinity);
      const minRight = new Array<number>(cuts.length).fill(Infinity);
      const atCut = new Array<number>(cuts.length);
      for (const c of cands) {
        const row = m.r[c]!;
        let sum = 0;
        let j = 0;
        for (let k = 0; k < n; k++) {
          if (j < cuts.length && cuts[j] === k) atCut[j++] = sum;
          sum += row[order[k]!] ?? UNMEASURED;
        }
        for (let q = 0; q < cuts.length; q++) {
          if (atCut[q]! < minLeft[q]!) minLeft[q] = atCut[q]!;
          if (sum - atCut[q]! < minRight[q]!) minRight[q] = sum - atCut[q]!;
        }
      }
      cuts.forEach((k, q) => {
        const c = minLeft[q]! + minRight[q]!;
        // Of splits that save as much, the most even one keeps the tree shallow.
        const uneven = Math.abs(n - 2 * k);
        if (!bestSplit || c < bestSplit.cost - 1e-9 || (c <= bestSplit.cost + 1e-9 && uneven < Math.abs(n - 2 * bestSplit.cut))) {
          bestSplit = { feature: f, le: midpoint(points[order[k - 1]!]![f]!, points[order[k]!]![f]!), cut: k, order, cost: c };
        }
      });
    }
    if (!bestSplit || here.cost - bestSplit.cost <= minGain * set.length) return leaf;
    const left = grow(bestSplit.order.slice(0, bestSplit.cut), depth + 1);
    const right = grow(bestSplit.order.slice(bestSplit.cut), depth + 1);
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
