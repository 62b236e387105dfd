// A small RFC 4180 reader: comma separated, double-quoted fields with "" escapes, CRLF or LF. Each
// row keeps the line and column it starts at so that complaints about a cell can point at it.

import { InputError } from '../types.js';

export interface CsvRow {
  cells: string[];
  /** 1-based line of the row's first character. */
  line: number;
  /** 1-based column of each cell's first character. */
  cols: number[];
}

export function parseCsvRows(text: string, file = 'table'): CsvRow[] {
  const rows: CsvRow[] = [];
  let row: CsvRow = { cells: [], line: 1, cols: [1] };
  let field = '';
  let quoted = false;
  let quoteAt = { line: 1, col: 1 };
  let line = 1;
  let col = 1;
  const src = text.replace(/^\uFEFF/, '');
  const newline = (i: number): number => {
    line++;
    col = 1;
    return src[i] === '\r' && src[i + 1] === '\n' ? i + 2 : i + 1;
  };
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    if (quoted) {
      if (ch === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i += 2;
          col += 2;
          continue;
        }
        quoted = false;
      } else if (ch === '\n' || ch === '\r') {
        field += '\n';
        i = newline(i);
        continue;
      } else field += ch;
      i++;
      col++;
      continue;
    }
    if (ch === '"' && field === '') {
      quoted = true;
      quoteAt = { line, col };
    } else if (ch === ',') {
      row.cells.push(field);
      field = '';
      row.cols.push(col + 1);
    } else if (ch === '\n' || ch === '\r') {
      row.cells.push(field);
      field = '';
      rows.push(row);
      i = newline(i);
      row = { cells: [], line, cols: [1] };
      continue;
    } else field += ch;
    i++;
    col++;
  }
  if (quoted) throw new InputError('the file ends inside a quoted field opened here', { file, ...quoteAt }, 'close the field with a double quote');
  if (field !== '' || row.cells.length > 0) {
    row.cells.push(field);
    rows.push(row);
  }
  // Blank lines carry no row.
  return rows.filter((r) => !(r.cells.length === 1 && r.cells[0]!.trim() === ''));
}

export function parseCsv(text: string): string[][] {
  return parseCsvRows(text).map((r) => r.cells);
}
