/**
 * What every trigger and worker of the engine is given: the validated configuration, the ports,
 * and the reference data checked against the live systems at start. Both shapes (the local
 * runner and the Lambdas/Fargate task) build one of these and hand it to the same code.
 */

import type { Logger } from '#base/logger.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import type { DynamicsApi, SalesforceApi } from '#core/ports/apis.ts';
import type { StateStore } from '#core/ports/state-store.ts';
import type { WorkQueue } from '#core/ports/work-queue.ts';
import type { SalesforceOrgShape } from './org-shape.ts';

/** A legal entity as the engine needs it, from the live LegalEntities and Ledgers entities. */
export interface LegalEntityInfo {
  /** dataAreaId, lowercase. */
  readonly id: string;
  readonly name: string;
  /** The accounting currency of the legal entity's ledger, as Dynamics codes it (e.g. USD); '' when it has none. */
  readonly currency: string;
  /** ISO 3166 alpha-2 country, when known. */
  readonly country?: string | undefined;
}

/** Reference data resolved once at start (see `checkConfiguration`). */
export interface ReferenceData {
  readonly legalEntities: ReadonlyMap<string, LegalEntityInfo>;
  /** Currency codes that exist in Dynamics. */
  readonly currencies: ReadonlySet<string>;
  /** The Salesforce Standard Price Book's Id. */
  readonly standardPricebookId: string;
  /** Whether the org has multi-currency (CurrencyIsoCode fields). */
  readonly multiCurrency: boolean;
  /**
   * The Salesforce org's shape from describe (address picklists, currencies, Orders, field
   * lengths); the start-up check always sets it. Absent, mappers assume only fields every org has.
   */
  readonly salesforceOrg?: SalesforceOrgShape | undefined;
}

export interface EngineContext {
  readonly config: ConnectorConfig;
  readonly dynamics: DynamicsApi;
  readonly salesforce: SalesforceApi;
  readonly state: StateStore;
  readonly queue: WorkQueue;
  readonly logger: Logger;
  readonly reference: ReferenceData;
  readonly now: () => number;
  /** Aborted when the process is asked to stop: finish the item in hand, start no new one. */
  readonly signal?: AbortSignal | undefined;
}

/** What a batch worker reports back: SQS partial-batch semantics (failed items are redelivered, then dead-lettered). */
export interface BatchOutcome {
  /** Receipt handles of items that are done (succeeded, skipped unchanged, or parked for a person). */
  readonly done: readonly string[];
  /** Receipt handles of items to try again (transient failures). */
  readonly retry: readonly string[];
  /**
   * How long to wait before retrying, per receipt handle, when the worker knows (another worker
   * holds the object's lease); otherwise the pump backs off by receive count.
   */
  readonly retryAfterSeconds?: Readonly<Record<string, number>>;
  /** Items no retry can fix (e.g. a record Salesforce refuses): straight to the dead-letter queue. */
  readonly deadLetter: readonly { readonly receiptHandle: string; readonly reason: string }[];
}
