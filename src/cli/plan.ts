// `wayfinder plan FILE`: what an experiment would do, without doing it.

import { describeDomain, loadExperiment } from '../spec/index.js';
import { domainSize, planExperiment } from '../generator/index.js';
import { fmtConfig, table } from '../util/format.js';

export function planCommand(file: string, o: { json?: boolean; show?: string }): number {
  const exp = loadExperiment(file);
  const plan = planExperiment(exp);
  const show = o.show !== undefined ? Math.max(0, Number(o.show) || 0) : 10;
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
  if (o.json) {
    const out = {
      experiment: exp.name,
      format: exp.format,
      size: plan.size.toString(),
      ...(plan.distinct !== undefined ? { distinct: plan.distinct.toString() } : {}),
      planned: plan.configs.length,
      builds: plan.builds,
      tests: plan.tests,
      parameters: params,
      strategy: exp.exploration.strategy,
      ...(exp.exploration.budget !== undefined ? { budget: exp.exploration.budget } : {}),
      configurations: plan.configs.slice(0, show).map((c) => ({ configId: c.configId, buildId: c.buildId, config: c.config })),
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  }
  const lines: string[] = [];
  lines.push(`${exp.name} (${exp.format} format): ${plan.size} configurations`);
  if (plan.distinct !== undefined && plan.distinct !== plan.size) {
    lines.push(`  conditions make some identical: ${plan.distinct} distinct`);
  } else if (plan.distinct === undefined && exp.params.some((p) => p.if)) {
    lines.push('  conditions may make some of them identical (too many to count)');
  }
  const planned = plan.configs.length > 0 ? `${plan.configs.length} configurations planned` : 'the whole space (too large to list)';
  lines.push(`  ${planned}: ${plan.builds} builds, ${plan.tests} test runs (${exp.exploration.strategy} search${exp.exploration.budget !== undefined ? `, budget ${exp.exploration.budget}` : ''})`);
  lines.push('');
  lines.push(table([['parameter', 'type', 'when', 'values', 'default', 'if'], ...params.map((p) => [p.name, p.type, p.when, p.domain, p.default === undefined ? '' : String(p.default), p.if ?? ''])]));
  if (plan.configs.length > 0 && show > 0) {
    lines.push('');
    lines.push(`first ${Math.min(show, plan.configs.length)} configurations:`);
    for (const c of plan.configs.slice(0, show)) lines.push(`  ${c.configId.slice(0, 8)}  ${fmtConfig(c.config)}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
