/**
 * sObject Collections and single-record writes. Upsert by External ID:
 * `PATCH /composite/sobjects/{SObject}/{ExtIdField}` with `allOrNone:false`, ≤ 200 records, no Id,
 * `attributes.type` on each record; the answer is an array in request order whose per-record
 * errors carry `statusCode` (not `errorCode`):
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_upsert.htm
 *
 * Duplicate keys: Salesforce fails every record of a request that repeats an External ID
 * (`DUPLICATE_VALUE`), so repeats are sent in later rounds (the k-th occurrence of a key goes in
 * round k, rounds run one after another). Each input gets its own result and the last occurrence
 * wins, as if the records were sent one by one in input order. Keys compare case-insensitively,
 * as text External IDs match.
 */
import { ConnectorError, ValidationError } from '#base/errors.ts';
import type {
  CollectionsOptions,
  CreateOptions,
  CreateResult,
  RecordError,
  SObjectInput,
  UpdateInput,
  UpdateResult,
  UpsertResult,
} from '#core/ports/apis.ts';
import { soqlIdent } from '#core/ports/salesforce/soql.ts';
import type { SalesforceTransport } from './transport.ts';

/** The port's record shapes, for the Bulk modules of this client. */
export type { RecordError, SObjectInput } from '#core/ports/apis.ts';

interface SaveResult {
  readonly id?: string | null;
  readonly success?: boolean;
  readonly created?: boolean;
  readonly errors?: readonly { statusCode?: string; message?: string; fields?: readonly string[] }[];
}

const MAX_CHUNK = 200;
const ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

/** Runs `task` over `items` with at most `limit` at once, keeping result order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let stopped = false;
  const worker = async () => {
    while (!stopped && next < items.length) {
      const i = next++;
      try {
        out[i] = await task(items[i] as T);
      } catch (error) {
        stopped = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

function chunkOf(size: number | undefined): number {
  const n = size ?? MAX_CHUNK;
  if (!(Number.isInteger(n) && n >= 1 && n <= MAX_CHUNK)) {
    throw new ValidationError(`chunkSize must be an integer from 1 to ${MAX_CHUNK}, got ${n}`, {
      field: 'chunkSize',
    });
  }
  return n;
}

function failed(
  index: number,
  key: string,
  statusCode: string,
  message: string,
  fields: string[] = [],
): UpsertResult {
  return { index, key, outcome: 'failed', errors: [{ statusCode, message, fields }] };
}

function mapErrors(errors: SaveResult['errors']): RecordError[] {
  return (errors ?? []).map((e) => ({
    statusCode: e.statusCode ?? 'UNKNOWN',
    message: e.message ?? '',
    fields: Array.isArray(e.fields) ? [...e.fields] : [],
  }));
}

function parseResults(text: unknown, expected: number, operation: string): SaveResult[] {
  if (!Array.isArray(text) || text.length !== expected) {
    throw new ConnectorError(`${operation}: expected ${expected} results in request order`, {
      code: 'BAD_RESPONSE',
    });
  }
  return text as SaveResult[];
}

/** Splits inputs into rounds so no round holds the same key twice (k-th occurrence → round k). */
export function planRounds(keys: readonly (string | undefined)[]): number[][] {
  const seen = new Map<string, number>();
  const rounds: number[][] = [];
  keys.forEach((key, index) => {
    if (key === undefined) return;
    const norm = key.toLowerCase();
    const round = seen.get(norm) ?? 0;
    seen.set(norm, round + 1);
    const list = rounds[round] ?? [];
    list.push(index);
    rounds[round] = list;
  });
  return rounds;
}

/** The External ID value of a record as text, or undefined when missing or blank. */
export function externalKey(record: SObjectInput, field: string): string | undefined {
  const value = record[field];
  if (value === undefined || value === null) return undefined;
  const text = typeof value === 'string' ? value : String(value);
  return text.trim() === '' ? undefined : text;
}

/**
 * Upserts records by External ID through sObject Collections (`allOrNone:false`). Results come
 * back in input order. Records without a key or carrying `Id` fail client-side without a call.
 */
