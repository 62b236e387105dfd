// The client commands: submit, status, results, cancel and logs, against a running daemon. They
// show what `wayfinder run` shows locally (progress lines, best against default).

import { resolve } from 'node:path';
import { DaemonClient } from '../daemon/client.js';
import type { ExperimentStatus } from '../daemon/manager.js';
import { formatEvent } from '../daemon/manager.js';
import type { SubmitOptions } from '../daemon/submissions.js';
import { loadExperiment } from '../spec/index.js';
import { positiveInt, UsageError } from './errors.js';
import { explorationFlags } from './exploration-flags.js';
import { fmtDuration, fmtNum, table } from '../util/format.js';
import { Progress } from './progress.js';
import { renderResults } from '../report/results-table.js';
import { describeSummary, driftWarning } from './run.js';
import type { DriftCheck } from '../study/drift.js';
import { confirmPairs } from './confirm.js';
import { fmtP } from '../study/confirm.js';

export interface ClientOptions {
  server?: string;
  tokenFile?: string;
}

export interface SubmitCliOptions extends ClientOptions {
  wait?: boolean;
  budget?: string;
  parallel?: string;
  strategy?: string;
  seed?: string;
  priority?: string;
  pool?: string;
  /** `--confirm N` (most interleaved pairs) or `--no-confirm` (false). */
  confirm?: string | boolean;
  driftEvery?: string;
  /** `--no-early-stop` (false). */
  earlyStop?: boolean;
  /** `--no-fidelity` (false). */
  fidelity?: boolean;
  json?: boolean;
  quiet?: boolean;
}

const client = (o: ClientOptions): DaemonClient => new DaemonClient(o.server, o.tokenFile);
const FINISHED = ['done', 'cancelled', 'failed'];

export async function submitCommand(file: string, o: SubmitCliOptions): Promise<number> {
  // Checked here first: a bad file is reported with its location before anything is sent.
  const exp = loadExperiment(file);
  const options: SubmitOptions = {};
  Object.assign(options, explorationFlags(o));
  if (o.priority !== undefined) {
    if (!/^-?\d+$/.test(o.priority.trim())) throw new UsageError(`--priority: expected a whole number, got "${o.priority}"`);
    options.priority = Number(o.priority);
  }
  if (o.pool !== undefined) options.pool = o.pool;
  const pairs = confirmPairs(o.confirm);
  if (pairs === undefined) options.confirm = false;
  else if (o.confirm !== undefined && o.confirm !== true) options.confirm = pairs;
  if (o.driftEvery !== undefined) options.driftEvery = positiveInt(o.driftEvery, '--drift-every');
  if (o.earlyStop === false) options.earlyStop = false;
  if (o.fidelity === false) options.fidelity = false;
  const c = client(o);
  const r = await c.submit(exp.text, resolve(file), options);
  const err = process.stderr;
  if (!o.json && !o.quiet) err.write(`wayfinder: ${r.existing ? 'already submitted' : 'submitted'} ${r.id} (${r.state})\n`);
  if (!o.wait) {
    if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else process.stdout.write(`${r.id}\n`);
    return 0;
  }
  // From the event that queued it: every line of this round, however busy the machine.
  return waitFor(c, r.id, Math.max(0, r.firstEvent - 1), o);
}

/** Follow an experiment to its end, drawing the same progress as `run`, then print its summary. */
async function waitFor(c: DaemonClient, id: string, since: number, o: SubmitCliOptions): Promise<number> {
  let state = '';
  const quiet = o.json === true || o.quiet === true;
  // As `run` says them: the confirmation's progress, and a warning when the default drifted.
  const confirmLine = (e: { type: string; data: Record<string, unknown> }): void => {
    const d = e.data;
    const n = (v: unknown): string => (v === null || v === undefined ? 'failed' : fmtNum(v as number));
    if (e.type === 'confirming') {
      progress?.end();
      process.stderr.write(`\nConfirming: the best (${String(d.best).slice(0, 12)}) and the default measured again, interleaved, ${String(d.start)} to ${String(d.cap)} pairs (stops once the rank test is decisive)\n`);
    } else if (e.type === 'confirm-pair') process.stderr.write(`  pair ${String(d.pair)}/${String(d.cap)}: best ${n(d.best)} · default ${n(d.default)} (${String(d.metric)})\n`);
    else if (d.drifted === true) process.stderr.write(`${driftWarning(d as unknown as DriftCheck, String(d.metric))}\n`);
  };
  let progress: Progress | undefined;
  const early: ExperimentStatus['summary']['best'][] = [];
  const stream = await c.follow(id, since, (e) => {
    if (e.type === 'config-finished') {
      const row = e.data.row as NonNullable<ExperimentStatus['summary']['best']>;
      if (progress) progress.finished(row);
      else early.push(row);
    } else if (e.type === 'job-finished' || e.type === 'job-failed') {
      // Runs measured again (confirmation, drift checks) are not the exploration's progress.
      if (!e.data.extra) progress?.tick();
    } else if ((e.type === 'confirming' || e.type === 'confirm-pair' || e.type === 'drift') && progress && !quiet) confirmLine(e);
    else if (e.type === 'state') {
      state = String(e.data.state);
      return FINISHED.includes(state);
    }
    return false;
  });
  // Subscribed first (with the events since it was queued), then read: nothing is missed. Until
  // the rows are read, finished configurations wait in `early`, so that none is counted both ways.
  const st = await c.status(id);
  const rows = await c.configurations(id);
  const p = new Progress(st.total, st.objective, process.stderr, o.json === true || o.quiet === true);
  p.preload(rows);
  const seen = new Set(rows.filter((r) => r.status === 'done' || r.status === 'failed').map((r) => r.configId));
  for (const r of early) if (r && !seen.has(r.configId)) p.finished(r);
  progress = p;
  if (!FINISHED.includes(st.state)) await stream.ended;
  else stream.close();
  progress.end();
  const final = await c.status(id);
  if (o.json) process.stdout.write(`${JSON.stringify(final, null, 2)}\n`);
  else process.stdout.write(`${describeSummary(final, final.summary, { verdict: true })}${final.state !== 'done' ? `Experiment ${final.state}${final.error ? `: ${final.error}` : ''}.\n` : ''}`);
  if (final.state === 'failed') return 1;
  return final.summary.done === 0 ? 1 : 0;
}

