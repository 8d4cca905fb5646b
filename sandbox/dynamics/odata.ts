/**
 * The `/data/` OData v4 service: routing of entity-set and key segments, reads with query options
 * and paging, and writes. Pure request → response logic; HTTP, auth and faults live in server.ts.
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/odata
 */
import { handleBatch } from './batch.ts';
import type { Rec } from './data.ts';
import { type Database, type EntitySetDef, entitySet, linesOf } from './entities.ts';
import { metadataDocument } from './metadata.ts';
import {
  decodeQueryComponent,
  etagOf,
  nextLinkOf,
  parseQueryString,
  parseReadQuery,
  QueryError,
  type ReadEngine,
  shape,
} from './query.ts';
import type { StoredRecord } from './store.ts';
import {
  checkBody,
  createRecord,
  deleteRecord,
  notFoundError,
  ODataError,
  updateRecord,
  type WriteContext,
} from './writes.ts';

export interface ODataRequest {
  readonly method: string;
  /** Path after `/data/`, still percent-encoded. */
  readonly path: string;
  /** Raw query string without `?`. */
  readonly query: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string;
}

export interface ODataResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** Raw text body (e.g. `$metadata` XML). */
  readonly text?: string;
}

export interface ODataContext extends WriteContext {
  readonly db: Database;
  readonly engine: ReadEngine;
  /** `https://host:port` (no trailing slash). */
  readonly environmentUrl: string;
  readonly pageSize: number;
  /** Counts an operation inside a `$batch` (the server counts top-level requests). */
  readonly count?: (operation: string, entitySetName: string | undefined) => void;
}

/** Fault and counter operation names per HTTP method. */
export const OPERATIONS: Readonly<Record<string, string>> = {
  GET: 'odata.read',
  POST: 'odata.create',
  PATCH: 'odata.update',
  PUT: 'odata.update',
  MERGE: 'odata.update',
  DELETE: 'odata.delete',
};

/** The entity set a path addresses (or `$batch`, `$metadata`), for counters. */
export function entitySetOf(path: string): string | undefined {
  if (path === '' || path.startsWith('$')) return path || undefined;
  try {
    return parseResourcePath(path).set;
  } catch {
    return undefined;
  }
}

/** The parsed resource path: entity set, optional key, optional navigation. */
export interface ResourcePath {
  readonly set: string;
  readonly keyText: string | undefined;
  readonly navigation: string | undefined;
}

/**
 * Routes the path after `/data/`: `Set`, `Set(<key>)` or `Set(<key>)/Navigation`.
 * IIS decodes the path once before routing, so an encoded `/` (`%2F`) inside a key value breaks the
 * route (404 "No HTTP resource was found"); OData then decodes key values a second time with `+`
 * as a space. Key values containing `/`, `+` or `%` must therefore be encoded twice (`%252F`).
 * https://www.essrocks.io/post/d365-f-o-odata-slashes-pluses-and-double-encoding
 */
export function parseResourcePath(path: string): ResourcePath {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    throw new RouteError(path);
  }
  const [first = '', navigation, ...rest] = decoded.split('/');
  if (rest.length > 0) throw new RouteError(decoded);
  const open = first.indexOf('(');
  if (open < 0) {
    if (navigation !== undefined)
      throw new ODataError(404, `Resource not found for the segment '${navigation}'.`);
    return { set: first, keyText: undefined, navigation: undefined };
  }
  if (!first.endsWith(')')) throw new RouteError(decoded);
  return { set: first.slice(0, open), keyText: first.slice(open + 1, -1), navigation };
}

/** No Web API route matched the (once-decoded) path: 404 with ASP.NET Web API's body, not an OData error. */
export class RouteError extends ODataError {
  override name = 'RouteError';
  constructor(path: string) {
    const message = `No HTTP resource was found that matches the request URI '/data/${path}'.`;
    super(404, message, undefined, {
      Message: message,
      MessageDetail: 'No route data was found for this request.',
    });
  }
}

/**
 * Parses the key predicate for `def`. All key fields are required and named (a single-field key
 * may be positional); string values double their quotes.
 */
