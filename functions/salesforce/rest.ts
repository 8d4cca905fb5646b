/**
 * The Salesforce REST client the connector's `SalesforceApi` port is built on: auth (client
 * credentials on My Domain), SOQL, sObject Collections, Bulk API 2.0, describe, limits and the
 * org's API budget, over the shared HTTP layer.
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_rest.htm
 */
import type { CallCounter } from '#http/counters.ts';
import type { ClientCredentialsTokenSource } from './auth.ts';
import type { ApiBudget } from './budget.ts';
import { type BulkUpsertOptions, type BulkUpsertReport, bulkUpsert } from './bulk.ts';
import {
  BulkJobStream,
  type BulkJobStreamOptions,
  type BulkResultFile,
  type BulkResultRow,
  readBulkResults,
} from './bulk-stream.ts';
import {
  type CollectionsOptions,
  type CreateOptions,
  type CreateResult,
  createRecord,
  createRecords,
  getRecord,
  type SObjectInput,
  type UpdateInput,
  type UpdateResult,
  type UpsertResult,
  updateRecord,
  updateRecords,
  upsertRecords,
} from './collections.ts';
import { checkExternalId, describeSObject, type ExternalIdCheck, type SObjectDescribe } from './describe.ts';
import { type OrgLimits, readLimits } from './limits.ts';
import { type QueryOptions, type QueryPage, query, queryPages, type SObjectRecord } from './query.ts';
import {
  createSalesforceTransport,
  type SalesforceTransport,
  type SalesforceTransportOptions,
} from './transport.ts';

export interface SalesforceClientOptions extends SalesforceTransportOptions {
  /** Default status polling of streamed Bulk jobs (tests shorten it). */
  readonly bulkPolling?: Pick<BulkJobStreamOptions, 'pollIntervalMs' | 'maxPollIntervalMs'>;
}

type Signal = { signal?: AbortSignal };

export interface SalesforceClient {
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
  openBulkJob(sobject: string, options: BulkJobStreamOptions): Promise<BulkJobStream>;
  /** Streams one result file of a finished Bulk job into `onRow`; returns the row count. */
  readBulkResults(
    jobId: string,
    file: BulkResultFile,
    onRow: (row: BulkResultRow) => void,
    options?: Signal,
  ): Promise<number>;
  /** Update one record by Id. */
  update(sobject: string, id: string, fields: SObjectInput, options?: Signal): Promise<void>;
  /** Update many records by Id via `PATCH /composite/sobjects`, ≤ 200 per call. */
  updateMany(records: readonly UpdateInput[], options?: CollectionsOptions): Promise<UpdateResult[]>;
  /** Create many records via `POST /composite/sobjects`, ≤ 200 per call; results in input order. */
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
  /** Describes the object and checks the field is a unique External ID. */
  checkExternalIdField(sobject: string, field: string, options?: Signal): Promise<ExternalIdCheck>;
  /** Org limits; also refreshes the budget tracker. */
  limits(options?: Signal): Promise<OrgLimits>;
  /** The org's shared API budget tracker (state for status pages and metrics). */
  readonly budget: ApiBudget;
  /** API calls by operation (`oauth.token` counts token mints). */
  readonly counter: CallCounter;
  /** The session source, shareable with the Pub/Sub subscriber. */
  readonly tokenSource: ClientCredentialsTokenSource;
  readonly transport: SalesforceTransport;
  close(): Promise<void>;
}

/** Creates the Salesforce client. Build one per org per process and reuse it. */
export function createSalesforceClient(options: SalesforceClientOptions): SalesforceClient {
  const rest = createSalesforceTransport(options);
  return {
    query: (soql, o) => query(rest, soql, o),
    queryPages: (soql, o) => queryPages(rest, soql, o),
    upsert: (sobject, field, records, o) => upsertRecords(rest, sobject, field, records, o),
    bulkUpsert: (sobject, field, records, o) => bulkUpsert(rest, sobject, field, records, o),
    openBulkJob: (sobject, o) => BulkJobStream.open(rest, sobject, { ...options.bulkPolling, ...o }),
    readBulkResults: (jobId, file, onRow, o) => readBulkResults(rest, jobId, file, onRow, o?.signal),
    update: (sobject, id, fields, o) => updateRecord(rest, sobject, id, fields, o),
    updateMany: (records, o) => updateRecords(rest, records, o),
    createMany: (sobject, records, o) => createRecords(rest, sobject, records, o),
    create: (sobject, fields, o) => createRecord(rest, sobject, fields, o),
    get: (sobject, id, o) => getRecord(rest, sobject, id, o),
    describe: (sobject, o) => describeSObject(rest, sobject, o),
    async checkExternalIdField(sobject, field, o) {
      return checkExternalId(sobject, await describeSObject(rest, sobject, o), field);
    },
    limits: (o) => readLimits(rest, o),
    budget: rest.budget,
    counter: rest.counter,
    tokenSource: rest.tokenSource,
    transport: rest,
    close: () => rest.close(),
  };
}
