/**
 * The DynamicsApi and SalesforceApi ports: what the engine asks of the two systems, declared here
 * in the core's own terms (entity descriptors, keys, OData filters, SOQL, describes and the API
 * errors in `./dynamics/` and `./salesforce/`). The clients in `functions/dynamics/` and
 * `functions/salesforce/` implement them (the wiring hands the clients to the engine context as
 * these ports, so the compiler checks they fit); the sandboxes stand behind them in tests. The
 * core imports neither client.
 */
import type { CallCountSnapshot } from '#base/call-counts.ts';
import type { AnyEntity, EntityKey, EntityRecord, FieldOf } from './dynamics/entities.ts';
import type { Filter } from './dynamics/odata.ts';
import type { SObjectDescribe } from './salesforce/describe.ts';

/** API calls counted per host and per operation. */
export type { CallCountSnapshot };

/** The call counter of one client. */
export interface CallCounter {
  snapshot(): CallCountSnapshot;
  reset(): void;
}

/** Per-call options. */
export interface CallOptions {
  readonly signal?: AbortSignal | undefined;
}

/** Options of a write that is not idempotent (create, change set). */
export interface WriteCallOptions extends CallOptions {
  /** Runs before each re-send (after a 429 wait or a 401); a throw stops the write unsent. */
  readonly beforeResend?: ((attempt: number) => Promise<void>) | undefined;
}

/** One write of a change set. */
export type ChangeOperation =
  | {
      readonly kind: 'create';
      readonly entity: AnyEntity;
      readonly record: Readonly<Record<string, unknown>>;
    }
  | {
      readonly kind: 'update';
      readonly entity: AnyEntity;
      readonly key: Readonly<Record<string, string>>;
      readonly patch: Readonly<Record<string, unknown>>;
    }
  | {
      readonly kind: 'delete';
      readonly entity: AnyEntity;
      readonly key: Readonly<Record<string, string>>;
    };

/**
 * Which legal entities a Dynamics read covers: omitted, the user's default company; `'usmf'` or
 * `['usmf', 'demf']`, those companies; `{ crossCompany: true }`, every company the user may read.
 */
export type CompanyScope = string | readonly string[] | { readonly crossCompany: true };

/** Options of a Dynamics collection read. */
export interface ReadQuery<E extends AnyEntity> {
  readonly company?: CompanyScope | undefined;
  readonly filter?: Filter | undefined;
  readonly select?: readonly FieldOf<E>[] | undefined;
  /** `Field` or `Field desc` / `Field asc`. */
  readonly orderBy?: readonly string[] | undefined;
  readonly top?: number | undefined;
  readonly skip?: number | undefined;
  /** Adds `$count=true`; the first page then carries `@odata.count`. */
  readonly count?: boolean | undefined;
  /** First-level navigation properties, e.g. `SalesOrderLines` on SalesOrderHeadersV2. */
  readonly expand?: readonly string[] | undefined;
}

/** One page of a Dynamics read. */
export interface Page<E extends AnyEntity> {
  readonly records: readonly EntityRecord<E>[];
  /** From 0. */
  readonly index: number;
  /** `@odata.count`, on the first page of a read with `count: true`. */
  readonly count: number | undefined;
  readonly nextLink: string | undefined;
}

/** The outcome of readByKeys: records by formatted requested key, and the keys not found. */
export interface ReadByKeysResult<E extends AnyEntity> {
  /** Keyed by `formatKey` of the requested key (dataAreaId lowercased). */
  readonly found: ReadonlyMap<string, EntityRecord<E>>;
  /** The keys not found, normalised (dataAreaId lowercase). */
  readonly missing: readonly EntityKey<E>[];
  /** OData requests made (pages included). */
  readonly requests: number;
  /**
   * Every record that matched a requested key, in answer order: more than `found` holds when the
   * "key" is not unique (e.g. invoices read by a descriptor keyed on their SalesOrderNumber).
   */
  readonly records: readonly EntityRecord<E>[];
}

