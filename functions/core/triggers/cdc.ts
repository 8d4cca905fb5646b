/**
 * The CDC consumer: a batch handler for the ChangeStream port (`#core/ports/change-stream.ts`) that turns Account, Opportunity and
 * Order change events into stubs for the to-Dynamics queue. Stubs are enqueued (and backfills run)
 * before the handler resolves: the subscriber checkpoints the replay id only after that.
 *
 * - One event can name several records changed alike (`recordIds` holds several ids): one stub each.
 * - A wildcard id (`001*`, some bulk changes) or GAP_OVERFLOW names no records: the object is
 *   backfilled from its watermark, as after a lost replay window.
 * - GAP_CREATE/UPDATE/UNDELETE carry only the header: their record ids are re-read like any stub.
 * - Echo guard: the connector's own writes carry `client=<id>` in `changeOrigin` and are dropped.
 *   When `changeOrigin` has no `client=` (Bulk API 2.0 writes, unconfirmed), an event committed by
 *   the connector's integration (Run As) user is dropped too. Both guards only save work: an echo
 *   that gets through ends as a no-op (an Account that has its Dynamics key is skipped, an
 *   Opportunity/Order with its sales order number is done), and a change another process made as
 *   that user and that still owes work is found by the backfill poll (it selects every record
 *   still owed work, whoever changed it).
 * https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_header.htm
 */
import type { EngineContext } from '#core/engine/context.ts';
import {
  type ChangeBatch,
  type ChangeEvent,
  type GapDecision,
  type ReplayGap,
  replayIdToHex,
} from '#core/ports/change-stream.ts';
import { QUEUES, type SalesforceStub } from '#core/work/items.ts';
import { type BackfillObject, enabledObjects, runSalesforceBackfill } from './salesforce-backfill.ts';

/** What one event asks for: nothing, stubs, or a backfill of its object (GAP_OVERFLOW, a wildcard id). */
export type CdcDecision =
  | { readonly kind: 'ignore'; readonly reason: string }
  | { readonly kind: 'stubs'; readonly sobject: BackfillObject; readonly ids: readonly string[] }
  | { readonly kind: 'backfill'; readonly sobject: BackfillObject; readonly reason: string };

/** Options of {@link decideCdcEvent}. */
export interface CdcDecisionOptions {
  /** The connector's `Sforce-Call-Options` client id. */
  readonly ownClientId: string;
  readonly enabled: readonly BackfillObject[];
  /** The integration (Run As) user's id, when known: a second echo guard (see the module doc). */
  readonly integrationUserId?: string | undefined;
}

/** Whether a recordIds entry is a wildcard (a key prefix and `*`, e.g. `001*`) rather than one record. */
export function isWildcardId(id: string): boolean {
  return id.includes('*');
}

/** Salesforce ids compare on their first 15 characters (the 18-character form adds a case checksum). */
function sameUser(a: string, b: string): boolean {
  return a.length >= 15 && b.length >= 15 && a.slice(0, 15) === b.slice(0, 15);
}

const OBJECTS = new Set<string>(['Account', 'Opportunity', 'Order']);

/**
 * Whether the change can make the record owe work: Accounts always, Opportunities on stage or
 * Amount, Orders on status or TotalAmount, GAP events except deletes. Amount/TotalAmount follow the
 * lines (Salesforce recomputes them when products are added, changed or removed), so a won deal
 * whose lines change reaches the worker, which sends the line changes to its open sales order.
 * UNCONFIRMED: that a line change always announces the parent with Amount/TotalAmount in
 * changedFields (OpportunityLineItem has no change events of its own, unconfirmed); a change
 * that does not is sent on the object's next relevant change or by `replay`.
 */
function relevant(event: ChangeEvent): boolean {
  // A deleted record owes nothing (the connector never deletes in Dynamics), however it was announced.
  if (event.changeType === 'GAP_DELETE') return false;
  if (event.changeType === 'CREATE' || event.changeType === 'UNDELETE' || event.isGap) return true;
  if (event.changeType !== 'UPDATE') return false;
  if (event.entityName === 'Account') return true;
  const fields = event.changedFields;
  if (event.entityName === 'Opportunity') {
    return fields.includes('StageName') || fields.includes('IsWon') || fields.includes('Amount');
  }
  return fields.includes('Status') || fields.includes('StatusCode') || fields.includes('TotalAmount');
}

