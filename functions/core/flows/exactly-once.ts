/**
 * The idempotency record of one business object written into Dynamics, used as a short lease so
 * that two workers (duplicate stubs, redeliveries) never run the same object's steps at once. Each
 * step saves what it learnt (e.g. the sales order number) with a conditional write; a worker that
 * lost the lease fails its next save and retries later. A crashed worker's lease simply runs out.
 */
import { randomUUID } from 'node:crypto';
import { ConnectorError } from '#base/errors.ts';
import type { EngineContext } from '#core/engine/context.ts';
import type { AuditOutcome, IdempotencyRecord } from '#core/ports/state-store.ts';
import type { Trigger } from '#core/work/items.ts';

/** Another worker holds the object's lease; try again after `retryAfterSeconds`. */
export class BusyError extends ConnectorError {
  override name = 'BusyError';
  readonly key: string;
  readonly retryAfterSeconds: number;

  constructor(key: string, retryAfterSeconds: number) {
    super(`${key} is being written by another worker`, { code: 'BUSY', failure: 'transient' });
    this.key = key;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Idempotency records outlive any redelivery or replay window (90 days). */
export const IDEMPOTENCY_TTL_SECONDS = 90 * 24 * 3600;
/** How long a lease lasts without a save by default; renewed by every save. */
export const LEASE_SECONDS = 120;

/** A held lease: the record as last saved, and the steps' writes. */
export interface Lease {
  readonly key: string;
  /** The data saved so far (from earlier attempts too). */
  data(): Readonly<Record<string, unknown>>;
  /** Merges `data` into the record (conditional: throws ConditionFailedError when the lease was lost). */
  save(data: Record<string, unknown>): Promise<void>;
  /** Marks the record completed with its final data. */
  complete(data: Record<string, unknown>): Promise<void>;
  /** Gives the lease up early (best effort) so a retry need not wait for it to run out. */
  release(): Promise<void>;
  /**
   * Renews the lease, proving it is still held (throws ConditionFailedError when it was lost). Pass
   * it as a write's `beforeResend`: a write repeated after a long Retry-After wait is sent only by
   * the lease holder, never after another worker took the lease over.
   */
  renew(): Promise<void>;
}

/** Either the record is completed already (nothing to do) or this worker now holds its lease. */
export type ClaimResult =
  | { readonly completed: true; readonly record: IdempotencyRecord }
  | { readonly completed: false; readonly lease: Lease };

/** A process-unique lease owner id. */
export const newOwner = (): string => randomUUID();

/** Options of {@link claim}. */
export interface ClaimOptions {
  /** Lease length; default {@link LEASE_SECONDS}. */
  readonly leaseSeconds?: number | undefined;
  /** Reopens a completed record when this answers true (the object changed since it was written). */
  readonly reopen?: ((record: IdempotencyRecord) => boolean) | undefined;
}

/**
 * Starts or resumes the record `key` and takes its lease; throws BusyError while another worker
 * holds it. A completed record is returned as such, unless `reopen` asks for it to be written again.
 */
export async function claim(
  ctx: EngineContext,
  key: string,
  owner: string,
  options: ClaimOptions = {},
): Promise<ClaimResult> {
  const begun = await ctx.state.beginIdempotent(key, { ttlSeconds: IDEMPOTENCY_TTL_SECONDS });
  let record = begun.record;
  const leaseMs = (options.leaseSeconds ?? LEASE_SECONDS) * 1000;
  if (record.status === 'completed') {
    if (!options.reopen?.(record)) return { completed: true, record };
    // Lease fields are written at once, so two workers reopening together cannot both win.
    record = await ctx.state.reopenIdempotent(key, record.version, {
      leaseOwner: owner,
      leaseUntil: ctx.now() + leaseMs,
    });
  }
  const holder = record.data.leaseOwner;
  const until = Number(record.data.leaseUntil ?? 0);
  const now = ctx.now();
  if (typeof holder === 'string' && holder !== owner && until > now) {
    throw new BusyError(key, Math.max(1, Math.ceil((until - now) / 1000)));
  }
  const leaseFields = () => ({ leaseOwner: owner, leaseUntil: ctx.now() + leaseMs });
  record = await ctx.state.updateIdempotent(key, record.version, leaseFields());
  return {
    completed: false,
    lease: {
      key,
      data: () => record.data,
      async save(data) {
        record = await ctx.state.updateIdempotent(key, record.version, { ...data, ...leaseFields() });
      },
      async renew() {
        record = await ctx.state.updateIdempotent(key, record.version, leaseFields());
      },
      async complete(data) {
        record = await ctx.state.completeIdempotent(key, record.version, {
          ...data,
          leaseOwner: null,
          leaseUntil: null,
        });
      },
      async release() {
        if (record.status === 'completed') return;
        try {
          record = await ctx.state.updateIdempotent(key, record.version, {
            leaseOwner: null,
            leaseUntil: null,
          });
        } catch {
          // Lost or unreachable: the lease runs out by itself.
        }
      },
    },
  };
}

/** Per-attempt facts every audit entry carries. */
export interface AttemptInfo {
  readonly trigger: Trigger;
  /** 1 for the first delivery (the queue's receive count). */
  readonly attempt?: number | undefined;
  /** The stub, so the entry can be replayed. */
  readonly work?: unknown;
}

/** Appends one audit entry for an attempt (secrets never reach here: messages are typed error texts). */
export async function audit(
  ctx: EngineContext,
  entry: {
    readonly recordKey: string;
    readonly flow: string;
    readonly outcome: AuditOutcome;
    readonly startedAt: number;
    readonly info: AttemptInfo;
    readonly targetIds?: Readonly<Record<string, string>> | undefined;
    readonly error?: string | undefined;
    /** On a parked entry: what its cause waits for (AuditEntry.waitsFor). */
    readonly waitsFor?: readonly string[] | undefined;
  },
): Promise<void> {
  await ctx.state.appendAudit({
    recordKey: entry.recordKey,
    flow: entry.flow,
    trigger: entry.info.trigger,
    attempt: entry.info.attempt ?? 1,
    outcome: entry.outcome,
    durationMs: Math.max(0, ctx.now() - entry.startedAt),
    ...(entry.targetIds ? { targetIds: entry.targetIds } : {}),
    ...(entry.error ? { error: entry.error.slice(0, 2000) } : {}),
    ...(entry.info.work !== undefined ? { work: entry.info.work } : {}),
    ...(entry.waitsFor && entry.waitsFor.length > 0 ? { waitsFor: entry.waitsFor } : {}),
  });
}
