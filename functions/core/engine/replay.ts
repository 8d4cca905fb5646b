/**
 * Replay: a failed or parked work item is sent through its worker again, by audit id or all
 * failures in a time range at once. Replays are idempotent like everything else: the workers'
 * hashes and idempotency records make a second success a no-op.
 */
import { ConnectorError } from '#base/errors.ts';
import type { AuditEntry, AuditOutcome } from '#core/ports/state-store.ts';
import { QUEUES, type WorkItem } from '#core/work/items.ts';
import type { EngineContext } from './context.ts';

/** The audit id does not exist, or its entry carries no work to replay. */
export class ReplayError extends ConnectorError {
  override name = 'ReplayError';
  readonly auditId: string;

  constructor(auditId: string, message: string) {
    super(message, { code: 'REPLAY_FAILED' });
    this.auditId = auditId;
  }
}

const REPLAYABLE: readonly AuditOutcome[] = ['failed', 'parked'];

function isWorkItem(value: unknown): value is WorkItem {
  if (!value || typeof value !== 'object') return false;
  const kind = (value as { kind?: unknown }).kind;
  return kind === 'dynamics-stub' || kind === 'salesforce-stub' || kind === 'order-status';
}

function queueOf(item: WorkItem): string {
  return item.kind === 'salesforce-stub' ? QUEUES.toDynamics : QUEUES.toSalesforce;
}

/** What replay needs: the state, the queue and a clock (so it also runs against a deployed stack). */
export type ReplayContext = Pick<EngineContext, 'state' | 'queue' | 'now'>;

async function enqueue(ctx: ReplayContext, entry: AuditEntry): Promise<WorkItem> {
  if (!isWorkItem(entry.work)) {
    throw new ReplayError(
      entry.auditId,
      `audit entry ${entry.auditId} (${entry.recordKey}) carries no replayable work item`,
    );
  }
  const item: WorkItem = { ...entry.work, trigger: 'replay', observedAt: ctx.now(), source: entry.auditId };
  await ctx.queue.send(queueOf(item), [{ body: item }]);
  await ctx.state.appendAudit({
    recordKey: entry.recordKey,
    flow: entry.flow,
    trigger: 'replay',
    attempt: entry.attempt + 1,
    outcome: 'enqueued',
    work: item,
  });
  return item;
}

/** Re-enqueues the work of one audit entry. */
export async function replayAuditEntry(ctx: ReplayContext, auditId: string): Promise<WorkItem> {
  const entry = await ctx.state.getAudit(auditId);
  if (!entry) throw new ReplayError(auditId, `no audit entry ${auditId}`);
  return enqueue(ctx, entry);
}

export interface ReplayFailedResult {
  /** Records whose latest outcome was failed or parked, now enqueued again. */
  readonly replayed: readonly string[];
  /** Records that failed in the range but have succeeded since. */
  readonly alreadyFine: readonly string[];
  /** Records already waiting in a queue (their latest entry is `enqueued`). */
  readonly pending: readonly string[];
}

/**
 * Re-enqueues every record that failed or was parked since `since` (epoch ms) and whose latest
 * audit entry is still a failure; each record once, whatever its number of failures.
 */
export async function replayFailed(
  ctx: ReplayContext,
  options: { readonly since: number; readonly until?: number },
): Promise<ReplayFailedResult> {
  const candidates = new Map<string, AuditEntry>();
  for (const outcome of REPLAYABLE) {
    const entries = await ctx.state.queryAudit({
      outcome,
      since: options.since,
      ...(options.until !== undefined ? { until: options.until } : {}),
      limit: 1000,
    });
    for (const e of entries) {
      const seen = candidates.get(e.recordKey);
      if (!seen || e.at > seen.at) candidates.set(e.recordKey, e);
    }
  }
  const replayed: string[] = [];
  const alreadyFine: string[] = [];
  const pending: string[] = [];
  for (const [recordKey, failure] of candidates) {
    const [latest] = await ctx.state.queryAudit({ recordKey, limit: 1 });
    if (latest && latest.auditId !== failure.auditId && latest.at >= failure.at) {
      if (latest.outcome === 'enqueued') {
        pending.push(recordKey);
        continue;
      }
      if (!REPLAYABLE.includes(latest.outcome)) {
        alreadyFine.push(recordKey);
        continue;
      }
    }
    if (!isWorkItem(failure.work)) continue;
    await enqueue(ctx, failure);
    replayed.push(recordKey);
  }
  return { replayed, alreadyFine, pending };
}
