/**
 * The StateStore port: everything the engine remembers between runs. Shaped so that a
 * DynamoDB table fits without changing the core: every item has a partition key, conditional
 * writes are expressed as expected versions or "absent", expiries are epoch seconds (DynamoDB TTL),
 * batch reads and writes respect DynamoDB's limits (100 keys per read, 25 items per write; the
 * adapters chunk), and no item exceeds 400 KB.
 */
import { randomBytes } from 'node:crypto';
import { ConnectorError } from '#base/errors.ts';

/** A named position in a stream or poll: a replay id (base64 bytes) or a watermark (ISO time). */
export interface Checkpoint {
  readonly name: string;
  readonly value: string;
  /** Incremented on every write; used for optimistic concurrency. */
  readonly version: number;
  /** Epoch ms of the last write. */
  readonly updatedAt: number;
}

export type IdempotencyStatus = 'in_progress' | 'completed';

/**
 * An idempotency record for one business object written into a target system exactly once
 * (e.g. one Salesforce Opportunity → one Dynamics sales order). `data` carries the steps done
 * so far (e.g. the sales order number once the header exists).
 */
export interface IdempotencyRecord {
  readonly key: string;
  readonly status: IdempotencyStatus;
  readonly data: Readonly<Record<string, unknown>>;
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Epoch seconds after which the record may be dropped (TTL). */
  readonly expiresAt?: number | undefined;
}

/** The content hash of what was last written for a record, to skip unchanged records. */
export interface SyncHash {
  /** e.g. `customers:usmf:US-001`. */
  readonly key: string;
  readonly hash: string;
  readonly updatedAt: number;
}

export type AuditOutcome = 'enqueued' | 'succeeded' | 'skipped' | 'failed' | 'parked' | 'ignored';

/** One entry of the audit trail: what happened to one work item on one attempt. */
export interface AuditEntry {
  readonly auditId: string;
  /** e.g. `dynamics:CustomersV3:usmf:US-001` or `salesforce:Opportunity:006…`. */
  readonly recordKey: string;
  readonly flow: string;
  /** What caused it: `business-event`, `cdc`, `backfill`, `replay`, `sync`. */
  readonly trigger: string;
  readonly attempt: number;
  readonly outcome: AuditOutcome;
  readonly at: number;
  readonly durationMs?: number | undefined;
  /** Ids in the target system (e.g. the Salesforce id, the sales order number). */
  readonly targetIds?: Readonly<Record<string, string>> | undefined;
  /**
   * A human-readable reason for failed/parked/skipped/ignored, never containing secrets; on a
   * succeeded entry, `note: …` says what was changed to fit the target (e.g. a truncated name).
   */
  readonly error?: string | undefined;
  /** The work item, so it can be replayed (small: stubs, not full records). */
  readonly work?: unknown;
  /**
   * On a parked entry: the record keys (as `recordKey`) whose success likely clears the cause, e.g.
   * the released product a sales order line lacks. When one of them succeeds, the parked work is
   * replayed automatically (core/engine/parked.ts).
   */
  readonly waitsFor?: readonly string[] | undefined;
  /** Epoch seconds after which the entry may be dropped (TTL). */
  readonly expiresAt?: number | undefined;
}

export type NewAuditEntry = Omit<AuditEntry, 'auditId' | 'at'> & { readonly at?: number };

export interface AuditQuery {
  readonly recordKey?: string;
  readonly outcome?: AuditOutcome;
  /** Epoch ms, inclusive. */
  readonly since?: number;
  /** Epoch ms, exclusive. */
  readonly until?: number;
  /** Default 100, max 1000. */
  readonly limit?: number;
}

/**
 * A sales order the connector created, followed until it is final so its status and invoices
 * reach the Opportunity or Order it came from (see functions/core/flows/order-status.ts).
 */
export interface TrackedOrder {
  /** The legal entity, lowercase. */
  readonly dataAreaId: string;
  readonly salesOrderNumber: string;
  /** The Salesforce record the order was made from. */
  readonly sobject: 'Opportunity' | 'Order';
  readonly salesforceId: string;
  /** The content hash of the status fields last written to Salesforce (absent: none written yet). */
  readonly appliedHash?: string | undefined;
  /** Epoch ms when tracking began. */
  readonly trackedAt: number;
}

/** One page of tracked orders, in key order; `next` continues after the last one. */
export interface TrackedOrderPage {
  readonly orders: readonly TrackedOrder[];
  readonly next?: string | undefined;
}

/** The key of a tracked order: `<dataAreaId>#<salesOrderNumber>` (a dataAreaId has no `#`). */
export const trackedOrderKey = (dataAreaId: string, salesOrderNumber: string): string =>
  `${dataAreaId.toLowerCase()}#${salesOrderNumber}`;

