/**
 * The contract between the REST sandbox (which makes changes) and the Pub/Sub sandbox (which
 * publishes them as Change Data Capture events). One `SandboxChange` is one change event as
 * Salesforce would publish it; the Pub/Sub side assigns replay ids, encodes Avro and the bitmaps.
 * https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_header.htm
 */

export type ChangeType =
  | 'CREATE'
  | 'UPDATE'
  | 'DELETE'
  | 'UNDELETE'
  | 'GAP_CREATE'
  | 'GAP_UPDATE'
  | 'GAP_DELETE'
  | 'GAP_UNDELETE'
  | 'GAP_OVERFLOW';

export interface SandboxChange {
  /** The object's API name, e.g. `Account`. */
  readonly entityName: string;
  readonly changeType: ChangeType;
  /** 18-character record ids (empty for GAP_OVERFLOW). */
  readonly recordIds: readonly string[];
  /**
   * Field API names that changed. Components of a compound field are named through the
   * compound: `BillingAddress.City` for BillingCity. Empty for CREATE and UNDELETE, as Salesforce
   * sends it (their values are all in `values`).
   */
  readonly changedFields: readonly string[];
  /** Fields explicitly set to null by this change (same naming). */
  readonly nulledFields: readonly string[];
  /** Fields whose value is sent as a diff (long text); the sandbox may leave this empty. */
  readonly diffFields: readonly string[];
  /**
   * The new values of the changed fields (CREATE/UNDELETE: every non-null field), keyed by field
   * API name (flat names: `BillingCity`).
   * Dates as `YYYY-MM-DD`, datetimes as epoch ms, numbers as numbers.
   */
  readonly values: Readonly<Record<string, unknown>>;
  /** e.g. `com/salesforce/api/rest/63.0;client=ml-connector`; empty for UI-like control-surface writes. */
  readonly changeOrigin: string;
  /** Groups the events of one transaction. */
  readonly transactionKey: string;
  /** Position of this event within its transaction, from 1. */
  readonly sequenceNumber: number;
  /** Commit time on the sandbox clock, epoch ms. */
  readonly commitTimestamp: number;
  readonly commitNumber: bigint;
  /** The user id that committed the change. */
  readonly commitUser: string;
}

export type ChangeListener = (change: SandboxChange) => void;

/** A synchronous in-process fan-out of changes from the REST sandbox to the Pub/Sub sandbox. */
export interface ChangeFeed {
  publish(change: SandboxChange): void;
  /** Returns a function that removes the listener. */
  subscribe(listener: ChangeListener): () => void;
}

export function createChangeFeed(): ChangeFeed {
  const listeners = new Set<ChangeListener>();
  return {
    publish(change) {
      for (const listener of listeners) listener(change);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
