// Baseline: random-forest Bayesian optimisation in the manner of SMAC's hyper-parameter facade:
// 10 trees on bootstrap resamples, 5/6 of the features per split, at least 3 points to split,
// log-scaled objective, expected improvement, one configuration in five drawn at random
// (interleaved random design), crashed runs imputed at the worst value seen. Differences, stated
// so the comparison is fair: the initial design is 10 random configurations (SMAC: Sobol points),
// the trees split at random thresholds (our forest.ts; SMAC searches the best threshold), small
// spaces are scored exhaustively (SMAC: local and sorted random search, which finds no better
// optimum of the acquisition) and large ones over 1,000 random candidates without local search, and
// no configuration is evaluated twice.

import type { Config, Observation } from '../../src/types.js';
import { expectedImprovement } from '../../src/strategies/acquisition.js';
import { Encoder, keyOfNormalized } from '../../src/strategies/encoding.js';
import { Forest } from '../../src/strategies/forest.js';
import type { SearchSpace } from '../../src/strategies/space.js';
import type { SearchFactory } from '../../src/strategies/simulate.js';
import { Rng } from '../../src/util/random.js';

const N_INITIAL = 10;
const RANDOM_PROBABILITY = 0.2;
const EXHAUSTIVE = 20_000n;
const RANDOM_CANDIDATES = 1_000;

class RfBoSearch {
  private readonly enc: Encoder;
  private readonly rng: Rng;
  private readonly seen = new Set<string>();
  private readonly data: { feat: Float64Array; value: number | undefined }[] = [];
  private all: { config: Config; key: string; feat: Float64Array }[] | null = null;

  constructor(
    private readonly space: SearchSpace,
    private readonly opts: { seed: number; direction: 'maximize' | 'minimize' },
  ) {
    this.enc = new Encoder(space.params);
    this.rng = new Rng(opts.seed ^ 0x5ac);
  }

  ask(n: number): Config[] {
    const out: Config[] = [];
    for (let k = 0; k < n; k++) {
      const c = this.data.length < N_INITIAL || this.rng.next() < RANDOM_PROBABILITY ? this.randomUnseen() : this.modelPick();
      if (!c) break;
      this.seen.add(keyOfNormalized(this.space.params, c));
      out.push(c);
    }
    return out;
  }

  tell(observations: Observation[]): void {
    for (const o of observations) {
      const config = this.space.normalize(o.config);
      this.seen.add(keyOfNormalized(this.space.params, config));
      this.data.push({ feat: this.features(config), value: o.status === 'ok' ? o.value : undefined });
    }
  }

  private features(config: Config): Float64Array {
    const f = new Float64Array(this.enc.dims);
    this.enc.features(this.enc.indices(config), f);
    return f;
  }

  private randomUnseen(): Config | null {
    for (let i = 0; i < 1000; i++) {
      const c = this.space.normalize(this.space.sample(this.rng));
      if (!this.seen.has(keyOfNormalized(this.space.params, c))) return c;
    }
    const left = this.space.size <= EXHAUSTIVE ? this.candidates().filter((c) => !this.seen.has(c.key)) : [];
    return left.length > 0 ? left[this.rng.int(left.length)]!.config : null;
  }

  private candidates(): { config: Config; key: string; feat: Float64Array }[] {
    if (!this.all) {
      this.all = [];
      for (let i = 0n; i < this.space.size; i++) {
        const config = this.space.normalize(this.space.at(i));
        if (this.space.contains && !this.space.contains(config)) continue;
        this.all.push({ config, key: keyOfNormalized(this.space.params, config), feat: this.features(config) });
      }
    }
    return this.all;
  }

  private modelPick(): Config | null {
    const ok = this.data.filter((d) => d.value !== undefined).map((d) => d.value!);
    if (ok.length < 2) return this.randomUnseen();
    const log = ok.every((v) => v > 0);
    // Costs (lower is better), log-scaled as SMAC's HPO facade does; crashes at the worst cost seen.
    const cost = (v: number): number => {
      const c = this.opts.direction === 'maximize' ? -(log ? Math.log(v) : v) : log ? Math.log(v) : v;
      return c;
    };
    const worst = Math.max(...ok.map(cost));
    const y = this.data.map((d) => (d.value === undefined ? worst : cost(d.value)));
    const n = this.data.length;
    const dims = this.enc.dims;
    const x = new Float64Array(n * dims);
    this.data.forEach((d, i) => {
      for (let f = 0; f < dims; f++) x[f * n + i] = d.feat[f]!;
    });
    const categories = Int32Array.from(this.enc.codecs.map((c) => (c.categorical ? c.size : 0)));
    const forest = new Forest(
      { n, dims, x, y: Float64Array.from(y), categories },
      { trees: 10, mtry: Math.max(1, Math.ceil((5 / 6) * dims)), minSplit: 3, maxDepth: 20, bootstrap: true },
      this.rng,
    );
    const best = Math.min(...y);
    const score = (feat: Float64Array): number => {
      const p = forest.predict(feat);
      return expectedImprovement(p.mean, Math.sqrt(p.variance), best);
    };
    let pick: Config | null = null;
    let top = -Infinity;
    // Listed candidates are all in the space; sampled ones are checked.
    const consider = (config: Config, key: string, feat: Float64Array, listed = false): void => {
      if (this.seen.has(key)) return;
      if (!listed && this.space.contains && !this.space.contains(config)) return;
      const s = score(feat);
      if (s > top) {
        top = s;
        pick = config;
      }
    };
    if (this.space.size <= EXHAUSTIVE) {
      for (const c of this.candidates()) consider(c.config, c.key, c.feat, true);
    } else {
      for (let i = 0; i < RANDOM_CANDIDATES; i++) {
        const config = this.space.normalize(this.space.sample(this.rng));
        consider(config, keyOfNormalized(this.space.params, config), this.features(config));
      }
    }
    return pick ?? this.randomUnseen();
  }
}

export const rfBo: SearchFactory = {
  name: 'rf-bo',
  create: (space, opts) => new RfBoSearch(space, opts),
};
