// How many effective configurations a space has, for `wayfinder plan`: each distinct request of
// Kconfig symbols resolved with the target's own tool, exactly as the study resolves them before
// building (src/targets/effective.ts), when the space is small enough to resolve in full; else
// it is unknown until the configurations are built.

import { join } from 'node:path';
import { configChecksum, Space } from '../generator/index.js';
import { earlyResolution, effectiveIdentity, resolutionKey, resolveEffective } from '../targets/effective.js';
import type { Config, Experiment } from '../types.js';

/** More configurations than this are not enumerated to count their effective ones. */
const ENUMERATE_LIMIT = 100_000n;
/** More distinct Kconfig requests than this are not resolved by default (each is one run of the resolver). */
export const RESOLVE_LIMIT = 256;

/** A configuration's effective identity and the build it shares with those that resolve alike. */
export interface EffectiveOf {
  effectiveId: string;
  buildId: string;
}

export type EffectiveCount =
  | {
      known: true;
      /** Distinct effective configurations. */
      effective: number;
      /** Distinct configurations asked for (after conditions). */
      requested: number;
      /** Resolver runs it took. */
      resolutions: number;
      /** Each configuration's effective identity and build, by configuration id. */
      effectiveOf: Map<string, EffectiveOf>;
      /** Requested symbols the tree does not declare, base symbols it does not declare (when kconfig.sources says where its files are). */
      unknown: string[];
      baseUnknown: string[];
      checked: boolean;
    }
  | { known: false; why: string };

/**
 * Resolve every distinct Kconfig request of the space in `dir` (one folder per request) with at
 * most `parallel` resolvers at a time, at most `limit` requests.
 */
export async function countEffective(exp: Experiment, dir: string, o: { limit?: number; parallel?: number } = {}): Promise<EffectiveCount> {
  const early = earlyResolution(exp);
  if (early !== undefined) return { known: false, why: early };
  const space = new Space(exp.params);
  if (space.size > ENUMERATE_LIMIT) return { known: false, why: `the space has more than ${ENUMERATE_LIMIT} configurations` };
  const limit = o.limit ?? RESOLVE_LIMIT;
  const configs = new Map<string, Config>();
  const requests = new Map<string, Config>();
  for (const raw of space.enumerate()) {
    const c = space.normalize(raw);
    const id = configChecksum(exp.params, c);
    if (configs.has(id)) continue;
    configs.set(id, c);
    const key = resolutionKey(exp, c);
    if (!requests.has(key)) requests.set(key, c);
    if (requests.size > limit) return { known: false, why: `more than ${limit} distinct Kconfig requests to resolve (--resolve-limit raises it)` };
  }
  const hashes = new Map<string, Awaited<ReturnType<typeof resolveEffective>>>();
  const keys = [...requests.keys()];
  let next = 0;
  // Each resolver in a folder of its own, reused for its next request (as the study reuses its one).
  const worker = async (slot: number): Promise<void> => {
    while (next < keys.length) {
      const key = keys[next++] as string;
      hashes.set(key, await resolveEffective(exp, requests.get(key) as Config, join(dir, `slot-${slot}`)));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.parallel ?? 2) }, (_, i) => worker(i)));
  const effectiveOf = new Map<string, EffectiveOf>();
  const unknown = new Set<string>();
  const baseUnknown = new Set<string>();
  let checked = true;
  for (const [id, c] of configs) {
    const r = hashes.get(resolutionKey(exp, c));
    if (!r || 'error' in r) return { known: false, why: `the resolver failed here: ${r && 'error' in r ? r.error : 'not run'}` };
    const identity = effectiveIdentity(exp, c, r);
    effectiveOf.set(id, { effectiveId: identity.effectiveId, buildId: identity.buildId });
    for (const s of identity.resolution.unknown) unknown.add(s);
    for (const s of identity.resolution.baseUnknown) baseUnknown.add(s);
    checked &&= identity.resolution.checked;
  }
  return {
    known: true,
    effective: new Set([...effectiveOf.values()].map((e) => e.effectiveId)).size,
    requested: configs.size,
    resolutions: keys.length,
    effectiveOf,
    unknown: [...unknown].sort(),
    baseUnknown: [...baseUnknown].sort(),
    checked,
  };
}
