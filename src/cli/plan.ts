// `wayfinder plan FILE`: what `wayfinder run FILE` with the same flags will do, without doing it:
// the configurations in the order run measures them (the default first), how many in all, the
// builds and test runs.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describeDomain, loadExperiment } from '../spec/index.js';
import { countEffective, type EffectiveCount } from '../study/effective-plan.js';
import { withExploration } from '../spec/exploration.js';
import { domainSize } from '../generator/index.js';
import { experimentId } from '../study/identity.js';
import { planRun } from '../study/run-plan.js';
import { describeWarmStart, warmStartPrior } from '../study/warm-start.js';
import { Store } from '../store/store.js';
import type { Experiment } from '../types.js';
import { databasePath } from '../workdir.js';
import { fitTable } from '../util/fit-table.js';
import { fmtConfig, fmtCount } from '../util/format.js';
import { explorationFlags } from './exploration-flags.js';
import { positiveInt } from './errors.js';

export interface PlanOptions {
  /** Where run keeps its results: the earlier experiments a warm start names are looked up there. */
  workdir: string;
  json?: boolean;
  show?: string;
  budget?: string;
  parallel?: string;
  strategy?: string;
  seed?: string;
  resolveLimit?: string;
}

export async function planCommand(file: string, o: PlanOptions): Promise<number> {
  const exp = withExploration(loadExperiment(file), explorationFlags(o));
  const show = o.show !== undefined ? positiveInt(o.show, '--show', 0) : 10;
  const resolveLimit = o.resolveLimit !== undefined ? positiveInt(o.resolveLimit, '--resolve-limit', 0) : 256;
  const effective = await effectiveCount(exp, resolveLimit);
  const plan = planRun(exp, effective?.known ? { effectiveOf: effective.effectiveOf } : {});
  const warm = warmSources(exp, o.workdir);
  const x = exp.exploration;
  const params = exp.params.map((p) => ({
    name: p.name,
    type: p.type,
    when: p.when,
    domain: describeDomain(p.domain),
    size: domainSize(p).toString(),
    ...(p.default !== undefined ? { default: p.default } : {}),
    ...(p.if ? { if: p.if } : {}),
    ...(p.workload ? { workload: true } : {}),
  }));
  const chosen = plan.total - BigInt(plan.queued.length);
  const builds = plan.builds.atMost === BigInt(plan.builds.listed) ? `${plan.builds.listed}` : `${plan.builds.listed} to ${plan.builds.atMost}`;
  if (o.json) {
    const out = {
      experiment: exp.name,
      format: exp.format,
      objective: exp.objective,
      strategy: x.strategy,
      seed: x.seed,
      parallel: x.parallel,
      ...(x.budget !== undefined ? { budget: x.budget } : {}),
      configurations: plan.total.toString(),
      runsPerConfiguration: plan.runsPerConfig,
      builds: { listed: plan.builds.listed, atMost: plan.builds.atMost.toString() },
      // The first ones, fixed by the seed; the rest (`chosen`) the strategy picks from measurements.
      order: plan.queued.slice(0, show).map((c, i) => ({ configId: c.configId, buildId: c.buildId, default: i === 0, config: c.config })),
      fixed: plan.queued.length,
      ...(plan.chooses ? { chosenFromMeasurements: chosen.toString() } : {}),
      ...(warm ? { warmStart: warm } : {}),
      ...(effective ? { effective: effectiveJson(effective) } : {}),
      parameters: params,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  }
  const lines: string[] = [];
  lines.push(`${exp.name} (${exp.format} format), objective: ${exp.objective.direction} ${exp.objective.metric}`);
  lines.push(
    `run measures ${fmtCount(plan.total)} configuration${plan.total === 1n ? '' : 's'}: ${x.strategy} search, seed ${x.seed}` +
      `${x.budget !== undefined ? `, budget ${x.budget}` : ', no budget (the whole space)'}, ${x.parallel} in parallel`,
  );
  lines.push(`  ${exp.build ? `${builds} build${builds === '1' ? '' : 's'}, ` : ''}${plan.runsPerConfig} test run${plan.runsPerConfig === 1 ? '' : 's'} per configuration (warm-ups included)`);
  if (effective) lines.push(...describeEffective(effective));
  if (warm) {
    // The earlier measurements steer only the model's picks: the default and the random start are the seed's.
    lines.push(`  warm start from ${describeWarmStart(warm)}: it steers the configurations chosen from measurements, not those listed`);
  }
  lines.push('');
  const width = process.stdout.columns || 100;
  lines.push(
    fitTable(
      [{ header: 'parameter' }, { header: 'type' }, { header: 'when' }, { header: 'values', shrink: true }, { header: 'default' }, { header: 'if' }],
      params.map((p) => [p.name, p.type, p.when, p.domain, p.default === undefined ? '' : String(p.default), p.if ?? '']),
      width,
    ),
  );
  if (show > 0) {
    const listed = plan.queued.slice(0, show);
    lines.push('');
    lines.push(`in the order run measures them${plan.queued.length > listed.length ? ` (first ${listed.length} of ${plan.complete ? plan.total : plan.queued.length})` : ''}, each by what it changes from the default:`);
    const digits = String(listed.length).length;
    const def = plan.queued[0]?.config ?? {};
    listed.forEach((c, i) => {
      const changed = Object.fromEntries(Object.entries(c.config).filter(([k, v]) => def[k] !== v));
      const lead = `  ${String(i + 1).padStart(digits)}. ${c.configId.slice(0, 8)}  `;
      lines.push(...wrapWords(lead, i === 0 ? `default: ${fmtConfig(c.config)}` : fmtConfig(changed) || '(the same as the default)', width));
    });
  }
  if (plan.chooses) lines.push(`  then ${chosen} more, chosen by the ${x.strategy} strategy from what it measures`);
  else if (!plan.complete) lines.push(`  then ${chosen} more in the same way (too many to list)`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/**
 * The earlier experiments a warm start names, as run will read them from the work directory's
 * store (none there yet: every name is unknown, the same error run gives at the name's line).
 */
function warmSources(exp: Experiment, workdir: string): { name: string; experimentId: string; measured: number }[] | undefined {
  if (!exp.exploration.warmStart) return undefined;
  const dbPath = databasePath(resolve(workdir));
  const store = existsSync(dbPath) ? new Store(dbPath) : null;
  try {
    return warmStartPrior(store, exp, experimentId(exp)).map((w) => ({ name: w.name, experimentId: w.experimentId, measured: w.prior.observations.length }));
  } finally {
    store?.close();
  }
}

/** `lead` then the words of `text`, continued under the text's first column, within `width`. */
function wrapWords(lead: string, text: string, width: number): string[] {
  const indent = ' '.repeat(lead.length);
  const out: string[] = [];
  let line = lead;
  for (const word of text.split(' ')) {
    if (line.length > indent.length && line !== lead && line.length + 1 + word.length > width) {
      out.push(line);
      line = indent + word;
    } else line = line === lead || line === indent ? line + word : `${line} ${word}`;
  }
  out.push(line);
  return out;
}

/** The effective configurations of an experiment with Kconfig parameters (undefined: it has none), resolved in a scratch folder removed after. */
async function effectiveCount(exp: Parameters<typeof countEffective>[0], limit: number): Promise<EffectiveCount | undefined> {
  if (!exp.params.some((p) => p.kconfig === true && p.when === 'build')) return undefined;
  if (limit === 0) return { known: false, why: 'not resolved (--resolve-limit 0)' };
  const dir = mkdtempSync(join(tmpdir(), 'wayfinder-plan-'));
  try {
    return await countEffective(exp, dir, { limit, parallel: exp.exploration.parallel });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function effectiveJson(e: EffectiveCount): unknown {
  if (!e.known) return { configurations: null, unknownUntilBuilt: e.why };
  return { configurations: e.effective, requested: e.requested, duplicates: e.requested - e.effective, resolutions: e.resolutions, unknownSymbols: e.unknown, baseUnknownSymbols: e.baseUnknown, checked: e.checked };
}

function describeEffective(e: EffectiveCount): string[] {
  if (!e.known) return [`  effective configurations (after Kconfig resolution): unknown until built: ${e.why}`];
  const lines = [
    `  effective configurations (after Kconfig resolution): ${e.effective} of ${e.requested} (${e.requested - e.effective} resolve like another: duplicates, not built or measured; resolved with the tree's own tool, ${e.resolutions} run${e.resolutions === 1 ? '' : 's'})`,
  ];
  if (e.unknown.length > 0) lines.push(`  requested symbols the tree does not declare (no effect): ${e.unknown.join(' ')}`);
  if (e.baseUnknown.length > 0) lines.push(`  base configuration symbols the tree does not declare (dropped): ${e.baseUnknown.join(' ')}`);
  if (!e.checked) lines.push('  (name the Kconfig folders in build.kconfig.sources to tell symbols the tree does not declare from those its dependencies turn off)');
  return lines;
}
