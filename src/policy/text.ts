// `wayfinder learn`'s output for a person at a terminal.

import { fmtConfig, fmtNum, table } from '../util/format.js';
import type { LearnResult } from './learn.js';
import type { Policy, PolicyNode, RegretFigures } from './policy.js';

export function pct(v: number | undefined): string {
  return v === undefined || Number.isNaN(v) ? '-' : `${(100 * v).toFixed(1)}%`;
}

export function learnText(r: LearnResult, o: { tolerance: number }): string {
  const p = r.policy;
  const src = p.source.kind === 'table' ? `table ${p.source.file}` : `experiment ${p.source.name} (${p.source.id})`;
  const out: string[] = [];
  out.push(`Learned from ${src}: ${r.objective} (${r.direction === 'minimize' ? 'lower' : 'higher'} is better)`);
  out.push(`${r.configurations} configurations of ${r.knobs.join(', ')} at ${r.points} workload points of ${r.features.join(', ')}; ${r.measured} measured pairs`);
  for (const n of r.notes) out.push(`note: ${n}`);

  out.push('', 'Best configuration per workload point');
  out.push(
    indent(
      table([
        [...r.features, 'best configuration', r.objective, 'static', 'static loss', 'policy', 'policy regret'],
        ...r.perPoint.map((row) => [
          ...r.features.map((f) => String(row.point[f])),
          row.best ? fmtConfig(row.best.params) : 'every configuration failed',
          row.best ? fmtNum(row.best.value) : '-',
          row.static.value === undefined ? 'not measured' : row.static.value === null ? 'failed' : fmtNum(row.static.value),
          pct(row.static.regret),
          `leaf ${row.policy.leaf}`,
          pct(row.policy.regret),
        ]),
      ]),
    ),
  );

  out.push('', `Best static configuration: ${fmtConfig(r.static.params)}`);
  out.push(
    `  loses ${pct(r.static.mean)} on average and ${pct(r.static.max)} at worst against each point's best: the value of adapting` +
      (r.static.unmeasured ? ` (${r.static.unmeasured} points where it was not measured are not counted)` : ''),
  );

  out.push('', `Which knobs must follow the workload (loss if held at one value above ${pct(o.tolerance)})`);
  out.push(
    indent(
      table([
        ['knob', 'adapt', 'loss if fixed', 'worst point', 'best single value', ...(r.interactionMethod ? ['× workload'] : []), 'in each point\'s best'],
        ...r.adaptation.map((a) => [
          a.name,
          a.adapt ? 'yes' : 'no',
          pct(a.lossIfFixed),
          pct(a.maxLossIfFixed),
          String(a.fixedAt),
          ...(r.interactionMethod ? [pct(a.interaction)] : []),
          a.bestValues.map((v) => (v === null ? '-' : String(v))).join(' '),
        ]),
      ]),
    ),
  );
  out.push(`  loss if fixed: mean regret over the points with the knob held at its best single value and the others free${r.interactionMethod ? `; × workload: ${r.interactionMethod}` : ''}`);

  out.push('', `Policy: ${p.leaves.length} leaves, depth ${treeDepth(p.tree)}, trained on ${p.features.map((f) => `${f.name} ${f.min}..${f.max}`).join(', ')}`);
  out.push(...treeLines(p).map((l) => `  ${l}`));
  out.push(`  outside the trained range: ${fmtConfig(p.fallback.params)} (${p.fallback.why === 'static-best' ? 'the best static configuration' : 'the fallback given'})`);

  out.push('', "Regret (share below each workload point's best)");
  out.push(`  trained points: ${figures(p.regret.trained)}`);
  out.push(`  interpolation (each interior value of a dimension left out, learned from the rest): ${p.regret.interpolation ? figures(p.regret.interpolation) : 'no interior value to leave out'}`);
  out.push(`  extrapolation (the lowest and highest values left out; the policy answers with its fallback): ${p.regret.extrapolation ? figures(p.regret.extrapolation) : '-'}`);
  if (r.heldOut.length > 0) {
    out.push(
      indent(
        table([
          ['left out', 'kind', 'policy mean', 'policy worst', 'bare tree mean', 'bare tree worst'],
          ...r.heldOut.map((h) => [`${h.feature}=${h.value}`, h.kind, pct(h.policy.mean), pct(h.policy.max), pct(h.tree.mean), pct(h.tree.max)]),
        ]),
        4,
      ),
    );
  }
  return out.join('\n');
}

function figures(f: RegretFigures): string {
  return `mean ${pct(f.mean)}, worst ${pct(f.max)} over ${f.points} points${f.unmeasured ? ` (${f.unmeasured} choices never measured there, not counted)` : ''}`;
}

function indent(text: string, n = 2): string {
  return text
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');
}

export function treeDepth(n: PolicyNode): number {
  return 'leaf' in n ? 0 : 1 + Math.max(treeDepth(n.left), treeDepth(n.right));
}

/** The tree as nested conditions, one line per branch or leaf. */
export function treeLines(p: Policy): string[] {
  const lines: string[] = [];
  const leaf = (i: number): string => `leaf ${i}: ${fmtConfig(p.leaves[i]!.params)}`;
  const walk = (n: PolicyNode, pad: string): void => {
    if ('leaf' in n) {
      lines.push(`${pad}${leaf(n.leaf)}`);
      return;
    }
    for (const [cond, child] of [
      [`${n.feature} <= ${n.le}`, n.left],
      [`${n.feature} > ${n.le}`, n.right],
    ] as const) {
      if ('leaf' in child) lines.push(`${pad}${cond}: ${leaf(child.leaf)}`);
      else {
        lines.push(`${pad}${cond}:`);
        walk(child, `${pad}  `);
      }
    }
  };
  walk(p.tree, '');
  return lines;
}
