// `wayfinder learn`: which configuration for which workload, from an experiment in the results
// database or a recorded table; writes the policy (policy.json) and its C header on request.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Store } from '../store/store.js';
import { databasePath } from '../workdir.js';
import type { WorkloadData } from '../policy/data.js';
import { learn } from '../policy/learn.js';
import { workloadFromExperiment, workloadFromTable } from '../policy/sources.js';
import { learnText } from '../policy/text.js';
import { driftText, joinOnline, type OnlineJoin } from '../policy/online.js';
import { policyHeader } from '../policy/c-export.js';
import type { Config } from '../types.js';
import { UsageError, positiveInt } from './errors.js';

export interface LearnCommandOptions {
  workdir: string;
  table?: string;
  objective?: string;
  minimize?: boolean;
  failure?: string;
  workload?: string;
  params?: string;
  maxDepth?: string;
  tolerance?: string;
  fallback?: string;
  out?: string;
  c?: string;
  cPrefix?: string;
  json?: boolean;
  /** true: every fitting controller session; or a list of session ids. */
  online?: boolean | string;
}

function names(text: string | undefined, flag: string): string[] | undefined {
  if (text === undefined) return undefined;
  const list = text.split(',').map((s) => s.trim());
  if (list.some((s) => s === '')) throw new UsageError(`${flag}: empty name in "${text}"`);
  const dup = list.find((s, i) => list.indexOf(s) !== i);
  if (dup) throw new UsageError(`${flag}: "${dup}" named twice`);
  return list;
}

/** "5%" or "0.05" as a share. */
function share(text: string, flag: string): number {
  const t = text.trim();
  const v = t.endsWith('%') ? Number(t.slice(0, -1)) / 100 : Number(t);
  if (t === '' || t === '%' || !Number.isFinite(v) || v < 0) throw new UsageError(`${flag}: expected a share such as 1% or 0.01, got "${text}"`);
  return v;
}

/** --fallback K=V,...: a value for every knob, typed as that knob's measured values. */
function fallbackConfig(text: string, d: WorkloadData): Config {
  const c: Config = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (eq < 1 || v === '') throw new UsageError(`--fallback: expected KNOB=VALUE pairs separated by commas, got "${part}"`);
    const knob = d.knobs.find((x) => x.name === k);
    if (!knob) throw new UsageError(`--fallback: "${k}" is not a knob (knobs: ${d.knobs.map((x) => x.name).join(', ')})`);
    const known = knob.values.find((x) => String(x) === v);
    if (known !== undefined) c[k] = known;
    else if (knob.values.every((x) => typeof x === 'number') && Number.isFinite(Number(v))) c[k] = Number(v);
    else if (knob.values.every((x) => typeof x === 'string')) c[k] = v;
    else throw new UsageError(`--fallback: ${k}=${v} is not a value of ${k} (measured: ${knob.values.map(String).join(', ')})`);
  }
  const missing = d.knobs.filter((k) => !(k.name in c));
  if (missing.length) throw new UsageError(`--fallback: give every knob a value; missing ${missing.map((k) => k.name).join(', ')}`);
  return c;
}

export function learnCommand(ref: string | undefined, o: LearnCommandOptions): number {
  const maxDepth = positiveInt(o.maxDepth ?? '4', '--max-depth');
  const tolerance = share(o.tolerance ?? '1%', '--tolerance');
  const workload = names(o.workload, '--workload');
  const knobs = names(o.params, '--params');
  let data: WorkloadData;
  if (o.table !== undefined) {
    if (ref !== undefined) throw new UsageError(`learn reads either an experiment ("${ref}") or --table, not both`);
    if (!o.objective) throw new UsageError('--objective: with --table, name the column that holds the measured objective');
    if (!workload) throw new UsageError('--workload: with --table, name the workload columns (e.g. --workload connections,loss)');
    let failure: number | undefined;
    if (o.failure !== undefined) {
      failure = Number(o.failure);
      if (o.failure.trim() === '' || !Number.isFinite(failure)) throw new UsageError(`--failure: expected a number, got "${o.failure}"`);
    }
    let csv: string;
    try {
      csv = readFileSync(o.table, 'utf8');
    } catch (e) {
      throw new UsageError(`--table: cannot read ${o.table}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    data = workloadFromTable({
      csv,
      file: o.table,
      objective: o.objective,
      ...(o.minimize ? { minimize: true } : {}),
      ...(failure !== undefined ? { failure } : {}),
      ...(knobs ? { knobs } : {}),
      workload,
    });
  } else {
    for (const [flag, given] of [['--objective', o.objective], ['--minimize', o.minimize], ['--failure', o.failure]] as const) {
      if (given !== undefined) throw new UsageError(`${flag}: only with --table (an experiment's objective is its own)`);
    }
    const dbPath = databasePath(resolve(o.workdir));
    if (!existsSync(dbPath)) throw new UsageError(`no results in ${resolve(o.workdir)} (no wayfinder.db): run an experiment there first, pass --workdir, or learn from --table`);
    const store = new Store(dbPath);
    try {
      const exps = store.listExperiments();
      const exp = ref ? store.findExperiment(ref) : exps[exps.length - 1];
      if (!exp) throw new UsageError(ref ? `no experiment "${ref}" in ${o.workdir} (known: ${exps.map((e) => e.id).join(', ') || 'none'})` : `no experiments in ${o.workdir}`);
      data = workloadFromExperiment(store, exp, { ...(knobs ? { knobs } : {}), ...(workload ? { workload } : {}) });
    } finally {
      store.close();
    }
  }
  let online: OnlineJoin | undefined;
  if (o.online !== undefined && o.online !== false) {
    let sessions: number[] | undefined;
    if (typeof o.online === 'string' && o.online !== 'all') {
      sessions = o.online.split(',').map((x) => {
        const n = Number(x.trim());
        if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--online: expected "all" or controller session ids such as 1,3, got "${o.online}"`);
        return n;
      });
    }
    const dbPath = databasePath(resolve(o.workdir));
    if (!existsSync(dbPath)) throw new UsageError(`--online: no results database in ${resolve(o.workdir)}: run wayfinder control with this --workdir first`);
    const store = new Store(dbPath);
    try {
      online = joinOnline(store, data, sessions ? { sessions } : {});
    } finally {
      store.close();
    }
    data = online.data;
    for (const d of online.drift) process.stderr.write(`warning: ${driftText(d, data.objective)}\n`);
  }
  const fallback = o.fallback !== undefined && o.fallback !== 'static' ? fallbackConfig(o.fallback, data) : undefined;
  const result = learn(data, { maxDepth, tolerance, ...(fallback ? { fallback } : {}) });
  const header = o.c !== undefined ? policyHeader(result.policy, o.cPrefix !== undefined ? { prefix: o.cPrefix } : {}) : undefined;
  if (o.out !== undefined) writeFileSync(o.out, `${JSON.stringify(result.policy, null, 2)}\n`);
  if (o.c !== undefined) writeFileSync(o.c, header!);
  if (o.json) process.stdout.write(`${JSON.stringify(online ? { ...result, online: { sessions: online.sessions, observations: online.observations, drift: online.drift } } : result, null, 2)}\n`);
  else {
    const written = [o.out !== undefined ? `policy written to ${o.out}` : '', o.c !== undefined ? `C header written to ${o.c}` : ''].filter(Boolean);
    process.stdout.write(`${learnText(result, { tolerance })}\n${written.length ? `\n${written.join('; ')}\n` : ''}`);
  }
  return 0;
}
