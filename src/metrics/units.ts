// Unit suffixes as benchmark tools print them, converted to one base unit each.

const TIME_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A duration with its unit (ns, us, ms, s, m, h) in milliseconds. */
export function toMs(value: number, unit: string): number {
  const f = TIME_MS[unit];
  if (f === undefined) throw new RangeError(`unknown time unit "${unit}"`);
  return value * f;
}

// wrk prints byte counts with 1024-based prefixes (K, M, G, T, P) before the B.
const BINARY: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 };

/** A byte count with a binary prefix ('' K M G T P) in bytes. */
export function toBytes(value: number, prefix: string): number {
  const f = BINARY[prefix];
  if (f === undefined) throw new RangeError(`unknown byte prefix "${prefix}"`);
  return value * f;
}

/** A plain decimal number as tools print it; anything else (nan, 1,234, 12abc) is undefined. */
export function parseNumber(text: string): number | undefined {
  const t = text.trim();
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}
