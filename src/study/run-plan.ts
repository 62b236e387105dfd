// What `wayfinder run` will measure, worked out without measuring: the configurations a study
// queues (proposals.ts, the study's own code) for three different made-up outcomes. Where the three
// sequences agree, the configurations are fixed by the seed; from the first place they differ the
// strategy chooses from what it measures, and only how many remain is known.

import { axis, Space } from '../generator/index.js';
import type { Config, Experiment } from '../types.js';
import type { EffectiveOf } from './effective-plan.js';
import { queuedConfigurations, type Identified } from './proposals.js';

/** More configurations than this are counted, not listed. */
const LIST_LIMIT = 20_000;

/** Outcomes that rise, fall and jump about: a strategy that reads its measurements cannot treat them alike. */
const OUTCOMES: ((i: number) => number)[] = [(i) => i + 1, (i) => 1_000_000 - i, (i) => ((i * 7919) % 1009) + 1];

export interface RunPlan {
  /** Configurations the run measures in all, the default included (the budget counts it). */
  total: bigint;
  /**
   * The configurations fixed by the seed whatever is measured, in the order the run queues them,
   * the default first: all of them, or those before the strategy starts to choose from measurements.
   */
  queued: Identified[];
  /** `queued` holds every configuration the run measures. */
  complete: boolean;
  /** After `queued`, the strategy chooses from what it measures (otherwise the rest follow in an order too long to list). */
  chooses: boolean;
  /** Builds of the configurations in `queued` (0 without a build job), and at most in all. */
  builds: { listed: number; atMost: bigint };
  /** Test runs per configuration (warm-ups included). */
  runsPerConfig: number;
}

/**
 * With `effectiveOf` (every configuration's effective identity: effective-plan.ts), the count is of
 * effective configurations and the order is the study's with duplicates left out, as it leaves them.
 */
export function planRun(exp: Experiment, o: { configs?: Config[]; effectiveOf?: ReadonlyMap<string, EffectiveOf> } = {}): RunPlan {
  const space = new Space(exp.params);
  const distinct = o.effectiveOf
    ? BigInt(new Set([...o.effectiveOf.values()].map((e) => e.effectiveId)).size)
    : (space.distinctCount(BigInt(LIST_LIMIT) * 50n) ?? space.size);
  const budget = exp.exploration.budget;
  let total = budget !== undefined && BigInt(budget) < distinct ? BigInt(budget) : distinct;
  // The default is measured whatever the budget.
  if (total < 1n) total = 1n;
  const limit = total < BigInt(LIST_LIMIT) ? Number(total) : LIST_LIMIT;

  const runs = OUTCOMES.map((outcome) => queuedConfigurations(exp, space, outcome, o));
  const queued: Identified[] = [];
  let agreed = true;
  while (agreed && queued.length < limit) {
    const next = runs.map((r) => r.next());
    const first = next[0] as IteratorResult<Identified>;
    if (next.some((n) => n.done !== first.done || (!n.done && !first.done && n.value.configId !== first.value.configId))) agreed = false;
    if (!agreed || first.done) break;
    queued.push(first.value);
  }
  for (const r of runs) r.return(undefined);
  // The strategy ran out before the count (conditions the count could not see): that is all of them.
  if (agreed && queued.length < limit) total = BigInt(queued.length);
  const complete = BigInt(queued.length) === total;
  const listed = exp.build ? new Set(queued.map((c) => o.effectiveOf?.get(c.configId)?.buildId ?? c.buildId)).size : 0;
  let atMost = BigInt(listed);
  if (exp.build && !complete) {
    const buildSpace = exp.params.filter((p) => p.when === 'build').reduce((n, p) => n * axis(p).size, 1n);
    const more = BigInt(listed) + (total - BigInt(queued.length));
    atMost = more < buildSpace ? more : buildSpace;
  }
  const runsPerConfig = exp.tests.reduce((n, t) => n + t.warmup + t.iterations, 0);
  return { total, queued, complete, chooses: !agreed, builds: { listed, atMost }, runsPerConfig };
}
