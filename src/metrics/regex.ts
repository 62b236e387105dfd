// A number picked out of free text by a user's pattern. The last match wins, because tools that
// print progress repeat the line and the final figure comes last.

import { ParseError } from './errors.js';
import type { MetricParser } from './parser.js';
import { lastMatch, REGEX_LIMIT_MS, RegexTimeoutError } from './regex-thread.js';
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
  return numberOf(pattern, last && { whole: last[0], captured: last.groups?.value ?? last[1] });
}

/**
 * parseRegex matched on a worker thread within `limitMs`: how runs' outputs are read, so that a
 * pattern that backtracks for ever fails its run (a parse failure saying so) instead of stalling
 * the process.
 */
export async function parseRegexOffThread(text: string, pattern: string, limitMs = REGEX_LIMIT_MS): Promise<number> {
  compile(pattern);
  let last;
  try {
    last = await lastMatch(text, pattern, limitMs);
  } catch (e) {
    if (e instanceof RegexTimeoutError) throw new ParseError('regex', `/${pattern}/ over ${text.length} characters of output: ${e.message} (a pattern that backtracks, such as (a+)+$, can take exponential time)`);
    throw new ParseError('regex', `/${pattern}/: ${(e as Error).message}`);
  }
  return numberOf(pattern, last);
}

function numberOf(pattern: string, last: { whole: string; captured: string | undefined } | undefined): number {
  if (!last) throw new ParseError('regex', `no match for /${pattern}/ in the output`);
  const captured = last.captured;
  if (captured === undefined) {
    throw new ParseError('regex', `/${pattern}/ matched "${last.whole}" but captured nothing`);
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
  parseAsync: (text, o) => parseRegexOffThread(text, o.pattern as string),
};
