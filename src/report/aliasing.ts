// When importance shares cannot be trusted whatever the surrogate: parameters whose values moved
// together in the measured configurations (aliased: the data cannot say which of them did it),
// parameters never varied (a share of 0 that says nothing), and fewer points than parameters.

import type { Config, Param } from '../types.js';

export type ImportanceWarning =
  | { kind: 'aliased'; params: string[] }
  | { kind: 'constant'; params: string[] }
  | { kind: 'few-points'; points: number; params: number };

/** A parameter's value in a configuration as a key; an unset (inactive) parameter is a value of its own. */
function key(c: Config, name: string): string {
  const v = c[name];
  return v === undefined ? '\u0000unset' : `${typeof v}:${String(v)}`;
}

/** Whether each value of a always comes with the same value of b, and each value of b with the same value of a. */
function aliased(configs: readonly Config[], a: string, b: string): boolean {
  const ab = new Map<string, string>();
  const ba = new Map<string, string>();
  for (const c of configs) {
    const x = key(c, a);
    const y = key(c, b);
    if ((ab.get(x) ?? y) !== y || (ba.get(y) ?? x) !== x) return false;
    ab.set(x, y);
    ba.set(y, x);
  }
  return true;
}

export function importanceWarnings(params: readonly Param[], configs: readonly Config[]): ImportanceWarning[] {
  const out: ImportanceWarning[] = [];
  if (configs.length < params.length) out.push({ kind: 'few-points', points: configs.length, params: params.length });
  const names = params.map((p) => p.name);
  const varied = names.filter((n) => new Set(configs.map((c) => key(c, n))).size > 1);
  const constant = names.filter((n) => !varied.includes(n));
  if (constant.length > 0 && configs.length > 0) out.push({ kind: 'constant', params: constant });
  // Aliasing is an equivalence (a one-to-one map composes), so groups are found by joining pairs.
  const group = new Map<string, string[]>();
  for (let i = 0; i < varied.length; i++) {
    const a = varied[i]!;
    if (group.has(a)) continue;
    const g = [a];
    for (let j = i + 1; j < varied.length; j++) {
      const b = varied[j]!;
      if (!group.has(b) && aliased(configs, a, b)) g.push(b);
    }
    for (const n of g) group.set(n, g);
    if (g.length > 1) out.push({ kind: 'aliased', params: g });
  }
  return out;
}

/** The warning in words, for the page and the figure. */
export function warningText(w: ImportanceWarning): string {
  switch (w.kind) {
    case 'aliased':
      return `${listOf(w.params)} moved together in the measured configurations (each value of one always with the same value of the other${w.params.length > 2 ? 's' : ''}): the data cannot tell their effects apart, so the shares between them are arbitrary; measure configurations where they differ.`;
    case 'constant':
      return `${listOf(w.params)} ${w.params.length > 1 ? 'were' : 'was'} never varied in the measured configurations: ${w.params.length > 1 ? 'their shares are' : 'its share is'} 0 for want of data, not because ${w.params.length > 1 ? 'they do' : 'it does'} not matter.`;
    case 'few-points':
      return `Only ${w.points} measured configurations for ${w.params} parameters: with fewer points than parameters, the shares are largely the surrogate's guess; measure more before reading them.`;
  }
}

/** The warning in a few words, for a line of the importance figure. */
export function warningShort(w: ImportanceWarning): string {
  switch (w.kind) {
    case 'aliased':
      return `aliased (moved together, their shares cannot be told apart): ${listOf(w.params)}`;
    case 'constant':
      return `never varied (a share of 0 for want of data): ${listOf(w.params)}`;
    case 'few-points':
      return `${w.points} measured configurations for ${w.params} parameters: too few to read the shares`;
  }
}

function listOf(names: string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]!}`;
}
