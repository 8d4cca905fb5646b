/**
 * The ChangeStream port: Salesforce Change Data Capture as the core consumes it. The adapter (the
 * Pub/Sub subscriber in `functions/salesforce/pubsub/`, decoding with `toChangeBatch`) delivers the
 * change events of one topic in batches, in order, one batch at a time, and stores the batch's
 * replay id in the {@link ReplayStore} only after the core's handler resolved: a rejected batch is
 * delivered again. When the stored replay id is outside the retention window it reports a
 * {@link ReplayGap} and asks the core what to do.
 * https://developer.salesforce.com/docs/platform/pub-sub-api/guide/event-message-durability.html
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

/** One decoded change event (its ChangeEventHeader, bitmaps expanded to field names). */
export interface ChangeEvent {
  readonly replayId: Uint8Array;
  /** The event's UUID (`ProducerEvent.id`). */
  readonly eventId: string;
  readonly schemaId: string;
  readonly entityName: string;
  readonly changeType: ChangeType;
  readonly recordIds: readonly string[];
  /** Changed fields by name; a compound's child as `BillingAddress.City`. */
  readonly changedFields: readonly string[];
  readonly nulledFields: readonly string[];
  readonly diffFields: readonly string[];
  readonly changeOrigin: string;
  /** The `client=<id>` of the write's `Sforce-Call-Options`, when the writer sent one. */
  readonly clientId: string | undefined;
  /** Groups the events of one transaction; `sequenceNumber` orders them. */
  readonly transactionKey: string;
  readonly sequenceNumber: number;
  /** Commit time, epoch ms. */
  readonly commitTimestamp: bigint;
  readonly commitNumber: bigint;
  readonly commitUser: string;
  /**
   * The non-null body fields. Compound fields are kept nested (`BillingAddress: { City }`) and
   * also flattened to their component names (`BillingCity`). Avro longs (dates, datetimes) are BigInt.
   */
  readonly fields: Readonly<Record<string, unknown>>;
  /** GAP_* event: the header only; re-read the records by `recordIds`. */
  readonly isGap: boolean;
  /** GAP_OVERFLOW: only `entityName` is reliable; resynchronise the whole object. */
  readonly isOverflow: boolean;
}

/** The change events of one delivery. Resolving the handler acknowledges them all. */
export interface ChangeBatch {
  readonly topic: string;
  readonly events: readonly ChangeEvent[];
}

/** The stored replay id can no longer be replayed; events since it may be lost. */
export interface ReplayGap {
  readonly topic: string;
  readonly lastReplayId: Uint8Array | undefined;
  readonly reason: string;
  readonly error: Error;
}

/** What to do after a gap: resubscribe at LATEST (the core backfills), or stop with the gap's error. */
export type GapDecision = 'resubscribe-latest' | 'stop';

/** What the core gives a change stream: its batch handler and its gap handler. */
export interface ChangeStreamHandlers {
  /** Handles one batch; the next is not delivered until it resolves. A rejection stops the stream. */
  readonly onBatch: (batch: ChangeBatch) => Promise<void>;
  readonly onGap: (gap: ReplayGap) => Promise<GapDecision>;
}

/** Where a change stream keeps its checkpoint (opaque replay-id bytes) per topic. */
export interface ReplayStore {
  load(topic: string): Promise<Uint8Array | undefined>;
  save(topic: string, replayId: Uint8Array): Promise<void>;
}

/** Lowercase hex of a replay id, for logs, stubs and error context (never turned into a number). */
export function replayIdToHex(replayId: Uint8Array): string {
  return Buffer.from(replayId.buffer, replayId.byteOffset, replayId.byteLength).toString('hex');
}
