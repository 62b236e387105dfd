// Extremely randomised trees (Geurts et al. 2006): each split draws a random threshold (ordinal
// features) or a random subset of categories (categorical ones) for a few random features and keeps
// the best. The spread of the trees' predictions is the model's uncertainty, as in SMAC. With 0/1
// targets the same variance-reduction criterion is the Gini criterion, so one forest type serves
// both the objective (regression) and P(configuration works) (classification).

import { Rng } from '../util/random.js';

export interface ForestOptions {
  trees: number;
  /** Features tried per split (after skipping constant ones). */
  mtry: number;
  minSplit: number;
  maxDepth: number;
  /** Grow each tree on a bootstrap resample (more spread between trees). */
  bootstrap?: boolean;
  /** With bootstrap: at most this many draws per tree (bounds the cost of large data sets). */
  maxSamples?: number;
  /** Only these features may be split on (default: all). */
  features?: Int32Array;
}

/** Column-major training data: x[f * n + i] is feature f of sample i. */
export interface TrainingSet {
  n: number;
  dims: number;
  x: Float64Array;
  y: Float64Array;
  /** Per feature: 0 ordinal, else the number of categories (values are category positions, -1 unknown). */
  categories: Int32Array;
}

/** What incremental scoring needs from one tree. */
export interface TreeView {
  leaf(v: ArrayLike<number>, off: number): number;
  /** Features tested on the way to the leaf of v. */
  path(v: ArrayLike<number>, off: number): number[];
  /** The same written into out (long enough for the tree's depth); returns the leaf, as leaf(). */
  pathInto(v: ArrayLike<number>, off: number, out: Int32Array): number;
  /** How many features the last pathInto wrote. */
  readonly pathLength: number;
  readonly value: readonly number[];
  readonly variance: readonly number[];
  /** The tree's structure, node by node (feature < 0 marks a leaf), for functional ANOVA in src/report. */
  readonly feature: readonly number[];
  readonly threshold: readonly number[];
  readonly mask: readonly (Uint8Array | null)[];
  readonly left: readonly number[];
  readonly right: readonly number[];
}

class Tree implements TreeView {
  feature: number[] = [];
  threshold: number[] = [];
  /** Categorical split: mask[value + 1] === 1 goes left. */
  mask: (Uint8Array | null)[] = [];
  left: number[] = [];
  right: number[] = [];
  value: number[] = [];
  variance: number[] = [];

  path(v: ArrayLike<number>, off: number): number[] {
    const out: number[] = [];
    let node = 0;
    for (;;) {
      const f = this.feature[node]!;
      if (f < 0) return out;
      out.push(f);
      const x = v[off + f]!;
      const m = this.mask[node];
      node = (m ? m[x + 1] === 1 : x <= this.threshold[node]!) ? this.left[node]! : this.right[node]!;
    }
  }

  pathLength = 0;

  pathInto(v: ArrayLike<number>, off: number, out: Int32Array): number {
    let k = 0;
    let node = 0;
    for (;;) {
      const f = this.feature[node]!;
      if (f < 0) {
        this.pathLength = k;
        return node;
      }
      out[k++] = f;
      const x = v[off + f]!;
      const m = this.mask[node];
      node = (m ? m[x + 1] === 1 : x <= this.threshold[node]!) ? this.left[node]! : this.right[node]!;
    }
  }

  /** Index of the leaf a row-major vector falls into. */
  leaf(v: ArrayLike<number>, off: number): number {
    let node = 0;
    for (;;) {
      const f = this.feature[node]!;
      if (f < 0) return node;
      const x = v[off + f]!;
      const m = this.mask[node];
      const goLeft = m ? m[x + 1] === 1 : x <= this.threshold[node]!;
      node = goLeft ? this.left[node]! : this.right[node]!;
    }
  }
}

export class Forest {
  private treeList: Tree[] = [];

  constructor(
    data: TrainingSet,
    private readonly opts: ForestOptions,
    rng: Rng,
  ) {
    for (let t = 0; t < opts.trees; t++) this.treeList.push(grow(data, opts, new Rng(rng.nextU32())));
  }

  /** Mean and variance (spread across trees plus mean within-leaf variance) at a row-major vector. */
  predict(v: ArrayLike<number>, off = 0): { mean: number; variance: number } {
    let s = 0;
    let s2 = 0;
    let within = 0;
    for (const t of this.treeList) {
      const l = t.leaf(v, off);
      const m = t.value[l]!;
      s += m;
      s2 += m * m;
      within += t.variance[l]!;
    }
    const k = this.treeList.length;
    const mean = s / k;
    return { mean, variance: Math.max(0, s2 / k - mean * mean) + within / k };
  }

