// Conditions on parameters (`if:`), parsed by a small recursive-descent parser and evaluated on a
// configuration. Never evaluated as code: the grammar below is all a condition can express.
//
//   expr    := and (('||' | 'or') and)*
//   and     := unary (('&&' | 'and') unary)*
//   unary   := ('!' | 'not') unary | primary
//   primary := '(' expr ')' | operand [cmp operand | ['not'] 'in' '[' operand (',' operand)* ']']
//   cmp     := '==' | '!=' | '<' | '<=' | '>' | '>='
//   operand := NAME | INTEGER | STRING | true | false | y | n
//
// Bare `y` and `n` are the Kconfig words, read as the strings "y" and "n" (as the spec loader
// does); a bare operand on its own is tested for truth (see truthy()).

import { InputError, type Config, type SourceLoc, type Value } from '../types.js';

export type Operand = { kind: 'name'; name: string; pos: number } | { kind: 'literal'; value: Value; pos: number };
export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

export type Condition =
  | { kind: 'or' | 'and'; left: Condition; right: Condition }
  | { kind: 'not'; operand: Condition }
  | { kind: 'compare'; op: CompareOp; left: Operand; right: Operand }
  | { kind: 'in'; operand: Operand; values: Operand[]; negated: boolean }
  | { kind: 'truthy'; operand: Operand };

type TokenKind = 'name' | 'int' | 'string' | 'op' | 'end';
interface Token {
  kind: TokenKind;
  text: string;
  pos: number; // 0-based offset in the condition
  value?: Value;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'true', 'false']);

// Bounds on what a condition may be: the parser and every walk over a condition recurse, and a
// condition comes from a file anyone may submit to the daemon. Real conditions are a few names
// long; these limits keep a hostile one a located error instead of a stack overflow.
export const MAX_CONDITION_LENGTH = 4096;
export const MAX_CONDITION_DEPTH = 64;
const OPERATORS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '[', ']', ','];

export function parseCondition(src: string, loc?: SourceLoc): Condition {
  return new Parser(src, loc).parse();
}

class Parser {
  private tokens: Token[];
  private i = 0;
  /** Parentheses and negations open at this point. */
  private depth = 0;

  constructor(
    private readonly src: string,
    private readonly loc?: SourceLoc,
  ) {
    if (src.length > MAX_CONDITION_LENGTH) {
      throw this.error(0, `condition is ${src.length} characters long; at most ${MAX_CONDITION_LENGTH} are allowed`);
    }
    this.tokens = this.tokenize();
  }

  parse(): Condition {
    if (this.peek().kind === 'end') throw this.error(0, 'empty condition: expected an expression');
    const c = this.expr();
    const t = this.peek();
    if (t.kind !== 'end') {
      throw this.error(t.pos, `expected '&&', '||' or the end of the condition, found ${describe(t)}`);
    }
    return c;
  }

  private expr(): Condition {
    let left = this.and();
    while (this.accept('||', 'or')) left = { kind: 'or', left, right: this.and() };
    return left;
  }

  private and(): Condition {
    let left = this.unary();
    while (this.accept('&&', 'and')) left = { kind: 'and', left, right: this.unary() };
    return left;
  }

  private unary(): Condition {
    const t = this.peek();
    if (this.accept('!', 'not')) {
      this.enter(t);
      const operand = this.unary();
      this.depth--;
      return { kind: 'not', operand };
    }
    return this.primary();
  }

  /** One level deeper (a '(' or a negation), refused past the limit where it happens. */
  private enter(t: Token): void {
    if (++this.depth > MAX_CONDITION_DEPTH) {
      throw this.error(t.pos, `nested more than ${MAX_CONDITION_DEPTH} levels deep (parentheses and negations)`);
    }
  }

