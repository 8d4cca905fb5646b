/**
 * Parked work: records that cannot be written until something changes (a product to release, a
 * customer to create, data or configuration a person fixes). The parking record is the `parked`
 * audit entry: its reason (`error`), its work item (replayable) and, where the flow knows it, the
 * record keys whose success likely clears the cause (`waitsFor`). Everything here reads that
 * record generically, whatever the flow and the reason, so new parking reasons need no change here.
 *
 * - {@link listParked}: the records still parked, newest first (`status`).
 * - {@link watchAudit}: a StateStore that reports the entries appended through it, so a batch
 *   knows which records succeeded and which were parked (metrics, automatic retry).
 * - {@link retryParked}: after records succeed, re-enqueues the parked work waiting for one of
 *   them. Safe to repeat and to race: a record is enqueued only while its latest audit entry is
 *   still the parked one (enqueueing appends an `enqueued` entry, so a second caller skips it),
 *   and the worker's lease and idempotency records keep the write itself exactly once.
 */
import type { AuditEntry, NewAuditEntry, StateStore } from '#core/ports/state-store.ts';
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

/** What a batch appended to the audit trail, by outcome. */
export interface AuditWatch {
  /** The state store to give the workers: every append also lands in the watch. */
  readonly state: StateStore;
  /** The entries appended since the last call, and forgets them. */
  take(): AuditEntry[];
}

/** Wraps `state` so the entries appended through it are kept for {@link AuditWatch.take}. */
export function watchAudit(state: StateStore): AuditWatch {
  let appended: AuditEntry[] = [];
  return {
    state: {
      // The adapters are plain objects of closures (no `this`), so their methods copy as they are.
      ...state,
      async appendAudit(entry: NewAuditEntry) {
        const full = await state.appendAudit(entry);
        appended.push(full);
        return full;
      },
    },
    take() {
      const taken = appended;
      appended = [];
      return taken;
    },
  };
}

/** Parked entries per flow among `entries` (for the RecordsParked metric). */
export function parkedByFlow(entries: readonly AuditEntry[]): Map<string, number> {
  const byFlow = new Map<string, number>();
  for (const e of entries) if (e.outcome === 'parked') byFlow.set(e.flow, (byFlow.get(e.flow) ?? 0) + 1);
  return byFlow;
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
