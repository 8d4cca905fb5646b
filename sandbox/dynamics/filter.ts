/**
 * The `$filter` dialect of the F&O OData service: a parser producing a small AST, a validator
 * against an entity's fields, and an evaluator.
 *
 * Supported, as F&O supports them: `eq ne gt ge lt le`, `and or not`, parentheses, arithmetic
 * `add sub mul div mod`, string literals with doubled quotes, numbers, `true`/`false`, `null`,
 * unquoted DateTimeOffset literals (`2024-05-01T12:00:00Z`), GUIDs, and enum literals
 * (`Microsoft.Dynamics.DataEntities.NoYes'Yes'`, `eq`/`ne` only). A string literal containing `*`
 * compared with `eq`/`ne` is a wildcard match (F&O's "contains"/"starts with").
 * Rejected, as on F&O: the `in` and `has` operators and every function call (`contains()`, ...).
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/odata#filter-details
 *
 * `parseFilter` takes the already-decoded query value (see `decodeQueryComponent` in query.ts).
 */

/** Comparison operators. */
export type CompareOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
/** Arithmetic operators. */
export type ArithOp = 'add' | 'sub' | 'mul' | 'div' | 'mod';

/** A literal; `value` is the decoded value (quotes undoubled, enum member name, ISO text for dates). */
export type LiteralNode =
  | { readonly kind: 'literal'; readonly type: 'string'; readonly value: string }
  | { readonly kind: 'literal'; readonly type: 'number'; readonly value: number }
  | { readonly kind: 'literal'; readonly type: 'boolean'; readonly value: boolean }
  | { readonly kind: 'literal'; readonly type: 'null'; readonly value: null }
  /** `value` is the literal as written; `epochMs` its instant. Date-only literals are midnight UTC. */
  | { readonly kind: 'literal'; readonly type: 'datetime'; readonly value: string; readonly epochMs: number }
  | { readonly kind: 'literal'; readonly type: 'guid'; readonly value: string }
  /** `enumType` is the qualified type name (e.g. `Microsoft.Dynamics.DataEntities.NoYes`), `value` the member. */
  | { readonly kind: 'literal'; readonly type: 'enum'; readonly enumType: string; readonly value: string };

/** The `$filter` AST. */
export type FilterNode =
  | { readonly kind: 'and' | 'or'; readonly left: FilterNode; readonly right: FilterNode }
  | { readonly kind: 'not'; readonly operand: FilterNode }
  | {
      readonly kind: 'compare';
      readonly op: CompareOp;
      readonly left: FilterNode;
      readonly right: FilterNode;
    }
  | { readonly kind: 'arith'; readonly op: ArithOp; readonly left: FilterNode; readonly right: FilterNode }
  | { readonly kind: 'field'; readonly name: string }
  | LiteralNode;

/** A `$filter` the service refuses; `message` is the text F&O-style error bodies carry. */
export class FilterError extends Error {
  override name = 'FilterError';
}

type Token =
  | { t: 'lit'; node: LiteralNode; pos: number }
  | { t: 'ident'; v: string; pos: number }
  | { t: '('; pos: number }
  | { t: ')'; pos: number }
  | { t: ','; pos: number }
  | { t: '/'; pos: number };

const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})/;
const DATE = /^\d{4}-\d{2}-\d{2}(?![\w:])/;
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])/;
const NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?(?![\w.])/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/;

