/**
 * The mapping expression language: what a configured target field is computed from. Structured
 * and typed (an object of named steps, or a bare source path), evaluated by a small interpreter
 * with no loops, no calls and no code from configuration, so each expression costs time linear in
 * its size and the record's values. docs/MAPPING.md describes every kind and why this is not
 * JSONata.
 *
 * An expression is one source, then its steps in a fixed order:
 * 1. source: `field` (a path, `Account.ShippingCity`), `const`, `template` (`{Path}` placeholders),
 *    `first` (the first non-empty of several) or `concat` (the non-empty parts joined by `separator`);
 *    a bare string is a `field`;
 * 2. `trim`, then `case` (`upper` / `lower`);
 * 3. `map` (a value map) with `fallback`, or `unmapped: park | null | keep` (default park);
 * 4. `default` when the value is still empty;
 * 5. `as` (`text`, `number`, `integer`, `boolean`, `date`, `datetime`), `divideBy`, `decimals`,
 *    `format` (a date pattern for text);
 * 6. `maxLength` with `tooLong: truncate | park` (default truncate).
 * Empty means null, undefined, or a string that is blank: F&O sends '' for unset text.
 */
import { ParkedError } from './legal-entity.ts';

/** A constant a mapping may produce. */
export type MappingValue = string | number | boolean | null;

/** One configured expression (see the module doc). */
export type Expr = string | ExprObject;

export interface ExprObject {
  readonly field?: string;
  readonly const?: MappingValue;
  readonly template?: string;
  readonly first?: readonly Expr[];
  readonly concat?: readonly Expr[];
  readonly separator?: string;
  readonly trim?: boolean;
  readonly case?: 'upper' | 'lower';
  readonly map?: Readonly<Record<string, MappingValue>>;
  readonly fallback?: MappingValue;
  readonly unmapped?: 'park' | 'null' | 'keep';
  readonly default?: MappingValue;
  readonly as?: 'text' | 'number' | 'integer' | 'boolean' | 'date' | 'datetime';
  readonly divideBy?: string;
  readonly decimals?: number;
  readonly format?: string;
  readonly maxLength?: number;
  readonly tooLong?: 'truncate' | 'park';
}

/** A flow's mapping: target field → expression; `null` (in configuration) removes a default. */
export type Mapping = Readonly<Record<string, Expr>>;

/** The source kinds; an expression has exactly one. */
export const SOURCE_KINDS = ['field', 'const', 'template', 'first', 'concat'] as const;

/** A path: identifiers joined by dots (`Name`, `Account.Owner.Name`, `parent.PoNumber`). */
const PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const PLACEHOLDER = /\{\{|\}\}|\{([^{}]*)\}/g;
const DATE_TOKENS = /YYYY|MM|DD|hh|mm|ss/g;

/** The most nested expressions (`first` / `concat`) and template placeholders allowed: a bound on cost. */
export const LIMITS = Object.freeze({ depth: 4, parts: 20, templateLength: 1000, mapEntries: 1000 });

export function isEmpty(value: unknown): boolean {
  return value === null || value === undefined || (typeof value === 'string' && value.trim() === '');
}

/** The placeholders of a template, in order. */
export function templatePaths(template: string): string[] {
  const out: string[] = [];
  for (const m of template.matchAll(PLACEHOLDER)) if (m[1] !== undefined) out.push(m[1].trim());
  return out;
}

/**
 * The problems of one configured expression (empty when valid), each a sentence naming `key`.
 * Used by the configuration schema, so a bad mapping is refused before anything runs.
 */
