/**
 * Safe OData v4 literals and a small typed `$filter` builder for the F&O dialect.
 * F&O supports eq ne gt ge lt le, and or not and grouping; it does NOT support `in` or `has`, and
 * "contains" is a wildcard string `Field eq '*text*'`, so this API has no way to express the
 * former and spells the latter `matches()`.
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/odata#filter-details
 * Literal syntax (quotes doubled, unquoted DateTimeOffset, qualified enums):
 * https://docs.oasis-open.org/odata/odata/v4.01/odata-v4.01-part2-url-conventions.html#sec_PrimitiveLiterals
 */
import { ValidationError } from '#base/errors.ts';

const ENUM_NAMESPACE = 'Microsoft.Dynamics.DataEntities';
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** An F&O enum value, e.g. `NoYes'Yes'` → `Microsoft.Dynamics.DataEntities.NoYes'Yes'`. */
export interface EnumValue {
  readonly kind: 'enum';
  readonly type: string;
  readonly member: string;
}

/** A value a filter can compare with. `Date` is a DateTimeOffset (sent in UTC). */
export type ODataValue = string | number | boolean | null | Date | EnumValue;

/**
 * An F&O enum literal (`eq`/`ne` only, which the filter API enforces).
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/odata#filtering-on-enums
 */
export function enumValue(type: string, member: string): EnumValue {
  const qualified = type.includes('.') ? type : `${ENUM_NAMESPACE}.${type}`;
  if (!qualified.split('.').every((part) => IDENTIFIER.test(part))) {
    throw new ValidationError(`'${type}' is not a valid enum type name`, { field: 'enumType' });
  }
  if (!IDENTIFIER.test(member))
    throw new ValidationError(`'${member}' is not a valid enum member`, { field: 'enumMember' });
  return { kind: 'enum', type: qualified, member };
}

/** `'text'` with single quotes doubled; the caller percent-encodes the whole option value. */
export function stringLiteral(value: string): string {
  if (typeof value !== 'string') throw new ValidationError(`expected a string, got ${typeof value}`);
  if (!value.isWellFormed()) {
    throw new ValidationError('the string contains a lone UTF-16 surrogate and cannot be sent as UTF-8');
  }
  return `'${value.replaceAll("'", "''")}'`;
}

/** An unquoted ISO 8601 UTC DateTimeOffset literal, e.g. `2024-05-01T12:00:00Z`. */
export function dateTimeLiteral(value: Date): string {
  const ms = value.getTime();
  if (Number.isNaN(ms)) throw new ValidationError('the date is invalid');
  const iso = value.toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

/** The OData literal for `value`; throws ValidationError for values OData cannot carry. */
export function literal(value: ODataValue): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return stringLiteral(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new ValidationError(`${value} cannot be sent as an OData number`);
      return Object.is(value, -0) ? '0' : String(value);
    case 'object':
      if (value instanceof Date) return dateTimeLiteral(value);
      if (value.kind === 'enum') return `${value.type}${stringLiteral(value.member)}`;
      break;
  }
  throw new ValidationError(`unsupported literal of type ${typeof value}`);
}

/**
 * Percent-encodes a query option value so the server decodes exactly `value`: everything but
 * RFC 3986 unreserved characters, `()*!` and `,` is escaped. `+` in particular becomes `%2B`,
 * because ASP.NET decodes a raw `+` as a space.
 * https://learn.microsoft.com/en-us/dotnet/api/system.web.httputility.urldecode
 */
export function encodeQueryValue(value: string): string {
  if (!value.isWellFormed()) throw new ValidationError('the query contains a lone UTF-16 surrogate');
  // `'` is escaped too: WHATWG URL parsing would escape it in a query anyway, and the URL length
  // readByKeys budgets must be the length actually sent.
  return encodeURIComponent(value).replaceAll('%2C', ',').replaceAll("'", '%27');
}

const FILTER = Symbol('filter');

/** A `$filter` expression built by this module; `text` is its unencoded OData form. */
export interface Filter {
  readonly [FILTER]: true;
  readonly text: string;
  /** Whether the expression is an `or` at its top level (needs parentheses inside `and`). */
  readonly precedence: 'or' | 'and' | 'atom';
}

