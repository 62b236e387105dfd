// A number at a dotted path (a.b.0.c) in a JSON document. Tools often print log lines before
// their JSON, so when the whole text is not JSON the last line that is (JSON Lines) is used.

import { ParseError } from './errors.js';
import type { MetricParser } from './parser.js';
import { parseNumber } from './units.js';

function parseDocument(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const lines = text.split('\n').map((l) => l.trim());
    for (let i = lines.length - 1; i >= 0; i--) {
      const l = lines[i]!;
      if (!l.startsWith('{') && !l.startsWith('[')) continue;
      try {
        return JSON.parse(l);
      } catch {
        // Not JSON after all; keep looking upwards.
      }
    }
    throw new ParseError('json', 'the output is not a JSON document and has no line that is one');
  }
}

/** The value at `path` (dot-separated keys and array indices; '' is the whole document), as a number. */
export function parseJson(text: string, path: string): number {
  let node: unknown = parseDocument(text);
  const segments = path === '' ? [] : path.split('.');
  const walked: string[] = [];
  for (const seg of segments) {
    const where = walked.length ? `"${walked.join('.')}"` : 'the top level';
    if (Array.isArray(node)) {
      if (!/^\d+$/.test(seg)) throw new ParseError('json', `"${seg}" is not an index of the array at ${where}`);
      if (Number(seg) >= node.length) {
        throw new ParseError('json', `index ${seg} is past the end of the array at ${where} (length ${node.length})`);
      }
      node = node[Number(seg)];
    } else if (node !== null && typeof node === 'object') {
      if (!Object.hasOwn(node, seg)) throw new ParseError('json', `no key "${seg}" at ${where}`);
      node = (node as Record<string, unknown>)[seg];
    } else {
      throw new ParseError('json', `cannot take "${seg}" of the ${node === null ? 'null' : typeof node} at ${where}`);
    }
    walked.push(seg);
  }
  if (typeof node === 'number') return node;
  if (typeof node === 'string') {
    const v = parseNumber(node);
    if (v !== undefined) return v;
  }
  throw new ParseError('json', `the value at "${path}" is ${JSON.stringify(node)}, not a number`);
}

export const jsonParser: MetricParser = {
  name: 'json',
  description: 'a number at a dotted path in a JSON document (or the last JSON line of the output)',
  yields: 'one',
  options: [
    {
      key: 'path',
      description: 'a dotted path a.b.0.c',
      required: true,
      check: (path) => (/^[^.]+(\.[^.]+)*$/.test(path) ? undefined : `bad json path '${path}'; expected dotted keys and indices like a.b.0.c`),
    },
  ],
  parse: (text, o) => parseJson(text, o.path as string),
};
