// Forest predictions for one-parameter moves without re-walking every tree: a tree whose path to the
// current leaf never tests feature f gives the same leaf after f changes, so only the few trees
// that test f are walked again. Local search over 300 parameters needs this to stay within budget.
// Everything lives in typed arrays sized once: local search resets the point hundreds of times an ask.

import type { Forest, TreeView } from './forest.js';

export class IncrementalForest {
  private readonly trees: readonly TreeView[];
  private readonly leaves: Int32Array;
  private sum = 0;
  private sum2 = 0;
  private within = 0;
  /** The last prediction of predictChanged. */
  mean = 0;
  variance = 0;
  /** Distinct features on the current paths, in order of first appearance; `count` of them. */
  readonly features: Int32Array;
  count = 0;
  /** Trees testing feature f: treesOf[start[f] .. start[f] + size[f]), for features on a path. */
  private readonly start: Int32Array;
  private readonly size: Int32Array;
  private readonly treesOf: Int32Array;
  /** Per feature, the last tree (+1) and reset (stamp) that recorded it: dedupes without clearing. */
  private readonly seenTree: Int32Array;
  private readonly seenStamp: Int32Array;
  private stamp = 0;
  private readonly path: Int32Array;
  /** (feature, tree) pairs of the current paths, before grouping by feature. */
  private readonly pairF: Int32Array;
  private readonly pairT: Int32Array;

  constructor(forest: Forest, dims: number) {
    this.trees = forest.trees;
    const k = this.trees.length;
    this.leaves = new Int32Array(k);
    this.features = new Int32Array(dims);
    this.start = new Int32Array(dims);
    this.size = new Int32Array(dims);
    this.seenTree = new Int32Array(dims);
    this.seenStamp = new Int32Array(dims);
    this.path = new Int32Array(forest.depth + 1);
    this.pairF = new Int32Array(k * (forest.depth + 1));
    this.pairT = new Int32Array(k * (forest.depth + 1));
    this.treesOf = new Int32Array(k * (forest.depth + 1));
  }

  /** Make v the current point. */
  reset(v: ArrayLike<number>): void {
    this.sum = 0;
    this.sum2 = 0;
    this.within = 0;
    this.count = 0;
    const stamp = ++this.stamp;
    let pairs = 0;
    for (let i = 0; i < this.trees.length; i++) {
      const t = this.trees[i]!;
      const l = t.pathInto(v, 0, this.path);
      this.leaves[i] = l;
      const m = t.value[l]!;
      this.sum += m;
      this.sum2 += m * m;
      this.within += t.variance[l]!;
      for (let k = 0, n = t.pathLength; k < n; k++) {
        const f = this.path[k]!;
        if (this.seenStamp[f] !== stamp) {
          this.seenStamp[f] = stamp;
          this.size[f] = 0;
          this.features[this.count++] = f;
        } else if (this.seenTree[f] === i + 1) continue;
        this.seenTree[f] = i + 1;
        this.size[f] = this.size[f]! + 1;
        this.pairF[pairs] = f;
        this.pairT[pairs++] = i;
      }
    }
    // Group the trees by feature (a counting sort, trees stay in order).
    let at = 0;
    for (let k = 0; k < this.count; k++) {
      const f = this.features[k]!;
      this.start[f] = at;
      at += this.size[f]!;
      this.size[f] = 0;
    }
    for (let p = 0; p < pairs; p++) {
      const f = this.pairF[p]!;
      this.treesOf[this.start[f]! + this.size[f]!] = this.pairT[p]!;
      this.size[f] = this.size[f]! + 1;
    }
  }

  /** Prediction at v, which differs from the current point in feature f only: sets mean and variance. */
  predictChanged(v: ArrayLike<number>, f: number): void {
    let s = this.sum;
    let s2 = this.sum2;
    let w = this.within;
    if (f >= 0 && this.seenStamp[f] === this.stamp) {
      for (let j = this.start[f]!, end = j + this.size[f]!; j < end; j++) {
        const i = this.treesOf[j]!;
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
    }
    const k = this.trees.length;
    this.mean = s / k;
    this.variance = Math.max(0, s2 / k - this.mean * this.mean) + w / k;
  }
}
