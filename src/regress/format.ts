// Pieces of text every rendering of a regress report shares.

import { fmtNum } from '../util/format.js';
import { fmtP, MAX_ITERATIONS_ESTIMATE, pctChange, type MetricComparison } from './compare.js';
import type { ConfigComparison, RegressReport } from './report.js';

export { pctChange };

/** The change of current against baseline, with its interval. */
export function changeText(m: MetricComparison): string {
  return `${pctChange(m.ratio)} [${pctChange(m.ci[0])}, ${pctChange(m.ci[1])}]`;
}

export function iterationsText(n: number | undefined): string {
  if (n === undefined) return '';
  return n > MAX_ITERATIONS_ESTIMATE ? `more than ${MAX_ITERATIONS_ESTIMATE} iterations` : `about ${n} iterations`;
}

export function verdictText(m: MetricComparison): string {
  switch (m.verdict) {
    case 'regression':
      return 'REGRESSION';
    case 'inconclusive':
      return `inconclusive: more iterations needed (${iterationsText(m.iterationsNeeded)})`;
    default:
      return m.verdict;
  }
}

export function configLabel(c: ConfigComparison): string {
  return `${c.configId.slice(0, 12)}${c.isDefault ? ' (default)' : ''}`;
}

export function sideText(s: MetricComparison['baseline']): string {
  return `${fmtNum(s.median)} (n=${s.n}, CV ${(s.cv * 100).toFixed(1)}%)`;
}

export function pText(m: MetricComparison): string {
  return m.p === undefined ? '' : fmtP(m.p);
}

export function betterText(m: MetricComparison): string {
  return m.direction === 'maximize' ? 'higher is better' : m.direction === 'minimize' ? 'lower is better' : 'direction unknown';
}

export function headline(r: RegressReport): string {
  const c = r.counts;
  const parts = [`${c.regression} regression${c.regression === 1 ? '' : 's'}`, `${c.inconclusive} inconclusive`, `${c.pass} passed`];
  if (c.failed > 0) parts.unshift(`${c.failed} configuration${c.failed === 1 ? '' : 's'} failed to run`);
  const word = r.outcome === 'regression' ? 'REGRESSION' : r.outcome === 'inconclusive' ? 'INCONCLUSIVE' : 'NO REGRESSION';
  const raised = Math.max(0, ...r.configs.flatMap((c) => c.metrics.map((m) => m.allowed ?? 0)));
  const limit = raised > r.options.threshold ? `, raised by the noise to ${(raised * 100).toFixed(1)}%` : '';
  return `${word}: ${parts.join(', ')} (threshold ${(r.options.threshold * 100).toFixed(1)}%${limit}, confidence ${(r.options.confidence * 100).toFixed(0)}%)`;
}

export function hostWarning(r: RegressReport): string | undefined {
  if (r.hostDifferences.length === 0) return undefined;
  return `The baseline was measured on a DIFFERENT HOST; timings may not be comparable: ${r.hostDifferences.join('; ')}`;
}
