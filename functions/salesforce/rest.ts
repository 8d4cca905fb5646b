/**
 * The Salesforce REST client the connector's `SalesforceApi` port is built on: auth (client
 * credentials on My Domain), SOQL, sObject Collections, Bulk API 2.0, describe, limits and the
 * org's API budget, over the shared HTTP layer.
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_rest.htm
 */
import type { SalesforceApi } from '#core/ports/apis.ts';
import type { ClientCredentialsTokenSource } from './auth.ts';
import type { ApiBudget } from './budget.ts';
import { type BulkSleep, bulkUpsert } from './bulk.ts';
import { BulkJobStream, type BulkJobStreamOptions, readBulkResults } from './bulk-stream.ts';
import {
  createRecord,
  createRecords,
  getRecord,
  updateRecord,
  updateRecords,
  upsertRecords,
} from './collections.ts';
import { checkExternalId, describeSObject, type ExternalIdCheck } from './describe.ts';
import { type OrgLimits, readLimits } from './limits.ts';
import { query, queryPages } from './query.ts';
import {
  createSalesforceTransport,
  type SalesforceTransport,
  type SalesforceTransportOptions,
} from './transport.ts';

export interface SalesforceClientOptions extends SalesforceTransportOptions {
  /** Default status polling of streamed Bulk jobs (tests shorten it). */
  readonly bulkPolling?: Pick<BulkJobStreamOptions, 'pollIntervalMs' | 'maxPollIntervalMs'>;
  /** The wait between status polls of every Bulk job (tests inject one). Default: a timer. */
  readonly bulkSleep?: BulkSleep;
}

type Signal = { signal?: AbortSignal };

/** The Salesforce client: the SalesforceApi port (`core/ports/apis.ts`) and what the CLI and the tests use besides. */
export interface SalesforceClient extends SalesforceApi {
  /** Describes the object and checks the field is a unique External ID. */
  checkExternalIdField(sobject: string, field: string, options?: Signal): Promise<ExternalIdCheck>;
  /** Org limits; also refreshes the budget tracker. */
  limits(options?: Signal): Promise<OrgLimits>;
  /** The org's shared API budget tracker (state for status pages and metrics). */
  readonly budget: ApiBudget;
  /** The session source, shareable with the Pub/Sub subscriber. */
  readonly tokenSource: ClientCredentialsTokenSource;
  readonly transport: SalesforceTransport;
  close(): Promise<void>;
}

/** Creates the Salesforce client. Build one per org per process and reuse it. */
export function createSalesforceClient(options: SalesforceClientOptions): SalesforceClient {
  const rest = createSalesforceTransport(options);
  const sleep = options.bulkSleep ? { sleep: options.bulkSleep } : {};
  return {
    query: (soql, o) => query(rest, soql, o),
    queryPages: (soql, o) => queryPages(rest, soql, o),
    upsert: (sobject, field, records, o) => upsertRecords(rest, sobject, field, records, o),
    bulkUpsert: (sobject, field, records, o) => bulkUpsert(rest, sobject, field, records, { ...sleep, ...o }),
    openBulkJob: (sobject, o) =>
      BulkJobStream.open(rest, sobject, { ...options.bulkPolling, ...sleep, ...o }),
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
