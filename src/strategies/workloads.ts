// The workload points of a space whose parameters include workload dimensions (declared under
// `workload:`, Param.workload): every combination of their values, numbered, so that a search can
// keep an incumbent per workload point and ask for a configuration at a chosen one. The study
// never picks a workload to suit the objective: each point needs its own best configuration.

import type { Config } from '../types.js';
import type { Encoder } from './encoding.js';

/** More workload points than this and the search treats the workload dimensions as knobs. */
export const MAX_WORKLOAD_POINTS = 4096;

export class WorkloadGrid {
  /** Feature (= parameter) indices of the workload dimensions, in declaration order. */
  readonly features: number[];
  /** Number of workload points: the product of their domain sizes. */
  readonly count: number;
  private readonly sizes: number[];

  private constructor(
    private readonly enc: Encoder,
    features: number[],
  ) {
    this.features = features;
    this.sizes = features.map((f) => enc.codecs[f]!.size);
    this.count = this.sizes.reduce((a, b) => a * b, 1);
  }

  /** The grid of a space's workload dimensions; null when it has none or too many points to keep apart. */
  static of(enc: Encoder): WorkloadGrid | null {
    const features = enc.params.flatMap((p, i) => (p.workload ? [i] : []));
    if (features.length === 0 || features.length === enc.dims) return null;
    const g = new WorkloadGrid(enc, features);
    return g.count >= 2 && g.count <= MAX_WORKLOAD_POINTS ? g : null;
  }

  /** The point of a feature vector at `off` (mixed radix over the domain positions, the first dimension most significant). */
  index(feat: ArrayLike<number>, off = 0): number {
    let i = 0;
    for (let k = 0; k < this.features.length; k++) {
      const f = this.features[k]!;
      i = i * this.sizes[k]! + this.enc.positionOf(f, feat[off + f]!);
    }
    return i;
  }

  /** A copy of `config` with the workload dimensions set to point w's values. */
  assign(config: Config, w: number): Config {
    const out = { ...config };
    for (let k = this.features.length - 1; k >= 0; k--) {
      const f = this.features[k]!;
      const size = this.sizes[k]!;
      const codec = this.enc.codecs[f]!;
      out[codec.name] = codec.valueAt(w % size);
      w = Math.floor(w / size);
    }
    return out;
  }
}