function readString(text: string, start: number): { value: string; end: number } {
  let i = start + 1;
  let value = '';
  for (;;) {
    const quote = text.indexOf("'", i);
    if (quote < 0) {
      throw new FilterError(`There is an unterminated string literal at position ${start} in '${text}'.`);
    }
    value += text.slice(i, quote);
    if (text[quote + 1] === "'") {
      value += "'";
      i = quote + 2;
      continue;
    }
    return { value, end: quote + 1 };
  }
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') {
      i += 1;
      continue;
    }
    if (ch === '(' || ch === ')' || ch === ',' || ch === '/') {
      tokens.push({ t: ch, pos: i });
      i += 1;
      continue;
    }
    if (ch === "'") {
      const { value, end } = readString(text, i);
      tokens.push({ t: 'lit', node: { kind: 'literal', type: 'string', value }, pos: i });
      i = end;
      continue;
    }
    const rest = text.slice(i);
    const dt = DATETIME.exec(rest);
    if (dt) {
      const epochMs = Date.parse(dt[0]);
      if (Number.isNaN(epochMs)) throw new FilterError(`'${dt[0]}' is not a valid DateTimeOffset literal.`);
      tokens.push({ t: 'lit', node: { kind: 'literal', type: 'datetime', value: dt[0], epochMs }, pos: i });
      i += dt[0].length;
      continue;
    }
    const guid = GUID.exec(rest);
    if (guid) {
      tokens.push({
        t: 'lit',
        node: { kind: 'literal', type: 'guid', value: guid[0].toLowerCase() },
        pos: i,
      });
      i += guid[0].length;
      continue;
    }
    const date = DATE.exec(rest);
    if (date) {
      const epochMs = Date.parse(`${date[0]}T00:00:00Z`);
      if (Number.isNaN(epochMs)) throw new FilterError(`'${date[0]}' is not a valid Date literal.`);
      tokens.push({ t: 'lit', node: { kind: 'literal', type: 'datetime', value: date[0], epochMs }, pos: i });
      i += date[0].length;
      continue;
    }
    const num = NUMBER.exec(rest);
    if (num) {
      const value = Number(num[0].replace(/[mMdDfFlL]$/, ''));
      tokens.push({ t: 'lit', node: { kind: 'literal', type: 'number', value }, pos: i });
      i += num[0].length;
      continue;
    }
    const ident = IDENT.exec(rest);
    if (ident) {
      const name = ident[0];
      const after = i + name.length;
      if (text[after] === "'" && name.includes('.')) {
        const { value, end } = readString(text, after);
        tokens.push({ t: 'lit', node: { kind: 'literal', type: 'enum', enumType: name, value }, pos: i });
        i = end;
        continue;
      }
      tokens.push({ t: 'ident', v: name, pos: i });
      i = after;
      continue;
    }
    throw new FilterError(`Syntax error: character '${ch}' is not valid at position ${i} in '${text}'.`);
  }
  return tokens;
}

const COMPARE: readonly string[] = ['eq', 'ne', 'gt', 'ge', 'lt', 'le'];
const ADDITIVE: readonly string[] = ['add', 'sub'];
const MULTIPLICATIVE: readonly string[] = ['mul', 'div', 'mod'];
const RESERVED: readonly string[] = [
  ...COMPARE,
  ...ADDITIVE,
  ...MULTIPLICATIVE,
  'and',
  'or',
  'not',
  'in',
  'has',
];

class Parser {
  private i = 0;
  private readonly tokens: Token[];
  private readonly text: string;

  constructor(text: string) {
    this.text = text;
    this.tokens = tokenize(text);
  }

  parse(): FilterNode {
    if (this.tokens.length === 0) throw new FilterError('The $filter expression is empty.');
    const node = this.or();
    const extra = this.tokens[this.i];
    if (extra) throw new FilterError(`Syntax error at position ${extra.pos} in '${this.text}'.`);
    return node;
  }

  private peekWord(): string | undefined {
    const tok = this.tokens[this.i];
    return tok?.t === 'ident' ? tok.v : undefined;
  }

  private rejectUnsupportedOperator(): void {
    const word = this.peekWord();
    if (word === 'in' || word === 'has') {
      throw new FilterError(`The '${word}' operator is not supported by this service.`);
    }
  }