export function parseKey(def: EntitySetDef, keyText: string): string[] {
  const mismatch = () =>
    new ODataError(
      400,
      `The key in the request URI is not valid for resource '${def.typeName}'. Ensure that the names and number of key properties match the declared or expected key properties for the resource '${def.typeName}'.`,
    );
  const values = new Map<string, string>();
  let i = 0;
  const text = keyText;
  const readValue = (): string => {
    if (text[i] === "'") {
      let out = '';
      i += 1;
      for (;;) {
        if (i >= text.length) throw mismatch();
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            out += "'";
            i += 2;
            continue;
          }
          i += 1;
          return decodeQueryComponent(out);
        }
        out += text[i];
        i += 1;
      }
    }
    const m = /^[^,]*/.exec(text.slice(i));
    const raw = (m?.[0] ?? '').trim();
    i += m?.[0].length ?? 0;
    if (!/^-?\d+(\.\d+)?$/.test(raw)) {
      throw new ODataError(
        400,
        `Unrecognized '${def.typeName}' literal '${raw}' in the key of the request URI.`,
      );
    }
    return raw;
  };
  if (def.keys.length === 1 && (text.startsWith("'") || /^-?\d/.test(text))) {
    values.set(def.keys[0] as string, readValue());
  } else {
    while (i < text.length) {
      const eq = text.indexOf('=', i);
      if (eq < 0) throw mismatch();
      const name = text.slice(i, eq).trim();
      i = eq + 1;
      const value = readValue();
      if (!def.keys.includes(name) || values.has(name)) throw mismatch();
      values.set(name, value);
      if (text[i] === ',') i += 1;
      else if (i < text.length) throw mismatch();
    }
  }
  if (values.size !== def.keys.length) {
    throw new ODataError(
      400,
      `The number of keys specified in the URI does not match number of key properties for the resource '${def.typeName}'.`,
    );
  }
  return def.keys.map((k) => values.get(k) as string);
}

function withExpand(
  ctx: ODataContext,
  def: EntitySetDef,
  stored: StoredRecord,
  select: readonly string[] | undefined,
  expand: readonly string[],
) {
  const out = shape(stored, select, def);
  if (def.name === 'SalesOrderHeadersV2' && expand.includes('SalesOrderLines')) {
    const company = String(stored.rec.dataAreaId);
    const lineDef = ctx.db.defs.SalesOrderLines;
    const lines = linesOf(ctx.db, company, String(stored.rec.SalesOrderNumber));
    out.SalesOrderLines = lines.map((line) => {
      const s = ctx.db.stores.SalesOrderLines?.get([company, String(line.InventoryLotId)]);
      return s ? shape(s, undefined, lineDef) : line;
    });
  }
  return out;
}

