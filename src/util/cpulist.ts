// The kernel's CPU list format ("0-3,8,10-11") and hex mask format ("ffffffff,0000000f"),
// used by sysfs topology files, cgroup cpusets and resctrl.

/** Parse "0-3,8" into sorted unique CPU numbers; an empty or blank string is the empty set. */
export function parseCpuList(text: string): number[] {
  const out = new Set<number>();
  const trimmed = text.trim();
  if (trimmed === '') return [];
  for (const part of trimmed.split(',')) {
    const p = part.trim();
    if (p === '') continue;
    const m = /^(\d+)(?:-(\d+))?(?::(\d+)\/(\d+))?$/.exec(p);
    if (!m) throw new Error(`not a CPU list: "${text}"`);
    const lo = Number(m[1]);
    const hi = m[2] !== undefined ? Number(m[2]) : lo;
    if (hi < lo) throw new Error(`not a CPU list (range ${p} runs backwards): "${text}"`);
    // The kernel's "a-b:used/group" form: take `used` CPUs out of every `group`.
    const used = m[3] !== undefined ? Number(m[3]) : 1;
    const group = m[4] !== undefined ? Number(m[4]) : 1;
    for (let c = lo; c <= hi; c += group) {
      for (let u = 0; u < used && c + u <= hi; u++) out.add(c + u);
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** Format CPU numbers as the kernel does: "0-3,8,10-11". */
export function formatCpuList(cpus: Iterable<number>): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] as number) + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Parse a hex mask of comma-separated 32-bit words, most significant word first. */
export function parseCpuMask(text: string): number[] {
  const words = text.trim().split(',').reverse();
  const cpus: number[] = [];
  words.forEach((w, wi) => {
    const v = BigInt(`0x${w.trim() || '0'}`);
    for (let b = 0; b < 32; b++) if ((v >> BigInt(b)) & 1n) cpus.push(wi * 32 + b);
  });
  return cpus.sort((a, b) => a - b);
}

/** Format CPU numbers as a hex mask of `width` bits (rounded up to 32-bit words). */
export function formatCpuMask(cpus: Iterable<number>, width: number): string {
  const nwords = Math.max(1, Math.ceil(width / 32));
  const words = new Array<number>(nwords).fill(0);
  for (const c of cpus) {
    const w = Math.floor(c / 32);
    if (w >= nwords) throw new RangeError(`CPU ${c} beyond mask width ${width}`);
    words[w] = ((words[w] as number) | (1 << (c % 32))) >>> 0;
  }
  return words
    .reverse()
    .map((w) => w.toString(16).padStart(8, '0'))
    .join(',');
}

/** A canonical key for a CPU set, so caches and cores can be keyed by the CPUs they hold. */
export function cpuSetKey(cpus: Iterable<number>): string {
  return formatCpuList(cpus);
}
