// Messages between wayfinder and its job launcher process (src/runners/launcher-child.ts).

export interface LaunchRequest {
  id: number;
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /** Files the job's stdout and stderr are appended to. */
  stdout: string;
  stderr: string;
}

export type LaunchReply =
  | { id: number; pid: number }
  /** An output file could not be opened: the job was not started. */
  | { id: number; openError: string }
  /** The command could not be started (missing file, no permission). */
  | { id: number; spawnError: string; durationMs: number }
  | { id: number; exitCode: number | null; signal: NodeJS.Signals | null; durationMs: number };
