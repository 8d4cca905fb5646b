/**
 * OData query options as F&O reads them: ASP.NET query-string decoding, `$filter $select $top
 * $skip $count $orderby $expand`, `cross-company`, and server-driven paging with an absolute
 * `@odata.nextLink` built with `$skip`.
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/odata
 */
import type { EntitySetDef } from './entities.ts';
import {
  companiesOf,
  evalFilter,
  FilterError,
  type FilterNode,
  parseFilter,
  validateFilter,
} from './filter.ts';
import { keyTuples } from './key-lookup.ts';
import type { EntityStore, StoredRecord } from './store.ts';
import { keyId } from './store.ts';

/** A query the service refuses (400); `message` is the OData error text. */
export class QueryError extends Error {
  override name = 'QueryError';
}

/**
 * Decodes one query-string component the way ASP.NET does: `+` is a space, then `%XX` escapes.
 * A client that sends a literal `+` unencoded therefore gets a space on the real service too.
 * https://learn.microsoft.com/en-us/dotnet/api/system.web.httputility.urldecode
 */
export function decodeQueryComponent(raw: string): string {
  const spaced = raw.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
  }
}

/** Splits a raw query string (without `?`) into decoded name/value pairs, in order. */
export function parseQueryString(raw: string): [string, string][] {
  if (!raw) return [];
  return raw
    .split('&')
    .filter((part) => part.length > 0)
    .map((part) => {
      const eq = part.indexOf('=');
      const name = eq < 0 ? part : part.slice(0, eq);
      const value = eq < 0 ? '' : part.slice(eq + 1);
      return [decodeQueryComponent(name), decodeQueryComponent(value)];
    });
}

export interface OrderBy {
  readonly field: string;
  readonly desc: boolean;
}

/** The parsed query options of one read. */
export interface ReadQuery {
  readonly filter: FilterNode | undefined;
  readonly select: readonly string[] | undefined;
  readonly orderby: readonly OrderBy[];
  readonly top: number | undefined;
  readonly skip: number;
  readonly count: boolean;
  readonly expand: readonly string[];
  readonly crossCompany: boolean;
  /** Decoded pairs other than `$skip`/`$top`, to rebuild the nextLink. */
  readonly carried: readonly [string, string][];
}

const SYSTEM_OPTIONS = ['$filter', '$select', '$top', '$skip', '$count', '$orderby', '$expand', '$format'];

function nonNegativeInt(name: string, value: string): number {
  if (!/^\d+$/.test(value)) {
    throw new QueryError(
      `Invalid value '${value}' for ${name} query option found. The ${name} query option requires a non-negative integer value.`,
    );
  }
  return Number(value);
}

/** Navigation properties per entity set (first level only). */
export const NAVIGATION: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  SalesOrderHeadersV2: { SalesOrderLines: 'SalesOrderLines' },
};

/** Parses and validates the query options of a collection read against `def`. */
export function parseReadQuery(pairs: readonly [string, string][], def: EntitySetDef): ReadQuery {
  const seen = new Set<string>();
  const carried: [string, string][] = [];
  let filter: FilterNode | undefined;
  let select: string[] | undefined;
  let orderby: OrderBy[] = [];
  let top: number | undefined;
  let skip = 0;
  let count = false;
  let expand: string[] = [];
  let crossCompany = false;
  const checkField = (name: string) => {
    if (!def.fields.has(name)) {
      throw new QueryError(`Could not find a property named '${name}' on type '${def.typeName}'.`);
    }
  };
  for (const [name, value] of pairs) {
    if (name.startsWith('$')) {
      if (!SYSTEM_OPTIONS.includes(name))
        throw new QueryError(`The query parameter '${name}' is not supported.`);
      if (seen.has(name))
        throw new QueryError(
          `Query option '${name}' was specified more than once, but it must be specified at most once.`,
        );
      seen.add(name);
    }
    if (name !== '$skip' && name !== '$top') carried.push([name, value]);
    switch (name) {
      case '$filter':
        try {
          filter = parseFilter(value);
          validateFilter(filter, def.fields, def.typeName);
        } catch (err) {
          if (err instanceof FilterError) throw new QueryError(err.message);
          throw err;
        }
        break;
      case '$select':
        select = value.split(',').map((s) => s.trim());
        for (const f of select) if (f !== '*') checkField(f);
        if (select.includes('*')) select = undefined;
        break;
      case '$orderby':
        orderby = value.split(',').map((part) => {
          const [field = '', dir = 'asc', ...rest] = part.trim().split(/\s+/);
          if (rest.length > 0 || (dir !== 'asc' && dir !== 'desc')) {
            throw new QueryError(`Syntax error in $orderby '${value}'.`);
          }
          checkField(field);
          return { field, desc: dir === 'desc' };
        });
        break;
      case '$top':
        top = nonNegativeInt('$top', value);
        break;
      case '$skip':
        skip = nonNegativeInt('$skip', value);
        break;
      case '$count':
        if (value !== 'true' && value !== 'false')
          throw new QueryError(`'${value}' is not a valid count option.`);
        count = value === 'true';
        break;
      case '$expand':
        expand = value.split(',').map((s) => s.trim());
        for (const nav of expand) {
          if (nav.includes('/') || nav.includes('(')) {
            throw new QueryError(`Only first-level $expand is supported; '${nav}' is not.`);
          }
          if (!NAVIGATION[def.name]?.[nav]) {
            throw new QueryError(`Could not find a property named '${nav}' on type '${def.typeName}'.`);
          }
        }
        break;
      case 'cross-company':
        crossCompany = value.toLowerCase() === 'true';
        break;
      default:
        break;
    }
  }
  return { filter, select, orderby, top, skip, count, expand, crossCompany, carried };
}

