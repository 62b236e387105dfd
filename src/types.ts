// The normalised model every module shares. src/spec produces an Experiment from any of the
// three file formats; everything downstream reads only these types, never the raw YAML.

/** Where something was written in an experiment file, for errors that point at it. */
export interface SourceLoc {
  file: string;
  line: number; // 1-based
  col: number; // 1-based
}

export type ParamType = 'integer' | 'string' | 'boolean';
export type Value = number | string | boolean;

/** An ordered list of values, or an integer range walked by adding or multiplying `step`. */
export type Domain =
  | { kind: 'list'; values: Value[] }
  | { kind: 'range'; min: number; max: number; step: number; stepMode: 'increment' | 'power' };

export type Phase = 'build' | 'test';

export interface Param {
  name: string;
  type: ParamType;
  domain: Domain;
  /** The target's own default: the baseline configuration and what CI regresses. */
  default?: Value;
  /** A test-time parameter never triggers a rebuild. */
  when: Phase;
  /** Condition on other parameters, as written (parsed by src/generator/condition.ts, never evaluated as code). */
  if?: string;
  description?: string;
  /** Kconfig symbol written into the target's .config (name starts with CONFIG_ or declared so). */
  kconfig?: boolean;
  /** A workload dimension (connections, loss rate) rather than a system knob. */
  workload?: boolean;
  /** A constant set in a copy of the build's source tree (src/targets/patch.ts). */
  patch?: PatchSpec;
  loc?: SourceLoc;
}

/** Where a `patch` parameter's value goes: the one match of `pattern` in `file`, its first group replaced. */
export interface PatchSpec {
  /** Relative to the source tree's root. */
  file: string;
  /** A regular expression with one capture group around the value; must match exactly once. */
  pattern: string;
}

export type Isolation = 'none' | 'core' | 'cache' | 'socket' | 'full';
export const ISOLATION_LEVELS: readonly Isolation[] = ['none', 'core', 'cache', 'socket', 'full'];

export interface PathMapping {
  /** On the host, relative to the experiment file's directory (inputs) or the configuration's folder (outputs). */
  source: string;
  /** In the job's filesystem (a container path; for host jobs, relative to the job's directory). */
  destination: string;
}

export interface JobResources {
  /** Cache ways of the last-level cache (Intel CAT through resctrl). */
  l3Ways?: number;
  /** Memory bandwidth cap in percent (Intel MBA through resctrl). */
  mbPercent?: number;
  /** Memory limit in bytes. */
  memoryBytes?: number;
}

/** How a job runs: a host process, a container, a VM, or a kind registered later (src/runners/kinds.ts). */
export type RunnerKind = 'process' | 'container' | 'vm' | (string & {});

export interface JobSpec {
  name: string;
  phase: Phase;
  /**
   * The runner that runs it, set when the spec is normalised (the `runner` key, else implied by
   * `image` or `vm`). Absent only in jobs made in code; src/runners/kinds.ts jobKind() decides then.
   */
  kind?: RunnerKind;
  /** A shell command line, run with /bin/sh -c. Exactly one of run and script is set. */
  run?: string;
  /** A script path, absolute after normalisation (resolved against the experiment file's directory). */
  script?: string;
  /** Run in a container of this image (Docker engine); absent: a host process. */
  image?: string;
  cores: number;
  isolation: Isolation;
  timeoutSec: number;
  retries: number;
  /** Measured runs (tests); 1 for builds. */
  iterations: number;
  /** Runs before the measured ones whose results are discarded. */
  warmup: number;
  devices: string[];
  capabilities: string[];
  privileged: boolean;
  /** Container networking: none (default), host, or the name of an existing network namespace / Docker network. */
  network?: string;
  inputs: PathMapping[];
  outputs: PathMapping[];
  resources: JobResources;
  env: Record<string, string>;
  /** Tests: boot this kernel in a fresh QEMU VM for each run (src/runners/qemu.ts). */
  vm?: VmSpec;
  /** Tests: cheap looks before full measurements (src/strategies/fidelity.ts). */
  fidelity?: Fidelity;
  /** Builds: resolve the Kconfig parameters into a .config first (src/targets/kconfig.ts). */
  kconfig?: KconfigSpec;
  /** Builds: copy this source tree into the build directory (patch parameters apply to the copy). */
  source?: string;
  /** Builds: a folder of source archives that fills the work directory's archive cache first. */
  archives?: string;
  loc?: SourceLoc;
}

/**
 * A test's fidelity: an environment variable it reads (a benchmark's duration), its value for a
 * cheap look and for a full measurement, and how many iterations a cheap look has.
 */
export interface Fidelity {
  env: string;
  cheap: string;
  full: string;
  iterations: number;
}