/** The status list's "vs default": the confirmed verdict when stored, else the exploration's ratio, marked provisional. */
function vsDefault(s: ExperimentStatus['summary']): string {
  const c = s.comparison;
  if (c) return c.significant ? `${c.ratio !== undefined ? `${c.ratio.toFixed(2)}× ` : ''}confirmed (${fmtP(c.pValue)})` : 'no significant difference';
  return s.ratio !== undefined ? `${s.ratio.toFixed(3)}× provisional` : '-';
}

export async function statusCommand(ref: string | undefined, o: ClientOptions & { json?: boolean }): Promise<number> {
  const c = client(o);
  if (ref === undefined) {
    const { experiments } = await c.list();
    if (o.json) {
      process.stdout.write(`${JSON.stringify(experiments, null, 2)}\n`);
      return 0;
    }
    if (experiments.length === 0) {
      process.stdout.write('no experiments submitted\n');
      return 0;
    }
    const head = ['experiment', 'state', 'pool', 'priority', 'progress', 'failed', 'stopped', 'best', 'vs default'];
    const body = experiments.map((s) => [
      s.id,
      s.state,
      s.pool,
      String(s.priority),
      `${s.summary.done + s.summary.failed + s.summary.stopped}/${s.total}`,
      String(s.summary.failed),
      String(s.summary.stopped),
      s.summary.best ? `${s.objective.metric}=${fmtNum(s.summary.best.objective)}` : '-',
      vsDefault(s.summary),
    ]);
    process.stdout.write(`${table([head, ...body])}\n`);
    return 0;
  }
  const s = await c.status(ref);
  if (o.json) {
    process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
    return 0;
  }
  const since = s.startedAt ? `, for ${fmtDuration((s.finishedAt ?? Date.now()) - s.startedAt)}` : '';
  process.stdout.write(
    `${s.id} (${s.name}): ${s.state}${since}${s.error ? `: ${s.error}` : ''}\n` +
      `  pool ${s.pool}, priority ${s.priority}, ${s.strategy} search; ${s.summary.done + s.summary.failed + s.summary.stopped}/${s.total} configurations measured, ${s.summary.running} in flight` +
      describeSummary(s, s.summary, { verdict: true }),
  );
  return 0;
}

export async function remoteResultsCommand(ref: string | undefined, o: ClientOptions & { format?: string }): Promise<number> {
  const format = o.format ?? 'table';
  if (!['table', 'csv', 'json'].includes(format)) throw new UsageError(`--format: expected table, csv or json, got "${format}"`);
  if (ref === undefined) throw new UsageError('results --server: name the experiment (see `wayfinder status`)');
  const c = client(o);
  if (format === 'table') {
    const s = await c.status(ref);
    const rows = await c.configurations(s.id);
    process.stdout.write(renderResults({ id: s.id, name: s.name }, rows, 'table', { objective: s.objective, against: s.summary }));
  } else {
    process.stdout.write(await c.results(ref, format as 'csv' | 'json'));
  }
  return 0;
}

export async function cancelCommand(ref: string, o: ClientOptions): Promise<number> {
  const r = await client(o).cancel(ref);
  process.stdout.write(`${r.id}: ${r.state}\n`);
  return 0;
}

export async function logsCommand(ref: string, o: ClientOptions & { follow?: boolean }): Promise<number> {
  const c = client(o);
  if (!o.follow) {
    process.stdout.write(await c.logs(ref));
    return 0;
  }
  const s = await c.status(ref);
  if (FINISHED.includes(s.state)) {
    process.stdout.write(await c.logs(s.id));
    return 0;
  }
  // The whole log, then live events, in one stream: no line falls between reading and following.
  // An earlier round's end (an experiment queued again) is a line like any other.
  const stream = await c.follow(s.id, 0, (e) => {
    process.stdout.write(`${formatEvent(e)}\n`);
    return e.type === 'state' && FINISHED.includes(String(e.data.state)) && e.id >= s.firstEvent;
  });
  await stream.ended;
  return 0;
}

/** A one-time link that opens the experiment's report in a browser. */
export async function linkCommand(ref: string, o: ClientOptions): Promise<number> {
  const l = await client(o).reportLink(ref);
  process.stdout.write(`${l.url}\n`);
  process.stderr.write(`wayfinder: the link opens ${l.id}'s report once, until ${new Date(l.expiresAt).toISOString()}; that browser may then reload it for 12 hours\n`);
  return 0;
}