const make = (text: string, precedence: Filter['precedence']): Filter => ({
  [FILTER]: true,
  text,
  precedence,
});

/** The comparison operators F&O supports. */
export type CompareOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

/** Checks a field name is a plain OData identifier (no paths, no injected syntax). */
export function assertField(field: string): string {
  if (typeof field !== 'string' || !IDENTIFIER.test(field)) {
    throw new ValidationError(`'${String(field)}' is not a valid field name`, { field: String(field) });
  }
  return field;
}

function comparison(field: string, op: CompareOp, value: ODataValue, allowWildcard: boolean): Filter {
  assertField(field);
  if (typeof value === 'object' && value !== null && !(value instanceof Date) && value.kind === 'enum') {
    if (op !== 'eq' && op !== 'ne') {
      throw new ValidationError(`F&O compares enum values with eq and ne only, not ${op}`, { field });
    }
  }
  if (typeof value === 'string' && value.includes('*') && !allowWildcard) {
    // F&O treats `*` in an eq/ne string literal as a wildcard and has no escape for it.
    throw new ValidationError(
      `the value for ${field} contains '*', which F&O reads as a wildcard; use matches() for a pattern`,
      { field },
    );
  }
  return make(`${field} ${op} ${literal(value)}`, 'atom');
}

/** `field eq value` (a `*` in a string value is refused; see {@link matches}). */
export const eq = (field: string, value: ODataValue): Filter => comparison(field, 'eq', value, false);
/** `field ne value`. */
export const ne = (field: string, value: ODataValue): Filter => comparison(field, 'ne', value, false);
/** `field gt value`. */
export const gt = (field: string, value: ODataValue): Filter => comparison(field, 'gt', value, false);
/** `field ge value`. */
export const ge = (field: string, value: ODataValue): Filter => comparison(field, 'ge', value, false);
/** `field lt value`. */
export const lt = (field: string, value: ODataValue): Filter => comparison(field, 'lt', value, false);
/** `field le value`. */
export const le = (field: string, value: ODataValue): Filter => comparison(field, 'le', value, false);

/**
 * F&O's wildcard match: `field eq 'pattern'` where `*` matches any run of characters
 * (`'*x*'` = contains, `'x*'` = starts with). There is no escape for a literal `*`.
 */
export function matches(field: string, pattern: string): Filter {
  return comparison(field, 'eq', pattern, true);
}

/** `field eq '*text*'` (F&O has no `contains()` function). `text` must not contain `*`. */
export function contains(field: string, text: string): Filter {
  if (text.includes('*'))
    throw new ValidationError(`contains() text for ${field} must not contain '*'`, { field });
  return matches(field, `*${text}*`);
}

/** Equality that lets a `*` through verbatim (for key predicates; results are re-checked by the caller). */
export function eqVerbatim(field: string, value: string): Filter {
  return comparison(field, 'eq', value, true);
}

function isFilter(value: unknown): value is Filter {
  return typeof value === 'object' && value !== null && (value as Filter)[FILTER] === true;
}

function join(op: 'and' | 'or', parts: readonly Filter[]): Filter {
  if (parts.length === 0) throw new ValidationError(`${op}() needs at least one expression`);
  for (const p of parts)
    if (!isFilter(p)) throw new ValidationError(`${op}() takes filters built by this module`);
  if (parts.length === 1) return parts[0] as Filter;
  const text = parts
    .map((p) => (op === 'and' && p.precedence === 'or' ? `(${p.text})` : p.text))
    .join(` ${op} `);
  return make(text, op);
}

/** Conjunction; `or` operands are parenthesised. */
export const and = (...parts: Filter[]): Filter => join('and', parts);
/** Disjunction. */
export const or = (...parts: Filter[]): Filter => join('or', parts);
/** Negation of a (parenthesised) expression. */
export function not(part: Filter): Filter {
  if (!isFilter(part)) throw new ValidationError('not() takes a filter built by this module');
  return make(`not (${part.text})`, 'atom');
}
/** Explicit grouping: `(expr)`. */
export function group(part: Filter): Filter {
  if (!isFilter(part)) throw new ValidationError('group() takes a filter built by this module');
  return part.precedence === 'atom' ? part : make(`(${part.text})`, 'atom');
}

/** Whether `value` is a Filter built by this module. */
export { isFilter };
