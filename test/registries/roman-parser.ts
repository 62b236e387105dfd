// A metric parser that is not built in: a number printed in Roman numerals after a label
// (`score: XLII`). No built-in parser reads it, so an experiment that optimises such a number
// measures through this parser or not at all. It is registered by the test, not by wayfinder.

import { ParseError } from '../../src/metrics/errors.js';
import type { MetricParser } from '../../src/metrics/parser.js';

const DIGITS: Record<string, number> = { I: 1, V: 5, X: 10, L: 50, C: 100, D: 500, M: 1000 };

/** XLII -> 42 (a smaller digit before a larger one is subtracted). */
export function fromRoman(text: string): number {
  let total = 0;
  for (let i = 0; i < text.length; i++) {
    const v = DIGITS[text[i] as string] as number;
    const next = DIGITS[text[i + 1] ?? ''] ?? 0;
    total += v < next ? -v : v;
  }
  return total;
}

export const romanParser: MetricParser = {
  name: 'roman',
  description: 'a number in Roman numerals after a label, as in "score: XLII"',
  yields: 'one',
  options: [
    {
      key: 'label',
      description: 'the word printed before the numeral',
      required: true,
      check: (label) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(label) ? undefined : `label '${label}' must be one word of letters, digits and _`),
    },
  ],
  parse(text, options) {
    const label = options.label as string;
    const found = [...text.matchAll(new RegExp(`^${label}: ([IVXLCDM]+)\\s*$`, 'gm'))];
    const last = found[found.length - 1];
    if (!last) throw new ParseError('roman', `no "${label}: <roman numeral>" line in the output`);
    return fromRoman(last[1] as string);
  },
};