/**
 * A VM a test boots. Strings may name parameters and WAYFINDER_* variables as ${NAME}; relative
 * paths are resolved against the build directory (or the experiment's when there is no build).
 */
export interface VmSpec {
  kernel: string;
  initrd?: string;
  /** Size ("64M") or MiB. */
  memory: string;
  cores: number;
  args?: string;
  accel: 'kvm' | 'tcg' | 'auto';
  /**
   * user: QEMU's user-mode networking with `forward`ed guest ports on 127.0.0.1; tap: a tap device
   * in a network namespace of the run's own (the test's command enters it); none: no NIC.
   */
  net: 'user' | 'tap' | 'none';
  /** tap: the host side's address (CIDR) and the guest's, which the guest is told by its own args. */
  tap?: { host: string; guest: string };
  /** Guest TCP ports reachable on 127.0.0.1 (user networking). */
  forward: number[];
  /** A regular expression the serial console prints once the guest is up. */
  marker: string;
  /** Time to the first successful connection to a forwarded port. */
  probe?: { kind: 'tcp' | 'http'; port: number; path: string };
  /** Find the least memory (MiB) the guest reaches its marker in, by bisection between these. */
  /** MiB bounds of the search; stepKiB its resolution (1024 unless told). */
  footprint?: { min: number; max: number; stepKiB?: number };
  bootTimeoutSec: number;
  /** The guest's architecture; only x86_64 guests are run here (the runner's preflight says so). Default x86_64. */
  arch?: string;
  /** Disk images for virtio block devices (vda, vdb, ... in this order): raw or qcow2. */
  disks?: Array<{ path: string; format: 'raw' | 'qcow2' }>;
  /** Seconds from the VM's start to the test command's start (Wayfinder's start_delay), at least until the marker. */
  startDelaySec?: number;
}

/** How a build resolves its Kconfig parameters. */
export interface KconfigSpec {
  /** The .config to write, relative to the build directory. */
  config: string;
  /** A starting configuration copied in first (a defconfig, the application's .config). */
  base?: string;
  /** The target's own resolver, run in the build directory with KCONFIG_CONFIG set. */
  resolve: string;
  /**
   * Folders holding the tree's Kconfig files (relative: to the experiment; ${VAR} expands). With
   * them a symbol that does not exist is told apart from one its dependencies turned off.
   */
  sources?: string[];
}

/** The name of a metric parser registered in src/metrics/registry.ts (the experiment's schema checks it). */
export type ParserKind = string;

export interface MetricSpec {
  /** Name of the metric, or the prefix of the metrics a parser that yields several (wrk, redis-benchmark) gives. */
  name: string;
  parser: ParserKind;
  /** Where the text comes from: the test's stdout, or a file relative to WAYFINDER_OUTPUT_DIR. */
  source: { kind: 'stdout' } | { kind: 'file'; path: string };
  /** Multiply the parsed number by this (unit conversion). */
  scale?: number;
  /** Only from this test (by name); default every test. */
  test?: string;
  loc?: SourceLoc;
  /**
   * The parser's own options, under the keys it declares (regex: `pattern`, a regular expression with
   * one capture group; json: `path`, dotted keys and indices a.b.0.c). Checked when the file is read.
   */
  [option: string]: unknown;
}

export interface Objective {
  metric: string;
  direction: 'maximize' | 'minimize';
  /** What a failed build or run counts as; default: worst possible (0 for maximize, +Infinity for minimize). */
  failureValue?: number;
}

/** The name of a search strategy registered in src/strategies/registry.ts (the experiment's schema checks it). */
export type StrategyName = string;

export interface Exploration {
  strategy: StrategyName;
  /** At most this many configurations are tried. */
  budget?: number;
  seed: number;
  /** Configurations in flight at once. */
  parallel: number;
  /** grid: start at a random offset (the paper's "random start") */
  randomStart: boolean;
  /**
   * Earlier experiments in the same results store (names or ids) whose measurements over the same
   * parameters warm-start the search (bayesian; see StrategyOptions.prior). Each is weighted by how
   * well it predicts this experiment's own measurements, so one that does not carry over fades out.
   */
  warmStart?: string[];
}

export interface HostSettings {
  governor?: string;
  turbo?: boolean;
  smt?: boolean;
  aslr?: boolean;
  sysctls: Record<string, string>;
  /** Cache ways / bandwidth every test job gets unless it asks for its own (resctrl). */
  cachePartition?: { l3Ways?: number; mbPercent?: number };
}

export type ExperimentFormat = 'native' | 'paper' | 'daemon';

