// Help texts that name what the registries hold (strategies, metric parsers), so `--help` lists
// exactly what an experiment may name, including anything registered besides the built-ins.

import { metricParsers } from '../metrics/registry.js';
import { strategyDescriptors, strategyNamesText } from '../strategies/registry.js';

/** "grid, random or bayesian". */
export function strategyChoices(): string {
  return strategyNamesText();
}

function table(title: string, rows: ReadonlyArray<{ name: string; description: string }>): string {
  const width = Math.max(...rows.map((r) => r.name.length));
  return `\n${title}:\n${rows.map((r) => `  ${r.name.padEnd(width)}  ${r.description}`).join('\n')}`;
}

/** The strategies with what each does, for the end of a command's help (commander ends it with a newline). */
export function strategiesHelp(): string {
  return table('Strategies (exploration.strategy, --strategy)', strategyDescriptors());
}

/** The metric parsers with what each reads, for the end of a command's help. */
export function parsersHelp(): string {
  return table('Metric parsers (metrics[].parser)', metricParsers());
}
