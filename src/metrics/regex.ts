// A number picked out of free text by a user's pattern. The last match wins, because tools that
// print progress repeat the line and the final figure comes last.

import { ParseError } from './errors.js';
import type { MetricParser } from './parser.js';
import { parseNumber } from './units.js';

function compile(pattern: string): RegExp {
  let re: RegExp;
  try {
    // m: ^ and $ match at line boundaries, which is how output is read.
    re = new RegExp(pattern, 'gm');
  } catch (e) {
    throw new ParseError('regex', `invalid pattern /${pattern}/: ${(e as Error).message}`);
  }
  // Count the groups by matching an alternation that always matches the empty string: the
  // result has one slot per group, whatever escapes or classes the pattern uses.
  const groups = new RegExp(`(?:${pattern})|`).exec('')!.length - 1;
  if (groups === 0) {
    throw new ParseError('regex', `pattern /${pattern}/ has no capture group (use (...) or (?<value>...))`);
  }
  return re;
}

/** The number captured (group `value`, else group 1) by the last match of `pattern` in `text`. */
export function parseRegex(text: string, pattern: string): number {
  const re = compile(pattern);
  let last: RegExpMatchArray | undefined;
  for (const m of text.matchAll(re)) last = m;
  if (!last) throw new ParseError('regex', `no match for /${pattern}/ in the output`);
  const captured = last.groups?.value ?? last[1];
  if (captured === undefined) {
    throw new ParseError('regex', `/${pattern}/ matched "${last[0]}" but captured nothing`);
  }
  const v = parseNumber(captured);
  if (v === undefined) throw new ParseError('regex', `/${pattern}/ captured "${captured}", which is not a number`);
  return v;
}

/** Why a pattern cannot be used, said for the experiment file; undefined when it can. */
function checkPattern(pattern: string): string | undefined {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (e) {
    // The engine's reason is the useful part ("Unterminated group"); the rest repeats the pattern.
    const reason = e instanceof Error ? (e.message.split(': ').pop() ?? '') : '';
    return `pattern ${JSON.stringify(pattern)} is not a valid regular expression: ${reason}`;
  }
  const groups = (new RegExp(`${re.source}|`).exec('')?.length ?? 1) - 1;
  if (groups < 1) return `pattern ${JSON.stringify(pattern)} needs a capture group around the number, like 'rps=(\\d+)'`;
  return undefined;
}

export const regexParser: MetricParser = {
  name: 'regex',
  description: 'the number a pattern captures in free text (its last match)',
  yields: 'one',
  options: [{ key: 'pattern', description: 'a pattern with a capture group', required: true, check: checkPattern }],
  parse: (text, o) => parseRegex(text, o.pattern as string),
};
