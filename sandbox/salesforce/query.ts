/**
 * SOQL execution over the store: field resolution (relationship paths, child subqueries),
 * filter type checks with Salesforce's error texts, ordering, LIMIT/OFFSET, and server-side
 * cursors paged through `nextRecordsUrl`.
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm
 */
import { normalizeId } from './ids.ts';
import type { FieldDef } from './objects.ts';
import {
  type Condition,
  type FieldPath,
  type Literal,
  type OrderItem,
  parseSoql,
  type RelativeDateLiteral,
  type SoqlQuery,
  SoqlSyntaxError,
  soqlErrorMessage,
} from './soql.ts';
import type { Row, Store, Table } from './store.ts';
import { compoundAddress, wireValue } from './values.ts';

/** A query the org refuses; `errorCode` is MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, …, `status` the HTTP status. */
export class QueryError extends Error {
  override name = 'QueryError';
  readonly errorCode: string;
  readonly status: number;
  constructor(errorCode: string, message: string, status = 400) {
    super(message);
    this.errorCode = errorCode;
    this.status = status;
  }
}

interface Resolved {
  /** Reference fields to follow, in order, with their target tables. */
  readonly hops: readonly { readonly field: FieldDef; readonly target: Table }[];
  readonly field: FieldDef;
  readonly table: Table;
}

interface Plan {
  readonly table: Table;
  readonly count: boolean;
  readonly items: readonly (
    | { readonly kind: 'field'; readonly resolved: Resolved }
    | {
        readonly kind: 'subquery';
        readonly relationshipName: string;
        readonly childField: string;
        readonly plan: Plan;
      }
  )[];
  readonly where?: Condition;
  readonly resolvedWhere: Map<FieldPath, Resolved>;
  readonly orderBy: readonly (OrderItem & { readonly resolved: Resolved })[];
  readonly limit?: number;
  readonly offset?: number;
}

const NO_SUCH_COLUMN = (name: string, entity: string) =>
  `No such column '${name}' on entity '${entity}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`;

