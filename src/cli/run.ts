// `wayfinder run FILE`: explore an experiment's space on this host, from start or from where a
// previous run in the same work directory stopped; then confirm the best against the default.

import { loadExperiment } from '../spec/index.js';
import type { Study } from '../study/study.js';
import { MeasurementSession } from '../session/session.js';
import { benchmarkTime, effectiveParams, fmtEffective, summarizeStudy, verdictLine, workloadNames, type StudySummary } from '../study/summary.js';
import { describeWorkloads, workloadSummary, type WorkloadSummary } from './summary-workload.js';
import { DriftWatch, DRIFT_THRESHOLD, type DriftCheck } from '../study/drift.js';
import { withExploration } from '../spec/exploration.js';
import { describeInterval } from '../metrics/stats.js';
import type { Experiment } from '../types.js';
import { fmtConfig, fmtNum } from '../util/format.js';
import { trapInterrupts } from './interrupt.js';
import { Progress } from './progress.js';
import { parseCpus, positiveInt } from './errors.js';
import { readJobKey } from '../queue/signing.js';
import { describeWarmStart } from '../study/warm-start.js';
import { explorationFlags } from './exploration-flags.js';
import { confirmationJson, confirmPairs, confirmSummary, describeConfirmation, type Confirmation } from './confirm.js';

/** Seconds a Ctrl-C may take to stop a run cleanly before it exits anyway. */
const INTERRUPT_GRACE_S = 60;

export { parseCpus };

export interface RunOptions {
  workdir: string;
  redis?: string;
  budget?: string;
  parallel?: string;
  strategy?: string;
  seed?: string;
  cpus?: string;
  json?: boolean;
  quiet?: boolean;
  dockerSocket?: string;
  /** `--confirm N` (most interleaved pairs) or `--no-confirm` (false). */
  confirm?: string | boolean;
  /** `--drift-every N`: measure the default again after every N configurations. */
  driftEvery?: string;
  jobKey?: string;
  /** `--no-early-stop` (false): every iteration of every configuration is measured. */
  earlyStop?: boolean;
  /** `--no-fidelity` (false): no cheap looks, every configuration measured at full fidelity. */
  fidelity?: boolean;
}

/** Long runs measure the default again after every this many configurations. */
const DRIFT_EVERY = 10;

