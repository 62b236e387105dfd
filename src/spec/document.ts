// Reading an experiment file as YAML while keeping every node's position, so that any later
// complaint (schema, domain, missing script) can point at the line and column it is about.

import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  type Document,
  type Node,
  type YAMLError,
} from 'yaml';
import { InputError, type SourceLoc } from '../types.js';

export type Path = ReadonlyArray<string | number>;

/** Files larger than this are refused before parsing: no experiment needs more. */
export const MAX_FILE_BYTES = 1024 * 1024;
/**
 * Nodes the document may grow to once its aliases are expanded. An alias of an alias of ... (the
 * "billion laughs" document) multiplies its size with every level; an honest file that reuses
 * `&yn [y, n]` a few hundred times stays far below this.
 */
export const MAX_EXPANDED_NODES = 250_000;

const YAML_MESSAGES: Record<string, string> = {
  BAD_INDENT: 'bad indentation',
  TAB_AS_INDENT: 'tabs are not allowed as indentation; use spaces',
  DUPLICATE_KEY: 'duplicate key',
  MISSING_CHAR: 'missing closing character (a quote or bracket)',
  MULTILINE_IMPLICIT_KEY: 'a key must be on a single line (is a ":" or quote missing?)',
  BLOCK_AS_IMPLICIT_KEY: 'a nested block cannot be used as a key (is a ":" misplaced?)',
  UNEXPECTED_TOKEN: 'unexpected character',
  BAD_SCALAR_START: 'a plain value cannot start with this character; quote it',
  BLOCK_IN_FLOW: 'block collections are not allowed inside [ ] or { }',
  KEY_OVER_1024_CHARS: 'key longer than 1024 characters',
  IMPOSSIBLE: 'malformed YAML',
  BAD_ALIAS: 'bad alias',
  BAD_DIRECTIVE: 'bad directive',
  BAD_DQ_ESCAPE: 'bad escape sequence in a double-quoted string',
  MULTIPLE_ANCHORS: 'a node can have only one anchor',
  MULTIPLE_TAGS: 'a node can have only one tag',
  MULTIPLE_DOCS: 'more than one document',
  TAG_RESOLVE_FAILED: 'unknown tag',
  MISSING_TAG: 'unknown tag',
  COMMENT_SPACE: 'a comment needs a space before "#"',
  ALIAS_PROPS: 'an alias cannot have an anchor or tag',
  UNEXPECTED_SCALAR_AT_NODE_END: 'unexpected text after a value',
};

/** One parsed experiment file: its YAML tree, its plain value and a way back to positions. */
export class SourceDoc {
  readonly value: unknown;

  private constructor(
    readonly file: string,
    readonly text: string,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {
    this.value = this.toPlain();
  }

  /** Parse `text`, refusing what cannot be a sensible experiment before anything else looks at it. */
  static parse(text: string, file: string): SourceDoc {
    const top: SourceLoc = { file, line: 1, col: 1 };
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > MAX_FILE_BYTES) {
      throw new InputError(
        `file is ${bytes} bytes; an experiment file may be at most ${MAX_FILE_BYTES} bytes (1 MiB)`,
        top,
      );
    }
    const lines = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
    const all = Array.isArray(docs) ? docs : [];
    if (all.length === 0 || all[0]?.contents == null) {
      throw new InputError('the file is empty; expected a mapping with at least `params` and `test` (or `runs`)', top);
    }
    if (all.length > 1) {
      const second = all[1] as Document.Parsed;
      const at = lines.linePos(second.range[0]);
      throw new InputError(
        'the file holds more than one YAML document (a second "---"); an experiment file holds exactly one',
        { file, line: at.line, col: at.col },
      );
    }
    const doc = all[0] as Document.Parsed;
    const err = doc.errors[0];
    if (err) throw yamlError(err, file, lines, text);
    if (!isMap(doc.contents)) {
      throw new InputError(
        `the top level of an experiment file must be a mapping (key: value lines), not ${describeNode(doc.contents)}`,
        locOf(file, lines, doc.contents),
      );
    }
    const unsafe = firstUnsafeInteger(doc.contents, text);
    if (unsafe) {
      throw new InputError(
        `integer ${unsafe.source} is outside the safe integer range (±${Number.MAX_SAFE_INTEGER}); quote it if it is meant as a string`,
        locOf(file, lines, unsafe.node),
      );
    }
    return new SourceDoc(file, text, doc, lines);
  }

