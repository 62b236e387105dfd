// Choosing cache-way masks and bandwidth values. Pure functions over bit masks (CBMs are at most
// 20 bits on current parts, so plain numbers suffice; discovery rejects anything wider than 30).

export interface CacheGeometry {
  /** Number of bits in cbm_mask. */
  cbmLen: number;
  /** Fewest consecutive set bits the kernel accepts in a mask. */
  minBits: number;
  /** Ways also filled by devices (DDIO…); jobs avoid them when they can. */
  shareable: number;
  /** Non-contiguous masks allowed (AMD). */
  sparse: boolean;
}

export function fullMask(cbmLen: number): number {
  return cbmLen >= 31 ? 0x7fffffff : (1 << cbmLen) - 1;
}

export function popcount(mask: number): number {
  let n = 0;
  for (let m = mask; m !== 0; m &= m - 1) n++;
  return n;
}

/** Maximal runs of set bits as [lowest bit, length], lowest first. */
export function runsOf(mask: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let bit = 0;
  while (mask >> bit !== 0) {
    if ((mask >> bit) & 1) {
      let len = 0;
      while ((mask >> (bit + len)) & 1) len++;
      out.push([bit, len]);
      bit += len;
    } else bit++;
  }
  return out;
}

function runMask(lo: number, len: number): number {
  return fullMask(len) << lo;
}

/** What the default group keeps of `free`: all of it when sparse masks are allowed, else its longest run (lowest on ties). */
export function rootMaskFrom(free: number, sparse: boolean): number {
  if (sparse) return free;
  let best: [number, number] = [0, 0];
  for (const r of runsOf(free)) if (r[1] > best[1]) best = r;
  return runMask(best[0], best[1]);
}

/**
 * A contiguous run of `ways` bits inside `free` (the bits no job holds) that leaves the default group
 * at least `minBits` contiguous ways. Among those, prefer: fewest shareable bits, the largest mask left
 * for the default group, then the highest position (jobs stack from the top, the default group keeps
 * the bottom). Undefined when no run fits.
 */
export function chooseWays(geo: CacheGeometry, free: number, ways: number): number | undefined {
  const rootMin = Math.max(1, geo.minBits);
  let best: { mask: number; score: [number, number, number] } | undefined;
  for (let lo = 0; lo + ways <= geo.cbmLen; lo++) {
    const cand = runMask(lo, ways);
    if ((cand & free) !== cand) continue;
    const rootBits = popcount(rootMaskFrom(free & ~cand, geo.sparse));
    if (rootBits < rootMin) continue;
    const score: [number, number, number] = [popcount(cand & geo.shareable), -rootBits, -lo];
    if (!best || lexLess(score, best.score)) best = { mask: cand, score };
  }
  return best?.mask;
}

function lexLess(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) {
    if ((a[i] as number) !== (b[i] as number)) return (a[i] as number) < (b[i] as number);
  }
  return false;
}

export interface BandwidthRule {
  min: number;
  gran: number;
  max: number;
}

/** A bandwidth value the kernel keeps: at least `min`, rounded up to a multiple of `gran` (as the kernel's roundup()), at most `max`. */
export function roundBandwidth(value: number, rule: BandwidthRule): number {
  const gran = Math.max(1, rule.gran);
  const stepped = Math.ceil(Math.max(value, rule.min) / gran) * gran;
  return Math.min(Math.max(stepped, rule.min), rule.max);
}