/** The key predicate of a record for a URL, values double-encoded so that the route survives IIS. */
export function keyPredicate(def: EntitySetDef, rec: Rec): string {
  const encode = (v: string) => encodeURIComponent(encodeURIComponent(v.replace(/'/g, "''")));
  return def.keys.map((k) => `${k}='${encode(String(rec[k] ?? ''))}'`).join(',');
}

const contextUrl = (
  ctx: ODataContext,
  def: EntitySetDef,
  select: readonly string[] | undefined,
  entity: boolean,
): string =>
  `${ctx.environmentUrl}/data/$metadata#${def.name}${select ? `(${select.join(',')})` : ''}${entity ? '/$entity' : ''}`;

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new ODataError(400, 'The request body is not valid JSON.');
  }
}

/** Handles one OData request; throws nothing (errors become OData error responses). */
export function handleOData(ctx: ODataContext, req: ODataRequest): ODataResponse {
  try {
    return route(ctx, req);
  } catch (err) {
    if (err instanceof ODataError) return { status: err.status, body: err.body };
    if (err instanceof QueryError) {
      return {
        status: 400,
        body: {
          error: {
            code: '',
            message: `The query specified in the URI is not valid. ${err.message}`,
            innererror: { message: err.message, type: 'Microsoft.OData.ODataException', stacktrace: '' },
          },
        },
      };
    }
    throw err;
  }
}

function route(ctx: ODataContext, req: ODataRequest): ODataResponse {
  const pairs = parseQueryString(req.query);
  if (req.path === '' && req.method === 'GET') {
    return {
      status: 200,
      body: {
        '@odata.context': `${ctx.environmentUrl}/data/$metadata`,
        value: Object.values(ctx.db.defs).map((d) => ({ name: d.name, kind: 'EntitySet', url: d.name })),
      },
    };
  }
  if (req.path === '$metadata' && req.method === 'GET') {
    return {
      status: 200,
      headers: { 'content-type': 'application/xml' },
      text: metadataDocument(ctx.db.defs),
    };
  }
  if (req.path === '$batch') {
    if (req.method !== 'POST') throw new ODataError(405, "The HTTP method must be 'POST' for $batch.");
    return handleBatch(ctx, req, req.headers['content-type'], (inner, r) => {
      inner.count?.(OPERATIONS[r.method] ?? 'odata.other', entitySetOf(r.path));
      return handleOData(inner, r);
    });
  }
  const resource = parseResourcePath(req.path);
  const def = entitySet(resource.set, ctx.db.defs);
  if (!def) throw new ODataError(404, `Resource not found for the segment '${resource.set}'.`);
  const store = ctx.db.stores[def.name];
  if (!store) throw new ODataError(404, `Resource not found for the segment '${resource.set}'.`);

  if (resource.keyText === undefined) {
    if (req.method === 'GET') {
      const query = parseReadQuery(pairs, def);
      const page = ctx.engine.read(def, store, query, ctx.defaultCompany, ctx.pageSize);
      const body: Record<string, unknown> = { '@odata.context': contextUrl(ctx, def, query.select, false) };
      if (page.count !== undefined) body['@odata.count'] = page.count;
      body.value = page.records.map((s) => withExpand(ctx, def, s, query.select, query.expand));
      if (page.nextSkip !== undefined) {
        body['@odata.nextLink'] = nextLinkOf(
          `${ctx.environmentUrl}/data/${def.name}`,
          query,
          page.nextSkip,
          page.nextTop,
        );
      }
      return { status: 200, body };
    }
    if (req.method === 'POST') {
      const input = checkBody(def, parseJson(req.body));
      const stored = createRecord(ctx, def, input);
      const location = `${ctx.environmentUrl}/data/${def.name}(${keyPredicate(def, stored.rec)})`;
      if (/return=minimal/i.test(req.headers.prefer ?? '')) {
        return {
          status: 204,
          headers: {
            location,
            'odata-entityid': location,
            etag: etagOf(stored),
            'preference-applied': 'return=minimal',
          },
        };
      }
      return {
        status: 201,
        headers: { location, etag: etagOf(stored) },
        body: { '@odata.context': contextUrl(ctx, def, undefined, true), ...shape(stored, undefined, def) },
      };
    }
    throw new ODataError(
      405,
      `The HTTP method '${req.method}' is not allowed on the entity set '${def.name}'.`,
    );
  }

  const key = parseKey(def, resource.keyText);
  if (resource.navigation !== undefined) {
    if (
      def.name === 'SalesOrderHeadersV2' &&
      resource.navigation === 'SalesOrderLines' &&
      req.method === 'GET'
    ) {
      const header = store.get(key);
      if (!header) throw notFoundError(def);
      const lineDef = ctx.db.defs.SalesOrderLines as EntitySetDef;
      const company = String(header.rec.dataAreaId);
      const value = linesOf(ctx.db, company, String(header.rec.SalesOrderNumber)).map((l) => {
        const s = ctx.db.stores.SalesOrderLines?.get([company, String(l.InventoryLotId)]);
        return s ? shape(s, undefined, lineDef) : l;
      });
      return { status: 200, body: { '@odata.context': contextUrl(ctx, lineDef, undefined, false), value } };
    }
    throw new ODataError(404, `Resource not found for the segment '${resource.navigation}'.`);
  }
  switch (req.method) {
    case 'GET': {
      const query = parseReadQuery(pairs, def);
      const stored = store.get(key);
      if (!stored) throw notFoundError(def);
      return {
        status: 200,
        headers: { etag: etagOf(stored) },
        body: {
          '@odata.context': contextUrl(ctx, def, query.select, true),
          ...withExpand(ctx, def, stored, query.select, query.expand),
        },
      };
    }
    case 'PATCH':
    case 'PUT':
    case 'MERGE': {
      const patch: Rec = checkBody(def, parseJson(req.body));
      const stored = updateRecord(ctx, def, key, patch, req.headers['if-match'], etagOf);
      return { status: 204, headers: { etag: etagOf(stored) } };
    }
    case 'DELETE': {
      const current = store.get(key);
      const ifMatch = req.headers['if-match'];
      if (current && ifMatch && ifMatch !== '*' && ifMatch !== etagOf(current)) {
        throw new ODataError(
          412,
          'The ETag value in the If-Match header does not match the current ETag of the entity.',
        );
      }
      deleteRecord(ctx, def, key);
      return { status: 204 };
    }
    default:
      throw new ODataError(405, `The HTTP method '${req.method}' is not allowed on '${def.name}'.`);
  }
}
