/**
 * sObject resources: describeGlobal, describe, create, retrieve, update, delete, and upsert /
 * retrieve by External ID.
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_basic_info.htm
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_upsert.htm
 */
import { describeGlobal, describeObject } from './describe.ts';
import { applyFieldSecurity } from './field-security.ts';
import { ApiError, jsonBody, notFound, type Reply, type RestRequest } from './http.ts';
import type { Org } from './org.ts';
import { RecordError, type Row, type Table } from './store.ts';
import { compoundAddress, wireValue } from './values.ts';

/** Maps a record-level failure of a single-record resource to its HTTP error. */
export function recordErrorToApi(err: unknown): never {
  if (err instanceof RecordError) {
    const status = err.statusCode === 'NOT_FOUND' || err.statusCode === 'ENTITY_IS_DELETED' ? 404 : 400;
    throw new ApiError(status, err.statusCode, err.message, err.fields.length > 0 ? err.fields : undefined);
  }
  throw err;
}

/** A record in REST form: `attributes` first, then the requested (or all) fields. */
export function recordJson(
  table: Table,
  row: Row,
  version: string,
  fields?: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    attributes: {
      type: table.def.name,
      url: `/services/data/v${version}/sobjects/${table.def.name}/${String(row.Id)}`,
    },
  };
  const defs = fields
    ? fields.map((name) => {
        const f = table.field(name);
        if (!f)
          throw new ApiError(
            400,
            'INVALID_FIELD',
            `No such column '${name}' on sobject of type ${table.def.name}`,
          );
        return f;
      })
    : table.def.fields;
  for (const f of defs)
    out[f.name] = f.type === 'address' ? compoundAddress(row, f) : wireValue(f, row[f.name]);
  return out;
}

function tableOf(org: Org, type: string): Table {
  const table = org.store.table(type);
  if (!table) throw notFound();
  return table;
}

function bodyObject(req: RestRequest): Record<string, unknown> {
  const body = jsonBody(req);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ApiError(
      400,
      'JSON_PARSER_ERROR',
      'Cannot deserialize instance of sObject from a non-object value',
    );
  }
  return body as Record<string, unknown>;
}

/** Runs `fn` in one transaction, committing on success and rolling back on any error. */
function inTransaction<T>(org: Org, req: RestRequest, fn: (tx: ReturnType<Org['store']['begin']>) => T): T {
  const tx = org.store.begin(org.apiContext(req.userId, 'rest', req.version, req.client));
  try {
    const out = fn(tx);
    tx.commit();
    return out;
  } catch (err) {
    tx.rollback();
    return recordErrorToApi(err);
  }
}

/** Routes `/sobjects...`; undefined when the path is not an sObject resource. */
export function handleSobjects(
  org: Org,
  req: RestRequest,
  options: { upsertUpdatedStatus: 200 | 204 },
): Reply | undefined {
  const parts = req.path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== 'sobjects') return undefined;
  const [, type, a, b, extra] = parts;
  if (extra !== undefined) throw notFound();
  if (type === undefined) {
    if (req.method !== 'GET') throw methodNotAllowed(req.method);
    return { status: 200, body: describeGlobal(org.schema, req.version) };
  }
  const table = tableOf(org, type);
  if (a === undefined) {
    if (req.method === 'GET') {
      return {
        status: 200,
        body: { objectDescribe: describeObject(table.def, req.version), recentItems: [] },
      };
    }
    if (req.method !== 'POST') throw methodNotAllowed(req.method);
    const body = bodyObject(req);
    const id = inTransaction(org, req, (tx) => org.dml.insert(tx, table.def.name, body));
    return { status: 201, body: { id, success: true, errors: [] } };
  }
  if (a === 'describe' && b === undefined) {
    if (req.method !== 'GET') throw methodNotAllowed(req.method);
    return { status: 200, body: applyFieldSecurity(org, describeObject(table.def, req.version)) };
  }
  if (b === undefined) return byId(org, req, table, a);
  return byExternalId(org, req, table, a, b, options);
}

function methodNotAllowed(method: string): ApiError {
  return new ApiError(
    405,
    'METHOD_NOT_ALLOWED',
    `HTTP Method '${method}' not allowed. Allowed are GET,PATCH,DELETE,HEAD`,
  );
}

function fieldsParam(req: RestRequest): string[] | undefined {
  const f = req.query.get('fields');
  return f
    ? f
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
}

function byId(org: Org, req: RestRequest, table: Table, id: string): Reply {
  switch (req.method) {
    case 'GET': {
      const row = org.store.get(table.def.name, id);
      if (!row) throw notFound();
      return { status: 200, body: recordJson(table, row, req.version, fieldsParam(req)) };
    }
    case 'PATCH': {
      const body = bodyObject(req);
      inTransaction(org, req, (tx) => org.dml.update(tx, table.def.name, id, body));
      return { status: 204 };
    }
    case 'DELETE':
      inTransaction(org, req, (tx) => org.dml.delete(tx, table.def.name, id));
      return { status: 204 };
    default:
      throw methodNotAllowed(req.method);
  }
}

function byExternalId(
  org: Org,
  req: RestRequest,
  table: Table,
  fieldName: string,
  value: string,
  options: { upsertUpdatedStatus: 200 | 204 },
): Reply {
  let field: ReturnType<Org['dml']['externalIdField']>;
  try {
    field = org.dml.externalIdField(table, fieldName);
  } catch (err) {
    return recordErrorToApi(err);
  }
  const matches = org.dml.matches(table, field, value);
  const urls = () => matches.map((id) => `/services/data/v${req.version}/sobjects/${table.def.name}/${id}`);
  if (req.method === 'GET') {
    if (matches.length === 0) throw notFound();
    if (matches.length > 1) return { status: 300, body: urls() };
    const row = org.store.get(table.def.name, matches[0] as string) as Row;
    return { status: 200, body: recordJson(table, row, req.version, fieldsParam(req)) };
  }
  if (req.method === 'PATCH') {
    // Several matches: 300 Multiple Choices with the matching records' URLs.
    if (matches.length > 1) return { status: 300, body: urls() };
    // `?updateOnly=true` never creates. https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_upsert.htm
    if (matches.length === 0 && req.query.get('updateOnly') === 'true') throw notFound();
    const body = bodyObject(req);
    const result = inTransaction(org, req, (tx) =>
      org.dml.upsert(tx, table.def.name, field.name, value, body),
    );
    if (!result.created && options.upsertUpdatedStatus === 204) return { status: 204 };
    return {
      status: result.created ? 201 : 200,
      body: { id: result.id, success: true, errors: [], created: result.created },
    };
  }
  if (req.method === 'DELETE') {
    if (matches.length === 0) throw notFound();
    if (matches.length > 1) return { status: 300, body: urls() };
    inTransaction(org, req, (tx) => org.dml.delete(tx, table.def.name, matches[0] as string));
    return { status: 204 };
  }
  throw methodNotAllowed(req.method);
}