export async function runCommand(file: string, o: RunOptions): Promise<number> {
  const exp = withExploration(loadExperiment(file), explorationFlags(o));
  const cpus = o.cpus !== undefined ? parseCpus(o.cpus) : undefined;
  const pairs = confirmPairs(o.confirm);
  const driftEvery = o.driftEvery !== undefined ? positiveInt(o.driftEvery, '--drift-every') : DRIFT_EVERY;
  const err = process.stderr;
  const quiet = o.json === true || o.quiet === true;
  const session = await MeasurementSession.open({
    workdir: o.workdir,
    pool: exp.pool,
    experiment: exp,
    say: (line) => err.write(`${line}\n`),
    ...(o.redis ? { redis: o.redis } : {}),
    ...(o.jobKey !== undefined ? { jobKey: readJobKey(o.jobKey) } : {}),
    ...(cpus ? { cpus } : {}),
    ...(o.dockerSocket ? { dockerSocket: o.dockerSocket } : {}),
  });
  const ws = session.ws;
  let study: Study | undefined;
  let end: (() => Promise<void>) | undefined;
  // What run is waiting for, said if a Ctrl-C does not end it in time.
  let stage = 'setting up';
  const interrupts = trapInterrupts(err, 'stopping; running jobs are ended and re-run when you start again. Results so far are kept.', () => {
    study?.interrupt();
    void ws.worker?.close(true);
    // A stop should take seconds; one that hangs must not keep the terminal: what is measured is
    // in the store already, and the next run takes the work directory over and queues the rest.
    setTimeout(() => {
      err.write(`still stopping after ${INTERRUPT_GRACE_S} s (waiting for: ${stage}); exiting now. Results so far are kept; run again to go on.\n`);
      process.exit(130);
    }, INTERRUPT_GRACE_S * 1000).unref();
  });
  try {
    const m = await session.begin(exp, { ...(o.earlyStop === false ? { earlyStop: false } : {}), ...(o.fidelity === false ? { fidelity: false } : {}) });
    study = m.study;
    end = m.end;
    // A Ctrl-C while the session was being set up: nothing is measured, nothing waited for.
    if (interrupts.count > 0) study.interrupt();
    const budget = exp.exploration.budget;
    const total = Number(budget !== undefined && BigInt(budget) < study.space.size ? BigInt(budget) : study.space.size);
    if (!quiet) {
      err.write(
        `wayfinder: ${exp.name}: ${study.space.size} configurations, ${exp.exploration.strategy} search` +
          `${budget !== undefined ? `, budget ${budget}` : ''}, ${exp.exploration.parallel} in parallel\n` +
          `  work directory ${ws.workdir} (experiment ${study.id}); queue on ${ws.redis.describe}\n`,
      );
    }
    const progress = new Progress(total, exp.objective, err, quiet);
    // Without a budget below it, every duplicate leaves one configuration fewer to measure.
    let duplicates = ws.store.countConfigurations(study.id, 'duplicate');
    const space = Number(study.space.size);
    progress.atMost(space - duplicates);
    study.on('config-duplicate', () => progress.atMost(space - ++duplicates));
    progress.preload(ws.store.configurations(study.id), { announce: true });
    const drift = new DriftWatch(study, ws.store, {
      every: driftEvery,
      onCheck: (c) => {
        if (c.drifted && !quiet) err.write(`${driftWarning(c, exp.objective.metric)}\n`);
        ws.log.info({ experiment: study?.id, drift: c }, 'default measured again');
      },
    });
    study.on('config-finished', (r) => {
      progress.finished(r);
      drift.configFinished(r);
    });
    study.on('run-finished', (r) => {
      if (!r.extra) progress.tick();
    });
    study.on('warm-start', (sources) => {
      const line = `  warm start from ${describeWarmStart(sources)}: each weighted by how well it predicts this experiment's measurements`;
      if (!quiet) err.write(`${line}\n`);
      ws.log.info({ experiment: study?.id, warmStart: sources }, 'warm start');
    });
    watchResolution(study, (line) => {
      if (!quiet) err.write(`${line}\n`);
      ws.log.info({ experiment: study?.id }, line);
    });
    ws.log.info({ experiment: study.id, file: exp.file }, 'run started');
    stage = 'the study to stop';
    await study.run();
    stage = 'drift checks';
    await drift.settled();
    stage = 'the summary';
    progress.end();
    const summary = { ...summarizeStudy(ws.store, study.id, exp.objective, { workload: workloadNames(exp.params) }), benchmark: benchmarkTime(ws.store, study.id) };
    const workloads = workloadSummary(ws.store, study.id, exp);
    ws.log.info({ experiment: study.id, summary: { done: summary.done, failed: summary.failed, stopped: summary.stopped } }, 'run finished');
    const confirming = pairs !== undefined && interrupts.count === 0;
    // The exploration's ranking first, marked provisional, so it is on the screen while confirming.
    if (!o.json) process.stdout.write(describeSummary(exp, summary, { provisional: true }) + (workloads ? describeWorkloads(workloads, exp.objective.metric) : ''));
    const confirmation: Confirmation = confirming
      ? await confirmSummary(study, ws.store, summary, { pairs, ...(o.seed !== undefined ? { seed: Number(o.seed) } : {}), err, quiet })
      : { state: 'skipped', reason: interrupts.count > 0 ? 'not confirmed (interrupted)' : 'not confirmed (--no-confirm)' };
    await study.detach();
    if (confirmation.state === 'confirmed') ws.log.info({ experiment: study.id, comparison: confirmationJson(confirmation) }, 'best against default confirmed');
    if (o.json) process.stdout.write(`${JSON.stringify(summaryJson(study.id, exp, summary, confirmation, drift.checks, workloads), null, 2)}\n`);
    else process.stdout.write(describeConfirmation(confirmation, exp.objective.metric, exp.objective.direction));
    if (interrupts.count > 0) return 130;
    return summary.done === 0 ? 1 : 0;
  } finally {
    stage = 'the session to close (the worker, its jobs, the queue)';
    interrupts.release();
    try {
      await end?.();
    } finally {
      await session.close({ interrupted: interrupts.count > 0 });
    }
  }
}

