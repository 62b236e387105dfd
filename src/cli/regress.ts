// `wayfinder regress FILE`: measure fixed configurations (the default by default) and compare them
// with a baseline, for CI: exit 0 no regression, 1 regression, 2 usage or input error,
// 3 inconclusive (or 0/1 with --inconclusive pass|fail).

import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { configChecksum } from '../generator/index.js';
import { loadExperiment } from '../spec/index.js';
import { Store } from '../store/store.js';
import { experimentId } from '../study/identity.js';
import type { Study } from '../study/study.js';
import { baselineFromStore, loadBaseline, type Measurement } from '../regress/baseline.js';
import { chooseConfigs, ConfigChoiceError } from '../regress/configs.js';
import { renderJunit } from '../regress/junit.js';
import { renderMarkdown } from '../regress/markdown.js';
import { moreIterations, pooled } from '../regress/extend.js';
import { measure, regressExperiment } from '../regress/measure.js';
import { comparedAnything, compareMeasurements, INCONCLUSIVE_POLICIES, type ExtraMetrics, type InconclusivePolicy, type RegressReport } from '../regress/report.js';
import { producedNames, produces } from '../metrics/registry.js';
import { didYouMean } from '../spec/suggest.js';
import type { Experiment } from '../types.js';
import { renderText } from '../regress/terminal.js';
import { summarize } from '../metrics/stats.js';
import { UsageError, positiveInt } from './errors.js';
import { fmtNum, table } from '../util/format.js';
import { trapInterrupts } from './interrupt.js';
import { MeasurementSession } from '../session/session.js';
import { Progress } from './progress.js';
import { parseCpus } from './run.js';
import { hostname } from 'node:os';
import { databasePath } from '../workdir.js';

export interface RegressOptions {
  workdir: string;
  redis?: string;
  cpus?: string;
  configs?: string;
  iterations?: string;
  maxIterations?: string;
  warmup?: string;
  baseline?: string;
  threshold?: string;
  confidence?: string;
  saveBaseline?: string;
  junit?: string;
  markdown?: string;
  inconclusive?: string;
  seed?: string;
  metrics?: string;
  json?: boolean;
  quiet?: boolean;
  dockerSocket?: string;
}

/** "5%", "5" (percent) or "0.5%"; 0 allowed (any worsening counts). */
export function parseThreshold(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  const v = m ? Number(m[1]) / 100 : NaN;
  if (!(v >= 0 && v < 10)) throw new UsageError(`--threshold: expected a percentage such as 5%, got "${text}"`);
  return v;
}

export function parseConfidence(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text);
  const v = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!(v >= 0.5 && v < 1)) throw new UsageError(`--confidence: expected a level between 0.5 and 1 (such as 0.95 or 95%), got "${text}"`);
  return v;
}

/** --metrics: metrics judged besides the objective, each one the experiment's metrics can produce; or "all". */
export function parseMetrics(text: string | undefined, exp: Pick<Experiment, 'metrics'>): ExtraMetrics | undefined {
  if (text === undefined) return undefined;
  const names = text.split(',').map((m) => m.trim()).filter((m) => m !== '');
  if (names.length === 0) throw new UsageError('--metrics: expected metric names, comma-separated, or "all"');
  if (names.length === 1 && names[0] === 'all') return 'all';
  for (const n of names) {
    if (!exp.metrics.some((m) => produces(m, n))) {
      const known = exp.metrics.flatMap((m) => producedNames(m).exact);
      throw new UsageError(`--metrics: no metrics entry produces "${n}"${didYouMean(n, known)}`);
    }
  }
  return names;
}

function parsePolicy(text: string): InconclusivePolicy {
  if (!(INCONCLUSIVE_POLICIES as readonly string[]).includes(text)) {
    throw new UsageError(`--inconclusive: expected exit3 (exit status 3), pass or fail, got "${text}"`);
  }
  return text as InconclusivePolicy;
}

