// A way a build parameter reaches the target's build: its value in the environment, a Kconfig
// symbol in the .config, a constant patched into the source. Each is one module exporting a
// ParamKind; registry.ts holds them. The experiment schema takes each kind's key from it, the spec
// lets it check a declaration where it was written, and the build's preparation lets it act in the
// build directory. These modules know nothing of how jobs run: what they need of that (running a
// resolver command) is handed to them in BuildPrep.

import type { z } from 'zod';
import type { JobSpec, Param, Value } from '../../types.js';

/** What is wrong with a parameter's declaration, and the key under the parameter that says it. */
export interface ParamProblem {
  message: string;
  /** A path under the parameter's node: ['when'], ['patch', 'pattern']. */
  at: Array<string | number>;
}

/** What a kind gets in the build directory before the build's command runs. */
export interface BuildPrep {
  /** The build directory. */
  dir: string;
  /** Relative paths the experiment file names resolve against it. */
  experimentDir: string;
  job: JobSpec;
  /** The build's parameters that reach it this way. */
  params: Param[];
  /** A parameter's value in this build, as its declared type. */
  value(param: Param): Value;
  /** The build's environment (parameters under their names, WAYFINDER_*); what a kind adds goes to the build. */
  env: Record<string, string>;
  /**
   * Run a shell command in the build directory with the build's environment and timeout, its
   * output in `<name>.log`; reaped with the build after a crash. Undefined when it succeeded,
   * else how it failed ("exited with status 2").
   */
  run(command: string, name: string): Promise<string | undefined>;
  /** A line for the build's stderr.log, where its reader looks for what wayfinder did. */
  note(line: string): void;
}

export interface ParamKind {
  name: string;
  /** One line: how the value reaches the build. */
  description: string;
  /** The key a parameter declares this kind with in the experiment file (`patch: {...}`), and its shape. */
  key?: { name: string; schema: z.ZodType; description: string };
  /**
   * When the experiment is loaded: read the key's value (undefined when not written) into the
   * parameter, or say what is wrong and where. Only shape was checked before.
   */
  load?(param: Param, value: unknown): ParamProblem | undefined;
  /** Whether the (loaded) parameter reaches the build this way. */
  applies(param: Param): boolean;
  /**
   * In the build directory before the build runs, when the build has parameters of this kind;
   * kinds run in the order registered. A message when the build cannot go on.
   */
  prepare?(ctx: BuildPrep): Promise<string | undefined>;
  /** Numbers every test run of the build records (how many Kconfig values the resolver overrode). */
  runMetrics?(builtDir: string): Record<string, number>;
}
