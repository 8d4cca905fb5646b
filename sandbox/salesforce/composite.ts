/**
 * sObject Collections: create (POST), update by Id (PATCH), upsert by External ID
 * (PATCH /{type}/{field}) and delete (DELETE ?ids=), up to 200 records, with per-record results in
 * request order and `allOrNone` rollback.
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections.htm
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_upsert.htm
 */
import { ApiError, jsonBody, notFound, type Reply, type RestRequest } from './http.ts';
import type { Org } from './org.ts';
import { recordErrorToApi } from './sobjects.ts';
import { RecordError, type Transaction } from './store.ts';

/** The most records one Collections request may carry. */
export const COLLECTION_LIMIT = 200;

interface SaveError {
  readonly statusCode: string;
  readonly message: string;
  readonly fields: readonly string[];
}
type SaveResult =
  | { id: string; success: true; errors: []; created?: boolean }
  | { id?: string; success: false; errors: SaveError[]; created?: boolean };

const ROLLED_BACK: SaveError = {
  statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
  fields: [],
};

function toSaveError(err: unknown): SaveError {
  if (err instanceof RecordError)
    return { statusCode: err.statusCode, message: err.message, fields: err.fields };
  if (err instanceof ApiError)
    return { statusCode: err.errorCode, message: err.message, fields: err.fields ?? [] };
  throw err;
}

interface CollectionBody {
  readonly allOrNone: boolean;
  readonly records: readonly Record<string, unknown>[];
}

function collectionBody(req: RestRequest): CollectionBody {
  const body = jsonBody(req) as { allOrNone?: unknown; records?: unknown } | null;
  if (!body || typeof body !== 'object' || !Array.isArray(body.records)) {
    throw new ApiError(400, 'JSON_PARSER_ERROR', 'The request body must be an object with a records array');
  }
  if (body.records.length > COLLECTION_LIMIT) {
    throw new ApiError(
      400,
      'EXCEEDED_ID_LIMIT',
      `record limit reached. cannot submit more than ${COLLECTION_LIMIT} records into this call`,
    );
  }
  for (const r of body.records) {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) {
      throw new ApiError(400, 'JSON_PARSER_ERROR', 'Each record must be a JSON object');
    }
  }
  return { allOrNone: body.allOrNone === true, records: body.records as Record<string, unknown>[] };
}

function typeOf(record: Record<string, unknown>): string | undefined {
  const attrs = record.attributes as { type?: unknown } | undefined;
  return typeof attrs?.type === 'string' ? attrs.type : undefined;
}

/**
 * Runs one operation per record inside a single transaction. Each record is isolated by a
 * savepoint; with `allOrNone` any failure rolls everything back and the other records report
 * ALL_OR_NONE_OPERATION_ROLLED_BACK.
 */
function runCollection(
  org: Org,
  req: RestRequest,
  allOrNone: boolean,
  count: number,
  op: (tx: Transaction, index: number) => { id: string; created?: boolean },
  withCreated: boolean,
): SaveResult[] {
  const tx = org.store.begin(org.apiContext(req.userId, 'rest', req.version, req.client));
  const results: SaveResult[] = [];
  let failed = false;
  for (let i = 0; i < count; i++) {
    const point = tx.savepoint();
    try {
      const { id, created } = op(tx, i);
      results.push({ id, success: true, errors: [], ...(withCreated ? { created: created ?? false } : {}) });
    } catch (err) {
      tx.rollbackTo(point);
      failed = true;
      if (!(err instanceof RecordError || err instanceof ApiError)) {
        tx.rollback();
        throw err;
      }
      results.push({
        success: false,
        errors: [toSaveError(err)],
        ...(withCreated ? { created: false } : {}),
      });
    }
  }
  if (allOrNone && failed) {
    tx.rollback();
    return results.map((r) =>
      r.success ? { success: false, errors: [ROLLED_BACK], ...(withCreated ? { created: false } : {}) } : r,
    );
  }
  tx.commit();
  return results;
}

/** Routes `/composite/sobjects...`; undefined when the path is not a Collections resource. */
export function handleCollections(org: Org, req: RestRequest): Reply | undefined {
  const parts = req.path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== 'composite' || parts[1] !== 'sobjects') return undefined;
  const [, , type, extField, extra] = parts;
  if (extra !== undefined) throw notFound();
  if (type !== undefined && extField !== undefined) {
    if (req.method !== 'PATCH')
      throw new ApiError(
        405,
        'METHOD_NOT_ALLOWED',
        `HTTP Method '${req.method}' not allowed. Allowed are PATCH`,
      );
    return { status: 200, body: upsert(org, req, type, extField) };
  }
  if (type !== undefined) throw notFound();
  if (req.method === 'POST') return { status: 200, body: create(org, req) };
  if (req.method === 'PATCH') return { status: 200, body: update(org, req) };
  if (req.method === 'DELETE') return { status: 200, body: remove(org, req) };
  throw new ApiError(
    405,
    'METHOD_NOT_ALLOWED',
    `HTTP Method '${req.method}' not allowed. Allowed are DELETE,PATCH,POST`,
  );
}