export function exprProblems(expr: unknown, key: string, depth = 0): string[] {
  if (typeof expr === 'string') return PATH.test(expr) ? [] : [`${key}: "${expr}" is not a field path`];
  if (!expr || typeof expr !== 'object' || Array.isArray(expr)) {
    return [`${key}: an expression is a field path or an object with one of ${SOURCE_KINDS.join(', ')}`];
  }
  if (depth > LIMITS.depth) return [`${key}: expressions nest at most ${LIMITS.depth} deep`];
  const e = expr as Record<string, unknown>;
  const problems: string[] = [];
  const known = new Set<string>([
    ...SOURCE_KINDS,
    'separator',
    'trim',
    'case',
    'map',
    'fallback',
    'unmapped',
    'default',
    'as',
    'divideBy',
    'decimals',
    'format',
    'maxLength',
    'tooLong',
  ]);
  for (const k of Object.keys(e)) if (!known.has(k)) problems.push(`${key}: unknown step "${k}"`);
  const sources = SOURCE_KINDS.filter((k) => k in e);
  if (sources.length !== 1) {
    problems.push(`${key}: give exactly one of ${SOURCE_KINDS.join(', ')} (found ${sources.length})`);
  }
  const scalar = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);
  if ('field' in e && (typeof e.field !== 'string' || !PATH.test(e.field)))
    problems.push(`${key}.field: not a field path`);
  if ('const' in e && !scalar(e.const)) problems.push(`${key}.const: a string, number, boolean or null`);
  if ('template' in e) {
    if (typeof e.template !== 'string' || e.template.length > LIMITS.templateLength)
      problems.push(`${key}.template: a string of at most ${LIMITS.templateLength} characters`);
    else {
      for (const p of templatePaths(e.template))
        if (!PATH.test(p)) problems.push(`${key}.template: {${p}} is not a field path`);
      const stray = e.template.replace(PLACEHOLDER, '');
      if (/[{}]/.test(stray)) problems.push(`${key}.template: unbalanced { } (write {{ or }} for a brace)`);
    }
  }
  for (const list of ['first', 'concat'] as const) {
    if (!(list in e)) continue;
    const parts = e[list];
    if (!Array.isArray(parts) || parts.length === 0 || parts.length > LIMITS.parts) {
      problems.push(`${key}.${list}: a list of 1 to ${LIMITS.parts} expressions`);
      continue;
    }
    parts.forEach((p, i) => {
      problems.push(...exprProblems(p, `${key}.${list}[${i}]`, depth + 1));
    });
  }
  if ('separator' in e && typeof e.separator !== 'string') problems.push(`${key}.separator: a string`);
  if ('trim' in e && typeof e.trim !== 'boolean') problems.push(`${key}.trim: true or false`);
  if ('case' in e && e.case !== 'upper' && e.case !== 'lower') problems.push(`${key}.case: upper or lower`);
  if ('map' in e) {
    const m = e.map;
    if (!m || typeof m !== 'object' || Array.isArray(m))
      problems.push(`${key}.map: source value → target value`);
    else {
      const entries = Object.entries(m);
      if (entries.length > LIMITS.mapEntries)
        problems.push(`${key}.map: at most ${LIMITS.mapEntries} entries`);
      for (const [from, to] of entries)
        if (!scalar(to)) problems.push(`${key}.map.${from}: a string, number, boolean or null`);
    }
  }
  if (('fallback' in e || 'unmapped' in e) && !('map' in e))
    problems.push(`${key}: fallback and unmapped go with a map`);
  if ('fallback' in e && 'unmapped' in e) problems.push(`${key}: give fallback or unmapped, not both`);
  if ('fallback' in e && !scalar(e.fallback))
    problems.push(`${key}.fallback: a string, number, boolean or null`);
  if ('unmapped' in e && !['park', 'null', 'keep'].includes(e.unmapped as string))
    problems.push(`${key}.unmapped: park, null or keep`);
  if ('default' in e && !scalar(e.default))
    problems.push(`${key}.default: a string, number, boolean or null`);
  if ('as' in e && !['text', 'number', 'integer', 'boolean', 'date', 'datetime'].includes(e.as as string))
    problems.push(`${key}.as: text, number, integer, boolean, date or datetime`);
  if ('divideBy' in e && (typeof e.divideBy !== 'string' || !PATH.test(e.divideBy)))
    problems.push(`${key}.divideBy: a field path`);
  if (
    'decimals' in e &&
    !(Number.isInteger(e.decimals) && (e.decimals as number) >= 0 && (e.decimals as number) <= 10)
  )
    problems.push(`${key}.decimals: a whole number from 0 to 10`);
  if ('format' in e && typeof e.format !== 'string')
    problems.push(`${key}.format: a date pattern like DD.MM.YYYY`);
  if ('maxLength' in e && !(Number.isInteger(e.maxLength) && (e.maxLength as number) > 0))
    problems.push(`${key}.maxLength: a whole number above 0`);
  if ('tooLong' in e && e.tooLong !== 'truncate' && e.tooLong !== 'park')
    problems.push(`${key}.tooLong: truncate or park`);
  return problems;
}

