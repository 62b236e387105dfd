// The runner kinds, one registry keyed by a job's kind. A new kind is a module implementing Runner
// plus one registerRunner line (here for the built-in ones; a test may register its own).

import { InputError, type Experiment, type JobSpec } from '../types.js';
import { containerRunner } from './docker/runner.js';
import { processRunner } from './process-runner.js';
import type { PreflightOptions, ReapOptions, Runner } from './runner.js';
import { vmContainerRunner } from './vm-container.js';
import { vmRunner } from './vm-runner.js';

const runners = new Map<string, Runner>();

export function registerRunner(r: Runner): void {
  runners.set(r.kind, r);
}

registerRunner(processRunner);
registerRunner(containerRunner);
registerRunner(vmRunner);
registerRunner(vmContainerRunner);

export function runnerKinds(): string[] {
  return [...runners.keys()];
}

/**
 * A job's kind: the one normalising its spec set, or for a job made in code without one (older
 * queued work, tests) the one its fields imply.
 */
export function jobKind(job: JobSpec): string {
  if (job.kind !== undefined) return job.kind;
  if (job.image !== undefined && job.vm !== undefined) return vmContainerRunner.kind;
  return job.image !== undefined ? 'container' : job.vm !== undefined ? 'vm' : 'process';
}

export function runnerFor(job: JobSpec): Runner {
  const kind = jobKind(job);
  const r = runners.get(kind);
  if (!r) throw new InputError(`${job.phase} '${job.name}': no runner of kind '${kind}' here (known: ${runnerKinds().join(', ')})`, job.loc);
  return r;
}

function jobsOf(exp: Experiment): JobSpec[] {
  return [...(exp.build ? [exp.build] : []), ...exp.tests];
}

/**
 * The preflight of every runner kind the experiment uses, each with its own jobs: the first
 * problem found is thrown (a kind nobody registered is one).
 */
export async function preflightRunners(exp: Experiment, opts: PreflightOptions = {}): Promise<void> {
  const byKind = new Map<Runner, JobSpec[]>();
  for (const job of jobsOf(exp)) {
    const r = runnerFor(job);
    byKind.set(r, [...(byKind.get(r) ?? []), job]);
  }
  for (const [r, jobs] of byKind) {
    const problems = await r.preflight(jobs, exp, opts);
    if (problems.length > 0) throw problems[0] as Error;
  }
}

/** Every kind ends what a killed predecessor left on this work directory. */
export async function reapRunners(opts: ReapOptions): Promise<void> {
  for (const r of runners.values()) await r.reap(opts);
}
