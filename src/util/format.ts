// Number and time formatting for people at a terminal.

import type { Config } from '../types.js';

export function fmtNum(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return v === undefined ? '-' : String(v);
  const a = Math.abs(v);
  if (a >= 1000) return v.toLocaleString('en-US', { maximumFractionDigits: 0 });
  if (a >= 100) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

export function fmtDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function fmtConfig(c: Config): string {
  return Object.entries(c)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}

/** A plain text table: columns padded to their widest cell. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

/** log10 of a count of any size (a configuration space), from its leading digits and its length. */
export function log10Big(n: bigint): number {
  if (n <= 0n) return Number.NEGATIVE_INFINITY;
  const s = n.toString();
  const lead = s.slice(0, 15);
  return s.length - lead.length + Math.log10(Number(lead));
}

/** A count exactly, and for a huge one its order too: "24786…0000 (10^79.39)". */
export function fmtCount(n: bigint): string {
  return n >= 1_000_000n ? `${n} (10^${log10Big(n).toFixed(2)})` : String(n);
}
