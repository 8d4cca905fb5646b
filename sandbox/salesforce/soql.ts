/**
 * A parser for the subset of SOQL the sandbox executes. Literal nodes carry the decoded value, so
 * a client's escaping can be property-tested against `parseSoql`.
 * https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select.htm
 *
 * Grammar (keywords case-insensitive):
 *   query     := SELECT items FROM ident [WHERE cond] [ORDER BY order {, order}] [LIMIT int] [OFFSET int]
 *   items     := item {, item};  item := path | COUNT() | '(' query ')'   (a child subquery)
 *   cond      := or;  or := and {OR and};  and := not {AND not};  not := NOT not | '(' cond ')' | predicate
 *   predicate := path op literal | path LIKE string | path [NOT] IN '(' literal {, literal} ')'
 *   op        := = | != | <> | < | <= | > | >=
 *   literal   := string | number | true | false | null | date | dateTime
 *              | TODAY | YESTERDAY | TOMORROW | LAST_N_DAYS:n | NEXT_N_DAYS:n | N_DAYS_AGO:n
 *   order     := path [ASC|DESC] [NULLS (FIRST|LAST)]
 */

/** A string literal; `value` is the decoded text (escapes applied). */
export interface StringLiteral {
  readonly kind: 'string';
  readonly value: string;
}
/** The string operand of LIKE: `value` has escapes applied (`\%` → `%`); `regex` matches case-insensitively. */
export interface PatternLiteral {
  readonly kind: 'pattern';
  readonly value: string;
  readonly regex: RegExp;
}
export interface NumberLiteral {
  readonly kind: 'number';
  readonly value: number;
}
export interface BooleanLiteral {
  readonly kind: 'boolean';
  readonly value: boolean;
}
export interface NullLiteral {
  readonly kind: 'null';
  readonly value: null;
}
/** A date literal, `value` as `YYYY-MM-DD`. */
export interface DateLiteral {
  readonly kind: 'date';
  readonly value: string;
}
/** A dateTime literal, `value` in epoch ms (offset applied); `text` as written. */
export interface DateTimeLiteral {
  readonly kind: 'datetime';
  readonly value: number;
  readonly text: string;
}
/**
 * A relative date literal (`TODAY`, `LAST_N_DAYS:30`, …); `n` for the parameterised ones. It stands
 * for a range of whole days in the org's time zone (GMT in the sandbox).
 * https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm
 */
export interface RelativeDateLiteral {
  readonly kind: 'relativeDate';
  readonly value: RelativeDateName;
  readonly n?: number;
}

/** The relative date literals the sandbox understands. */
export const RELATIVE_DATES = [
  'YESTERDAY',
  'TODAY',
  'TOMORROW',
  'LAST_N_DAYS',
  'NEXT_N_DAYS',
  'N_DAYS_AGO',
] as const;
export type RelativeDateName = (typeof RELATIVE_DATES)[number];
const PARAMETERISED: readonly string[] = ['LAST_N_DAYS', 'NEXT_N_DAYS', 'N_DAYS_AGO'];

export type Literal =
  | StringLiteral
  | NumberLiteral
  | BooleanLiteral
  | NullLiteral
  | DateLiteral
  | DateTimeLiteral
  | RelativeDateLiteral;

/** A field reference: `['Account', 'Name']` for `Account.Name`; `pos` is the offset in the text. */
export interface FieldPath {
  readonly path: readonly string[];
  readonly pos: number;
}

export type SelectItem =
  | ({ readonly kind: 'field' } & FieldPath)
  | { readonly kind: 'count'; readonly pos: number }
  | { readonly kind: 'subquery'; readonly query: SoqlQuery; readonly pos: number };

export type ComparisonOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type Condition =
  | { readonly kind: 'and'; readonly operands: readonly Condition[] }
  | { readonly kind: 'or'; readonly operands: readonly Condition[] }
  | { readonly kind: 'not'; readonly operand: Condition }
  | {
      readonly kind: 'compare';
      readonly field: FieldPath;
      readonly op: ComparisonOperator;
      readonly value: Literal;
    }
  | { readonly kind: 'like'; readonly field: FieldPath; readonly value: PatternLiteral }
  | {
      readonly kind: 'in';
      readonly field: FieldPath;
      readonly negated: boolean;
      readonly values: readonly Literal[];
    };