  private primary(): Condition {
    const open = this.peek();
    if (this.accept('(')) {
      this.enter(open);
      const inner = this.expr();
      this.depth--;
      const t = this.peek();
      if (!this.accept(')')) throw this.error(t.pos, `expected ')' to close the '(' at column ${open.pos + 1}, found ${describe(t)}`);
      return inner;
    }
    const left = this.operand();
    const t = this.peek();
    if (t.kind === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.text)) {
      this.i++;
      return { kind: 'compare', op: t.text as CompareOp, left, right: this.operand() };
    }
    if (isWord(t, 'not') && isWord(this.peek(1), 'in')) {
      this.i += 2;
      return { kind: 'in', operand: left, values: this.list(), negated: true };
    }
    if (this.accept('in')) return { kind: 'in', operand: left, values: this.list(), negated: false };
    return { kind: 'truthy', operand: left };
  }

  private list(): Operand[] {
    const t = this.peek();
    if (!this.accept('[')) throw this.error(t.pos, `expected '[' to start the list after 'in', found ${describe(t)}`);
    const values: Operand[] = [];
    if (this.accept(']')) return values;
    for (;;) {
      values.push(this.operand());
      const next = this.peek();
      if (this.accept(']')) return values;
      if (!this.accept(',')) throw this.error(next.pos, `expected ',' or ']' in the list, found ${describe(next)}`);
      if (this.accept(']')) return values; // a trailing comma
    }
  }

  private operand(): Operand {
    const t = this.peek();
    if (t.kind === 'int' || t.kind === 'string') {
      this.i++;
      return { kind: 'literal', value: t.value as Value, pos: t.pos };
    }
    if (t.kind === 'name' && (t.text === 'true' || t.text === 'false')) {
      this.i++;
      return { kind: 'literal', value: t.text === 'true', pos: t.pos };
    }
    if (t.kind === 'name' && (t.text === 'y' || t.text === 'n')) {
      this.i++;
      return { kind: 'literal', value: t.text, pos: t.pos };
    }
    if (t.kind === 'name' && !KEYWORDS.has(t.text)) {
      this.i++;
      return { kind: 'name', name: t.text, pos: t.pos };
    }
    throw this.error(t.pos, `expected a parameter name, a number, a quoted string, true or false, found ${describe(t)}`);
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.i + ahead, this.tokens.length - 1)] as Token;
  }

  /** Consume the next token when it is one of these operators or keywords. */
  private accept(...texts: string[]): boolean {
    const t = this.peek();
    if ((t.kind === 'op' || t.kind === 'name') && texts.includes(t.text)) {
      // A keyword only counts as one when it is spelled as a keyword, not when quoted.
      if (t.kind === 'name' && !KEYWORDS.has(t.text)) return false;
      this.i++;
      return true;
    }
    return false;
  }

  private tokenize(): Token[] {
    const s = this.src;
    const out: Token[] = [];
    let i = 0;
    while (i < s.length) {
      const c = s[i] as string;
      if (/\s/.test(c)) {
        i++;
        continue;
      }
      const start = i;
      if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(s[i + 1] ?? ''))) {
        i++;
        while (i < s.length && /[0-9]/.test(s[i] as string)) i++;
        if (i < s.length && /[A-Za-z_.]/.test(s[i] as string)) {
          throw this.error(start, `expected an integer, found '${s.slice(start, i + 1)}'`);
        }
        const text = s.slice(start, i);
        const value = Number(text);
        if (!Number.isSafeInteger(value)) throw this.error(start, `integer ${text} is too large`);
        out.push({ kind: 'int', text, pos: start, value });
        continue;
      }
      if (/[A-Za-z_]/.test(c)) {
        while (i < s.length && /[A-Za-z0-9_]/.test(s[i] as string)) i++;
        out.push({ kind: 'name', text: s.slice(start, i), pos: start });
        continue;
      }
      if (c === '"' || c === "'") {
        let value = '';
        i++;
        for (;;) {
          if (i >= s.length) throw this.error(start, `unterminated string: expected a closing ${c}`);
          const ch = s[i] as string;
          if (ch === c) break;
          if (ch === '\\' && i + 1 < s.length) {
            value += s[i + 1];
            i += 2;
            continue;
          }
          value += ch;
          i++;
        }
        i++;
        out.push({ kind: 'string', text: s.slice(start, i), pos: start, value });
        continue;
      }
      const op = OPERATORS.find((o) => s.startsWith(o, i));
      if (op) {
        out.push({ kind: 'op', text: op, pos: start });
        i += op.length;
        continue;
      }
      if (c === '=') throw this.error(start, "expected '==' to compare, found a single '='");
      if (c === '&' || c === '|') throw this.error(start, `expected '${c}${c}', found a single '${c}'`);
      throw this.error(start, `unexpected character '${c}'`);
    }
    out.push({ kind: 'end', text: '', pos: s.length });
    return out;
  }

  private error(pos: number, message: string): InputError {
    const loc = this.loc ? { ...this.loc, col: this.loc.col + pos } : undefined;
    // A refused condition may be huge: the message quotes its start only.
    const shown = this.src.length > 80 ? `${this.src.slice(0, 80)}…` : this.src;
    return new InputError(`condition "${shown}", column ${pos + 1}: ${message}`, loc);
  }
}