/** What the engine asks of F&O (OData). Writes fail with `DynamicsWriteError` (`./dynamics/errors.ts`). */
export interface DynamicsApi {
  /** Counts every HTTP attempt by operation (`odata.read|create|update|delete`) and minted tokens. */
  readonly counter: CallCounter;
  /** Yields every record of a read, following nextLink to the end and holding one page at a time. */
  read<E extends AnyEntity>(
    entity: E,
    query?: ReadQuery<E>,
    options?: CallOptions,
  ): AsyncIterable<EntityRecord<E>>;
  /** Yields the pages of a read; each nextLink is fetched exactly as the server gave it. */
  readPages<E extends AnyEntity>(
    entity: E,
    query?: ReadQuery<E>,
    options?: CallOptions,
  ): AsyncIterable<Page<E>>;
  /** Reads records by full keys in as few requests as fit; absent keys are reported, not thrown. */
  readByKeys<E extends AnyEntity>(
    entity: E,
    keys: readonly EntityKey<E>[],
    options?: CallOptions & {
      readonly select?: readonly FieldOf<E>[] | undefined;
      readonly batch?: boolean | undefined;
    },
  ): Promise<ReadByKeysResult<E>>;
  /** Reads one record by its full key; undefined when it does not exist. */
  get<E extends AnyEntity>(
    entity: E,
    key: EntityKey<E>,
    options?: CallOptions & { readonly select?: readonly FieldOf<E>[] | undefined },
  ): Promise<EntityRecord<E> | undefined>;
  /** POSTs a record; returns the created entity. Never replayed except after 429. */
  create<E extends AnyEntity>(
    entity: E,
    record: Readonly<Record<string, unknown>>,
    options?: WriteCallOptions,
  ): Promise<EntityRecord<E>>;
  /**
   * Applies the writes in one OData `$batch` change set: all or none, one call. Returns each
   * request's answer in order (the created entity for a create, undefined otherwise).
   */
  changeSet(
    operations: readonly ChangeOperation[],
    options?: WriteCallOptions,
  ): Promise<readonly (Readonly<Record<string, unknown>> | undefined)[]>;
  /** PATCHes fields of one record. With `ifMatch` (an `@odata.etag`), fails on a concurrent change. */
  update<E extends AnyEntity>(
    entity: E,
    key: EntityKey<E>,
    patch: Readonly<Record<string, unknown>>,
    options?: CallOptions & { readonly ifMatch?: string | undefined },
  ): Promise<void>;
}

/** The fields of one Salesforce record to write (relationships by External ID as nested objects). */
export type SObjectInput = Readonly<Record<string, unknown>>;

/** A record as a SOQL query returns it. */
export interface SObjectRecord {
  readonly attributes?: { readonly type: string; readonly url?: string };
  readonly [field: string]: unknown;
}

/** Options of a SOQL query. */
export interface QueryOptions {
  /** Records per page, 200–2,000 (a request, not a promise). */
  readonly batchSize?: number;
  /** Use `queryAll` (also deleted and merged records). */
  readonly all?: boolean;
  readonly signal?: AbortSignal;
}

/** One page of a SOQL query. */
export interface QueryPage<T> {
  readonly totalSize: number;
  readonly done: boolean;
  readonly records: readonly T[];
  readonly nextRecordsUrl?: string;
}

/** A per-record error as Salesforce reports it in collection and Bulk results. */
export interface RecordError {
  readonly statusCode: string;
  readonly message: string;
  readonly fields: readonly string[];
}

/** The result of one upserted record; `index` is its position in the input. */
export interface UpsertResult {
  readonly index: number;
  /** The External ID value as sent (`''` when missing). */
  readonly key: string;
  readonly outcome: 'created' | 'updated' | 'failed';
  readonly id?: string;
  readonly errors?: readonly RecordError[];
}

/** Options of the sObject Collections calls. */
export interface CollectionsOptions {
  /** Records per request, 1–200. Default 200. */
  readonly chunkSize?: number;
  /** Requests in flight at once within a round. Default 1. */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
}