/** Record `i` of a Collections body with its `attributes.type`, or the per-record error Salesforce gives. */
function typedRecord(
  records: readonly unknown[],
  i: number,
): { record: Record<string, unknown>; type: string } {
  const record = records[i] as Record<string, unknown>;
  const type = typeOf(record);
  if (!type) throw new RecordError('INVALID_TYPE', 'No SObject Type defined in record', []);
  return { record, type };
}

function create(org: Org, req: RestRequest): SaveResult[] {
  const { allOrNone, records } = collectionBody(req);
  return runCollection(
    org,
    req,
    allOrNone,
    records.length,
    (tx, i) => {
      const { record, type } = typedRecord(records, i);
      if ('id' in record || 'Id' in record) {
        throw new RecordError('INVALID_FIELD', 'Cannot specify Id in an insert call', ['Id']);
      }
      return { id: org.dml.insert(tx, type, record) };
    },
    false,
  );
}

function update(org: Org, req: RestRequest): SaveResult[] {
  const { allOrNone, records } = collectionBody(req);
  return runCollection(
    org,
    req,
    allOrNone,
    records.length,
    (tx, i) => {
      const { record, type } = typedRecord(records, i);
      const id = record.id ?? record.Id;
      if (typeof id !== 'string')
        throw new RecordError('MISSING_ARGUMENT', 'Id not specified in an update call', []);
      const rest = Object.fromEntries(Object.entries(record).filter(([k]) => k !== 'id' && k !== 'Id'));
      org.dml.update(tx, type, id, rest);
      return { id: org.store.get(type, id)?.Id as string };
    },
    false,
  );
}

function remove(org: Org, req: RestRequest): SaveResult[] {
  const ids = (req.query.get('ids') ?? '').split(',').filter(Boolean);
  if (ids.length > COLLECTION_LIMIT) {
    throw new ApiError(
      400,
      'EXCEEDED_ID_LIMIT',
      `record limit reached. cannot submit more than ${COLLECTION_LIMIT} records into this call`,
    );
  }
  return runCollection(
    org,
    req,
    req.query.get('allOrNone') === 'true',
    ids.length,
    (tx, i) => {
      const id = ids[i] as string;
      const table = org.store.tableForId(id);
      if (!table) throw new RecordError('MALFORMED_ID', `malformed id ${id}`, []);
      org.dml.delete(tx, table.def.name, id);
      return { id: org.store.get(table.def.name, id, true)?.Id as string };
    },
    false,
  );
}

function upsert(org: Org, req: RestRequest, type: string, extField: string): SaveResult[] {
  const table = org.store.table(type);
  if (!table) throw notFound();
  let field: ReturnType<Org['dml']['externalIdField']>;
  try {
    field = org.dml.externalIdField(table, extField);
  } catch (err) {
    return recordErrorToApi(err);
  }
  const { allOrNone, records } = collectionBody(req);
  // The same key twice in one request fails every record carrying it.
  const keyOf = (r: Record<string, unknown>): string | undefined => {
    const entry = Object.entries(r).find(([k]) => k.toLowerCase() === field.name.toLowerCase());
    return entry && entry[1] !== null && entry[1] !== undefined ? String(entry[1]) : undefined;
  };
  const seen = new Map<string, number>();
  for (const r of records) {
    const k = keyOf(r)?.toLowerCase();
    if (k !== undefined) seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  return runCollection(
    org,
    req,
    allOrNone,
    records.length,
    (tx, i) => {
      const record = records[i] as Record<string, unknown>;
      const recordType = typeOf(record);
      if (recordType !== undefined && recordType.toLowerCase() !== table.def.name.toLowerCase()) {
        throw new RecordError(
          'INVALID_TYPE',
          `The SObject type ${recordType} does not match the type ${table.def.name} in the URL`,
          [],
        );
      }
      if (field.name !== 'Id' && ('Id' in record || 'id' in record)) {
        throw new RecordError('INVALID_FIELD', 'Cannot specify Id in an upsert call', ['Id']);
      }
      const key = keyOf(record);
      if (key === undefined) throw new RecordError('MISSING_ARGUMENT', `${field.name} not specified`, []);
      if ((seen.get(key.toLowerCase()) ?? 0) > 1) {
        throw new RecordError('DUPLICATE_VALUE', `Duplicate external id specified: ${key}`, [field.name]);
      }
      const body = Object.fromEntries(Object.entries(record).filter(([k]) => k !== 'attributes'));
      return org.dml.upsert(tx, table.def.name, field.name, key, body);
    },
    true,
  );
}