export function driftWarning(c: DriftCheck, metric: string): string {
  const pct = ((c.change ?? 0) * 100).toFixed(0);
  return (
    `wayfinder: warning: the default now measures ${metric} = ${fmtNum(c.now)}, against ${fmtNum(c.was)} when first measured ` +
    `(${Number(pct) > 0 ? '+' : ''}${pct}%, beyond the ${DRIFT_THRESHOLD * 100}% drift threshold and its own runs' range): the host has changed ` +
    'during the run, so configurations measured at different times compare less well; the confirmation at the end measures best and default interleaved'
  );
}

export function summaryJson(
  id: string,
  exp: Experiment,
  s: StudySummary,
  confirmation?: Confirmation,
  drift: DriftCheck[] = [],
  workloads?: { byWorkload: WorkloadSummary } | { note: string },
): unknown {
  const pick = (r: StudySummary['best']) => {
    const sm = r?.summary?.[exp.objective.metric];
    return r && { configId: r.configId, params: r.params, ...(r.resolution ? { effective: effectiveParams(r, exp.params) } : {}), objective: r.objective, ci: sm && sm.n > 1 ? sm.ci : null, ciMethod: sm?.ciMethod, ciLevel: sm?.ciLevel, n: sm?.n, cv: sm?.cv };
  };
  return {
    experiment: id,
    objective: exp.objective,
    configurations: s.total,
    done: s.done,
    failed: s.failed,
    stopped: s.stopped,
    ...(s.benchmark ? { benchmarkSeconds: { total: s.benchmark.seconds, cheapLooks: s.benchmark.cheapSeconds, skippedIterations: s.benchmark.skipped, saved: s.benchmark.savedSeconds } } : {}),
    duplicates: s.duplicates ?? 0,
    /** With workload dimensions, best is the best at the default's workload point (workloadPoint). */
    ...(s.workloadPoint ? { workloadPoint: s.workloadPoint } : {}),
    best: pick(s.best) ?? null,
    default: pick(s.baseline) ?? null,
    /** The exploration's ratio: provisional (the best of many noisy measurements, the default measured once, early). */
    ratio: s.ratio ?? null,
    comparison: confirmation ? confirmationJson(confirmation) : null,
    ...(confirmation?.state === 'skipped' ? { confirmation: confirmation.reason } : {}),
    driftChecks: drift,
    ...(workloads ? ('note' in workloads ? { byWorkloadNote: workloads.note } : { byWorkload: workloads.byWorkload }) : {}),
  };
}

/**
 * The exploration's outcome. Best against default is marked provisional, unless `verdict` is set
 * and a confirmation's verdict is stored for this best (status, `submit --wait`): then that
 * verdict is its last line.
 */