  private or(): FilterNode {
    let left = this.and();
    while (this.peekWord() === 'or') {
      this.i += 1;
      left = { kind: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): FilterNode {
    let left = this.not();
    while (this.peekWord() === 'and') {
      this.i += 1;
      left = { kind: 'and', left, right: this.not() };
    }
    return left;
  }

  private not(): FilterNode {
    if (this.peekWord() === 'not') {
      this.i += 1;
      return { kind: 'not', operand: this.not() };
    }
    return this.comparison();
  }

  private comparison(): FilterNode {
    const left = this.additive();
    this.rejectUnsupportedOperator();
    const word = this.peekWord();
    if (word && COMPARE.includes(word)) {
      this.i += 1;
      const right = this.additive();
      this.rejectUnsupportedOperator();
      return { kind: 'compare', op: word as CompareOp, left, right };
    }
    return left;
  }

  private additive(): FilterNode {
    let left = this.multiplicative();
    for (let word = this.peekWord(); word && ADDITIVE.includes(word); word = this.peekWord()) {
      this.i += 1;
      left = { kind: 'arith', op: word as ArithOp, left, right: this.multiplicative() };
    }
    return left;
  }

  private multiplicative(): FilterNode {
    let left = this.primary();
    for (let word = this.peekWord(); word && MULTIPLICATIVE.includes(word); word = this.peekWord()) {
      this.i += 1;
      left = { kind: 'arith', op: word as ArithOp, left, right: this.primary() };
    }
    return left;
  }

  private primary(): FilterNode {
    const tok = this.tokens[this.i];
    if (!tok) throw new FilterError(`Syntax error: the expression '${this.text}' ends unexpectedly.`);
    this.i += 1;
    switch (tok.t) {
      case 'lit':
        return tok.node;
      case '(': {
        const inner = this.or();
        const close = this.tokens[this.i];
        if (close?.t === ',') {
          throw new FilterError(`Syntax error: a list literal at position ${close.pos} is not supported.`);
        }
        if (close?.t !== ')') throw new FilterError(`Syntax error: ')' expected in '${this.text}'.`);
        this.i += 1;
        return inner;
      }
      case 'ident': {
        if (this.tokens[this.i]?.t === '(') {
          throw new FilterError(
            `The function '${tok.v}' is not supported by this service. Use the wildcard form Field eq '*text*'.`,
          );
        }
        if (tok.v === 'true' || tok.v === 'false') {
          return { kind: 'literal', type: 'boolean', value: tok.v === 'true' };
        }
        if (tok.v === 'null') return { kind: 'literal', type: 'null', value: null };
        if (RESERVED.includes(tok.v)) {
          throw new FilterError(`Syntax error: '${tok.v}' at position ${tok.pos} was not expected.`);
        }
        if (this.tokens[this.i]?.t === '/') {
          throw new FilterError(`Navigation paths in $filter ('${tok.v}/...') are not supported.`);
        }
        return { kind: 'field', name: tok.v };
      }
      default:
        throw new FilterError(`Syntax error: '${tok.t}' at position ${tok.pos} was not expected.`);
    }
  }
}

/** Parses a decoded `$filter` value; throws `FilterError` for syntax errors and unsupported constructs. */
export function parseFilter(text: string): FilterNode {
  return new Parser(text).parse();
}

/**
 * The EDM type of a field, as the filter validator, the evaluator and `$metadata` see it;
 * `nullable` is the CSDL Nullable facet (default true).
 */
export type FieldKind = (
  | { readonly type: 'string' }
  | { readonly type: 'decimal' }
  | { readonly type: 'int' }
  | { readonly type: 'int64' }
  | { readonly type: 'datetime' }
  | { readonly type: 'guid' }
  | { readonly type: 'enum'; readonly enumType: string; readonly members: readonly string[] }
) & { readonly nullable?: boolean };

const EDM_NAMES: Readonly<Record<Exclude<FieldKind['type'], 'enum'>, string>> = {
  string: 'Edm.String',
  decimal: 'Edm.Decimal',
  int: 'Edm.Int32',
  int64: 'Edm.Int64',
  datetime: 'Edm.DateTimeOffset',
  guid: 'Edm.Guid',
};

/** The qualified EDM type name of a field kind, e.g. `Edm.Decimal` or `Microsoft.Dynamics.DataEntities.NoYes`. */
export const edmName = (kind: FieldKind): string =>
  kind.type === 'enum' ? kind.enumType : EDM_NAMES[kind.type];

function literalEdm(node: LiteralNode): string {
  switch (node.type) {
    case 'string':
      return 'Edm.String';
    case 'number':
      return Number.isInteger(node.value) ? 'Edm.Int32' : 'Edm.Decimal';
    case 'boolean':
      return 'Edm.Boolean';
    case 'datetime':
      return 'Edm.DateTimeOffset';
    case 'guid':
      return 'Edm.Guid';
    case 'enum':
      return node.enumType;
    case 'null':
      return 'null';
  }
}

const OP_KIND: Record<CompareOp, string> = {
  eq: 'Equal',
  ne: 'NotEqual',
  gt: 'GreaterThan',
  ge: 'GreaterThanOrEqual',
  lt: 'LessThan',
  le: 'LessThanOrEqual',
};

function compatible(field: FieldKind, lit: LiteralNode): boolean {
  if (lit.type === 'null') return true;
  switch (field.type) {
    case 'string':
      return lit.type === 'string';
    case 'decimal':
    case 'int':
    case 'int64':
      return lit.type === 'number';
    case 'datetime':
      return lit.type === 'datetime';
    case 'guid':
      return lit.type === 'guid';
    case 'enum':
      return lit.type === 'enum' && lit.enumType === field.enumType;
  }
}

/**
 * Checks field names and operand types against an entity type; throws `FilterError` with the
 * ASP.NET OData wording (e.g. "Could not find a property named 'X' on type 'Y'.").
 */
export function validateFilter(
  node: FilterNode,
  fields: ReadonlyMap<string, FieldKind>,
  typeName: string,
): void {
  const fieldOf = (n: FilterNode): FieldKind | undefined => {
    if (n.kind !== 'field') return undefined;
    const kind = fields.get(n.name);
    if (!kind) throw new FilterError(`Could not find a property named '${n.name}' on type '${typeName}'.`);
    return kind;
  };
  switch (node.kind) {
    case 'and':
    case 'or':
    case 'arith':
      validateFilter(node.left, fields, typeName);
      validateFilter(node.right, fields, typeName);
      return;
    case 'not':
      validateFilter(node.operand, fields, typeName);
      return;
    case 'field':
      fieldOf(node);
      return;
    case 'literal':
      return;
    case 'compare': {
      validateFilter(node.left, fields, typeName);
      validateFilter(node.right, fields, typeName);
      const pairs: [FilterNode, FilterNode][] = [
        [node.left, node.right],
        [node.right, node.left],
      ];
      for (const [a, b] of pairs) {
        const kind = fieldOf(a);
        if (!kind || b.kind !== 'literal') continue;
        // ODataLib's message for a plain string against an enum property (F&O's OData stack is
        // ASP.NET OData on ODataLib); its exact F&O wording is UNCONFIRMED:
        // https://stackguides.com/questions/49457740/format-of-an-odata-filter-specifying-an-enum
        if (!compatible(kind, b)) {
          throw new FilterError(
            `A binary operator with incompatible types was detected. Found operand types '${edmName(kind)}' and '${literalEdm(b)}' for operator kind '${OP_KIND[node.op]}'.`,
          );
        }
        if (kind.type === 'enum' && node.op !== 'eq' && node.op !== 'ne') {
          throw new FilterError(`Enum values only support the 'eq' and 'ne' operators, not '${node.op}'.`);
        }
        if (kind.type === 'enum' && b.type === 'enum' && !kind.members.includes(b.value)) {
          throw new FilterError(`The string '${b.value}' is not a valid enumerated type constant.`);
        }
      }
      return;
    }
  }
}

type Value = string | number | boolean | null;

function evalValue(node: FilterNode, record: Readonly<Record<string, unknown>>): Value {
  switch (node.kind) {
    case 'field': {
      const v = record[node.name];
      return v === undefined ? null : (v as Value);
    }
    case 'literal':
      return node.type === 'datetime' ? node.epochMs : node.value;
    case 'arith': {
      const a = Number(evalValue(node.left, record));
      const b = Number(evalValue(node.right, record));
      switch (node.op) {
        case 'add':
          return a + b;
        case 'sub':
          return a - b;
        case 'mul':
          return a * b;
        case 'div':
          return a / b;
        case 'mod':
          return a % b;
      }
      return null;
    }
    default:
      return evalFilter(node, record);
  }
}

const likeCache = new Map<string, RegExp>();
function wildcard(pattern: string): RegExp {
  let re = likeCache.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'is');
    if (likeCache.size > 500) likeCache.clear();
    likeCache.set(pattern, re);
  }
  return re;
}