  get trees(): readonly TreeView[] {
    return this.treeList;
  }

  /** Features any split uses: changing any other feature cannot change a prediction. */
  usedFeatures(): Set<number> {
    const used = new Set<number>();
    for (const t of this.treeList) for (const f of t.feature) if (f >= 0) used.add(f);
    return used;
  }

  get size(): number {
    return this.opts.trees;
  }

  /** The deepest a path can go. */
  get depth(): number {
    return this.opts.maxDepth;
  }
}

function grow(data: TrainingSet, opts: ForestOptions, rng: Rng): Tree {
  const tree = new Tree();
  const m = opts.bootstrap ? Math.min(data.n, opts.maxSamples ?? data.n) : data.n;
  const idx = new Int32Array(m);
  for (let i = 0; i < m; i++) idx[i] = opts.bootstrap ? rng.int(data.n) : i;
  const order = opts.features ? Int32Array.from(opts.features) : new Int32Array(data.dims);
  if (!opts.features) for (let f = 0; f < data.dims; f++) order[f] = f;
  if (scratchX.length < m) {
    scratchX = new Float64Array(2 * m);
    scratchY = new Float64Array(2 * m);
  }
  build(tree, data, opts, rng, idx, 0, m, 0, order);
  return tree;
}

/** A node's values of the feature being tried and its targets, gathered so scans run in order. */
let scratchX = new Float64Array(1024);
let scratchY = new Float64Array(1024);

function newNode(tree: Tree): number {
  tree.feature.push(-1);
  tree.threshold.push(0);
  tree.mask.push(null);
  tree.left.push(-1);
  tree.right.push(-1);
  tree.value.push(0);
  tree.variance.push(0);
  return tree.feature.length - 1;
}

function build(
  tree: Tree,
  d: TrainingSet,
  opts: ForestOptions,
  rng: Rng,
  idx: Int32Array,
  lo: number,
  hi: number,
  depth: number,
  order: Int32Array,
): number {
  const node = newNode(tree);
  const n = hi - lo;
  const X = d.x;
  const Y = d.y;
  const xs = scratchX;
  const ys = scratchY;
  let s = 0;
  let s2 = 0;
  for (let k = 0; k < n; k++) {
    const y = Y[idx[lo + k]!]!;
    ys[k] = y;
    s += y;
    s2 += y * y;
  }
  const mean = s / n;
  const variance = Math.max(0, s2 / n - mean * mean);
  tree.value[node] = mean;
  tree.variance[node] = variance;
  if (n < opts.minSplit || depth >= opts.maxDepth || variance <= 1e-12 * (1 + mean * mean)) return node;

  let bestScore = 0;
  let bestF = -1;
  let bestT = 0;
  let bestCats = 0;
  let tried = 0;
  // Partial Fisher-Yates over the feature order: features in random order until mtry non-constant ones.
  for (let r = 0, nf = order.length; r < nf && tried < opts.mtry; r++) {
    const pick = r + rng.int(nf - r);
    const f = order[pick]!;
    order[pick] = order[r]!;
    order[r] = f;
    const col = f * d.n;
    const cats = d.categories[f]!;
    let t = 0;
    let sl = 0;
    let nl = 0;
    if (cats > 0) {
      // One pass gives per-category sums; the left side's sum and count follow from the mask.
      if (!categorySums(X, col, idx, lo, n, ys, cats)) continue;
      tried++;
      orderedCut(cats, rng);
      for (let c = 0; c <= cats; c++) {
        if (scratchMask[c] === 1) {
          sl += scratchSum[c]!;
          nl += scratchCount[c]!;
        }
      }
    } else {
      let mn = Infinity;
      let mx = -Infinity;
      for (let k = 0; k < n; k++) {
        const x = X[col + idx[lo + k]!]!;
        xs[k] = x;
        if (x < mn) mn = x;
        if (x > mx) mx = x;
      }
      if (mn === mx) continue;
      tried++;
      t = mn + rng.next() * (mx - mn);
      for (let k = 0; k < n; k++) {
        // Branch-free: which side a value falls on is a coin flip for the branch predictor.
        const left = +(xs[k]! <= t);
        sl += left * ys[k]!;
        nl += left;
      }
    }
    const nr = n - nl;
    if (nl === 0 || nr === 0) continue;
    const sr = s - sl;
    const score = (sl * sl) / nl + (sr * sr) / nr - (s * s) / n;
    if (bestF < 0 || score > bestScore) {
      bestScore = score;
      bestF = f;
      bestT = t;
      bestCats = cats;
      if (cats > 0) bestMaskScratch.set(scratchMask.subarray(0, cats + 1));
    }
  }
  if (bestF < 0) return node;
  const bestMask = bestCats > 0 ? bestMaskScratch.slice(0, bestCats + 1) : null;

  // Partition idx[lo, hi) so the left side comes first.
  const col = bestF * d.n;
  let a = lo;
  let b = hi - 1;
  while (a <= b) {
    const x = d.x[col + idx[a]!]!;
    if (bestMask ? bestMask[x + 1] === 1 : x <= bestT) a++;
    else {
      const tmp = idx[a]!;
      idx[a] = idx[b]!;
      idx[b] = tmp;
      b--;
    }
  }
  tree.feature[node] = bestF;
  tree.threshold[node] = bestT;
  tree.mask[node] = bestMask;
  const l = build(tree, d, opts, rng, idx, lo, a, depth + 1, order);
  const r = build(tree, d, opts, rng, idx, a, hi, depth + 1, order);
  tree.left[node] = l;
  tree.right[node] = r;
  return node;
}

