/**
 * Parked work: records that cannot be written until something changes (a product to release, a
 * customer to create, data or configuration a person fixes). The parking record is the `parked`
 * audit entry: its reason (`error`), its work item (replayable) and, where the flow knows it, the
 * record keys whose success likely clears the cause (`waitsFor`). Everything here reads that
 * record generically, whatever the flow and the reason, so new parking reasons need no change here.
 *
 * - {@link listParked}: the records still parked, newest first (`status`).
 * - {@link retryParked} (push, the local shape): after a worker batch, re-enqueues the parked work
 *   waiting for a record that succeeded in it (the batch's entries come from an audit watch,
 *   audit-watch.ts), so it goes through within seconds.
 * - {@link retryArrived} (pull, both shapes, at every backfill run): re-enqueues the parked work
 *   one of whose `waitsFor` records has succeeded since it was parked. On AWS this is the only
 *   path: the workers' roles stay without the audit indexes and the other queue.
 * Both are safe to repeat and to race: a record is enqueued only while its latest audit entry is
 * still the parked one (enqueueing appends an `enqueued` entry, so a later caller skips it); two
 * callers at the same instant may both enqueue it, and then the worker's lease and idempotency
 * records keep the write itself exactly once, as for any duplicate stub.
 * Cost of the pull: one query for the parked entries, then per parked record with `waitsFor` one
 * query per key until one has succeeded, plus one for its latest entry.
 */
import type { AuditEntry, StateStore } from '#core/ports/state-store.ts';
import type { AuditWatch } from './audit-watch.ts';
import type { EngineContext } from './context.ts';
import type { BatchHandler } from './pump.ts';
import { type ReplayContext, replayAuditEntry } from './replay.ts';

/** How far back automatic retry and `status` look for parked entries: 30 days. */
export const PARKED_LOOKBACK_MS = 30 * 86_400_000;
/** The most parked entries one look reads (the state store's query limit). */
const PAGE = 1000;

/** A record whose latest audit entry is `parked`. */
export interface ParkedRecord {
  readonly recordKey: string;
  readonly flow: string;
  readonly auditId: string;
  readonly at: number;
  /** Why it is parked: the reason the flow gave. */
  readonly reason: string;
  readonly waitsFor: readonly string[];
}

/** The parked entries since `since`, each record once (its newest parked entry). */
async function parkedEntries(state: StateStore, since: number): Promise<AuditEntry[]> {
  const newest = new Map<string, AuditEntry>();
  for (const entry of await state.queryAudit({ outcome: 'parked', since, limit: PAGE })) {
    const seen = newest.get(entry.recordKey);
    if (!seen || entry.at > seen.at) newest.set(entry.recordKey, entry);
  }
  return [...newest.values()].sort((a, b) => b.at - a.at);
}

/** Whether `entry` is still the record's latest audit entry (nothing happened to it since). */
async function stillLatest(state: StateStore, entry: AuditEntry): Promise<boolean> {
  const [latest] = await state.queryAudit({ recordKey: entry.recordKey, limit: 1 });
  return latest === undefined || latest.auditId === entry.auditId || latest.at < entry.at;
}

/** The records parked since `since` (default: the last 30 days) and still parked, newest first. */
export async function listParked(
  state: StateStore,
  options: { readonly now: number; readonly since?: number; readonly limit?: number },
): Promise<ParkedRecord[]> {
  const since = options.since ?? options.now - PARKED_LOOKBACK_MS;
  const parked: ParkedRecord[] = [];
  for (const entry of await parkedEntries(state, since)) {
    if (parked.length >= (options.limit ?? PAGE)) break;
    if (!(await stillLatest(state, entry))) continue;
    parked.push({
      recordKey: entry.recordKey,
      flow: entry.flow,
      auditId: entry.auditId,
      at: entry.at,
      reason: entry.error ?? '',
      waitsFor: entry.waitsFor ?? [],
    });
  }
  return parked;
}

/**
 * Re-enqueues (as a replay) the work of every record still parked and waiting for one of the
 * records that succeeded among `entries`. Returns the record keys enqueued. Keys compare without
 * case (F&O keys are case-insensitive).
 */
export async function retryParked(ctx: ReplayContext, entries: readonly AuditEntry[]): Promise<string[]> {
  const arrived = new Set(
    entries.filter((e) => e.outcome === 'succeeded').map((e) => e.recordKey.toLowerCase()),
  );
  if (arrived.size === 0) return [];
  const retried: string[] = [];
  for (const entry of await parkedEntries(ctx.state, ctx.now() - PARKED_LOOKBACK_MS)) {
    if (!entry.waitsFor?.some((key) => arrived.has(key.toLowerCase()))) continue;
    if (!(await stillLatest(ctx.state, entry))) continue;
    await replayAuditEntry(ctx, entry.auditId);
    retried.push(entry.recordKey);
  }
  return retried;
}

/**
 * Wraps a worker's batch handler: after each batch, the parked work waiting for a record that
 * succeeded in it is enqueued again ({@link retryParked}). `watch` must be the one whose state the
 * worker writes through. A failure to retry is logged and leaves the work parked (replay still
 * works); it never fails the batch.
 */
export function retryingParked<T>(
  ctx: ReplayContext & Pick<EngineContext, 'logger'>,
  watch: AuditWatch,
  handler: BatchHandler<T>,
): BatchHandler<T> {
  return async (messages) => {
    const outcome = await handler(messages);
    await retryParkedSafely(ctx, watch.take());
    return outcome;
  };
}

/** {@link retryParked}, logging instead of throwing. */
export async function retryParkedSafely(
  ctx: ReplayContext & Pick<EngineContext, 'logger'>,
  entries: readonly AuditEntry[],
): Promise<void> {
  try {
    const retried = await retryParked(ctx, entries);
    if (retried.length > 0) ctx.logger.info('parked.retried', { records: retried });
  } catch (error) {
    ctx.logger.warn('parked.retry-failed', { error: error instanceof Error ? error.message : String(error) });
  }
}

/**
 * Re-enqueues (as a replay) the work of every record still parked one of whose `waitsFor` records
 * has succeeded since it was parked. Returns the record keys enqueued. One query per parked record
 * and per key it waits for; at most the 1,000 newest parked records of the last 30 days.
 */
export async function retryArrived(ctx: ReplayContext): Promise<string[]> {
  const retried: string[] = [];
  for (const entry of await parkedEntries(ctx.state, ctx.now() - PARKED_LOOKBACK_MS)) {
    if (!entry.waitsFor || entry.waitsFor.length === 0) continue;
    let arrived = false;
    for (const recordKey of entry.waitsFor) {
      const [success] = await ctx.state.queryAudit({
        recordKey,
        outcome: 'succeeded',
        since: entry.at,
        limit: 1,
      });
      if (success) {
        arrived = true;
        break;
      }
    }
    if (!arrived || !(await stillLatest(ctx.state, entry))) continue;
    await replayAuditEntry(ctx, entry.auditId);
    retried.push(entry.recordKey);
  }
  return retried;
}

/** {@link retryArrived}, logging instead of throwing (a backfill run never fails for it). */
export async function retryArrivedSafely(ctx: ReplayContext & Pick<EngineContext, 'logger'>): Promise<void> {
  try {
    const retried = await retryArrived(ctx);
    if (retried.length > 0) ctx.logger.info('parked.retried', { records: retried });
  } catch (error) {
    ctx.logger.warn('parked.retry-failed', { error: error instanceof Error ? error.message : String(error) });
  }
}