export interface Experiment {
  name: string;
  description?: string;
  format: ExperimentFormat;
  /** Absolute path of the experiment file, its directory, its text and the sha256 of that text. */
  file: string;
  dir: string;
  text: string;
  hash: string;
  params: Param[];
  build?: JobSpec;
  tests: JobSpec[];
  metrics: MetricSpec[];
  objective: Objective;
  exploration: Exploration;
  host: HostSettings;
  /** Class of identical hosts the tests run on. */
  pool: string;
}

/** One point of the space: a value for every parameter, in declaration order. */
export type Config = Record<string, Value>;

/**
 * Why a build or a run failed. Every kind but 'infra' is a verdict on the configuration and is told
 * to the strategy; 'infra' is the worker's trouble, and the study loop retries the work instead.
 */
export type Failure =
  /** The configuration's build failed: its tests never ran. */
  | 'build'
  /** The job ran and exited with a non-zero status, or was ended by a signal. */
  | 'exit'
  /** The job ran past its timeout and was ended. */
  | 'timeout'
  /** The job was killed by the kernel at its memory limit (resources.memory). */
  | 'oom'
  /** The job succeeded, but its output did not yield the metrics asked for (or the objective). */
  | 'parse'
  /** A test's VM did not come up (no boot marker within its boot timeout) or went away. */
  | 'boot'
  /** The worker could not run the job (a cgroup it cannot create, an engine that went away). */
  | 'infra'
  /** The experiment was cancelled before the configuration was measured. */
  | 'cancelled'
  /**
   * Its first iterations were below the best configuration's by the early-stopping test
   * (src/strategies/early-stop.ts): the rest were never run. Worse than the best, not broken.
   */
  | 'stopped';

/** Why a configuration was stopped early: after how many of its iterations, by what test. */
export interface StoppedEarly {
  /** Iterations measured, of how many the test has. */
  after: number;
  of: number;
  /** One-sided p-value of "no worse than the best", and the level it was held against. */
  p: number;
  level: number;
  /** The best configuration then, and its objective: this one is worse than that. */
  best: string;
  below: number;
  /**
   * Judged at a cheap look (the test's fidelity variable at its cheap value): after counts its
   * cheap iterations, and the best's cheap iterations were what it was compared with.
   */
  fidelity?: { env: string; value: string };
}

/** What a strategy learns from one measured configuration. */
export interface Observation {
  config: Config;
  configId: string;
  /** Aggregated objective (median over iterations); undefined when the configuration failed. */
  value?: number;
  /** Individual measured iterations, for noise-aware strategies. */
  samples?: number[];
  status: 'ok' | 'failed';
  /** Why, when failed (never 'infra': that is not told to a strategy). */
  failure?: Failure;
  /**
   * This configuration resolves to the same effective configuration as that one (its Kconfig
   * symbols came out alike): the outcome is that one's, measured once. It is the same point, so
   * it is not counted against the budget (which counts distinct measured configurations).
   */
  duplicateOf?: string;
  /**
   * Stopped early (failure 'stopped'): its objective is worse than this (the best's then); `samples`
   * holds the few iterations it had (a noisy estimate of by how much), `value` is absent. A censored
   * observation, not a crash.
   */
  below?: number;
}

/** A user-facing error that points at input: printed as `file:line:col: message`, exit status 2. */
export class InputError extends Error {
  constructor(
    message: string,
    public readonly loc?: SourceLoc,
    public readonly hint?: string,
  ) {
    super(message);
    this.name = 'InputError';
  }

  format(): string {
    const where = this.loc ? `${this.loc.file}:${this.loc.line}:${this.loc.col}: ` : '';
    return `${where}${this.message}${this.hint ? `\n  ${this.hint}` : ''}`;
  }
}

/** One time window of a dynamic experiment's run: the load offered, what came back, the latency
 * percentiles of the requests scheduled in it (null when none was), the knobs in effect at its end. */
export interface DynamicWindow {
  tUs: number;
  flows: number;
  rate: number;
  loss: number;
  sent: number;
  received: number;
  lost: number;
  dropped: number;
  p50Us: number | null;
  p90Us: number | null;
  p99Us: number | null;
  p999Us: number | null;
  maxUs: number | null;
  knobs: Record<string, number>;
}

/** What the target's Kconfig resolver made of a configuration's requested symbols (src/targets/kconfig.ts). */
export interface Resolution {
  /** The resolved .config's identity (every symbol it sets, hashed). */
  hash: string;
  /** Each requested symbol's resolved value, as .config writes it (n: not set). */
  effective: Record<string, string>;
  overridden: Array<{ symbol: string; requested: string; effective: string }>;
  /** Requested symbols the tree does not declare. */
  unknown: string[];
  /** Base configuration symbols the tree does not declare. */
  baseUnknown: string[];
  /** Whether the tree's declarations were read (otherwise unknown symbols cannot be told apart). */
  checked: boolean;
}