class Planner {
  readonly store: Store;
  readonly text: string;
  constructor(store: Store, text: string) {
    this.store = store;
    this.text = text;
  }
  error(code: string, pos: number, detail: string): QueryError {
    return new QueryError(code, soqlErrorMessage(this.text, pos, detail));
  }
  resolve(table: Table, ref: FieldPath): Resolved {
    const hops: { field: FieldDef; target: Table }[] = [];
    let current = table;
    const names = ref.path;
    for (const [i, name] of names.entries()) {
      if (i === names.length - 1) {
        const field = current.field(name);
        if (!field) throw this.error('INVALID_FIELD', ref.pos, NO_SUCH_COLUMN(name, current.def.name));
        return { hops, field, table: current };
      }
      if (i === 0 && names.length > 1 && name.toLowerCase() === table.def.name.toLowerCase()) continue;
      const rel = current.relationships.get(name.toLowerCase());
      const target = rel ? this.store.table(rel.referenceTo?.[0] ?? '') : undefined;
      if (!rel || !target) {
        throw this.error(
          'INVALID_FIELD',
          ref.pos,
          `Didn't understand relationship '${name}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`,
        );
      }
      hops.push({ field: rel, target });
      current = target;
    }
    throw this.error('MALFORMED_QUERY', ref.pos, 'unexpected token: .');
  }
  plan(query: SoqlQuery, table: Table): Plan {
    const items: Plan['items'][number][] = [];
    let count = false;
    for (const item of query.select) {
      if (item.kind === 'count') count = true;
      else if (item.kind === 'field') items.push({ kind: 'field', resolved: this.resolve(table, item) });
      else {
        const relName = item.query.from.name;
        const rel = table.def.childRelationships.find(
          (r) => r.relationshipName.toLowerCase() === relName.toLowerCase(),
        );
        const child = rel ? this.store.table(rel.childSObject) : undefined;
        if (!rel || !child) {
          throw this.error(
            'INVALID_TYPE',
            item.query.from.pos,
            `Didn't understand relationship '${relName}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`,
          );
        }
        items.push({
          kind: 'subquery',
          relationshipName: rel.relationshipName,
          childField: rel.field,
          plan: this.plan(item.query, child),
        });
      }
    }
    const resolvedWhere = new Map<FieldPath, Resolved>();
    if (query.where) this.checkCondition(table, query.where, resolvedWhere);
    if (query.offset !== undefined && query.offset > 2000) {
      throw new QueryError('NUMBER_OUTSIDE_VALID_RANGE', 'Maximum SOQL offset allowed is 2000');
    }
    return {
      table,
      count,
      items,
      ...(query.where ? { where: query.where } : {}),
      resolvedWhere,
      orderBy: query.orderBy.map((o) => ({ ...o, resolved: this.resolve(table, o.field) })),
      ...(query.limit !== undefined ? { limit: query.limit } : {}),
      ...(query.offset !== undefined ? { offset: query.offset } : {}),
    };
  }
  checkCondition(table: Table, cond: Condition, out: Map<FieldPath, Resolved>): void {
    switch (cond.kind) {
      case 'and':
      case 'or':
        for (const c of cond.operands) this.checkCondition(table, c, out);
        return;
      case 'not':
        this.checkCondition(table, cond.operand, out);
        return;
      case 'like': {
        const r = this.resolve(table, cond.field);
        if (!TEXT.has(r.field.type)) {
          throw this.error(
            'INVALID_FIELD',
            cond.field.pos,
            `Invalid operator on ${r.field.type} field: ${r.field.name}`,
          );
        }
        out.set(cond.field, r);
        return;
      }
      case 'compare':
      case 'in': {
        const r = this.resolve(table, cond.field);
        for (const v of cond.kind === 'in' ? cond.values : [cond.value])
          this.checkLiteral(r.field, v, cond.field.pos);
        out.set(cond.field, r);
        return;
      }
    }
  }
  /** https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm */
  checkLiteral(field: FieldDef, value: Literal, pos: number): void {
    if (value.kind === 'null') return;
    const type = field.type;
    const want = (soqlType: string, quoted: boolean) =>
      this.error(
        'INVALID_FIELD',
        pos,
        `value of filter criterion for field '${field.name}' must be of type ${soqlType} and ${quoted ? 'should be enclosed in quotes' : 'should not be enclosed in quotes'}`,
      );
    if (value.kind === 'relativeDate') {
      if (type !== 'date' && type !== 'datetime')
        throw want(type === 'boolean' ? 'boolean' : 'string', TEXT.has(type));
      return;
    }
    if (type === 'datetime' && value.kind !== 'datetime') throw want('dateTime', false);
    if (type === 'date' && value.kind !== 'date') throw want('date', false);
    if (type === 'boolean' && value.kind !== 'boolean') throw want('boolean', false);
    if (NUMERIC.has(type) && value.kind !== 'number') throw want('double', false);
    if ((TEXT.has(type) || type === 'id' || type === 'reference') && value.kind !== 'string')
      throw want('string', true);
    if (
      (type === 'id' || type === 'reference') &&
      value.kind === 'string' &&
      value.value !== '' &&
      !normalizeId(value.value)
    ) {
      throw new QueryError(
        'INVALID_QUERY_FILTER_OPERATOR',
        soqlErrorMessage(this.text, pos, `invalid ID field: ${value.value}`),
      );
    }
  }
}

const TEXT = new Set(['string', 'textarea', 'picklist', 'phone', 'url', 'email']);
const NUMERIC = new Set(['int', 'double', 'currency', 'percent']);

function follow(row: Row | undefined, resolved: Resolved): Row | undefined {
  let current = row;
  for (const hop of resolved.hops) {
    const id = current?.[hop.field.name];
    current = typeof id === 'string' ? hop.target.rows.get(id) : undefined;
    if (!current) return undefined;
  }
  return current;
}

function fieldValue(row: Row, resolved: Resolved): unknown {
  return follow(row, resolved)?.[resolved.field.name] ?? null;
}

const DAY_MS = 86_400_000;

/** The [start, end) range in epoch ms of a relative date literal, in GMT (the sandbox org's time zone). */
function relativeRange(lit: RelativeDateLiteral, now: number): [number, number] {
  const today = now - (now % DAY_MS);
  const n = lit.n ?? 0;
  switch (lit.value) {
    case 'YESTERDAY':
      return [today - DAY_MS, today];
    case 'TODAY':
      return [today, today + DAY_MS];
    case 'TOMORROW':
      return [today + DAY_MS, today + 2 * DAY_MS];
    case 'LAST_N_DAYS':
      return [today - n * DAY_MS, today + DAY_MS];
    case 'NEXT_N_DAYS':
      return [today, today + (n + 1) * DAY_MS];
    case 'N_DAYS_AGO':
      return [today - n * DAY_MS, today - (n - 1) * DAY_MS];
  }
}

function matchesRange(field: FieldDef, v: unknown, op: string, [start, end]: [number, number]): boolean {
  if (v === null) return op === '!=';
  const t = field.type === 'date' ? Date.parse(`${String(v)}T00:00:00Z`) : (v as number);
  switch (op) {
    case '=':
      return t >= start && t < end;
    case '!=':
      return t < start || t >= end;
    case '<':
      return t < start;
    case '<=':
      return t < end;
    case '>':
      return t >= end;
    default:
      return t >= start;
  }
}

