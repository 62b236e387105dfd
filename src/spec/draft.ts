// What each format's reader hands to the normaliser: the native model's raw pieces, each with the
// path of the YAML node it came from, so that checks made later still point into the user's file
// even when the format named things differently (a paper-era run's `cmd` is a native `run`).

import type { ExperimentFormat, Phase } from '../types.js';
import type { Path } from './document.js';
import type { RawExploration, RawHost, RawMetric, RawObjective, RawParam, RawTestJob } from './schema.js';

export interface DraftParam {
  raw: RawParam;
  path: Path;
  workload: boolean;
  /**
   * Wayfinder read every `only` value as a string; its files write `only: [63, 126]` for string
   * parameters. Such values are converted to the declared type instead of refused.
   */
  lenient: boolean;
}

export interface DraftJob {
  raw: RawTestJob;
  phase: Phase;
  path: Path;
  /** Native key -> where under `path` this format wrote it (run -> ['cmd'], run -> ['benchtool', 'commands']). */
  rename?: Record<string, Path>;
}

export interface DraftMetric {
  raw: RawMetric;
  /** Absent for metrics a format implies rather than writes. */
  path?: Path;
}

export interface Draft {
  format: ExperimentFormat;
  name: string;
  description?: string;
  pool?: string;
  params: DraftParam[];
  build?: DraftJob;
  tests: DraftJob[];
  metrics: DraftMetric[];
  objective: { raw: RawObjective; path?: Path };
  exploration?: RawExploration;
  host?: RawHost;
}