export interface OrderItem {
  readonly field: FieldPath;
  readonly direction: 'ASC' | 'DESC';
  /** Salesforce sorts nulls first unless told otherwise. */
  readonly nulls: 'FIRST' | 'LAST';
}

export interface SoqlQuery {
  readonly select: readonly SelectItem[];
  readonly from: { readonly name: string; readonly pos: number };
  readonly where?: Condition;
  readonly orderBy: readonly OrderItem[];
  readonly limit?: number;
  readonly offset?: number;
  /** The original text, for error messages. */
  readonly text: string;
}

/** A MALFORMED_QUERY error; `message` is formatted as Salesforce formats it (text, caret, row/column). */
export class SoqlSyntaxError extends Error {
  override name = 'SoqlSyntaxError';
  readonly pos: number;
  constructor(text: string, pos: number, detail: string) {
    super(soqlErrorMessage(text, pos, detail));
    this.pos = pos;
  }
}

/** Salesforce's query error layout: the query line, a caret under the column, `ERROR at Row:r:Column:c`, the detail. */
export function soqlErrorMessage(text: string, pos: number, detail: string): string {
  const before = text.slice(0, pos);
  const row = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const lineEnd = text.indexOf('\n', pos);
  const line = text.slice(lineStart, lineEnd === -1 ? undefined : lineEnd);
  const col = pos - lineStart + 1;
  return `\n${line}\n${' '.repeat(col - 1)}^\nERROR at Row:${row}:Column:${col}\n${detail}`;
}

type TokenKind = 'ident' | 'string' | 'number' | 'date' | 'datetime' | 'punct' | 'eof';
interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly pos: number;
}

const DATETIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2})/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}(?![\dT])/;
const NUMBER_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)/;
const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/;
const PUNCT = ['<=', '>=', '!=', '<>', '=', '<', '>', '(', ')', ',', ':'];

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const rest = text.slice(i);
    if (c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== "'") j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length)
        throw new SoqlSyntaxError(text, i, `line 1:${i} mismatched character '<EOF>' expecting '''`);
      out.push({ kind: 'string', text: text.slice(i, j + 1), pos: i });
      i = j + 1;
      continue;
    }
    const dt = DATETIME_RE.exec(rest) ?? undefined;
    if (dt) {
      out.push({ kind: 'datetime', text: dt[0], pos: i });
      i += dt[0].length;
      continue;
    }
    const d = DATE_RE.exec(rest) ?? undefined;
    if (d) {
      out.push({ kind: 'date', text: d[0], pos: i });
      i += d[0].length;
      continue;
    }
    const n = /[\d.+-]/.test(c) ? NUMBER_RE.exec(rest) : null;
    if (n) {
      out.push({ kind: 'number', text: n[0], pos: i });
      i += n[0].length;
      continue;
    }
    const id = IDENT_RE.exec(rest);
    if (id) {
      out.push({ kind: 'ident', text: id[0], pos: i });
      i += id[0].length;
      continue;
    }
    const p = PUNCT.find((x) => rest.startsWith(x));
    if (p) {
      out.push({ kind: 'punct', text: p, pos: i });
      i += p.length;
      continue;
    }
    throw new SoqlSyntaxError(text, i, `unexpected token: '${c}'`);
  }
  out.push({ kind: 'eof', text: '<EOF>', pos: text.length });
  return out;
}

const ESCAPES: Readonly<Record<string, string>> = {
  "'": "'",
  '\\': '\\',
  n: '\n',
  r: '\r',
  t: '\t',
  b: '\b',
  f: '\f',
  '"': '"',
};

/**
 * Decodes the body of a quoted SOQL string. With `like`, `\%` and `\_` are allowed and returned as
 * literal-marker pairs so the pattern can tell them from wildcards.
 * https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_quotedstringescapes.htm
 */
function decodeString(text: string, token: Token, like: boolean): { value: string; parts: string[] } {
  const body = token.text.slice(1, -1);
  let value = '';
  const parts: string[] = []; // for LIKE: '\0%' marks a wildcard, other entries are literal text
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== '\\') {
      value += c;
      if (like && (c === '%' || c === '_')) parts.push(`\0${c}`);
      else parts.push(c);
      continue;
    }
    const e = body[i + 1];
    const at = token.pos + 1 + i;
    if (e === undefined)
      throw new SoqlSyntaxError(text, at, 'Invalid string literal: a backslash ends the string');
    if (e === 'u') {
      const hex = body.slice(i + 2, i + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
        throw new SoqlSyntaxError(text, at, `Invalid unicode escape sequence: \\u${hex}`);
      }
      const ch = String.fromCharCode(Number.parseInt(hex, 16));
      value += ch;
      parts.push(ch);
      i += 5;
      continue;
    }
    const mapped = ESCAPES[e] ?? (like && (e === '%' || e === '_') ? e : undefined);
    if (mapped === undefined) {
      throw new SoqlSyntaxError(
        text,
        at,
        `Invalid string literal '${token.text}'. Illegal character sequence '\\${e}' in string literal.`,
      );
    }
    value += mapped;
    parts.push(mapped);
    i++;
  }
  return { value, parts };
}