/** The source paths an expression reads (what `$select` / SOQL must include). */
export function exprPaths(expr: Expr): string[] {
  if (typeof expr === 'string') return [expr];
  const out: string[] = [];
  if (expr.field !== undefined) out.push(expr.field);
  if (expr.template !== undefined) out.push(...templatePaths(expr.template));
  for (const part of [...(expr.first ?? []), ...(expr.concat ?? [])]) out.push(...exprPaths(part));
  if (expr.divideBy !== undefined) out.push(expr.divideBy);
  return out;
}

/** The field an expression copies unchanged, when it is just a path (for type comparison across systems). */
export function plainPath(expr: Expr): string | undefined {
  if (typeof expr === 'string') return expr;
  const steps = Object.keys(expr).filter(
    (k) => k !== 'field' && k !== 'trim' && k !== 'maxLength' && k !== 'tooLong',
  );
  return expr.field !== undefined && steps.length === 0 ? expr.field : undefined;
}

/** The constant values an expression can write (map values, fallback, const, default): picklist checks. */
export function exprConstants(expr: Expr): MappingValue[] {
  if (typeof expr === 'string') return [];
  const out: MappingValue[] = [];
  if ('const' in expr && expr.const !== undefined) out.push(expr.const);
  if (expr.map) out.push(...Object.values(expr.map));
  if ('fallback' in expr && expr.fallback !== undefined) out.push(expr.fallback);
  if ('default' in expr && expr.default !== undefined) out.push(expr.default);
  for (const part of [...(expr.first ?? []), ...(expr.concat ?? [])]) out.push(...exprConstants(part));
  return out;
}

/** The kind of value an expression produces, where it is known without the record (undefined: as its source). */
export function exprKind(expr: Expr): 'text' | 'number' | 'boolean' | 'date' | undefined {
  if (typeof expr === 'string') return undefined;
  if (expr.format !== undefined) return 'text';
  if (expr.as === 'text') return 'text';
  if (expr.as === 'number' || expr.as === 'integer' || expr.divideBy !== undefined) return 'number';
  if (expr.as === 'boolean') return 'boolean';
  if (expr.as === 'date' || expr.as === 'datetime') return 'date';
  if (expr.template !== undefined || expr.concat !== undefined) return 'text';
  if (producesOnlyConstants(expr)) {
    const kinds = new Set(
      exprConstants(expr)
        .filter((v) => v !== null)
        .map((v) => (typeof v === 'string' ? 'text' : typeof v === 'number' ? 'number' : 'boolean')),
    );
    const [only] = kinds;
    return kinds.size === 1 ? only : undefined;
  }
  return undefined;
}

/** Whether every value an expression produces comes from a value map, a constant or a default. */
export function producesOnlyConstants(expr: Expr): boolean {
  if (typeof expr === 'string') return false;
  if ('const' in expr) return true;
  return expr.map !== undefined && expr.unmapped !== 'keep';
}

/** Reads a dotted path from a record (Salesforce relationship objects nest; missing → undefined). */
export function readPath(record: Readonly<Record<string, unknown>>, path: string): unknown {
  let value: unknown = record;
  for (const segment of path.split('.')) {
    if (!value || typeof value !== 'object') return undefined;
    const obj = value as Record<string, unknown>;
    value = segment in obj ? obj[segment] : caseInsensitive(obj, segment);
  }
  return value;
}

