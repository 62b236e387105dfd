// A plain text table made to fit a terminal's width: headers fold at their word breaks (_ . -),
// then the widest columns that may be shortened lose characters (marked …) until the table fits.
// Columns that must stay whole (identifiers, numbers) are never shortened.

export interface FitColumn {
  header: string;
  /** Numbers read better right-aligned. */
  align?: 'left' | 'right';
  /** May be shortened to fit (default false). */
  shrink?: boolean;
}

/** Shortened columns keep at least this many characters. */
const MIN_WIDTH = 5;
const GAP = 2;

const len = (s: string): number => [...s].length;

/** Keep the first w characters, the last one an ellipsis when something was cut. */
export function clip(s: string, w: number): string {
  const chars = [...s];
  return chars.length <= w ? s : `${chars.slice(0, Math.max(0, w - 1)).join('')}…`;
}

/** A header's pieces at its word breaks, each keeping its break: NGINX_KEEPALIVE_TIMEOUT -> NGINX_ KEEPALIVE_ TIMEOUT. */
function pieces(header: string): string[] {
  return header.match(/[^_.\- ]+[_.\- ]*|[_.\- ]+/g) ?? [header];
}

/** The header in lines of at most w characters, broken at its word breaks (a piece longer than w is clipped). */
function fold(header: string, w: number): string[] {
  if (len(header) <= w) return [header];
  const lines: string[] = [];
  let line = '';
  for (const p of pieces(header)) {
    if (line !== '' && len(line + p) > w) {
      lines.push(line);
      line = '';
    }
    line += p;
  }
  if (line !== '') lines.push(line);
  return lines.map((l) => clip(l, w));
}

export function fitTable(columns: FitColumn[], rows: string[][], width: number): string {
  const values = columns.map((_, i) => Math.max(0, ...rows.map((r) => len(r[i] ?? ''))));
  const natural = columns.map((c, i) => Math.max(values[i]!, len(c.header)));
  const total = (ws: number[]): number => ws.reduce((a, b) => a + b, 0) + GAP * (ws.length - 1);
  const w = [...natural];
  // First fold headers wider than their values, widest first; then shorten the widest shrinkable columns.
  const byHeader = columns.map((_, i) => i).sort((a, b) => natural[b]! - natural[a]!);
  for (const i of byHeader) {
    if (total(w) <= width) break;
    w[i] = Math.max(values[i]!, ...pieces(columns[i]!.header).map(len));
  }
  // Values are cut before header words; then both, down to MIN_WIDTH.
  const word = columns.map((c) => Math.max(...pieces(c.header).map(len)));
  for (const floor of [(i: number) => Math.max(MIN_WIDTH, word[i]!), () => MIN_WIDTH]) {
    while (total(w) > width) {
      let widest = -1;
      for (let i = 0; i < w.length; i++) if (columns[i]!.shrink && w[i]! > floor(i) && (widest < 0 || w[i]! > w[widest]!)) widest = i;
      if (widest < 0) break;
      w[widest]!--;
    }
  }
  const heads = columns.map((c, i) => fold(c.header, w[i]!));
  const depth = Math.max(...heads.map((h) => h.length));
  const cell = (s: string, i: number): string => {
    const v = clip(s, w[i]!);
    return columns[i]!.align === 'right' ? v.padStart(w[i]!) : v.padEnd(w[i]!);
  };
  const line = (cells: string[]): string => cells.map(cell).join(' '.repeat(GAP)).trimEnd();
  const out: string[] = [];
  for (let k = 0; k < depth; k++) out.push(line(heads.map((h) => h[k] ?? '')));
  out.push(w.map((x) => '─'.repeat(x)).join(' '.repeat(GAP)));
  for (const r of rows) out.push(line(columns.map((_, i) => r[i] ?? '')));
  return out.join('\n');
}
