// `wayfinder experiments`: the experiments of a work directory, the last run last: what each is,
// how far it got and its best objective.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseExperiment } from '../spec/index.js';
import { Store } from '../store/store.js';
import { rankConfigs } from '../study/summary.js';
import { countOutcomes } from '../store/results-store.js';
import type { Objective } from '../types.js';
import { fitTable } from '../util/fit-table.js';
import { fmtNum } from '../util/format.js';
import { databasePath } from '../workdir.js';
import { UsageError } from './errors.js';
import { experimentKind } from './pick-experiment.js';

export interface ExperimentsOptions {
  workdir: string;
  json?: boolean;
}

interface Listed {
  id: string;
  name: string;
  kind: 'exploration' | 'regress';
  state: string;
  strategy: string;
  configurations: number;
  done: number;
  failed: number;
  /** Stopped early (below the best), not counted in failed. */
  stopped: number;
  objective: Objective | null;
  best: { configId: string; value: number } | null;
  started: string;
  updated: string;
  error?: string;
}

/** "00:12" today, else "12-05 00:12" (with the year when it is not this one), in local time. */
function when(ms: number): string {
  const d = new Date(ms);
  const now = new Date();
  const p = (n: number): string => String(n).padStart(2, '0');
  const time = `${p(d.getHours())}:${p(d.getMinutes())}`;
  if (d.toDateString() === now.toDateString()) return time;
  const year = d.getFullYear() === now.getFullYear() ? '' : `${d.getFullYear()}-`;
  return `${year}${p(d.getMonth() + 1)}-${p(d.getDate())} ${time}`;
}

export function experimentsCommand(o: ExperimentsOptions): number {
  const dbPath = databasePath(resolve(o.workdir));
  if (!existsSync(dbPath)) throw new UsageError(`no results in ${resolve(o.workdir)} (no wayfinder.db): run an experiment there first, or pass --workdir`);
  const store = new Store(dbPath);
  let listed: Listed[];
  try {
    listed = store.listExperiments().sort((a, b) => a.updatedAt - b.updatedAt).map((e) => {
      const rows = store.configurations(e.id);
      let objective: Objective | null = null;
      try {
        objective = parseExperiment(e.text, e.file).objective;
      } catch {
        // A file whose scripts moved since: its experiment is still listed, without a best.
      }
      const best = objective ? rankConfigs(rows, objective)[0] : undefined;
      const counts = countOutcomes(rows);
      return {
        id: e.id,
        name: e.name,
        kind: experimentKind(e),
        state: e.state,
        strategy: e.strategy,
        configurations: rows.length,
        done: counts.done,
        failed: counts.failed,
        stopped: counts.stopped,
        objective,
        best: best?.objective !== undefined ? { configId: best.configId, value: best.objective } : null,
        started: new Date(e.createdAt).toISOString(),
        updated: new Date(e.updatedAt).toISOString(),
        ...(e.error ? { error: e.error } : {}),
      };
    });
  } finally {
    store.close();
  }
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ experiments: listed }, null, 2)}\n`);
    return 0;
  }
  if (listed.length === 0) {
    process.stdout.write(`no experiments in ${o.workdir}\n`);
    return 0;
  }
  // One objective for all (the usual case) is said once, above the table.
  const objectiveText = (e: Listed): string => (e.objective ? `${e.objective.direction === 'maximize' ? 'max' : 'min'} ${e.objective.metric}` : '');
  const shared = listed.every((e) => objectiveText(e) === objectiveText(listed[0] as Listed)) ? objectiveText(listed[0] as Listed) : undefined;
  const body = listed.map((e) => [
    e.id,
    e.kind === 'regress' ? 'regress' : e.strategy,
    e.state,
    `${e.done}`,
    `${e.failed}`,
    `${e.stopped}`,
    e.best ? fmtNum(e.best.value) : '',
    ...(shared === undefined ? [objectiveText(e)] : []),
    when(Date.parse(e.updated)),
  ]);
  const table = fitTable(
    [
      { header: 'experiment' },
      { header: 'kind' },
      { header: 'state' },
      { header: 'done', align: 'right' },
      { header: 'failed', align: 'right' },
      { header: 'stopped', align: 'right' },
      { header: 'best', align: 'right' },
      ...(shared === undefined ? [{ header: 'objective', shrink: true }] : []),
      { header: 'last run' },
    ],
    body,
    process.stdout.columns || 100,
  );
  const last = [...listed].reverse().find((e) => e.kind === 'exploration');
  process.stdout.write(`${shared ? `objective: ${shared}\n` : ''}${table}\n${last ? `\`wayfinder results\` and \`report\` without an argument take ${last.id}\n` : ''}`);
  return 0;
}
