// `wayfinder run FILE`: explore an experiment's space on this host, from start or from where a
// previous run in the same work directory stopped.

import { loadExperiment } from '../spec/index.js';
import type { Study } from '../study/study.js';
import { MeasurementSession } from '../session/session.js';
import { summarizeStudy, type StudySummary } from '../study/summary.js';
import { withExploration } from '../spec/exploration.js';
import type { Experiment } from '../types.js';
import { parseCpuList } from '../util/cpulist.js';
import { fmtConfig, fmtNum } from '../util/format.js';
import { trapInterrupts } from './interrupt.js';
import { Progress } from './progress.js';
import { UsageError } from './errors.js';
import { readJobKey } from '../queue/signing.js';
import { explorationFlags } from './exploration-flags.js';

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
  jobKey?: string;
}

export async function runCommand(file: string, o: RunOptions): Promise<number> {
  const exp = withExploration(loadExperiment(file), explorationFlags(o));
  const cpus = o.cpus !== undefined ? parseCpus(o.cpus) : undefined;
  const err = process.stderr;
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
  const interrupts = trapInterrupts(err, 'stopping; running jobs are ended and re-run when you start again. Results so far are kept.', () => {
    study?.cancel();
    void ws.worker?.close(true);
  });
  try {
    const m = await session.begin(exp);
    study = m.study;
    end = m.end;
    const budget = exp.exploration.budget;
    const total = Number(budget !== undefined && BigInt(budget) < study.space.size ? BigInt(budget) : study.space.size);
    if (!o.json && !o.quiet) {
      err.write(
        `wayfinder: ${exp.name}: ${study.space.size} configurations, ${exp.exploration.strategy} search` +
          `${budget !== undefined ? `, budget ${budget}` : ''}, ${exp.exploration.parallel} in parallel\n` +
          `  work directory ${ws.workdir} (experiment ${study.id}); queue on ${ws.redis.describe}\n`,
      );
    }
    const progress = new Progress(total, exp.objective, err, o.json === true || o.quiet === true);
    progress.preload(ws.store.configurations(study.id));
    study.on('config-finished', (r) => progress.finished(r));
    study.on('run-finished', () => progress.tick());
    ws.log.info({ experiment: study.id, file: exp.file }, 'run started');
    await study.run();
    progress.end();
    const summary = summarizeStudy(ws.store, study.id, exp.objective);
    ws.log.info({ experiment: study.id, summary: { done: summary.done, failed: summary.failed } }, 'run finished');
    if (o.json) process.stdout.write(`${JSON.stringify(summaryJson(study.id, exp, summary), null, 2)}\n`);
    else process.stdout.write(describeSummary(exp, summary));
    if (interrupts.count > 0) return 130;
    return summary.done === 0 ? 1 : 0;
  } finally {
    interrupts.release();
    try {
      await end?.();
    } finally {
      await session.close({ interrupted: interrupts.count > 0 });
    }
  }
}

export function parseCpus(text: string): number[] {
  try {
    const cpus = parseCpuList(text);
    if (cpus.length === 0) throw new Error('empty');
    return cpus;
  } catch {
    throw new UsageError(`--cpus: not a CPU list: "${text}" (for example 0-3,8)`);
  }
}

export function summaryJson(id: string, exp: Experiment, s: StudySummary): unknown {
  const pick = (r: StudySummary['best']) =>
    r && { configId: r.configId, params: r.params, objective: r.objective, ci: r.summary?.[exp.objective.metric]?.ci, cv: r.summary?.[exp.objective.metric]?.cv };
  return {
    experiment: id,
    objective: exp.objective,
    configurations: s.total,
    done: s.done,
    failed: s.failed,
    best: pick(s.best) ?? null,
    default: pick(s.baseline) ?? null,
    ratio: s.ratio ?? null,
  };
}

export function describeSummary(exp: Pick<Experiment, 'objective'>, s: StudySummary): string {
  const m = exp.objective.metric;
  const lines: string[] = [];
  lines.push(`\n${s.done + s.failed} configurations measured: ${s.done} ok, ${s.failed} failed.`);
  if (s.highCv > 0) lines.push(`Warning: ${s.highCv} configuration(s) had a coefficient of variation above 5% in ${m}; consider more iterations or stricter isolation.`);
  const show = (label: string, r: StudySummary['best']): void => {
    if (!r) return;
    const sm = r.summary?.[m];
    // Too few runs for a distribution-free interval of the median: the interval is the mean's, and says so.
    const of = sm?.ciMethod === 'student-t' ? `mean ${fmtNum(sm.mean)}, its ` : '';
    const ci = sm ? ` (${of}95% CI ${fmtNum(sm.ci[0])} – ${fmtNum(sm.ci[1])}, n=${sm.n}, CV ${(sm.cv * 100).toFixed(1)}%)` : '';
    lines.push(`${label} ${r.configId.slice(0, 12)}: ${m} = ${fmtNum(r.objective)}${ci}`);
    lines.push(`  ${fmtConfig(r.params)}`);
  };
  show('Best   ', s.best);
  if (s.best && s.baseline && s.best.configId === s.baseline.configId) lines.push('Default is the best configuration measured.');
  else show('Default', s.baseline);
  if (!s.baseline) lines.push('Default: not measured successfully.');
  if (s.ratio !== undefined) {
    lines.push(`Best is ${s.ratio.toFixed(3)}× the default (${exp.objective.direction === 'maximize' ? 'higher' : 'lower'} ${m} is better).`);
  }
  return `${lines.join('\n')}\n`;
}