/**
 * A random split of the categories present in the node, among the splits that respect their order
 * by mean target (Breiman: the best binary partition is one of those), so a category that matters
 * can be cut off cleanly instead of by luck among 2^k subsets. Scratch buffers are reused: this
 * runs once per categorical feature tried per node.
 */
let scratchSum = new Float64Array(64);
let scratchCount = new Int32Array(64);
let scratchMask = new Uint8Array(64);
let bestMaskScratch = new Uint8Array(64);
let scratchPresent = new Int32Array(64);
let presentCount = 0;

/** Per-category sums and counts of the node (value + 1 indexes, -1 "unknown" at 0); false if < 2 present. */
function categorySums(X: Float64Array, col: number, idx: Int32Array, lo: number, n: number, ys: Float64Array, cats: number): boolean {
  if (scratchSum.length < cats + 1) {
    scratchSum = new Float64Array(2 * (cats + 1));
    scratchCount = new Int32Array(2 * (cats + 1));
    scratchMask = new Uint8Array(2 * (cats + 1));
    bestMaskScratch = new Uint8Array(2 * (cats + 1));
    scratchPresent = new Int32Array(2 * (cats + 1));
  }
  const sum = scratchSum;
  const count = scratchCount;
  for (let c = 0; c <= cats; c++) {
    sum[c] = 0;
    count[c] = 0;
  }
  for (let k = 0; k < n; k++) {
    const x = X[col + idx[lo + k]!]! + 1;
    sum[x] = sum[x]! + ys[k]!;
    count[x] = count[x]! + 1;
  }
  presentCount = 0;
  for (let c = 0; c <= cats; c++) if (count[c]! > 0) scratchPresent[presentCount++] = c;
  return presentCount >= 2;
}

/** Fill scratchMask: the lowest-mean categories up to a random cut go left; absent ones by a coin flip. */
function orderedCut(cats: number, rng: Rng): void {
  const sum = scratchSum;
  const count = scratchCount;
  const present = scratchPresent;
  // Insertion sort by mean (few categories), ties by category.
  for (let a = 1; a < presentCount; a++) {
    const c = present[a]!;
    const m = sum[c]! / count[c]!;
    let b = a - 1;
    while (b >= 0) {
      const o = present[b]!;
      const mo = sum[o]! / count[o]!;
      if (mo < m || (mo === m && o < c)) break;
      present[b + 1] = o;
      b--;
    }
    present[b + 1] = c;
  }
  const cut = 1 + rng.int(presentCount - 1);
  const mask = scratchMask;
  // Categories absent from the node follow a coin flip (a bit of a random word), so unseen values
  // spread across trees.
  let bits = 0;
  for (let c = 0; c <= cats; c++) {
    if ((c & 31) === 0) bits = rng.nextU32();
    mask[c] = count[c] === 0 ? (bits >>> (c & 31)) & 1 : 0;
  }
  for (let k = 0; k < cut; k++) mask[present[k]!] = 1;
}
