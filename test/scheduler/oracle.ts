// Checks of the allocator's promises computed straight from the Topology, independently of the
// allocator's own bookkeeping (its `held` field is not trusted here).

import type { Grant, JobRequest } from '../../src/scheduler/allocator.js';
import type { Topology } from '../../src/scheduler/topology.js';
import type { Isolation } from '../../src/types.js';

function covering(sets: number[][], cpus: number[]): Set<number> {
  const want = new Set(cpus);
  const out = new Set<number>();
  for (const s of sets) if (s.some((c) => want.has(c))) for (const c of s) out.add(c);
  return out;
}

/** What a job at this level keeps others off, from the topology alone. */
export function keptOff(t: Topology, isolation: Isolation, cpus: number[]): Set<number> {
  switch (isolation) {
    case 'none':
      return new Set(cpus);
    case 'core':
      return covering(
        t.cores.map((c) => c.cpus),
        cpus,
      );
    case 'cache':
      return covering(t.llcs, cpus);
    case 'socket':
      return covering(
        t.packages.map((p) => p.cpus),
        cpus,
      );
    case 'full':
      return new Set(t.cpus);
  }
}

/** Problems with a set of simultaneously running grants (empty when they are fine). */
export function violations(t: Topology, grants: Grant[]): string[] {
  const out: string[] = [];
  const owner = new Map<number, string>();
  for (const g of grants) {
    for (const c of g.cpus) {
      if (!t.cpus.includes(c)) out.push(`${g.id} got CPU ${c}, not a usable CPU`);
      const o = owner.get(c);
      if (o !== undefined) out.push(`CPU ${c} given to both ${o} and ${g.id}`);
      owner.set(c, g.id);
    }
  }
  for (const a of grants) {
    const off = keptOff(t, a.isolation, a.cpus);
    for (const b of grants) {
      if (a === b) continue;
      const bad = b.cpus.filter((c) => off.has(c));
      if (bad.length > 0) out.push(`${b.id} runs on ${bad.join(',')} which ${a.id} (${a.isolation}) keeps for itself`);
    }
  }
  return out;
}

/** Problems with one grant against its request. */
export function shapeProblems(t: Topology, req: JobRequest, g: Grant): string[] {
  const out: string[] = [];
  if (g.cpus.length !== req.cores) out.push(`${g.id}: asked ${req.cores} CPUs, got ${g.cpus.length}`);
  if (new Set(g.cpus).size !== g.cpus.length) out.push(`${g.id}: repeated CPUs`);
  const kinds = new Set(t.cores.filter((c) => c.cpus.some((x) => g.cpus.includes(x))).map((c) => c.kind));
  if (kinds.size !== 1) out.push(`${g.id}: mixes core kinds ${[...kinds].join(',')}`);
  if (req.kind !== undefined && !kinds.has(req.kind)) out.push(`${g.id}: asked kind ${req.kind}`);
  if (req.isolation !== 'none') {
    // Whole cores, siblings first: at most one core is left partly unused.
    const partial = t.cores.filter((c) => {
      const n = c.cpus.filter((x) => g.cpus.includes(x)).length;
      return n > 0 && n < c.cpus.length;
    });
    if (partial.length > 1) out.push(`${g.id}: ${partial.length} cores only partly used`);
  }
  return out;
}

/** CPUs of `scope` a new job at this level could run on, given the running grants. */
export function room(t: Topology, running: Grant[], isolation: Isolation, kind: string, scope: number[]): number {
  const taken = new Set<number>();
  for (const g of running) for (const c of keptOff(t, g.isolation, g.cpus)) taken.add(c);
  const inScope = new Set(scope);
  const cores = t.cores.filter((c) => c.kind === kind && c.cpus.every((x) => inScope.has(x)));
  if (isolation === 'none') return cores.flatMap((c) => c.cpus).filter((c) => !taken.has(c)).length;
  if (isolation === 'full') return running.length > 0 ? 0 : cores.reduce((s, c) => s + c.cpus.length, 0);
  const units = isolation === 'core' ? t.cores.map((c) => c.cpus) : isolation === 'cache' ? t.llcs : t.packages.map((p) => p.cpus);
  let n = 0;
  for (const u of units) {
    if (u.some((c) => taken.has(c))) continue;
    const inUnit = new Set(u);
    for (const c of cores) if (c.cpus.every((x) => inUnit.has(x))) n += c.cpus.length;
  }
  return n;
}