function likeRegex(parts: readonly string[]): RegExp {
  let src = '';
  for (const p of parts) {
    if (p === '\0%') src += '[\\s\\S]*';
    else if (p === '\0_') src += '[\\s\\S]';
    else src += p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${src}$`, 'i');
}

function parseDateTime(text: string): number {
  const normalized = text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  return Date.parse(normalized);
}

class Parser {
  readonly text: string;
  readonly tokens: Token[];
  i = 0;
  constructor(text: string) {
    this.text = text;
    this.tokens = tokenize(text);
  }
  get peek(): Token {
    return this.tokens[this.i] as Token;
  }
  fail(token: Token = this.peek): never {
    throw new SoqlSyntaxError(
      this.text,
      token.pos,
      `unexpected token: ${token.kind === 'eof' ? '<EOF>' : token.text}`,
    );
  }
  isKeyword(word: string, token: Token = this.peek): boolean {
    return token.kind === 'ident' && token.text.toUpperCase() === word;
  }
  acceptKeyword(word: string): boolean {
    if (!this.isKeyword(word)) return false;
    this.i++;
    return true;
  }
  expectKeyword(word: string): void {
    if (!this.acceptKeyword(word)) this.fail();
  }
  acceptPunct(p: string): boolean {
    if (this.peek.kind !== 'punct' || this.peek.text !== p) return false;
    this.i++;
    return true;
  }
  expectPunct(p: string): void {
    if (!this.acceptPunct(p)) this.fail();
  }
  path(): FieldPath {
    const t = this.peek;
    if (t.kind !== 'ident' || RESERVED.has(t.text.toUpperCase())) this.fail();
    this.i++;
    return { path: t.text.split('.'), pos: t.pos };
  }

  query(nested: boolean): SoqlQuery {
    this.expectKeyword('SELECT');
    const select: SelectItem[] = [];
    do {
      const t = this.peek;
      if (t.kind === 'punct' && t.text === '(') {
        if (nested) this.fail();
        this.i++;
        const query = this.query(true);
        this.expectPunct(')');
        select.push({ kind: 'subquery', query, pos: t.pos });
      } else if (this.isKeyword('COUNT') && this.tokens[this.i + 1]?.text === '(') {
        this.i += 2;
        if (this.peek.text !== ')') this.fail();
        this.i++;
        select.push({ kind: 'count', pos: t.pos });
      } else {
        select.push({ kind: 'field', ...this.path() });
      }
    } while (this.acceptPunct(','));
    if (select.some((s) => s.kind === 'count') && select.length > 1) {
      const count = select.find((s) => s.kind === 'count');
      throw new SoqlSyntaxError(this.text, count?.pos ?? 0, 'COUNT() cannot be combined with other fields');
    }
    this.expectKeyword('FROM');
    const fromToken = this.peek;
    if (fromToken.kind !== 'ident' || fromToken.text.includes('.')) this.fail();
    this.i++;
    const from = { name: fromToken.text, pos: fromToken.pos };
    let where: Condition | undefined;
    if (this.acceptKeyword('WHERE')) where = this.or();
    const orderBy: OrderItem[] = [];
    if (this.acceptKeyword('ORDER')) {
      this.expectKeyword('BY');
      do {
        const field = this.path();
        let direction: 'ASC' | 'DESC' = 'ASC';
        if (this.acceptKeyword('DESC')) direction = 'DESC';
        else this.acceptKeyword('ASC');
        let nulls: 'FIRST' | 'LAST' = 'FIRST';
        if (this.acceptKeyword('NULLS')) {
          if (this.acceptKeyword('LAST')) nulls = 'LAST';
          else this.expectKeyword('FIRST');
        }
        orderBy.push({ field, direction, nulls });
      } while (this.acceptPunct(','));
    }
    let limit: number | undefined;
    let offset: number | undefined;
    if (this.acceptKeyword('LIMIT')) limit = this.integer();
    if (this.acceptKeyword('OFFSET')) offset = this.integer();
    if (!nested && this.peek.kind !== 'eof') this.fail();
    return {
      select,
      from,
      ...(where ? { where } : {}),
      orderBy,
      ...(limit !== undefined ? { limit } : {}),
      ...(offset !== undefined ? { offset } : {}),
      text: this.text,
    };
  }
  integer(): number {
    const t = this.peek;
    if (t.kind !== 'number' || !/^\d+$/.test(t.text)) this.fail();
    this.i++;
    return Number(t.text);
  }
  or(): Condition {
    const operands = [this.and()];
    while (this.acceptKeyword('OR')) operands.push(this.and());
    return operands.length === 1 ? (operands[0] as Condition) : { kind: 'or', operands };
  }
  and(): Condition {
    const operands = [this.not()];
    while (this.acceptKeyword('AND')) operands.push(this.not());
    return operands.length === 1 ? (operands[0] as Condition) : { kind: 'and', operands };
  }
  not(): Condition {
    if (this.acceptKeyword('NOT')) return { kind: 'not', operand: this.not() };
    if (this.acceptPunct('(')) {
      const inner = this.or();
      this.expectPunct(')');
      return inner;
    }
    return this.predicate();
  }
  predicate(): Condition {
    const field = this.path();
    const t = this.peek;
    if (this.acceptKeyword('LIKE')) {
      const s = this.peek;
      if (s.kind !== 'string') this.fail();
      this.i++;
      const { value, parts } = decodeString(this.text, s, true);
      return { kind: 'like', field, value: { kind: 'pattern', value, regex: likeRegex(parts) } };
    }
    let negated = false;
    if (this.isKeyword('NOT') && this.isKeyword('IN', this.tokens[this.i + 1])) {
      this.i++;
      negated = true;
    }
    if (this.acceptKeyword('IN')) {
      this.expectPunct('(');
      const values: Literal[] = [];
      do values.push(this.literal());
      while (this.acceptPunct(','));
      this.expectPunct(')');
      return { kind: 'in', field, negated, values };
    }
    if (t.kind !== 'punct' || ['(', ')', ',', ':'].includes(t.text)) this.fail();
    this.i++;
    const op = (t.text === '<>' ? '!=' : t.text) as ComparisonOperator;
    return { kind: 'compare', field, op, value: this.literal() };
  }
  literal(): Literal {
    const t = this.peek;
    this.i++;
    switch (t.kind) {
      case 'string':
        return { kind: 'string', value: decodeString(this.text, t, false).value };
      case 'number':
        return { kind: 'number', value: Number(t.text) };
      case 'date':
        if (Number.isNaN(Date.parse(`${t.text}T00:00:00Z`))) {
          throw new SoqlSyntaxError(
            this.text,
            t.pos,
            `line 1:${t.pos} no viable alternative at character '${t.text}'`,
          );
        }
        return { kind: 'date', value: t.text };
      case 'datetime': {
        const value = parseDateTime(t.text);
        if (Number.isNaN(value)) this.fail(t);
        return { kind: 'datetime', value, text: t.text };
      }
      case 'ident': {
        const upper = t.text.toUpperCase();
        if (upper === 'TRUE' || upper === 'FALSE') return { kind: 'boolean', value: upper === 'TRUE' };
        if (upper === 'NULL') return { kind: 'null', value: null };
        const name = RELATIVE_DATES.find((d) => d === upper);
        if (!name) return this.fail(t);
        if (!PARAMETERISED.includes(name)) return { kind: 'relativeDate', value: name };
        this.expectPunct(':');
        return { kind: 'relativeDate', value: name, n: this.integer() };
      }
      default:
        return this.fail(t);
    }
  }
}

const RESERVED = new Set([
  'AND',
  'ASC',
  'BY',
  'DESC',
  'FROM',
  'IN',
  'LIKE',
  'LIMIT',
  'NOT',
  'NULL',
  'NULLS',
  'OFFSET',
  'OR',
  'ORDER',
  'SELECT',
  'WHERE',
  'GROUP',
  'HAVING',
]);

/** Parses a SOQL query; throws {@link SoqlSyntaxError} (MALFORMED_QUERY) for anything outside the subset. */
export function parseSoql(text: string): SoqlQuery {
  return new Parser(text).query(false);
}