/** Options of createMany. */
export interface CreateOptions extends CollectionsOptions {
  /**
   * Let the HTTP layer replay a call after a 5xx or a reset. Only for objects where a unique rule
   * makes a replayed record fail harmlessly (e.g. PricebookEntry, unique per product, price book
   * and currency: a replay answers DUPLICATE_VALUE). Default false.
   */
  readonly idempotent?: boolean;
}

/** The result of one created record. */
export interface CreateResult {
  readonly index: number;
  readonly outcome: 'created' | 'failed';
  readonly id?: string;
  readonly errors?: readonly RecordError[];
}

/** One record for updateMany: its type, Id and the fields to set. */
export interface UpdateInput {
  readonly sobject: string;
  readonly id: string;
  readonly fields: SObjectInput;
}

/** The result of one updated record. */
export interface UpdateResult {
  readonly index: number;
  readonly id: string;
  readonly outcome: 'updated' | 'failed';
  readonly errors?: readonly RecordError[];
}

/** A Bulk API 2.0 ingest job's status as `GET /jobs/ingest/{id}` reports it. */
export interface BulkJobInfo {
  readonly id: string;
  readonly state: string;
  readonly object?: string;
  readonly numberRecordsProcessed?: number;
  readonly numberRecordsFailed?: number;
  readonly errorMessage?: string;
}

/**
 * Options of a Bulk API 2.0 upsert. The wait polls the job's status until it ends, backing off to
 * a cap; every poll is one API call of the org's daily allocation, so a caller may trade latency
 * for calls.
 */
export interface BulkUpsertOptions {
  /** First wait between status polls. Default 2 000 ms. */
  readonly pollIntervalMs?: number;
  /** Longest wait between polls. Default 30 000 ms. */
  readonly maxPollIntervalMs?: number;
  /** Growth of the wait per poll. Default 1.5. */
  readonly pollBackoff?: number;
  /** Upload size above which the load is split into several jobs. Default 100 MB. */
  readonly maxJobBytes?: number;
  /** Stops waiting (not the job). */
  readonly signal?: AbortSignal;
  /** Called when a job is created and whenever its state changes. */
  readonly onJob?: (job: BulkJobInfo) => void;
}

/** The outcome of a Bulk API 2.0 upsert. */
export interface BulkUpsertReport {
  /** Every job run, in order, with its final status. */
  readonly jobs: readonly BulkJobInfo[];
  /** One result per input, in input order. */
  readonly results: readonly UpsertResult[];
}

/** A result file of a finished Bulk API 2.0 ingest job. */
export type BulkResultFile = 'successfulResults' | 'failedResults' | 'unprocessedrecords';

/** One row of a result file: the uploaded columns by name, and what Salesforce did with the row. */
export interface BulkResultRow {
  readonly file: BulkResultFile;
  /** The uploaded values by column name (as sent, e.g. `#N/A` for a null). */
  readonly values: Readonly<Record<string, string>>;
  /** `sf__Id` (empty for most failures). */
  readonly id: string;
  /** `sf__Created` of a successful row. */
  readonly created: boolean;
  /** The parsed `sf__Error` of a failed row; UNPROCESSED for an unprocessed one. */
  readonly error?: RecordError;
}

/** How a streamed Bulk API 2.0 ingest job is opened. */
export interface BulkJobOptions {
  readonly operation: 'insert' | 'upsert' | 'update';
  /** Required for `upsert`. */
  readonly externalIdField?: string;
  /** The CSV header (field names; `Rel.ExtId__c` for a parent by External ID). */
  readonly columns: readonly string[];
  /** Upload size limit of this job in bytes. */
  readonly maxJobBytes?: number;
  /** Time allowed for the whole upload (it lasts as long as the caller feeds it). */
  readonly uploadTimeoutMs?: number;
  /** Stops waiting (not the job). */
  readonly signal?: AbortSignal;
}

/** An open ingest job whose single upload is fed row by row. */
export interface BulkJob {
  readonly id: string;
  readonly sobject: string;
  /** CSV bytes written so far. */
  readonly bytes: number;
  /** Rows written so far. */
  readonly count: number;
  readonly columns: readonly string[];
  /** The CSV row of a record (undefined when a field is outside the job's columns). */
  encode(record: SObjectInput): string | undefined;
  /** Whether a row of `rowBytes` still fits under the job's upload limit. */
  fits(rowBytes: number): boolean;
  write(row: string | Buffer): Promise<void>;
  /** Ends the upload, closes the job and waits until Salesforce has processed it. */
  finish(): Promise<BulkJobInfo>;
  abort(): Promise<void>;
}