/** Decides what one decoded change event asks for (pure). */
export function decideCdcEvent(event: ChangeEvent, options: CdcDecisionOptions): CdcDecision {
  if (event.clientId !== undefined && event.clientId === options.ownClientId) {
    return { kind: 'ignore', reason: 'the connector’s own write' };
  }
  if (
    event.clientId === undefined &&
    !event.isGap &&
    options.integrationUserId !== undefined &&
    sameUser(event.commitUser, options.integrationUserId)
  ) {
    return { kind: 'ignore', reason: 'committed by the connector’s integration user' };
  }
  if (!OBJECTS.has(event.entityName))
    return { kind: 'ignore', reason: `not a synced object: ${event.entityName}` };
  const sobject = event.entityName as BackfillObject;
  if (!options.enabled.includes(sobject))
    return { kind: 'ignore', reason: `the flow for ${sobject} is disabled` };
  if (event.isOverflow) return { kind: 'backfill', sobject, reason: 'GAP_OVERFLOW' };
  const wildcard = event.recordIds.find(isWildcardId);
  // UNCONFIRMED how complete a wildcard event's changedFields are: any but a delete re-reads the object.
  const deleted = event.changeType === 'DELETE' || event.changeType === 'GAP_DELETE';
  if (wildcard !== undefined && !deleted)
    return { kind: 'backfill', sobject, reason: `wildcard record id ${wildcard}` };
  if (!relevant(event)) return { kind: 'ignore', reason: `${event.changeType} does not concern the flow` };
  if (event.recordIds.length === 0) return { kind: 'ignore', reason: 'no record ids' };
  return { kind: 'stubs', sobject, ids: event.recordIds };
}

/** Options of {@link createCdcConsumer}. */
export interface CdcConsumerOptions {
  /**
   * The integration user's id (from the token response's identity URL), for the second echo
   * guard. Asked once per batch; undefined or a failure leaves only the `client=` guard.
   */
  readonly integrationUserId?: () => Promise<string | undefined>;
}

/** Creates the change stream's batch handler (see the module doc). Rejects when the enqueue fails, so nothing is acknowledged. */
export function createCdcConsumer(
  ctx: EngineContext,
  options: CdcConsumerOptions = {},
): (batch: ChangeBatch) => Promise<void> {
  const ownClientId = ctx.config.salesforce.callOptionsClient;
  return async function consume(batch) {
    const enabled = enabledObjects(ctx);
    const integrationUserId = await options.integrationUserId?.().catch(() => undefined);
    const stubs = new Map<string, SalesforceStub>();
    const backfill = new Set<BackfillObject>();
    const observedAt = ctx.now();
    let ignored = 0;
    for (const event of batch.events) {
      const decision = decideCdcEvent(event, { ownClientId, enabled, integrationUserId });
      if (decision.kind === 'ignore') ignored += 1;
      else if (decision.kind === 'backfill') {
        backfill.add(decision.sobject);
        ctx.logger.info('cdc.backfill-requested', { sobject: decision.sobject, reason: decision.reason });
      } else {
        for (const id of decision.ids) {
          stubs.set(`${decision.sobject}:${id}`, {
            kind: 'salesforce-stub',
            sobject: decision.sobject,
            id,
            trigger: 'cdc',
            observedAt,
            source: replayIdToHex(event.replayId),
          });
        }
      }
    }
    if (stubs.size > 0) {
      await ctx.queue.send(
        QUEUES.toDynamics,
        [...stubs.values()].map((body) => ({ body })),
      );
    }
    if (backfill.size > 0) await runSalesforceBackfill(ctx, { objects: [...backfill] });
    ctx.logger.debug('cdc.batch', {
      topic: batch.topic,
      events: batch.events.length,
      stubs: stubs.size,
      ignored,
    });
  };
}

/** The objects a CDC topic carries: `/data/OpportunityChangeEvent` → Opportunity; `/data/ChangeEvents` → all. */
export function objectsOfTopic(topic: string): BackfillObject[] | undefined {
  const m = /^\/data\/(Account|Opportunity|Order)ChangeEvent$/.exec(topic);
  return m ? [m[1] as BackfillObject] : undefined;
}

/**
 * The subscriber's `onGap`: the stored replay id is outside retention, so events were lost.
 * Backfills the topic's objects from their last watermarks (the overlap covers the seconds
 * around it), then resubscribes at LATEST; what changes in between is caught by the next poll.
 */
export function createReplayGapHandler(ctx: EngineContext): (gap: ReplayGap) => Promise<GapDecision> {
  return async (gap) => {
    ctx.logger.warn('cdc.replay-gap', { topic: gap.topic, reason: gap.reason });
    const objects = objectsOfTopic(gap.topic);
    await runSalesforceBackfill(ctx, objects ? { objects } : {});
    return 'resubscribe-latest';
  };
}