function isWord(t: Token, word: string): boolean {
  return t.kind === 'name' && t.text === word;
}

function describe(t: Token): string {
  return t.kind === 'end' ? 'the end of the condition' : `'${t.text}'`;
}

/** Parameter names a condition mentions, each once, in order of appearance. */
export function conditionNames(c: Condition): string[] {
  const out: string[] = [];
  const add = (o: Operand) => {
    if (o.kind === 'name' && !out.includes(o.name)) out.push(o.name);
  };
  const walk = (c: Condition): void => {
    switch (c.kind) {
      case 'or':
      case 'and':
        walk(c.left);
        walk(c.right);
        return;
      case 'not':
        walk(c.operand);
        return;
      case 'compare':
        add(c.left);
        add(c.right);
        return;
      case 'in':
        add(c.operand);
        c.values.forEach(add);
        return;
      case 'truthy':
        add(c.operand);
    }
  };
  walk(c);
  return out;
}

export function evaluateCondition(c: Condition, config: Config): boolean {
  switch (c.kind) {
    case 'or':
      return evaluateCondition(c.left, config) || evaluateCondition(c.right, config);
    case 'and':
      return evaluateCondition(c.left, config) && evaluateCondition(c.right, config);
    case 'not':
      return !evaluateCondition(c.operand, config);
    case 'truthy':
      return truthy(valueOf(c.operand, config));
    case 'in': {
      const v = valueOf(c.operand, config);
      return c.values.some((o) => equal(v, valueOf(o, config))) !== c.negated;
    }
    case 'compare': {
      const a = valueOf(c.left, config);
      const b = valueOf(c.right, config);
      if (c.op === '==') return equal(a, b);
      if (c.op === '!=') return !equal(a, b);
      return order(c.op, a, b);
    }
  }
}

function valueOf(o: Operand, config: Config): Value {
  if (o.kind === 'literal') return o.value;
  const v = config[o.name];
  if (v === undefined) throw new InputError(`condition names '${o.name}', which the configuration has no value for`);
  return v;
}

// Kconfig writes booleans as y/n; Wayfinder's daemon also reads "y"/"n" as true/false in conditions.
const TRUE_WORDS = new Set(['y', 'yes', 'true']);
const FALSE_WORDS = new Set(['n', 'no', 'false']);

/** Equality across types: a number equals its decimal text, a boolean equals y/yes/true or n/no/false. */
function equal(a: Value, b: Value): boolean {
  if (typeof a === typeof b) return a === b;
  if (typeof a === 'boolean' || typeof b === 'boolean') {
    const [bool, other] = typeof a === 'boolean' ? [a, b] : [b as boolean, a];
    if (typeof other !== 'string') return false;
    return (bool ? TRUE_WORDS : FALSE_WORDS).has(other.toLowerCase());
  }
  return String(a) === String(b);
}

function order(op: CompareOp, a: Value, b: Value): boolean {
  let x: number | string;
  let y: number | string;
  if (typeof a === 'string' && typeof b === 'string') {
    [x, y] = [a, b];
  } else {
    x = toNumber(a, op);
    y = toNumber(b, op);
  }
  switch (op) {
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    default:
      return x >= y;
  }
}

function toNumber(v: Value, op: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  throw new InputError(`cannot order ${JSON.stringify(v)} with '${op}': it is not a number`);
}

/** A bare operand: false, 0, "", n, no and false are false; everything else is true. */
function truthy(v: Value): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  return v !== '' && v !== '0' && !FALSE_WORDS.has(v.toLowerCase());
}
