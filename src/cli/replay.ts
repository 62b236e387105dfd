// `wayfinder replay`: judge search strategies on a recorded table of measured configurations,
// without running a benchmark (see src/strategies/replay.ts).

import { readFileSync, writeFileSync } from 'node:fs';
import { runReplay } from '../strategies/replay.js';
import { loadIterationTable, replayEarlyStop } from '../strategies/replay-iterations.js';
import { isStrategyName, strategyNames } from '../strategies/registry.js';
import { UsageError, positiveInt } from './errors.js';

export interface ReplayOptions {
  table?: string;
  objective?: string;
  minimize?: boolean;
  failure?: string;
  params?: string;
  strategy?: string[];
  budget?: string[];
  seeds?: string;
  json?: boolean;
  plot?: string;
  /** `--samples METRIC --seconds METRIC`: replay early stopping on every iteration's values (src/strategies/replay-iterations.ts). */
  samples?: string;
  seconds?: string;
}

export function replayCommand(o: ReplayOptions): number {
  if (!o.table) throw new UsageError('--table: which recorded table to replay (a CSV file) is required');
  if (!o.objective) throw new UsageError('--objective: the column that holds the measured objective is required');
  let text: string;
  try {
    text = readFileSync(o.table, 'utf8');
  } catch (e) {
    throw new UsageError(`--table: cannot read ${o.table}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const strategies = o.strategy?.map((s) => {
    if (!isStrategyName(s)) throw new UsageError(`--strategy: unknown strategy "${s}" (known: ${strategyNames().join(', ')})`);
    return s;
  });
  const budgets = o.budget?.map((b) => positiveInt(b, '--budget'));
  let failure: number | undefined;
  if (o.failure !== undefined) {
    failure = Number(o.failure);
    if (o.failure.trim() === '' || !Number.isFinite(failure)) throw new UsageError(`--failure: expected a number, got "${o.failure}"`);
  }
  const params = o.params?.split(',').map((p) => p.trim());
  if (params?.some((p) => p === '')) throw new UsageError(`--params: empty column name in "${o.params}"`);

  if ((o.samples === undefined) !== (o.seconds === undefined)) throw new UsageError('--samples and --seconds go together: the metric of every iteration\'s value and of its benchmark-seconds');
  const early = o.samples !== undefined && o.seconds !== undefined
    ? replayEarlyStop(
        loadIterationTable(text, o.table, { objective: o.objective, ...(o.minimize ? { minimize: true } : {}), ...(params ? { params } : {}), sample: o.samples, seconds: o.seconds }),
        strategies ? [...new Set(strategies)] : strategyNames(),
        budgets ? [...new Set(budgets)].sort((a, b) => a - b) : [10, 20, 40, 100],
        o.seeds !== undefined ? positiveInt(o.seeds, '--seeds') : 30,
      )
    : undefined;
  // A line that rewrites itself, only where a person watches (stderr a terminal).
  const progress = process.stderr.isTTY ? progressLine(process.stderr) : undefined;
  const out = runReplay({
    file: o.table,
    csv: text,
    objective: o.objective,
    ...(o.minimize ? { minimize: true } : {}),
    ...(failure !== undefined ? { failure } : {}),
    ...(params ? { params } : {}),
    ...(strategies ? { strategies: [...new Set(strategies)] } : {}),
    ...(budgets ? { budgets: [...new Set(budgets)].sort((a, b) => a - b) } : {}),
    ...(o.seeds !== undefined ? { seeds: positiveInt(o.seeds, '--seeds') } : {}),
    ...(progress ? { onProgress: progress.update } : {}),
  });
  progress?.end();
  if (o.plot) writeFileSync(o.plot, out.svg);
  if (o.json) {
    const score = out.table.measure === 'score';
    const results = out.results.map((r) => ({
      strategy: r.strategy,
      budget: r.budget,
      // A ratio to the best only where every value is positive; otherwise the normalised score.
      measure: out.table.measure,
      ...(score ? { meanScore: r.meanRatio, stdScore: r.stdRatio } : { meanRatio: r.meanRatio, stdRatio: r.stdRatio }),
      shareBest: r.shareBest,
      share95: r.share95,
      // JSON has no Infinity: null when most runs did not reach 95% within the budget.
      medianEvalsTo95: Number.isFinite(r.medianEvalsTo95) ? r.medianEvalsTo95 : null,
    }));
    process.stdout.write(`${JSON.stringify({ results, ...(early ? { earlyStop: early.rows } : {}) }, null, 2)}\n`);
  } else {
    // Prose fitted to a terminal; piped, each line whole.
    const width = process.stdout.isTTY ? process.stdout.columns || 100 : Infinity;
    const text = early ? `${out.text}\n\n${early.text}` : out.text;
    process.stdout.write(`${text.split('\n').flatMap((l) => wrapLine(l, width)).join('\n')}\n${o.plot ? `\nbest-so-far plot written to ${o.plot}\n` : ''}`);
  }
  return 0;
}

/** "replaying: 37/90 searches (random)" on one line, rewritten in place; cleared at the end. */
function progressLine(err: NodeJS.WriteStream): { update: (done: number, total: number, strategy: string) => void; end: () => void } {
  let last = 0;
  let shown = false;
  return {
    update: (done, total, strategy) => {
      const now = Date.now();
      // A few times a second is enough for a person and costs nothing measurable.
      if (done < total && now - last < 100) return;
      last = now;
      shown = true;
      err.write(`\r\x1b[Kreplaying: ${done}/${total} searches (${strategy})`);
    },
    end: () => {
      if (shown) err.write('\r\x1b[K');
    },
  };
}

/** A line of prose broken at spaces to fit `width`, continued with an indent (table rows fit already). */
function wrapLine(line: string, width: number): string[] {
  if (line.length <= width) return [line];
  const out: string[] = [];
  let cur = '';
  for (const word of line.split(' ')) {
    if (cur !== '' && cur.length + 1 + word.length > width) {
      out.push(cur);
      cur = `  ${word}`;
    } else cur = cur === '' ? word : `${cur} ${word}`;
  }
  if (cur !== '') out.push(cur);
  return out;
}