export async function upsertRecords(
  rest: SalesforceTransport,
  sobject: string,
  externalIdField: string,
  records: readonly SObjectInput[],
  options: CollectionsOptions = {},
): Promise<UpsertResult[]> {
  soqlIdent(sobject);
  soqlIdent(externalIdField);
  const size = chunkOf(options.chunkSize);
  const results = new Array<UpsertResult>(records.length);
  const keys = records.map((record, index) => {
    const key = externalKey(record, externalIdField);
    if (key === undefined) {
      results[index] = failed(
        index,
        '',
        'REQUIRED_FIELD_MISSING',
        `${externalIdField} is required to upsert`,
        [externalIdField],
      );
      return undefined;
    }
    if (Object.keys(record).some((f) => f.toLowerCase() === 'id')) {
      results[index] = failed(
        index,
        key,
        'INVALID_FIELD',
        'a record upserted by External ID must not carry Id',
        ['Id'],
      );
      return undefined;
    }
    return key;
  });
  const path = `/composite/sobjects/${sobject}/${externalIdField}`;
  for (const round of planRounds(keys)) {
    const chunks: number[][] = [];
    for (let i = 0; i < round.length; i += size) chunks.push(round.slice(i, i + size));
    await mapLimit(chunks, options.concurrency ?? 1, async (chunk) => {
      const body = {
        allOrNone: false,
        records: chunk.map((i) => ({ ...records[i], attributes: { type: sobject } })),
      };
      const response = await rest.send({
        method: 'PATCH',
        path,
        operation: 'rest.collections.upsert',
        json: body,
        // Upsert by External ID converges when replayed.
        idempotent: true,
        signal: options.signal,
      });
      const saved = parseResults(response.json<unknown>(), chunk.length, 'rest.collections.upsert');
      chunk.forEach((index, j) => {
        const r = saved[j] as SaveResult;
        const key = keys[index] as string;
        results[index] = r.success
          ? { index, key, outcome: r.created ? 'created' : 'updated', ...(r.id ? { id: r.id } : {}) }
          : { index, key, outcome: 'failed', ...(r.id ? { id: r.id } : {}), errors: mapErrors(r.errors) };
      });
    });
  }
  return results;
}

/**
 * Updates records by Id through `PATCH /composite/sobjects` (`allOrNone:false`, ≤ 200 per call):
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm
 */
export async function updateRecords(
  rest: SalesforceTransport,
  records: readonly UpdateInput[],
  options: CollectionsOptions = {},
): Promise<UpdateResult[]> {
  const size = chunkOf(options.chunkSize);
  const results = new Array<UpdateResult>(records.length);
  const valid: number[] = [];
  records.forEach((r, index) => {
    soqlIdent(r.sobject);
    if (ID.test(r.id)) valid.push(index);
    else
      results[index] = {
        index,
        id: r.id,
        outcome: 'failed',
        errors: [{ statusCode: 'MALFORMED_ID', message: `not a record id: ${r.id}`, fields: ['Id'] }],
      };
  });
  const chunks: number[][] = [];
  for (let i = 0; i < valid.length; i += size) chunks.push(valid.slice(i, i + size));
  await mapLimit(chunks, options.concurrency ?? 1, async (chunk) => {
    const response = await rest.send({
      method: 'PATCH',
      path: '/composite/sobjects',
      operation: 'rest.collections.update',
      json: {
        allOrNone: false,
        records: chunk.map((i) => {
          const r = records[i] as UpdateInput;
          return { ...r.fields, attributes: { type: r.sobject }, id: r.id };
        }),
      },
      idempotent: true,
      signal: options.signal,
    });
    const saved = parseResults(response.json<unknown>(), chunk.length, 'rest.collections.update');
    chunk.forEach((index, j) => {
      const r = saved[j] as SaveResult;
      const id = (records[index] as UpdateInput).id;
      results[index] = r.success
        ? { index, id, outcome: 'updated' }
        : { index, id, outcome: 'failed', errors: mapErrors(r.errors) };
    });
  });
  return results;
}

