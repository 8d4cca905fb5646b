/**
 * Safe SOQL text: the injection boundary. Every interpolated value is escaped as a literal;
 * identifiers are validated. Escape sequences:
 * https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_quotedstringescapes.htm
 * Date and dateTime literals (unquoted):
 * https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm
 *
 * @example soql`SELECT Id FROM Account WHERE Name = ${name} AND SystemModstamp > ${since}`
 */
import { ValidationError } from '#base/errors.ts';

const BRAND: unique symbol = Symbol('soql');

/** A fragment that is inserted verbatim (already safe): built only by the helpers below. */
export interface SoqlFragment {
  readonly [BRAND]: true;
  readonly text: string;
}

/** Values accepted as literals; arrays become `(a, b, …)` lists for IN. */
export type SoqlValue = string | number | bigint | boolean | null | Date | SoqlFragment;

const fragment = (text: string): SoqlFragment => Object.freeze({ [BRAND]: true as const, text });

function isFragment(value: unknown): value is SoqlFragment {
  return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
}

const SIMPLE: Readonly<Record<string, string>> = {
  "'": "\\'",
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
  '"': '\\"',
};

const hex4 = (code: number) => `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Escapes the body of a quoted SOQL string (without the quotes): `'` `\` `"` and the named
 * control escapes by backslash, any other control character (C0, DEL, C1) and any lone surrogate
 * as `\uXXXX`. With `like`, `%` and `_` are escaped too so they match literally.
 */
export function escapeSoqlString(value: string, like = false): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    const code = value.charCodeAt(i);
    const simple = SIMPLE[c];
    if (simple !== undefined) out += simple;
    else if (like && (c === '%' || c === '_')) out += `\\${c}`;
    else if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) out += hex4(code);
    else if (code >= 0xd800 && code <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += c + value[i + 1];
        i++;
      } else out += hex4(code);
    } else if (code >= 0xdc00 && code <= 0xdfff) out += hex4(code);
    else out += c;
  }
  return out;
}

/** Writes a finite number without exponent notation (SOQL has none). */
export function formatSoqlNumber(value: number | bigint): string {
  if (typeof value === 'bigint') return value.toString();
  if (!Number.isFinite(value)) throw new ValidationError(`SOQL number literal must be finite, got ${value}`);
  const text = String(Object.is(value, -0) ? 0 : value);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!m) return text;
  const [, sign, lead, frac = '', expText] = m;
  const digits = `${lead}${frac}`;
  const exp = Number(expText);
  // String() uses exponents only for |n| >= 1e21 (an integer) or |n| < 1e-6.
  if (exp >= 0) return sign + digits.padEnd(exp + 1, '0');
  return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
}

/** A dateTime literal (UTC, `2024-05-01T12:00:00Z`; milliseconds only when non-zero). */
export function soqlDateTime(value: Date | string): SoqlFragment {
  const date = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) throw new ValidationError(`not a dateTime: ${String(value)}`);
  return fragment(date.toISOString().replace('.000Z', 'Z'));
}

/** A date literal (`2024-05-01`), validated as a real calendar date. */
export function soqlDate(value: string | Date): SoqlFragment {
  const text = typeof value === 'string' ? value : value.toISOString().slice(0, 10);
  const parsed = /^\d{4}-\d{2}-\d{2}$/.test(text) ? new Date(`${text}T00:00:00Z`) : undefined;
  if (!parsed || Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== text) {
    throw new ValidationError(`not a date (YYYY-MM-DD): ${text}`);
  }
  return fragment(text);
}

const IDENT = /^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*$/;

/** A field or object name (`Account.Name`, `D365_Customer_Key__c`), validated, never quoted. */
export function soqlIdent(name: string): SoqlFragment {
  if (!IDENT.test(name) || name.length > 255)
    throw new ValidationError(`not a SOQL identifier: ${JSON.stringify(name)}`);
  return fragment(name);
}

/** A comma-separated list of validated identifiers for SELECT. */
export function soqlFields(names: readonly string[]): SoqlFragment {
  if (names.length === 0) throw new ValidationError('SELECT needs at least one field');
  return fragment(names.map((n) => soqlIdent(n).text).join(', '));
}

/**
 * A LIKE operand matching `text` literally (`%` and `_` escaped), anchored as asked:
 * `exact` (case-insensitive equality), `startsWith`, `endsWith`, `contains`.
 */
export function soqlLike(
  text: string,
  mode: 'exact' | 'startsWith' | 'endsWith' | 'contains' = 'exact',
): SoqlFragment {
  const body = escapeSoqlString(text, true);
  const pre = mode === 'endsWith' || mode === 'contains' ? '%' : '';
  const post = mode === 'startsWith' || mode === 'contains' ? '%' : '';
  return fragment(`'${pre}${body}${post}'`);
}

/** A LIKE pattern whose `%` and `_` are wildcards; everything else is escaped. */
export function soqlLikePattern(pattern: string): SoqlFragment {
  return fragment(`'${escapeSoqlString(pattern)}'`);
}

/** One literal: strings quoted and escaped, numbers, booleans, null, Date as dateTime. */
export function soqlLiteral(value: SoqlValue): string {
  if (isFragment(value)) return value.text;
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return `'${escapeSoqlString(value)}'`;
    case 'number':
    case 'bigint':
      return formatSoqlNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      if (value instanceof Date) return soqlDateTime(value).text;
      throw new ValidationError(`cannot write ${typeof value} as a SOQL literal`);
  }
}

/** An IN list `('a', 'b')`; empty lists are refused (SOQL has no empty list). */
export function soqlList(values: readonly SoqlValue[]): SoqlFragment {
  if (values.length === 0) throw new ValidationError('an IN list needs at least one value');
  return fragment(`(${values.map(soqlLiteral).join(', ')})`);
}

/**
 * Tagged template building SOQL: every `${value}` is written as a literal (arrays as IN lists);
 * identifiers go through {@link soqlIdent}/{@link soqlFields}.
 */
export function soql(
  strings: TemplateStringsArray,
  ...values: readonly (SoqlValue | readonly SoqlValue[])[]
): string {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += Array.isArray(value) ? soqlList(value).text : soqlLiteral(value as SoqlValue);
    out += strings[i + 1] ?? '';
  });
  return out;
}