export function describeSummary(exp: Pick<Experiment, 'objective'> & { params?: Experiment['params'] }, s: StudySummary, o: { provisional?: boolean; verdict?: boolean } = {}): string {
  const m = exp.objective.metric;
  const lines: string[] = [];
  const outcomes = [`${s.done} ok`, ...(s.failed > 0 || s.stopped === 0 ? [`${s.failed} failed`] : []), ...(s.stopped > 0 ? [`${s.stopped} stopped early (clearly below the best)`] : [])];
  lines.push(`\n${s.done + s.failed + s.stopped} configurations measured: ${outcomes.join(', ')}.`);
  const b = s.benchmark;
  if (b && (b.skipped > 0 || b.cheapSeconds > 0)) {
    const cheap = b.cheapSeconds > 0 ? `, ${fmtSeconds(b.cheapSeconds)} of it in cheap looks` : '';
    lines.push(
      `Benchmark time ${fmtSeconds(b.seconds)}${cheap}; stopping early saved about ${fmtSeconds(b.savedSeconds)} ` +
        `(${b.skipped} full iterations not measured, at the mean full iteration's ${fmtSeconds(b.perIteration)}${b.cheapSeconds > 0 ? ', less the cheap looks' : ''}).`,
    );
  }
  if ((s.duplicates ?? 0) > 0) {
    lines.push(`${s.duplicates} more resolved to the effective configuration of one measured (duplicates: not built or measured again, not counted against the budget; \`wayfinder results\` lists them).`);
  }
  if (s.highCv > 0) lines.push(`Warning: ${s.highCv} configuration(s) had a coefficient of variation above 5% in ${m}; consider more iterations or stricter isolation.`);
  const show = (label: string, r: StudySummary['best']): void => {
    if (!r) return;
    const sm = r.summary?.[m];
    const detail = sm ? ` (median; ${describeInterval(sm, fmtNum)}, n=${sm.n}, CV ${(sm.cv * 100).toFixed(1)}%)` : '';
    lines.push(`${label} ${r.configId.slice(0, 12)}: ${m} = ${fmtNum(r.objective)}${detail}`);
    lines.push(`  ${exp.params ? fmtEffective(r, exp.params) : fmtConfig(r.params)}`);
  };
  if (s.workloadPoint) lines.push(`At the default's workload point, ${fmtConfig(s.workloadPoint)} (the other points are compared below):`);
  const confirmed = o.verdict === true && s.comparison !== undefined;
  const provisional = !confirmed && (o.provisional ?? true) && s.best && s.baseline && s.best.configId !== s.baseline.configId;
  show(provisional ? 'Best (provisional)' : 'Best   ', s.best);
  if (s.best && s.baseline && s.best.configId === s.baseline.configId) lines.push('Default is the best configuration measured.');
  else show(provisional ? 'Default           ' : 'Default', s.baseline);
  if (!s.baseline) lines.push('Default: not measured successfully.');
  if (confirmed) lines.push(verdictLine(s, exp.objective) ?? '');
  else if (s.ratio !== undefined && s.best?.configId !== s.baseline?.configId) {
    const n = (r: StudySummary['best']) => r?.summary?.[m]?.n ?? 0;
    lines.push(
      `Best is ${s.ratio.toFixed(3)}× the default (${exp.objective.direction === 'maximize' ? 'higher' : 'lower'} ${m} is better)` +
        (provisional ? `: provisional, from the exploration (n=${n(s.best)} against n=${n(s.baseline)}; the best of ${s.done} noisy configurations is partly the best by luck).` : '.'),
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * What resolving the configurations' Kconfig symbols found, said as it happens: each duplicate,
 * each symbol the tree does not declare and each base symbol it drops (once each), and a resolver
 * that cannot run here (once).
 */
export function watchResolution(study: Study, say: (line: string) => void): void {
  const said = new Set<string>();
  const once = (key: string, line: string): void => {
    if (said.has(key)) return;
    said.add(key);
    say(line);
  };
  study.on('config-resolved', (r) => {
    const k = r.resolution;
    if (!k) return;
    for (const s of k.unknown) once(`unknown ${s}`, `wayfinder: kconfig: ${s} is requested but the tree declares no such symbol: the request has no effect`);
    if (k.baseUnknown.length > 0) once('base', `wayfinder: kconfig: the base configuration sets symbols the tree does not declare (dropped): ${k.baseUnknown.join(' ')}`);
    for (const o of k.overridden) once(`over ${o.symbol}=${o.requested}`, `wayfinder: kconfig: ${o.symbol} requested ${o.requested}, resolved to ${o.effective} (its dependencies decide)`);
  });
  study.on('config-duplicate', (d, of) => {
    say(`  ${d.configId.slice(0, 8)} resolves to the effective configuration of ${of.configId.slice(0, 8)}: a duplicate, not built or measured again`);
  });
  study.on('resolution-failed', (_r, error) => once('failed', `wayfinder: warning: cannot resolve Kconfig here before building (${error}); each build resolves its own, and one that resolves like a configuration already measured is built but not measured again`));
}

/** "12.3 s", "-0.4 s". */
function fmtSeconds(x: number): string {
  return `${x.toFixed(Math.abs(x) < 10 ? 2 : 1)} s`;
}
