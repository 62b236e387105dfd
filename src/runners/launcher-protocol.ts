// Messages between wayfinder and its job launcher process (src/runners/launcher-child.ts).

export interface LaunchRequest {
  id: number;
  argv: string[];
  cwd: string;
  /** Make `cwd` (and its parents) first: one step here instead of several round trips there. */
  makeCwd?: boolean;
  env: Record<string, string>;
  /** `env` is set over the launcher's own environment (wayfinder's, see inherited-env.ts) instead of replacing it. */
  inheritEnv?: boolean;
  /** Files the job's stdout and stderr are appended to. */
  stdout: string;
  stderr: string;
}

export type LaunchReply =
  | { id: number; pid: number }
  /** The folder could not be made or an output file not opened: the job was not started. */
  | { id: number; openError: string }
  /** The command could not be started (missing file, no permission). */
  | { id: number; spawnError: string; durationMs: number }
  /** childCpuMs: the CPU time the launcher's reaped children gained with this one (rusage; see launcher-child.ts). */
  | { id: number; exitCode: number | null; signal: NodeJS.Signals | null; durationMs: number; childCpuMs?: number };