/**
 * Creates records through `POST /composite/sobjects` (`allOrNone:false`, ≤ 200 per call); results
 * in input order. Records carrying `Id` fail client-side without a call.
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_create.htm
 */
export async function createRecords(
  rest: SalesforceTransport,
  sobject: string,
  records: readonly SObjectInput[],
  options: CreateOptions = {},
): Promise<CreateResult[]> {
  soqlIdent(sobject);
  const size = chunkOf(options.chunkSize);
  const results = new Array<CreateResult>(records.length);
  const valid: number[] = [];
  records.forEach((record, index) => {
    if (Object.keys(record).some((f) => f.toLowerCase() === 'id')) {
      results[index] = {
        index,
        outcome: 'failed',
        errors: [
          { statusCode: 'INVALID_FIELD', message: 'a record to create must not carry Id', fields: ['Id'] },
        ],
      };
    } else valid.push(index);
  });
  const chunks: number[][] = [];
  for (let i = 0; i < valid.length; i += size) chunks.push(valid.slice(i, i + size));
  await mapLimit(chunks, options.concurrency ?? 1, async (chunk) => {
    const response = await rest.send({
      method: 'POST',
      path: '/composite/sobjects',
      operation: 'rest.collections.create',
      json: {
        allOrNone: false,
        records: chunk.map((i) => ({ ...records[i], attributes: { type: sobject } })),
      },
      idempotent: options.idempotent ?? false,
      signal: options.signal,
    });
    const saved = parseResults(response.json<unknown>(), chunk.length, 'rest.collections.create');
    chunk.forEach((index, j) => {
      const r = saved[j] as SaveResult;
      results[index] =
        r.success && r.id
          ? { index, outcome: 'created', id: r.id }
          : { index, outcome: 'failed', errors: mapErrors(r.errors) };
    });
  });
  return results;
}

function checkId(id: string): void {
  if (!ID.test(id)) throw new ValidationError(`not a record id: ${JSON.stringify(id)}`, { field: 'Id' });
}

/**
 * Updates one record by Id (`PATCH /sobjects/{SObject}/{id}`, 204), e.g. a write-back:
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_update_fields.htm
 */
export async function updateRecord(
  rest: SalesforceTransport,
  sobject: string,
  id: string,
  fields: SObjectInput,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  soqlIdent(sobject);
  checkId(id);
  await rest.send({
    method: 'PATCH',
    path: `/sobjects/${sobject}/${id}`,
    operation: 'rest.sobject.update',
    json: fields,
    idempotent: true,
    signal: options.signal,
  });
}

/** Creates one record (`POST /sobjects/{SObject}/`) and returns its Id. Not retried on 5xx (not idempotent). */
export async function createRecord(
  rest: SalesforceTransport,
  sobject: string,
  fields: SObjectInput,
  options: { signal?: AbortSignal } = {},
): Promise<string> {
  soqlIdent(sobject);
  const response = await rest.send({
    method: 'POST',
    path: `/sobjects/${sobject}/`,
    operation: 'rest.sobject.create',
    json: fields,
    signal: options.signal,
  });
  const body = response.json<{ id?: unknown }>();
  if (typeof body.id !== 'string')
    throw new ConnectorError('rest.sobject.create: no id in the answer', { code: 'BAD_RESPONSE' });
  return body.id;
}

/** Reads one record by Id (optionally only `fields`); undefined when it does not exist (404). */
export async function getRecord<T = Record<string, unknown>>(
  rest: SalesforceTransport,
  sobject: string,
  id: string,
  options: { fields?: readonly string[]; signal?: AbortSignal } = {},
): Promise<T | undefined> {
  soqlIdent(sobject);
  checkId(id);
  const query = options.fields?.length
    ? `?fields=${options.fields.map((f) => soqlIdent(f).text).join(',')}`
    : '';
  const response = await rest.send({
    method: 'GET',
    path: `/sobjects/${sobject}/${id}${query}`,
    operation: 'rest.sobject.get',
    accept: [404],
    signal: options.signal,
  });
  return response.status === 404 ? undefined : response.json<T>();
}