/** Salesforce returns relationship and field names as described; a configured path may differ in case. */
function caseInsensitive(obj: Readonly<Record<string, unknown>>, segment: string): unknown {
  const lower = segment.toLowerCase();
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) return obj[k];
  return undefined;
}

/**
 * F&O's "no date" (1900-01-01) reads as empty in date conversions. UNCONFIRMED: the time part F&O
 * OData sends for an empty date (the sandbox sends 12:00 UTC); any time on that day is taken as empty.
 */
const NO_DATE = /^1900-01-01/;

function toDate(value: unknown, key: string): Date | null {
  if (value instanceof Date) return value;
  if (typeof value === 'string' && NO_DATE.test(value)) return null;
  const date = new Date(typeof value === 'number' ? value : String(value));
  if (Number.isNaN(date.getTime())) {
    throw new ParkedError(
      'MAPPING_FAILED',
      `${key}: "${String(value)}" is not a date; correct the record or the mapping, then replay`,
    );
  }
  return date;
}

function formatDate(date: Date, pattern: string): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const parts: Record<string, string> = {
    YYYY: String(date.getUTCFullYear()).padStart(4, '0'),
    MM: two(date.getUTCMonth() + 1),
    DD: two(date.getUTCDate()),
    hh: two(date.getUTCHours()),
    mm: two(date.getUTCMinutes()),
    ss: two(date.getUTCSeconds()),
  };
  return pattern.replace(DATE_TOKENS, (t) => parts[t] ?? t);
}

function toNumber(value: unknown, key: string): number {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'boolean'
        ? Number(value)
        : Number(String(value).trim());
  if (!Number.isFinite(n)) {
    throw new ParkedError(
      'MAPPING_FAILED',
      `${key}: "${String(value)}" is not a number; correct the record or the mapping, then replay`,
    );
  }
  return n;
}

const TRUE_WORDS = new Set(['true', 'yes', '1']);
const FALSE_WORDS = new Set(['false', 'no', '0']);

function toBoolean(value: unknown, key: string): boolean {
  if (typeof value === 'boolean') return value;
  const word = String(value).trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw new ParkedError(
    'MAPPING_FAILED',
    `${key}: "${String(value)}" is not true/false or Yes/No; map it with a value map (map: { ${String(value)}: true }), then replay`,
  );
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : value === null || value === undefined ? '' : String(value);
}

