// Forest predictions for one-parameter moves without re-walking every tree: a tree whose path to the
// current leaf never tests feature f gives the same leaf after f changes, so only the few trees
// that test f are walked again. Local search over 300 parameters needs this to stay within budget.

import type { Forest, TreeView } from './forest.js';

export class IncrementalForest {
  private readonly trees: readonly TreeView[];
  private readonly leaves: Int32Array;
  private sum = 0;
  private sum2 = 0;
  private within = 0;
  /** feature -> trees whose current path tests it */
  private byFeature = new Map<number, number[]>();

  constructor(forest: Forest) {
    this.trees = forest.trees;
    this.leaves = new Int32Array(this.trees.length);
  }

  /** Make v the current point. */
  reset(v: ArrayLike<number>): void {
    this.sum = 0;
    this.sum2 = 0;
    this.within = 0;
    this.byFeature.clear();
    this.trees.forEach((t, i) => {
      const l = t.leaf(v, 0);
      this.leaves[i] = l;
      const m = t.value[l]!;
      this.sum += m;
      this.sum2 += m * m;
      this.within += t.variance[l]!;
      for (const f of new Set(t.path(v, 0))) {
        const list = this.byFeature.get(f);
        if (list) list.push(i);
        else this.byFeature.set(f, [i]);
      }
    });
  }

  /** Features whose change can move the prediction at the current point. */
  features(): IterableIterator<number> {
    return this.byFeature.keys();
  }

  /** Prediction at v, which differs from the current point in feature f only. */
  predictChanged(v: ArrayLike<number>, f: number): { mean: number; variance: number } {
    let s = this.sum;
    let s2 = this.sum2;
    let w = this.within;
    for (const i of this.byFeature.get(f) ?? []) {
      const t = this.trees[i]!;
      const l0 = this.leaves[i]!;
      const l1 = t.leaf(v, 0);
      if (l1 === l0) continue;
      const a = t.value[l0]!;
      const b = t.value[l1]!;
      s += b - a;
      s2 += b * b - a * a;
      w += t.variance[l1]! - t.variance[l0]!;
    }
    const k = this.trees.length;
    const mean = s / k;
    return { mean, variance: Math.max(0, s2 / k - mean * mean) + w / k };
  }
}