/** Coerces a record value to what it compares as: datetimes as epoch ms, strings case-folded. */
function comparable(v: Value, other: FilterNode): Value {
  if (typeof v === 'string' && other.kind === 'literal' && other.type === 'datetime') return Date.parse(v);
  return v;
}

function compare(
  op: CompareOp,
  left: FilterNode,
  right: FilterNode,
  record: Readonly<Record<string, unknown>>,
) {
  let a = comparable(evalValue(left, record), right);
  let b = comparable(evalValue(right, record), left);
  // F&O's SQL collation compares strings case-insensitively; `*` in an eq/ne literal is a LIKE.
  if (
    typeof a === 'string' &&
    right.kind === 'literal' &&
    right.type === 'string' &&
    right.value.includes('*')
  ) {
    if (op === 'eq' || op === 'ne') return wildcard(right.value).test(a) === (op === 'eq');
  }
  if (typeof a === 'string' && typeof b === 'string') {
    a = a.toLowerCase();
    b = b.toLowerCase();
  }
  if (op === 'eq') return a === b;
  if (op === 'ne') return a !== b;
  if (a === null || b === null) return false;
  switch (op) {
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
  }
}

/** Evaluates a (validated) filter against a record. */
export function evalFilter(node: FilterNode, record: Readonly<Record<string, unknown>>): boolean {
  switch (node.kind) {
    case 'and':
      return evalFilter(node.left, record) && evalFilter(node.right, record);
    case 'or':
      return evalFilter(node.left, record) || evalFilter(node.right, record);
    case 'not':
      return !evalFilter(node.operand, record);
    case 'compare':
      return compare(node.op, node.left, node.right, record);
    default:
      return Boolean(evalValue(node, record));
  }
}

/**
 * The dataAreaId values a filter pins the result to (a top-level `dataAreaId eq 'x'` conjunct or an
 * or-chain of them), lowercased; `undefined` when the filter does not restrict the company.
 */
export function companiesOf(node: FilterNode | undefined): Set<string> | undefined {
  if (!node) return undefined;
  if (node.kind === 'and') {
    const l = companiesOf(node.left);
    const r = companiesOf(node.right);
    if (l && r) return new Set([...l].filter((c) => r.has(c)));
    return l ?? r;
  }
  if (node.kind === 'or') {
    const l = companiesOf(node.left);
    const r = companiesOf(node.right);
    return l && r ? new Set([...l, ...r]) : undefined;
  }
  if (node.kind === 'compare' && node.op === 'eq') {
    const [f, v] = node.left.kind === 'field' ? [node.left, node.right] : [node.right, node.left];
    if (f.kind === 'field' && f.name === 'dataAreaId' && v.kind === 'literal' && v.type === 'string') {
      if (!v.value.includes('*')) return new Set([v.value.toLowerCase()]);
    }
  }
  return undefined;
}
