/**
 * What a to-Salesforce flow (customers, products) tells the shared sync procedure: which OData
 * entity and fields it reads, how a record maps to the sObject, and what must happen after the
 * upsert (price book entries for products).
 */
import type { ConnectorConfig } from '#core/config/schema.ts';
import type { EngineContext } from '#core/engine/context.ts';
import type { DynamicsRecord } from '#core/mapping/customers.ts';
import type { CustomersV3, ReleasedProductsV2 } from '#core/ports/dynamics/entities.ts';

/** The Dynamics entities synced to Salesforce. */
export type SyncEntity = 'CustomersV3' | 'ReleasedProductsV2';

/** A record mapped for Salesforce, with the content hash that decides whether it changed. */
export interface MappedRecord {
  readonly fields: Record<string, unknown>;
  /** Compared with the stored hash; unchanged records are not sent. */
  readonly hash: string;
  /** Flow-specific data for {@link ToSalesforceFlow.afterUpsert} (e.g. the unit price). */
  readonly extra?: unknown;
  /** What the mapping changed to fit the org (a truncated name, a state left out), for the audit trail. */
  readonly notes?: readonly string[];
}

/** A record Salesforce accepted in this run. */
export interface UpsertedRecord {
  /** Position in the input of `syncRecords`. */
  readonly ref: number;
  readonly dataAreaId: string;
  readonly salesforceId: string;
  readonly created: boolean;
  readonly mapped: MappedRecord;
  /** The hash stored before this run, if any. */
  readonly storedHash: string | undefined;
}

/**
 * Why a record did not complete: `failed` is a refusal (dead-letter), `deferred` a transient error
 * (retry), `parked` a refusal a person must fix in the data or the org (audited, replayable).
 */
export interface RecordFailure {
  readonly status: 'failed' | 'deferred' | 'parked';
  readonly reason: string;
  readonly statusCode?: string | undefined;
}

export interface ToSalesforceFlow {
  readonly name: 'customers' | 'products';
  readonly entity: typeof CustomersV3 | typeof ReleasedProductsV2;
  /** The entity's own key field next to dataAreaId. */
  readonly idField: 'CustomerAccount' | 'ItemNumber';
  readonly sobject: 'Account' | 'Product2';
  externalIdField(config: ConnectorConfig): string;
  /** The fields to `$select` (keys included). */
  select(config: ConnectorConfig): string[];
  /**
   * Builds the mapper once per batch (may look the org up, cached, and read what the batch's
   * records need, e.g. product translations, in as few calls as the batch allows).
   */
  prepare(
    ctx: EngineContext,
    signal?: AbortSignal,
    records?: readonly DynamicsRecord[],
  ): Promise<(record: DynamicsRecord) => MappedRecord>;
  /**
   * The records to write by Salesforce Id instead of upserting by External ID, by `ref`: a record
   * that came from a Salesforce record whose key is not written back yet (the account write-back
   * between its F&O create and its key write), so the upsert cannot create a second one.
   */
  linkTargets?(
    ctx: EngineContext,
    items: readonly { readonly ref: number; readonly mapped: MappedRecord }[],
    signal?: AbortSignal,
  ): Promise<Map<number, string>>;
  /** Work after a successful upsert; returns the records that did not complete, by `ref`. */
  afterUpsert?(
    ctx: EngineContext,
    upserted: readonly UpsertedRecord[],
    signal?: AbortSignal,
  ): Promise<Map<number, RecordFailure>>;
}
