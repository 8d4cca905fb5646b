/**
 * The CDC consumer: a batch handler for the Pub/Sub subscriber that turns Account, Opportunity and
 * Order change events into stubs for the to-Dynamics queue. The connector's own writes (tagged
 * `Sforce-Call-Options: client=<id>`) are dropped, so write-backs do not loop. Stubs are enqueued
 * before the handler resolves: the subscriber checkpoints the replay id only after that.
 * https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_header.htm
 */
import type { EngineContext } from '#core/engine/context.ts';
import { QUEUES, type SalesforceStub } from '#core/work/items.ts';
import { type ChangeEvent, toChangeEvent } from '#salesforce/pubsub/cdc.ts';
import { replayIdToHex } from '#salesforce/pubsub/replay-id.ts';
import type { GapDecision, PubSubBatch, ReplayGap } from '#salesforce/pubsub/subscriber.ts';
import { type BackfillObject, enabledObjects, runSalesforceBackfill } from './salesforce-backfill.ts';

/** What one event asks for: nothing, stubs, or a backfill of its object (GAP_OVERFLOW). */
export type CdcDecision =
  | { readonly kind: 'ignore'; readonly reason: string }
  | { readonly kind: 'stubs'; readonly sobject: BackfillObject; readonly ids: readonly string[] }
  | { readonly kind: 'backfill'; readonly sobject: BackfillObject };

const OBJECTS = new Set<string>(['Account', 'Opportunity', 'Order']);

/** Whether the change can make the record owe work: Accounts always, Opportunities on stage, Orders on status. */
function relevant(event: ChangeEvent): boolean {
  if (event.changeType === 'CREATE' || event.changeType === 'UNDELETE' || event.isGap) return true;
  if (event.changeType !== 'UPDATE') return false;
  if (event.entityName === 'Account') return true;
  const fields = event.changedFields;
  if (event.entityName === 'Opportunity') return fields.includes('StageName') || fields.includes('IsWon');
  return fields.includes('Status') || fields.includes('StatusCode');
}

/** Decides what one decoded change event asks for (pure). */
export function decideCdcEvent(
  event: ChangeEvent,
  options: { readonly ownClientId: string; readonly enabled: readonly BackfillObject[] },
): CdcDecision {
  if (event.clientId !== undefined && event.clientId === options.ownClientId) {
    return { kind: 'ignore', reason: 'the connector’s own write' };
  }
  if (!OBJECTS.has(event.entityName))
    return { kind: 'ignore', reason: `not a synced object: ${event.entityName}` };
  const sobject = event.entityName as BackfillObject;
  if (!options.enabled.includes(sobject))
    return { kind: 'ignore', reason: `the flow for ${sobject} is disabled` };
  if (event.isOverflow) return { kind: 'backfill', sobject };
  if (!relevant(event)) return { kind: 'ignore', reason: `${event.changeType} does not concern the flow` };
  return { kind: 'stubs', sobject, ids: event.recordIds };
}

/** Creates the subscriber's batch handler (see the module doc). Rejects when the enqueue fails, so nothing is acknowledged. */
export function createCdcConsumer(ctx: EngineContext): (batch: PubSubBatch) => Promise<void> {
  const ownClientId = ctx.config.salesforce.callOptionsClient;
  return async function consume(batch) {
    const enabled = enabledObjects(ctx);
    const stubs = new Map<string, SalesforceStub>();
    const backfill = new Set<BackfillObject>();
    const observedAt = ctx.now();
    let ignored = 0;
    for (const raw of batch.events) {
      const event = toChangeEvent(raw);
      const decision = decideCdcEvent(event, { ownClientId, enabled });
      if (decision.kind === 'ignore') ignored += 1;
      else if (decision.kind === 'backfill') backfill.add(decision.sobject);
      else {
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