  /** Position of the value at `path`, or of the nearest enclosing node that exists. */
  loc(path: Path): SourceLoc {
    return locOf(this.file, this.lines, this.nearest(path));
  }

  /** Position of the key (not the value) of the entry at `path`; the value's position if it has no key. */
  keyLoc(path: Path): SourceLoc {
    if (path.length > 0) {
      const parent = this.nodeAt(path.slice(0, -1));
      const last = path[path.length - 1];
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isPair(p) && keyText(p.key) === String(last));
        if (pair && pair.key) return locOf(this.file, this.lines, pair.key as Node);
      }
    }
    return this.loc(path);
  }

  /** Whether the value at `path` was written in the file (as opposed to defaulted). */
  has(path: Path): boolean {
    return this.nodeAt(path) !== undefined;
  }

  /** Source text of the scalar at `path` and its style (plain, quoted ...), for pointing inside it. */
  scalarAt(path: Path): { source: string; offset: number; quoted: boolean; multiline: boolean } | undefined {
    const node = this.nodeAt(path);
    if (!isScalar(node) || !node.range) return undefined;
    const raw = this.text.slice(node.range[0], node.range[1]);
    const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
    const block = node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED';
    return { source: raw, offset: node.range[0], quoted, multiline: block || raw.includes('\n') };
  }

  /** Position of a character offset in the text. */
  locAtOffset(offset: number): SourceLoc {
    const p = this.lines.linePos(offset);
    return { file: this.file, line: p.line, col: p.col };
  }

  nodeAt(path: Path): Node | undefined {
    let node: unknown = this.doc.contents;
    for (const seg of path) {
      node = this.deref(node);
      if (isMap(node)) {
        const pair = node.items.find((p) => keyText(p.key) === String(seg));
        node = pair?.value ?? undefined;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
      } else {
        return undefined;
      }
      if (node == null) return undefined;
    }
    return this.deref(node) as Node | undefined;
  }

  private nearest(path: Path): Node | undefined {
    for (let n = path.length; n >= 0; n--) {
      const node = this.nodeAt(path.slice(0, n));
      if (node !== undefined) return node;
    }
    return undefined;
  }

  private deref(node: unknown): unknown {
    let seen = 0;
    while (isAlias(node) && seen++ < 8) node = node.resolve(this.doc);
    return node;
  }

  private toPlain(): unknown {
    // Measure the expansion first (linear in the file, each anchor sized once), so that an alias
    // bomb is refused before anything is built from it.
    const memo = new Map<unknown, number>();
    let bomb: Node | undefined;
    let cycle = false;
    const size = (node: unknown): number => {
      if (bomb) return 0;
      if (isAlias(node)) {
        const target = node.resolve(this.doc);
        if (target === undefined) return 1;
        const known = memo.get(target);
        if (known === -1) {
          bomb = node; // an alias inside the node it names: infinite
          cycle = true;
          return 0;
        }
        const n = known ?? size(target);
        if (n > MAX_EXPANDED_NODES) bomb = node;
        return n;
      }
      if (!isMap(node) && !isSeq(node)) return 1;
      memo.set(node, -1);
      let n = 1;
      for (const item of node.items as unknown[]) {
        for (const part of isPair(item) ? [item.key, item.value] : [item]) {
          n += size(part);
          if (n > MAX_EXPANDED_NODES && !bomb) bomb = firstAlias(node) ?? (node as Node);
        }
      }
      memo.set(node, n);
      return n;
    };
    size(this.doc.contents);
    if (bomb && cycle) {
      throw new InputError('an alias refers to the node that contains it, which would never end', locOf(this.file, this.lines, bomb));
    }
    if (bomb) {
      throw new InputError(
        `aliases expand to too much data (a "billion laughs" document?); at most ${MAX_EXPANDED_NODES} nodes are allowed after expansion`,
        locOf(this.file, this.lines, bomb),
      );
    }
    return this.doc.toJS({ maxAliasCount: -1 });
  }
}