function literalValue(field: FieldDef, lit: Literal): unknown {
  if (lit.kind === 'string' && (field.type === 'id' || field.type === 'reference'))
    return normalizeId(lit.value) ?? lit.value;
  return lit.value;
}

function compareValues(a: unknown, b: unknown): number {
  if (typeof a === 'string' && typeof b === 'string') {
    const x = a.toUpperCase();
    const y = b.toUpperCase();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

function matches(store: Store, plan: Plan, row: Row, cond: Condition): boolean {
  switch (cond.kind) {
    case 'and':
      return cond.operands.every((c) => matches(store, plan, row, c));
    case 'or':
      return cond.operands.some((c) => matches(store, plan, row, c));
    case 'not':
      return !matches(store, plan, row, cond.operand);
    case 'like': {
      const v = fieldValue(row, plan.resolvedWhere.get(cond.field) as Resolved);
      return typeof v === 'string' && cond.value.regex.test(v);
    }
    case 'in': {
      const r = plan.resolvedWhere.get(cond.field) as Resolved;
      const v = fieldValue(row, r);
      const hit =
        v !== null &&
        cond.values.some((l) => l.kind !== 'null' && compareValues(v, literalValue(r.field, l)) === 0);
      return cond.negated ? v !== null && !hit : hit;
    }
    case 'compare': {
      const r = plan.resolvedWhere.get(cond.field) as Resolved;
      const v = fieldValue(row, r);
      if (cond.value.kind === 'relativeDate') {
        return matchesRange(r.field, v, cond.op, relativeRange(cond.value, store.clock.now()));
      }
      const lit = literalValue(r.field, cond.value);
      if (lit === null) return cond.op === '=' ? v === null : cond.op === '!=' ? v !== null : false;
      if (v === null) return cond.op === '!=';
      // A date literal compared with a datetime field compares whole days (not reachable after type checks).
      const c = compareValues(v, lit);
      switch (cond.op) {
        case '=':
          return c === 0;
        case '!=':
          return c !== 0;
        case '<':
          return c < 0;
        case '<=':
          return c <= 0;
        case '>':
          return c > 0;
        case '>=':
          return c >= 0;
      }
    }
  }
}

function select(store: Store, plan: Plan, rows: Iterable<Row>): Row[] {
  let out: Row[] = [];
  for (const row of rows) if (!plan.where || matches(store, plan, row, plan.where)) out.push(row);
  if (plan.orderBy.length > 0) {
    const keys = plan.orderBy;
    out = out
      .map((row) => ({ row, values: keys.map((k) => fieldValue(row, k.resolved)) }))
      .sort((a, b) => {
        for (const [i, k] of keys.entries()) {
          const x = a.values[i];
          const y = b.values[i];
          if (x === null && y === null) continue;
          if (x === null || y === null) return (x === null) === (k.nulls === 'FIRST') ? -1 : 1;
          const c = compareValues(x, y);
          if (c !== 0) return k.direction === 'ASC' ? c : -c;
        }
        return 0;
      })
      .map((e) => e.row);
  }
  const start = plan.offset ?? 0;
  return out.slice(start, plan.limit === undefined ? undefined : start + plan.limit);
}

/** The JSON form of one result record, with `attributes`, nested parents and child subquery results. */
function project(store: Store, plan: Plan, row: Row, version: string): Record<string, unknown> {
  const attributes = (t: Table, r: Row) => ({
    type: t.def.name,
    url: `/services/data/v${version}/sobjects/${t.def.name}/${String(r.Id)}`,
  });
  const out: Record<string, unknown> = { attributes: attributes(plan.table, row) };
  for (const item of plan.items) {
    if (item.kind === 'subquery') {
      const child = item.plan.table;
      const ids = child.children(item.childField, row.Id as string);
      const rows = select(
        store,
        item.plan,
        ids.map((id) => child.rows.get(id) as Row),
      );
      out[item.relationshipName] =
        rows.length === 0
          ? null
          : {
              totalSize: rows.length,
              done: true,
              records: rows.map((r) => project(store, item.plan, r, version)),
            };
      continue;
    }
    const { hops, field } = item.resolved;
    let target = out;
    let current: Row | undefined = row;
    let broken = false;
    for (const hop of hops) {
      const id: unknown = current?.[hop.field.name];
      current = typeof id === 'string' ? hop.target.rows.get(id) : undefined;
      const key = hop.field.relationshipName as string;
      if (!current) {
        if (!(key in target)) target[key] = null;
        broken = true;
        break;
      }
      let nested = target[key] as Record<string, unknown> | null | undefined;
      if (!nested) {
        nested = { attributes: attributes(hop.target, current) };
        target[key] = nested;
      }
      target = nested;
    }
    if (broken || !current) continue;
    target[field.name] =
      field.type === 'address' ? compoundAddress(current, field) : wireValue(field, current[field.name]);
  }
  return out;
}

/** One page of a query response. */
export interface QueryPage {
  readonly totalSize: number;
  readonly done: boolean;
  readonly nextRecordsUrl?: string;
  readonly records: readonly Record<string, unknown>[];
}

interface Cursor {
  readonly userId: string;
  readonly plan: Plan;
  readonly rows: readonly Row[];
  readonly version: string;
  readonly batchSize: number;
  lastUsed: number;
}

/** Query locators expire after 15 minutes of inactivity. https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_limit.htm */
const CURSOR_IDLE_MS = 15 * 60_000;
const MAX_CURSORS_PER_USER = 10;

/** Runs queries and keeps their cursors. */
export class QueryEngine {
  readonly store: Store;
  private readonly cursors = new Map<string, Cursor>();

  constructor(store: Store) {
    this.store = store;
  }

  /** Parses, checks and runs `soql`; the first page has at most `batchSize` records. */
  run(
    soql: string,
    options: { all?: boolean; batchSize?: number; version?: string; userId?: string } = {},
  ): QueryPage {
    let query: SoqlQuery;
    try {
      query = parseSoql(soql);
    } catch (err) {
      if (err instanceof SoqlSyntaxError) throw new QueryError('MALFORMED_QUERY', err.message);
      throw err;
    }
    const table = this.store.table(query.from.name);
    if (!table) {
      throw new QueryError(
        'INVALID_TYPE',
        soqlErrorMessage(
          soql,
          query.from.pos,
          `sObject type '${query.from.name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
        ),
      );
    }
    const plan = new Planner(this.store, soql).plan(query, table);
    const source = [...table.rows.values()].filter((r) => options.all || r.IsDeleted !== true);
    const rows = select(this.store, plan, source);
    if (plan.count) return { totalSize: rows.length, done: true, records: [] };
    const cursor: Cursor = {
      userId: options.userId ?? '',
      plan,
      rows,
      version: options.version ?? '63.0',
      batchSize: clampBatch(options.batchSize),
      lastUsed: this.store.clock.now(),
    };
    const locator = this.store.ids.next('01g');
    this.cursors.set(locator, cursor);
    this.evictOldest(cursor.userId);
    return this.page(locator, cursor, 0);
  }

  /** The page of a cursor starting at `offset` (from a `nextRecordsUrl`). */
  more(locator: string, offset: number): QueryPage {
    const cursor = this.cursors.get(locator);
    const now = this.store.clock.now();
    if (!cursor || now - cursor.lastUsed > CURSOR_IDLE_MS || offset > cursor.rows.length) {
      this.cursors.delete(locator);
      throw new QueryError('INVALID_QUERY_LOCATOR', 'invalid query locator');
    }
    cursor.lastUsed = now;
    return this.page(locator, cursor, offset);
  }

  /**
   * A user holds at most 10 open cursors; opening another releases the oldest.
   * https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_query.htm
   */
  private evictOldest(userId: string): void {
    const now = this.store.clock.now();
    for (const [locator, c] of this.cursors)
      if (now - c.lastUsed > CURSOR_IDLE_MS) this.cursors.delete(locator);
    const mine = [...this.cursors].filter(([, c]) => c.userId === userId);
    for (const [locator] of mine.slice(0, Math.max(0, mine.length - MAX_CURSORS_PER_USER)))
      this.cursors.delete(locator);
  }

  private page(locator: string, cursor: Cursor, offset: number): QueryPage {
    const end = Math.min(offset + cursor.batchSize, cursor.rows.length);
    const records = cursor.rows
      .slice(offset, end)
      .map((r) => project(this.store, cursor.plan, r, cursor.version));
    const done = end >= cursor.rows.length;
    if (done) this.cursors.delete(locator);
    return {
      totalSize: cursor.rows.length,
      done,
      ...(done ? {} : { nextRecordsUrl: `/services/data/v${cursor.version}/query/${locator}-${end}` }),
      records,
    };
  }
}

/** `Sforce-Query-Options: batchSize=N`: 200..2000, default 2000. https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm */
export function clampBatch(n: number | undefined): number {
  if (n === undefined || !Number.isFinite(n)) return 2000;
  return Math.min(2000, Math.max(200, Math.floor(n)));
}