/** Flattens one level of relationship objects (`{Account: {Ext__c: 'x'}}` → `Account.Ext__c`). */
export function flattenRecord(record: SObjectInput): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(record)) {
    if (field === 'attributes') continue;
    if (value && typeof value === 'object' && !(value instanceof Date)) {
      for (const [sub, v] of Object.entries(value as Record<string, unknown>)) {
        if (sub !== 'attributes') out[`${field}.${sub}`] = v;
      }
    } else out[field] = value;
  }
  return out;
}

/** The CSV columns of a record (relationships flattened as `Rel.ExtId__c`), in field order. */
export function bulkColumns(record: SObjectInput): string[] {
  return Object.keys(flattenRecord(record));
}

type Signal = { signal?: AbortSignal };

/**
 * What the engine asks of Salesforce (REST, sObject Collections, Bulk API 2.0, describe). Calls
 * fail with the errors of `./salesforce/errors.ts` (`SalesforceApiError`, `ApiBudgetError`,
 * `BulkJobError`) or the HTTP errors of `#base/errors.ts`.
 */
export interface SalesforceApi {
  /** API calls by operation (`oauth.token` counts token mints). */
  readonly counter: CallCounter;
  /** The org's shared daily API budget (its state feeds the metrics). */
  readonly budget: { state(): { readonly remaining: number | undefined } };
  /** Records of a SOQL query, page by page under the hood (one page in memory). */
  query<T = SObjectRecord>(soql: string, options?: QueryOptions): AsyncGenerator<T, void, undefined>;
  /** The pages of a SOQL query (one request each). */
  queryPages<T = SObjectRecord>(
    soql: string,
    options?: QueryOptions,
  ): AsyncGenerator<QueryPage<T>, void, undefined>;
  /** Upsert by External ID via sObject Collections, ≤ 200 per call; results in input order. */
  upsert(
    sobject: string,
    externalIdField: string,
    records: readonly SObjectInput[],
    options?: CollectionsOptions,
  ): Promise<UpsertResult[]>;
  /** Upsert by External ID via Bulk API 2.0; results in input order. */
  bulkUpsert(
    sobject: string,
    externalIdField: string,
    records: readonly SObjectInput[],
    options?: BulkUpsertOptions,
  ): Promise<BulkUpsertReport>;
  /** Opens a Bulk API 2.0 ingest job whose single upload is streamed row by row. */
  openBulkJob(sobject: string, options: BulkJobOptions): Promise<BulkJob>;
  /** Streams one result file of a finished Bulk job into `onRow`; returns the row count. */
  readBulkResults(
    jobId: string,
    file: BulkResultFile,
    onRow: (row: BulkResultRow) => void,
    options?: Signal,
  ): Promise<number>;
  /** Update one record by Id. */
  update(sobject: string, id: string, fields: SObjectInput, options?: Signal): Promise<void>;
  /** Update many records by Id, ≤ 200 per call. */
  updateMany(records: readonly UpdateInput[], options?: CollectionsOptions): Promise<UpdateResult[]>;
  /** Create many records, ≤ 200 per call; results in input order. */
  createMany(
    sobject: string,
    records: readonly SObjectInput[],
    options?: CreateOptions,
  ): Promise<CreateResult[]>;
  /** Create one record; returns its Id. */
  create(sobject: string, fields: SObjectInput, options?: Signal): Promise<string>;
  /** Read one record by Id; undefined when absent. */
  get<T = Record<string, unknown>>(
    sobject: string,
    id: string,
    options?: Signal & { fields?: readonly string[] },
  ): Promise<T | undefined>;
  /** Describe an object; undefined when it does not exist. */
  describe(sobject: string, options?: Signal): Promise<SObjectDescribe | undefined>;
}