/** The first integer literal that a JavaScript number cannot hold exactly. */
function firstUnsafeInteger(node: unknown, text: string): { node: Node; source: string } | undefined {
  if (isScalar(node)) {
    if (typeof node.value === 'number' && node.range && node.type === 'PLAIN') {
      const source = text.slice(node.range[0], node.range[1]).trim();
      if (/^[-+]?(0x[0-9a-fA-F]+|0o[0-7]+|[0-9]+)$/.test(source) && !Number.isSafeInteger(node.value)) {
        return { node, source };
      }
    }
    return undefined;
  }
  if (isMap(node) || isSeq(node)) {
    for (const item of node.items as unknown[]) {
      const inner = isPair(item) ? [item.key, item.value] : [item];
      for (const n of inner) {
        const found = firstUnsafeInteger(n, text);
        if (found) return found;
      }
    }
  }
  return undefined;
}

function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String(key);
}

function firstAlias(node: unknown): Node | undefined {
  if (isAlias(node)) return node;
  if (isMap(node) || isSeq(node)) {
    for (const item of node.items as unknown[]) {
      const inner = isPair(item) ? [item.key, item.value] : [item];
      for (const n of inner) {
        const found = firstAlias(n);
        if (found) return found;
      }
    }
  }
  return undefined;
}

function locOf(file: string, lines: LineCounter, node: unknown): SourceLoc {
  const range = (node as { range?: [number, number, number] } | undefined)?.range;
  if (!range) return { file, line: 1, col: 1 };
  const p = lines.linePos(range[0]);
  return { file, line: p.line, col: p.col };
}

function yamlError(err: YAMLError, file: string, lines: LineCounter, text: string): InputError {
  const at = err.linePos?.[0] ?? lines.linePos(err.pos[0]);
  if (err.code === 'DUPLICATE_KEY') {
    const key = /^[^:\n]+/.exec(text.slice(err.pos[0]))?.[0].trim();
    const shown = key ? ` '${key}'` : '';
    return new InputError(`duplicate key${shown}: a key may appear once per mapping`, { file, line: at.line, col: at.col });
  }
  return new InputError(`YAML syntax error: ${yamlWhat(err)}`, { file, line: at.line, col: at.col });
}

/** Our own wording for yaml's error, made more specific where its code alone is vague. */
function yamlWhat(err: YAMLError): string {
  const m = err.message;
  if (err.code === 'BAD_INDENT' && /flow (sequence|mapping)/i.test(m)) return "a [ ] or { } collection is not closed, or its lines are not indented enough";
  if (err.code === 'BAD_INDENT' && /same column/i.test(m)) return 'the keys of one mapping must start at the same column';
  if (err.code === 'MISSING_CHAR' && /quote/i.test(m)) return 'a quoted string is not closed';
  if (err.code === 'MISSING_CHAR' && /sequence item/i.test(m)) return "a list item without '-' (or a line indented wrongly)";
  if (err.code === 'BLOCK_AS_IMPLICIT_KEY' && /compact mappings/i.test(m)) return "a second 'key: value' on one line; quote the value or put the mapping on its own lines";
  if (err.code === 'UNEXPECTED_TOKEN') {
    const tok = /"(.)"/.exec(m)?.[1];
    if (tok) return `unexpected '${tok}'`;
  }
  return YAML_MESSAGES[err.code] ?? 'malformed YAML';
}

export function describeNode(node: unknown): string {
  if (node == null) return 'nothing';
  if (isSeq(node)) return 'a list';
  if (isMap(node)) return 'a mapping';
  if (isScalar(node)) return describeValue(node.value);
  return 'a value';
}

/** How a value reads in an error message: "the string 'x'", "the number 2", "a list". */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `the string '${v.length > 40 ? `${v.slice(0, 40)}…` : v}'`;
  if (typeof v === 'number' || typeof v === 'bigint') return `the number ${v}`;
  if (typeof v === 'boolean') return `${v}`;
  if (typeof v === 'object') return 'a mapping';
  return 'a value';
}