let auditSequence = 0;

/**
 * A time-sortable audit id, the same for every adapter: 12 hex digits of epoch ms, 4 of a
 * per-process sequence (entries of one millisecond keep their order), then 4 random hex digits.
 */
export function newAuditId(at: number): string {
  auditSequence = (auditSequence + 1) % 0x10000;
  return `${at.toString(16).padStart(12, '0')}${auditSequence.toString(16).padStart(4, '0')}${randomBytes(2).toString('hex')}`;
}

/**
 * A conditional write lost against a concurrent writer (DynamoDB ConditionalCheckFailed, a lost
 * lease). Transient: trying again re-reads the state the other writer left.
 */
export class ConditionFailedError extends ConnectorError {
  override name = 'ConditionFailedError';

  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: 'CONDITION_FAILED', failure: 'transient' });
  }
}

export interface StateStore {
  getCheckpoint(name: string): Promise<Checkpoint | undefined>;
  /**
   * Writes a checkpoint. With `expectedVersion`, only if the stored version matches (0 = absent);
   * otherwise throws ConditionFailedError.
   */
  putCheckpoint(
    name: string,
    value: string,
    options?: { readonly expectedVersion?: number },
  ): Promise<Checkpoint>;
  listCheckpoints(): Promise<Checkpoint[]>;

  /**
   * Claims a dedup key (e.g. `be:usmf:123456`) for `ttlSeconds`. True when this call claimed it;
   * false when it was already claimed and has not expired.
   */
  claimDedupKey(key: string, ttlSeconds: number): Promise<boolean>;
  /** Releases a claim whose work could not be handed on, so the sender's retry is not dropped as a duplicate. */
  releaseDedupKey(key: string): Promise<void>;

  /**
   * Starts or resumes an idempotency record. Returns `created: true` with a new in_progress record
   * when none existed, or the existing record (in_progress from an earlier, interrupted attempt, or completed).
   */
  beginIdempotent(
    key: string,
    options?: { readonly ttlSeconds?: number },
  ): Promise<{ readonly created: boolean; readonly record: IdempotencyRecord }>;
  /** Merges `data` into an in_progress record if its version still matches; returns the new record. */
  updateIdempotent(
    key: string,
    expectedVersion: number,
    data: Record<string, unknown>,
  ): Promise<IdempotencyRecord>;
  /** Marks the record completed with its final data, if its version still matches. */
  completeIdempotent(
    key: string,
    expectedVersion: number,
    data: Record<string, unknown>,
  ): Promise<IdempotencyRecord>;
  /**
   * Turns a completed record back to in_progress, merging `data`, if its version still matches
   * (a business object changed after it was written: its next write needs the lease again).
   */
  reopenIdempotent(
    key: string,
    expectedVersion: number,
    data: Record<string, unknown>,
  ): Promise<IdempotencyRecord>;
  getIdempotent(key: string): Promise<IdempotencyRecord | undefined>;
  /** Removes an idempotency record (a replay of a parked item starts over). */
  deleteIdempotent(key: string): Promise<void>;

  /** Reads the stored hashes of these keys (missing keys are absent from the map). */
  getHashes(keys: readonly string[]): Promise<Map<string, SyncHash>>;
  putHashes(entries: readonly { readonly key: string; readonly hash: string }[]): Promise<void>;

  appendAudit(entry: NewAuditEntry): Promise<AuditEntry>;
  /**
   * Appends several entries at once, returned in input order: one transaction locally, DynamoDB
   * `BatchWriteItem` calls of 25 on AWS (a backfill page or a Bulk job's results audit thousands of
   * records; one write each would be one fsync or one request each).
   */
  appendAudits(entries: readonly NewAuditEntry[]): Promise<AuditEntry[]>;
  getAudit(auditId: string): Promise<AuditEntry | undefined>;
  /** Newest first. */
  queryAudit(query: AuditQuery): Promise<AuditEntry[]>;

  /** Starts tracking an order, or replaces its entry (e.g. with a new `appliedHash`). */
  trackOrder(order: TrackedOrder): Promise<void>;
  /** The tracked orders among these keys ({@link trackedOrderKey}); absent keys are missing from the map. */
  getTrackedOrders(keys: readonly string[]): Promise<Map<string, TrackedOrder>>;
  /** Tracked orders in key order, `limit` (1-1000) at a time, after the `after` cursor of the previous page. */
  listTrackedOrders(page: {
    readonly after?: string | undefined;
    readonly limit: number;
  }): Promise<TrackedOrderPage>;
  /** Stops tracking an order (it is final). */
  untrackOrder(key: string): Promise<void>;

  close(): Promise<void>;
}