/** The first `length` UTF-16 units, without splitting a surrogate pair. */
export function cut(value: string, length: number): string {
  const head = value.slice(0, length);
  const last = head.charCodeAt(head.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? head.slice(0, -1) : head;
}

/**
 * Evaluates `expr` for `record`; `key` (`mappings.customers.Phone`) names it in a park reason.
 * Throws ParkedError (MAPPING_FAILED) when the value cannot be mapped: an unmapped value with
 * `unmapped: park`, a value longer than `maxLength` with `tooLong: park`, an unconvertible value.
 */
export function evaluate(expr: Expr, record: Readonly<Record<string, unknown>>, key: string): unknown {
  if (typeof expr === 'string') return blankToNull(readPath(record, expr));
  let value = source(expr, record, key);
  if (typeof value === 'string') {
    let s: string = value;
    if (expr.trim) s = s.trim();
    if (expr.case === 'upper') s = s.toUpperCase();
    else if (expr.case === 'lower') s = s.toLowerCase();
    value = s;
  }
  value = blankToNull(value);
  if (expr.map && value !== null) value = mapValue(expr, value, key);
  if (value === null && expr.default !== undefined) value = expr.default;
  if (value !== null) value = convert(expr, value, record, key);
  if (typeof value === 'string' && expr.maxLength !== undefined && value.length > expr.maxLength) {
    if (expr.tooLong === 'park') {
      throw new ParkedError(
        'MAPPING_FAILED',
        `${key}: the value has ${value.length} characters and the mapping allows ${expr.maxLength} (tooLong: park); shorten it in the source system or raise ${key}.maxLength, then replay`,
      );
    }
    value = cut(value, expr.maxLength);
  }
  return value;
}

function blankToNull(value: unknown): unknown {
  return value === undefined || value === '' ? null : value;
}

function source(expr: ExprObject, record: Readonly<Record<string, unknown>>, key: string): unknown {
  if (expr.field !== undefined) return readPath(record, expr.field);
  if ('const' in expr) return expr.const;
  if (expr.template !== undefined) {
    return expr.template.replace(PLACEHOLDER, (all, path: string | undefined) =>
      path === undefined ? (all[0] ?? '') : text(readPath(record, path.trim())),
    );
  }
  if (expr.first) {
    for (const [i, part] of expr.first.entries()) {
      const v = evaluate(part, record, `${key}.first[${i}]`);
      if (!isEmpty(v)) return v;
    }
    return null;
  }
  if (expr.concat) {
    const parts = expr.concat
      .map((part, i) => evaluate(part, record, `${key}.concat[${i}]`))
      .filter((v) => !isEmpty(v))
      .map(text);
    return parts.join(expr.separator ?? '');
  }
  return null;
}

function mapValue(expr: ExprObject, value: unknown, key: string): unknown {
  const map = expr.map as Readonly<Record<string, MappingValue>>;
  const from = text(value);
  if (Object.hasOwn(map, from)) return map[from];
  if ('fallback' in expr) return expr.fallback ?? null;
  if (expr.unmapped === 'null') return null;
  if (expr.unmapped === 'keep') return value;
  throw new ParkedError(
    'MAPPING_FAILED',
    `${key}: the value "${from}" has no entry in the value map; add it under ${key}.map (or give ${key}.fallback), then replay`,
  );
}

function convert(
  expr: ExprObject,
  input: unknown,
  record: Readonly<Record<string, unknown>>,
  key: string,
): unknown {
  let value = input;
  const numeric =
    expr.as === 'number' ||
    expr.as === 'integer' ||
    expr.divideBy !== undefined ||
    (expr.decimals !== undefined && expr.as !== 'text');
  if (expr.as === 'date' || expr.as === 'datetime' || expr.format !== undefined) {
    const date = toDate(value, key);
    if (date === null) return null;
    if (expr.format !== undefined) return formatDate(date, expr.format);
    return expr.as === 'date' ? formatDate(date, 'YYYY-MM-DD') : date.toISOString();
  }
  if (expr.as === 'boolean') return toBoolean(value, key);
  if (numeric || (expr.as === 'text' && expr.decimals !== undefined)) {
    let n = toNumber(value, key);
    if (expr.divideBy !== undefined) {
      const by = readPath(record, expr.divideBy);
      const divisor = isEmpty(by) ? Number.NaN : Number(by);
      // A divisor of 0 or none means per unit (F&O prices a quantity; 0 means 1).
      if (Number.isFinite(divisor) && divisor > 0) n /= divisor;
    }
    if (expr.as === 'integer') n = Math.round(n);
    if (expr.decimals !== undefined) {
      const f = 10 ** expr.decimals;
      n = Math.round(n * f) / f;
    }
    value = expr.as === 'text' ? (expr.decimals !== undefined ? n.toFixed(expr.decimals) : String(n)) : n;
    return value;
  }
  if (expr.as === 'text') return text(value);
  return value;
}

/** Evaluates every target of `mapping` for `record` (`prefix` is the configuration key, `mappings.customers`). */
export function applyMapping(
  mapping: Mapping,
  record: Readonly<Record<string, unknown>>,
  prefix: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [target, expr] of Object.entries(mapping))
    out[target] = evaluate(expr, record, `${prefix}.${target}`);
  return out;
}

/**
 * A flow's defaults with the configuration laid over them: a configured target replaces its
 * default, `null` removes it.
 */
export function mergeMapping(
  defaults: Mapping,
  configured: Readonly<Record<string, unknown>> | undefined,
): Record<string, Expr> {
  const out: Record<string, Expr> = { ...defaults };
  for (const [target, expr] of Object.entries(configured ?? {})) {
    if (expr === null) delete out[target];
    else out[target] = expr as Expr;
  }
  return out;
}