/** An output file's directory must exist before anything is measured. */
function checkOutput(path: string | undefined, flag: string): void {
  if (path === undefined) return;
  if (path.trim() === '') throw new UsageError(`${flag}: expected a file name`);
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${flag}: directory ${dir} does not exist`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`${flag}: ${path} is a directory`);
}

function withStore<T>(workdir: string, fn: (s: Store | undefined) => T): T {
  const db = databasePath(resolve(workdir));
  if (!existsSync(db)) return fn(undefined);
  const store = new Store(db);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

export async function regressCommand(file: string, o: RegressOptions): Promise<number> {
  const exp0 = loadExperiment(file);
  const threshold = parseThreshold(o.threshold ?? '5%');
  const confidence = parseConfidence(o.confidence ?? '0.95');
  const inconclusive = parsePolicy(o.inconclusive ?? 'exit3');
  const iterations = o.iterations !== undefined ? positiveInt(o.iterations, '--iterations', 2) : Math.max(10, ...exp0.tests.map((t) => t.iterations));
  const maxIterations = o.maxIterations !== undefined ? positiveInt(o.maxIterations, '--max-iterations', 2) : 3 * iterations;
  if (maxIterations < iterations) throw new UsageError(`--max-iterations: ${maxIterations} is fewer than the ${iterations} iterations measured first`);
  const warmup = o.warmup !== undefined ? positiveInt(o.warmup, '--warmup', 0) : 1;
  const seed = o.seed !== undefined ? positiveInt(o.seed, '--seed', 0) : 1;
  const cpus = o.cpus !== undefined ? parseCpus(o.cpus) : undefined;
  const metrics = parseMetrics(o.metrics, exp0);
  checkOutput(o.saveBaseline, '--save-baseline');
  checkOutput(o.junit, '--junit');
  checkOutput(o.markdown, '--markdown');

  // The baseline and the configurations are settled before anything runs: a mistake costs nothing.
  const { baseline, configs } = withStore(o.workdir, (store) => {
    let baseline: { m: Measurement; source: string } | undefined;
    if (o.baseline !== undefined) {
      if (existsSync(o.baseline) && statSync(o.baseline).isFile()) baseline = { m: loadBaseline(o.baseline), source: resolve(o.baseline) };
      else {
        const m = store ? baselineFromStore(store, o.baseline) : undefined;
        if (!m) throw new UsageError(`--baseline: "${o.baseline}" is neither a baseline file nor an experiment in ${resolve(o.workdir)}`);
        baseline = { m, source: `experiment ${m.experiment.id} in ${resolve(o.workdir)}` };
      }
    }
    try {
      const configs = chooseConfigs(o.configs ?? 'default', exp0, {
        explored: store ? store.configurations(experimentId(exp0)) : [],
        baseline: baseline?.m.configurations ?? [],
      });
      return { baseline, configs };
    } catch (e) {
      if (e instanceof ConfigChoiceError) throw new UsageError(e.message);
      throw e;
    }
  });

  const exp = regressExperiment(exp0, { iterations, warmup });
  const err = process.stderr;
  const quiet = o.quiet === true || o.json === true;
  if (!quiet) {
    err.write(`wayfinder regress: ${exp.name}: ${configs.length} configuration${configs.length === 1 ? '' : 's'}, ${iterations} iterations and ${Math.max(warmup, ...exp0.tests.map((t) => t.warmup))} warm-up each, one at a time\n`);
  }
  // Missing images, devices or networks, and host settings this user may not write, are found before anything runs.
  const session = await MeasurementSession.open({
    workdir: o.workdir,
    pool: exp.pool,
    experiment: exp,
    ...(quiet ? {} : { say: (line: string) => err.write(`${line}\n`) }),
    ...(o.redis ? { redis: o.redis } : {}),
    ...(cpus ? { cpus } : {}),
    ...(o.dockerSocket ? { dockerSocket: o.dockerSocket } : {}),
  });
  const ws = session.ws;
  let study: Study | undefined;
  const interrupts = trapInterrupts(err, `stopping; the runs measured so far stay in ${ws.workdir}.`, () => {
    study?.cancel();
    void ws.worker?.close(true);
  });
  let current: Measurement;
  let report: RegressReport | undefined;
  const compareOptions = { threshold, confidence, inconclusive, seed, ...(metrics ? { metrics } : {}) };
  try {
    const round = async (e: Experiment, which: typeof configs): Promise<Measurement> => {
      const progress = new Progress(which.length, e.objective, err, quiet);
      const m = await measure(session, e, which, {
        onStudy: (s) => {
          study = s;
          s.on('config-finished', (r) => progress.finished(r));
          s.on('run-finished', () => progress.tick());
        },
      });
      progress.end();
      return m;
    };
    current = await round(exp, configs);
    // Inconclusive: the undecided configurations are measured again and their samples pooled, until
    // the comparison settles or they have --max-iterations each. A noisy moment during the first
    // round (another job, a burst of interrupts) then costs time instead of a spurious exit 3.
    while (baseline && interrupts.count === 0) {
      report = compareMeasurements(baseline.m, baseline.source, current, compareOptions);
      const more = moreIterations(report, current, iterations, maxIterations);
      if (!more) break;
      if (!quiet) err.write(`inconclusive: measuring ${more.configs.length === 1 ? 'it' : `${more.configs.length} configurations`} ${more.iterations} more times (up to --max-iterations ${maxIterations})\n`);
      const again = configs.filter((c) => more.configs.includes(configChecksum(exp.params, c)));
      current = pooled(current, await round(regressExperiment(exp0, { iterations: more.iterations, warmup }), again));
    }
  } finally {
    interrupts.release();
    await session.close({ interrupted: interrupts.count > 0 });
  }
  if (interrupts.count > 0) return 130;

  if (o.saveBaseline) {
    writeFileSync(o.saveBaseline, `${JSON.stringify(current, null, 1)}\n`);
    if (!quiet) err.write(`baseline saved to ${o.saveBaseline} (measurement ${current.experiment.id})\n`);
  }
  if (!baseline) {
    if (!quiet && (o.junit || o.markdown)) err.write('wayfinder: no --baseline, so no comparison: --junit and --markdown are not written\n');
    if (o.json) process.stdout.write(`${JSON.stringify({ measurement: current }, null, 2)}\n`);
    else process.stdout.write(describeMeasurement(current));
    return current.configurations.some((c) => c.failure) ? 1 : 0;
  }

  // The loop above compared the final measurement already, unless it was never entered.
  report ??= compareMeasurements(baseline.m, baseline.source, current, compareOptions);
  if (!comparedAnything(report)) {
    throw new UsageError(
      `--baseline: nothing to compare: the baseline (${baseline.source}) has none of the measured configurations' metrics` +
        `${report.warnings.length ? ` (${report.warnings.join('; ')})` : ''}; the measurement is kept as ${current.experiment.id}`,
    );
  }
  if (o.junit) writeFileSync(o.junit, renderJunit(report, { hostname: hostname() }));
  if (o.markdown) writeFileSync(o.markdown, renderMarkdown(report));
  if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(renderText(report));
  return report.exitStatus;
}

/** Without a baseline: what was measured, per configuration and metric. */
function describeMeasurement(m: Measurement): string {
  const rows = [['configuration', 'metric', 'median', '95% CI', 'n', 'CV']];
  for (const c of m.configurations) {
    const label = `${c.configId.slice(0, 12)}${c.isDefault ? ' (default)' : ''}`;
    if (c.failure) rows.push([label, '-', `FAILED: ${c.failure.slice(0, 160)}`, '', '', '']);
    for (const [name, xs] of Object.entries(c.metrics)) {
      const s = summarize(xs);
      rows.push([label, name, fmtNum(s.median), `${fmtNum(s.ci[0])} – ${fmtNum(s.ci[1])}`, String(s.n), `${(s.cv * 100).toFixed(1)}%`]);
    }
  }
  return `${table(rows)}\n\nMeasured as ${m.experiment.id}; no --baseline given, so nothing was compared.\n`;
}
