// Best against default, confirmed: at the end of `wayfinder run`, and on its own as
// `wayfinder confirm [EXPERIMENT]` (the experiment's file is read back from the work directory).

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { MeasurementSession } from '../session/session.js';
import { parseExperiment } from '../spec/index.js';
import { Store } from '../store/store.js';
import { comparisonJson, confirmStudy, DEFAULT_CONFIRM_PAIRS, describeComparison, type Confirmation } from '../study/confirm.js';
import type { ResultsStore } from '../store/results-store.js';
import type { Study } from '../study/study.js';
import { summarizeStudy, workloadNames, type StudySummary } from '../study/summary.js';
import { databasePath } from '../workdir.js';
import { fmtNum } from '../util/format.js';
import { parseCpus, positiveInt, UsageError } from './errors.js';
import { trapInterrupts } from './interrupt.js';

export { DEFAULT_CONFIRM_PAIRS, type Confirmation };

/** The most pairs from `--confirm N` (undefined: `--no-confirm`). */
export function confirmPairs(flag: string | boolean | undefined): number | undefined {
  if (flag === false) return undefined;
  if (flag === undefined || flag === true) return DEFAULT_CONFIRM_PAIRS;
  return positiveInt(flag, '--confirm', 2);
}

/**
 * Measure the best and the default of `summary` again, interleaved (the verdict is stored), and
 * say what came of it: progress on `err`, the verdict returned (printed by the caller with the
 * rest of its output).
 */
export async function confirmSummary(study: Study, store: ResultsStore, summary: StudySummary, o: { pairs: number | undefined; seed?: number; err: NodeJS.WritableStream; quiet: boolean }): Promise<Confirmation> {
  const metric = study.exp.objective.metric;
  return confirmStudy(study, store, summary, {
    pairs: o.pairs,
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    onStart: (ids, start, cap) => {
      if (o.quiet) return;
      o.err.write(`\nConfirming: the best (${ids.best.slice(0, 12)}) and the default measured again, interleaved, ${start} to ${cap} pairs (stops once the rank test is decisive)\n`);
    },
    onPair: (pair, cap, best, dflt) => {
      if (!o.quiet) o.err.write(`  pair ${pair}/${cap}: best ${best === undefined ? 'failed' : fmtNum(best)} · default ${dflt === undefined ? 'failed' : fmtNum(dflt)} (${metric})\n`);
    },
  });
}

/** The verdict's lines for the terminal. */
export function describeConfirmation(c: Confirmation, metric: string, direction: 'maximize' | 'minimize'): string {
  if (c.state === 'interrupted') return 'Confirmation interrupted: the ranking above is provisional.\n';
  if (c.state === 'skipped') return c.reason.startsWith('not confirmed') ? `The ranking above is provisional: ${c.reason}.\n` : '';
  const verdict = describeComparison(c.comparison, metric, direction);
  return `${c.comparison.significant ? 'Confirmed: the best is ' : 'Not confirmed: '}${verdict}.\n`;
}

export function confirmationJson(c: Confirmation): unknown {
  return c.state === 'confirmed' ? comparisonJson(c.comparison) : null;
}

export interface ConfirmCommandOptions {
  workdir: string;
  redis?: string;
  cpus?: string;
  dockerSocket?: string;
  pairs?: string;
  seed?: string;
  json?: boolean;
  quiet?: boolean;
}

/** `wayfinder confirm [EXPERIMENT]`: the best configuration of a measured experiment against its default, measured again. */
export async function confirmCommand(ref: string | undefined, o: ConfirmCommandOptions): Promise<number> {
  const workdir = resolve(o.workdir);
  const dbPath = databasePath(workdir);
  if (!existsSync(dbPath)) throw new UsageError(`no results in ${workdir} (no wayfinder.db): run an experiment there first, or pass --workdir`);
  const pairs = positiveInt(o.pairs ?? String(DEFAULT_CONFIRM_PAIRS), '--pairs', 2);
  const seed = o.seed !== undefined ? positiveInt(o.seed, '--seed', 0) : undefined;
  const cpus = o.cpus !== undefined ? parseCpus(o.cpus) : undefined;
  // The experiment as it was run, read back from the store; regress's fixed measurements are not explorations.
  const found = (() => {
    const store = new Store(dbPath);
    try {
      const explored = store.listExperiments().filter((e) => e.strategy !== 'list');
      const row = ref ? store.findExperiment(ref) : explored[explored.length - 1];
      if (!row) throw new UsageError(ref ? `no experiment "${ref}" in ${workdir} (known: ${explored.map((e) => e.id).join(', ') || 'none'})` : `no experiments in ${workdir}`);
      return row;
    } finally {
      store.close();
    }
  })();
  const exp = parseExperiment(found.text, found.file);
  const err = process.stderr;
  const session = await MeasurementSession.open({
    workdir,
    pool: exp.pool,
    experiment: exp,
    say: (line) => err.write(`${line}\n`),
    ...(o.redis ? { redis: o.redis } : {}),
    ...(cpus ? { cpus } : {}),
    ...(o.dockerSocket ? { dockerSocket: o.dockerSocket } : {}),
  });
  let study: Study | undefined;
  const interrupts = trapInterrupts(err, 'stopping; the confirmation runs so far are kept.', () => study?.cancel());
  let end: (() => Promise<void>) | undefined;
  try {
    const m = await session.begin(exp, { id: found.id });
    study = m.study;
    end = m.end;
    const summary = summarizeStudy(session.ws.store, found.id, exp.objective, { workload: workloadNames(exp.params) });
    if (summary.running > 0) throw new UsageError(`experiment ${found.id} has ${summary.running} configuration(s) still in flight: run it again to finish it, then confirm`);
    const quiet = o.json === true || o.quiet === true;
    const c = await confirmSummary(study, session.ws.store, summary, { pairs, ...(seed !== undefined ? { seed } : {}), err, quiet });
    await study.detach();
    if (o.json) {
      process.stdout.write(`${JSON.stringify({ experiment: found.id, objective: exp.objective, best: summary.best?.configId ?? null, default: summary.baseline?.configId ?? null, comparison: confirmationJson(c), ...(c.state === 'skipped' ? { skipped: c.reason } : {}) }, null, 2)}\n`);
    } else {
      process.stdout.write(c.state === 'skipped' ? `${c.reason}.\n` : describeConfirmation(c, exp.objective.metric, exp.objective.direction));
    }
    if (c.state === 'interrupted') return 130;
    return c.state === 'skipped' && !summary.best ? 1 : 0;
  } finally {
    interrupts.release();
    try {
      await end?.();
    } finally {
      await session.close({ interrupted: interrupts.count > 0 });
    }
  }
}