/** F&O's weak ETag: `W/"<base64 of the record version>"`. */
export const etagOf = (stored: StoredRecord): string =>
  `W/"${Buffer.from(`'1,${5637144576 + stored.version}'`).toString('base64')}"`;

/**
 * The JSON shape of one entity: `@odata.etag` then the (selected) fields. Without `$select` F&O
 * returns every field: with `def`, fields a record does not set read as their empty value
 * (`EntitySetDef.empty`), in the entity's field order.
 */
export function shape(
  stored: StoredRecord,
  select: readonly string[] | undefined,
  def?: EntitySetDef,
): Record<string, unknown> {
  const out: Record<string, unknown> = { '@odata.etag': etagOf(stored) };
  if (select) for (const f of select) out[f] = stored.rec[f] ?? def?.empty[f] ?? null;
  else Object.assign(out, def?.empty, stored.rec);
  return out;
}

function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'string' && typeof b === 'string') {
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/** The field names a filter reads. */
function fieldsOf(node: FilterNode, out = new Set<string>()): Set<string> {
  switch (node.kind) {
    case 'field':
      out.add(node.name);
      break;
    case 'and':
    case 'or':
    case 'compare':
    case 'arith':
      fieldsOf(node.left, out);
      fieldsOf(node.right, out);
      break;
    case 'not':
      fieldsOf(node.operand, out);
      break;
    default:
      break;
  }
  return out;
}

/**
 * The record predicate of a filter. A field a record does not set compares as its empty value
 * (what a read returns for it), so `IdentificationNumber eq ''` matches unset ones as on F&O.
 */
function matcher(filter: FilterNode | undefined, def: EntitySetDef): (s: StoredRecord) => boolean {
  if (!filter) return () => true;
  const fields = [...fieldsOf(filter)];
  return (s) => {
    const rec = s.rec;
    if (fields.every((f) => rec[f] !== undefined)) return evalFilter(filter, rec);
    const view: Record<string, unknown> = { ...rec };
    for (const f of fields) if (view[f] === undefined) view[f] = def.empty[f];
    return evalFilter(filter, view);
  };
}

export interface PageResult {
  readonly records: readonly StoredRecord[];
  readonly count: number | undefined;
  /** The `$skip` of the next page, when there is one. */
  readonly nextSkip: number | undefined;
  /** `$top` for the next page (remaining), when the request had one. */
  readonly nextTop: number | undefined;
}

interface SortEntry {
  readonly values: readonly unknown[];
  readonly key: readonly string[];
}

interface CursorEntry {
  readonly afterId: string;
}

/**
 * Executes reads with bounded caches so that following nextLinks costs O(N) overall: the position
 * a nextLink's `$skip` stands for is remembered (by the last key returned), and counts and sorted
 * results are cached per store generation.
 */
export class ReadEngine {
  private readonly cursors = new Map<string, CursorEntry>();
  private readonly counts = new Map<string, number>();
  private readonly sorted = new Map<string, SortEntry[]>();

  private remember<V>(cache: Map<string, V>, key: string, value: V, max: number): void {
    cache.delete(key);
    cache.set(key, value);
    while (cache.size > max) {
      const oldest = cache.keys().next().value;
      if (oldest === undefined) break;
      cache.delete(oldest);
    }
  }

  /** Records of a filter that pins every key, fetched by key and sorted by key; undefined otherwise. */
  private seek(
    def: EntitySetDef,
    store: EntityStore,
    query: ReadQuery,
    companies: ReadonlySet<string> | undefined,
    matches: (s: StoredRecord) => boolean,
  ): StoredRecord[] | undefined {
    const tuples = keyTuples(query.filter, def.keys, def.companySpecific ? companies : new Set(['']));
    if (!tuples) return undefined;
    const found = new Map<string, StoredRecord>();
    for (const tuple of tuples) {
      const s = store.get(tuple);
      if (!s) continue;
      const id = keyId(store.keyOf(s.rec));
      if (found.has(id)) continue;
      if (def.companySpecific && companies && !companies.has(String(s.rec.dataAreaId).toLowerCase()))
        continue;
      if (matches(s)) found.set(id, s);
    }
    return [...found.keys()].sort().map((id) => found.get(id) as StoredRecord);
  }

  /** Reads one page of `store` for `query` with server page size `pageSize`. */
  read(
    def: EntitySetDef,
    store: EntityStore,
    query: ReadQuery,
    defaultCompany: string,
    pageSize: number,
  ): PageResult {
    let companies: Set<string> | undefined;
    if (def.companySpecific) {
      if (query.crossCompany) companies = companiesOf(query.filter);
      else {
        const pinned = companiesOf(query.filter);
        companies = new Set(pinned && !pinned.has(defaultCompany) ? [] : [defaultCompany]);
      }
    }
    const matches = matcher(query.filter, def);
    const limit = Math.min(pageSize, query.top ?? Number.POSITIVE_INFINITY);
    const shapeKey = `${def.name}|${[...(companies ?? ['*'])].join(',')}|${JSON.stringify(
      query.carried.filter(([n]) => n !== '$count' && n !== '$select' && n !== '$expand'),
    )}`;
    // Counts and sorted results go stale on any write; cursors continue after the last key returned.
    const base = `${shapeKey}|${store.generation}`;
    const seek = this.seek(def, store, query, companies, matches);

    let count: number | undefined;
    if (seek) count = query.count ? seek.length : undefined;
    else if (query.count) {
      const countKey = `${base}|count`;
      count = this.counts.get(countKey);
      if (count === undefined) {
        if (query.filter) {
          count = 0;
          for (const s of store.scan(companies)) if (matches(s)) count += 1;
        } else count = store.count(companies);
        this.remember(this.counts, countKey, count, 64);
      }
    }

    const records: StoredRecord[] = [];
    let more = false;
    if (limit > 0 && seek && query.orderby.length === 0) {
      records.push(...seek.slice(query.skip, query.skip + limit));
      more = seek.length > query.skip + limit;
    } else if (limit > 0) {
      const keyOrder =
        query.orderby.length === 0 ||
        (query.orderby.every((o, i) => !o.desc && o.field === def.keys[i]) &&
          (query.orderby.length === def.keys.length || !def.companySpecific || companies?.size === 1));
      if (keyOrder) {
        const cursorKey = `${shapeKey}|skip=${query.skip}`;
        const cursor = query.skip > 0 ? this.cursors.get(cursorKey) : undefined;
        let toSkip = cursor ? 0 : query.skip;
        for (const s of store.scan(companies, cursor?.afterId)) {
          if (!matches(s)) continue;
          if (toSkip > 0) {
            toSkip -= 1;
            continue;
          }
          if (records.length === limit) {
            more = true;
            break;
          }
          records.push(s);
        }
        const last = records.at(-1);
        if (more && last) {
          this.remember(
            this.cursors,
            `${shapeKey}|skip=${query.skip + records.length}`,
            { afterId: keyId(store.keyOf(last.rec)) },
            256,
          );
        }
      } else {
        const sortKey = `${base}|sorted`;
        let all = this.sorted.get(sortKey);
        if (!all) {
          // Keep only the sort values and the key of each match, not the (generated) records.
          const entries: SortEntry[] = [];
          for (const s of seek ?? store.scan(companies)) {
            if (matches(s))
              entries.push({ values: query.orderby.map((o) => s.rec[o.field]), key: store.keyOf(s.rec) });
          }
          const order = query.orderby;
          entries.sort((a, b) => {
            for (const [i, o] of order.entries()) {
              const c = compareValues(a.values[i], b.values[i]);
              if (c !== 0) return o.desc ? -c : c;
            }
            return 0;
          });
          all = entries;
          this.remember(this.sorted, sortKey, all, 2);
        }
        for (const entry of all.slice(query.skip, query.skip + limit)) {
          const s = store.get(entry.key);
          if (s) records.push(s);
        }
        more = all.length > query.skip + limit;
      }
    }
    const remainingTop = query.top === undefined ? undefined : query.top - records.length;
    const hasNext = more && records.length === pageSize && (remainingTop === undefined || remainingTop > 0);
    return {
      records,
      count,
      nextSkip: hasNext ? query.skip + records.length : undefined,
      nextTop: hasNext ? remainingTop : undefined,
    };
  }
}

/** Builds the absolute nextLink from the carried query options. */
export function nextLinkOf(
  setUrl: string,
  query: ReadQuery,
  nextSkip: number,
  nextTop: number | undefined,
): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%24/g, '$').replace(/%2C/g, ',');
  const parts = query.carried.map(([n, v]) => `${enc(n)}=${enc(v)}`);
  if (nextTop !== undefined) parts.push(`$top=${nextTop}`);
  parts.push(`$skip=${nextSkip}`);
  return `${setUrl}?${parts.join('&')}`;
}
