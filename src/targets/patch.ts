// `patch` parameters: a named constant set in the build's copy of the source tree, found by a
// declared pattern whose first capture group is the value. A pattern that does not match exactly
// once is an error: zero means the source moved on, two means the pattern is ambiguous.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PatchSpec } from '../types.js';

export class PatchError extends Error {}

/** The text with the pattern's first group replaced by `value`. */
export function applyPatchText(text: string, spec: PatchSpec, value: string, where: string): string {
  let re: RegExp;
  try {
    re = new RegExp(spec.pattern, 'gm');
  } catch (e) {
    throw new PatchError(`patch pattern ${JSON.stringify(spec.pattern)} is not a valid regular expression: ${(e as Error).message}`);
  }
  const matches = [...text.matchAll(re)];
  if (matches.length !== 1) {
    throw new PatchError(
      `patch pattern ${JSON.stringify(spec.pattern)} matches ${matches.length} times in ${where}; it must match exactly once${
        matches.length > 1 ? ` (lines ${matches.map((m) => lineOf(text, m.index ?? 0)).join(', ')})` : ''
      }`,
    );
  }
  // The only match, again with the `d` flag for where its first group starts and ends.
  const m = new RegExp(spec.pattern, 'dm').exec(text) as RegExpExecArray & { indices: Array<[number, number] | undefined> };
  const group = m.indices[1];
  if (group === undefined) throw new PatchError(`patch pattern ${JSON.stringify(spec.pattern)} needs a capture group around the value`);
  return text.slice(0, group[0]) + value + text.slice(group[1]);
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

/** Applies one parameter's patch to a file of the source copy; returns the line it changed. */
export function applyPatch(sourceDir: string, spec: PatchSpec, name: string, value: string): string {
  const file = join(sourceDir, spec.file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new PatchError(`patch parameter ${name}: file ${spec.file} not found in the source tree ${sourceDir}`);
  }
  let out: string;
  try {
    out = applyPatchText(text, spec, value, spec.file);
  } catch (e) {
    if (e instanceof PatchError) throw new PatchError(`patch parameter ${name}: ${e.message}`);
    throw e;
  }
  writeFileSync(file, out);
  const idx = out.split('\n').findIndex((l, i) => l !== text.split('\n')[i]);
  return idx < 0 ? '(unchanged: already that value)' : `${spec.file}:${idx + 1}: ${out.split('\n')[idx]?.trim()}`;
}
