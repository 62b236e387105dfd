// What running a configuration takes: its identity, the build it needs (shared by every
// configuration with the same build checksum) and the test runs, warm-ups first.

import { InputError, type Config, type Experiment, type Param } from '../types.js';
import { buildChecksum, configChecksum, formatValue } from './checksum.js';
import { axis } from './domain.js';
import { Space } from './space.js';

/** Every parameter under its own name, as the job's environment receives it. */
export function paramEnv(params: Param[], config: Config): Record<string, string> {
  const env: Record<string, string> = {};
  for (const p of params) {
    const v = config[p.name];
    if (v === undefined) throw new InputError(`configuration has no value for parameter '${p.name}'`);
    env[p.name] = formatValue(v);
  }
  return env;
}

/** Every parameter at its `default`, or its first domain value where none is given. */
export function defaultConfig(params: Param[]): Config {
  const out: Config = {};
  for (const p of params) out[p.name] = p.default ?? axis(p).value(0n);
  return out;
}

/** One run of a test: warm-ups numbered 0..warmup-1, then measured iterations 0..iterations-1. */
export interface TestRun {
  test: string;
  iteration: number;
  warmup: boolean;
}

export interface ConfigPlan {
  configId: string;
  buildId: string;
  /** The normalised configuration (inactive parameters at their defaults); configId is its checksum. */
  config: Config;
  /** Name of the build job, when the experiment has one. */
  build?: string;
  runs: TestRun[];
}

export interface ExperimentPlan {
  size: bigint;
  /** Distinct normalised configurations, when the space is small enough to count. */
  distinct?: bigint;
  builds: number;
  tests: number;
  /** The configurations planned, in grid order; empty when the whole space is too large to list. */
  configs: ConfigPlan[];
}

// Parsing conditions once per parameter list rather than once per configuration.
const spaces = new WeakMap<Param[], Space>();
function spaceOf(params: Param[]): Space {
  let s = spaces.get(params);
  if (!s) spaces.set(params, (s = new Space(params)));
  return s;
}

export function planConfiguration(exp: Experiment, config: Config): ConfigPlan {
  const normalized = spaceOf(exp.params).normalize(config);
  const plan: ConfigPlan = {
    configId: configChecksum(exp.params, normalized),
    buildId: buildChecksum(exp.params, normalized),
    config: normalized,
    runs: testRuns(exp),
  };
  if (exp.build) plan.build = exp.build.name;
  return plan;
}

function testRuns(exp: Experiment): TestRun[] {
  const runs: TestRun[] = [];
  for (const t of exp.tests) {
    for (let i = 0; i < t.warmup; i++) runs.push({ test: t.name, iteration: i, warmup: true });
    for (let i = 0; i < t.iterations; i++) runs.push({ test: t.name, iteration: i, warmup: false });
  }
  return runs;
}

/**
 * The plan for the first configurations in grid order: `budget` distinct configurations when the
 * experiment sets one, else the whole space when it has at most `limit` points. A space larger than
 * that with no budget is counted, not listed: its builds are the product of the build parameters'
 * domain sizes (an upper bound when conditions merge configurations) and its tests that many
 * configurations' runs. Configurations that normalise to one already planned are planned once.
 */
/**
 * Everything about an experiment's space that can be wrong, checked without listing it: the space
 * built (every condition parsed and checked against the parameters) and the default configuration
 * planned. `wayfinder plan` and the daemon's submissions check through here.
 */
export function checkPlan(exp: Experiment): Space {
  const space = spaceOf(exp.params);
  planConfiguration(exp, defaultConfig(exp.params));
  return space;
}

export function planExperiment(exp: Experiment, opts: { limit?: number } = {}): ExperimentPlan {
  const limit = BigInt(opts.limit ?? 1_000_000);
  const space = checkPlan(exp);
  const runsPer = testRuns(exp).length;
  const distinct = space.distinctCount(limit);
  const budget = exp.exploration.budget;

  if (budget === undefined && space.size > limit) {
    const builds = exp.params
      .filter((p) => p.when === 'build')
      .reduce((n, p) => n * axis(p).size, 1n);
    return {
      size: space.size,
      builds: exp.build ? Number(builds) : 0,
      tests: Number(space.size * BigInt(runsPer)),
      configs: [],
    };
  }

  const want = budget === undefined ? space.size : BigInt(budget);
  const configs: ConfigPlan[] = [];
  const seen = new Set<string>();
  const buildIds = new Set<string>();
  for (const c of space.enumerate()) {
    if (BigInt(configs.length) >= want) break;
    const plan = planConfiguration(exp, c);
    if (seen.has(plan.configId)) continue;
    seen.add(plan.configId);
    buildIds.add(plan.buildId);
    configs.push(plan);
  }
  const out: ExperimentPlan = {
    size: space.size,
    builds: exp.build ? buildIds.size : 0,
    tests: configs.length * runsPer,
    configs,
  };
  if (distinct !== undefined) out.distinct = distinct;
  return out;
}
