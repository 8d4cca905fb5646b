/**
 * The to-Salesforce worker's part for order-status stubs (business events for a sales order's
 * confirmation, packing slip or invoice): stubs grouped by order, the orders the connector follows
 * looked up in the state store, refreshed together (flows/order-status.ts). A stub for an order the
 * connector does not follow (not its own, or already final) is done with an `ignored` audit note.
 */
import type { EngineContext } from '#core/engine/context.ts';
import { ORDER_STATUS_FLOW, refreshOrderStatus } from '#core/flows/order-status.ts';
import { recordKey } from '#core/mapping/keys.ts';
import { type TrackedOrder, trackedOrderKey } from '#core/ports/state-store.ts';
import type { ReceivedMessage } from '#core/ports/work-queue.ts';
import type { OrderStatusStub } from '#core/work/items.ts';

/** A message's fate, as the batch worker records it. */
export type OrderVerdict = { kind: 'done' } | { kind: 'retry' } | { kind: 'dead'; reason: string };

const KEY_VALUE = /^[^\p{Cc}]{1,128}$/u;

/** Whether a queue body is an order-status stub (its fields are checked by {@link handleOrderStubs}). */
export function isOrderStatusStub(body: unknown): body is OrderStatusStub {
  return !!body && typeof body === 'object' && (body as { kind?: unknown }).kind === 'order-status';
}

/** Handles the order-status stubs of one batch; sets a verdict per receipt handle. */
export async function handleOrderStubs(
  ctx: EngineContext,
  messages: readonly ReceivedMessage<OrderStatusStub>[],
  verdicts: Map<string, OrderVerdict>,
): Promise<void> {
  const byKey = new Map<string, ReceivedMessage<OrderStatusStub>[]>();
  for (const m of messages) {
    const { dataAreaId, salesOrderNumber } = m.body;
    if (
      typeof dataAreaId !== 'string' ||
      !/^[a-z0-9]{1,4}$/.test(dataAreaId) ||
      typeof salesOrderNumber !== 'string' ||
      !KEY_VALUE.test(salesOrderNumber)
    ) {
      verdicts.set(m.receiptHandle, {
        kind: 'dead',
        reason: 'an order-status stub needs dataAreaId and salesOrderNumber',
      });
      continue;
    }
    const key = trackedOrderKey(dataAreaId, salesOrderNumber);
    byKey.set(key, [...(byKey.get(key) ?? []), m]);
  }
  if (byKey.size === 0) return;
  const tracked = await ctx.state.getTrackedOrders([...byKey.keys()]);
  const orders: TrackedOrder[] = [];
  for (const [key, group] of byKey) {
    const order = tracked.get(key);
    if (order) {
      orders.push(order);
      continue;
    }
    const first = group[0] as ReceivedMessage<OrderStatusStub>;
    await ctx.state.appendAudit({
      recordKey: recordKey(
        'dynamics',
        'SalesOrderHeadersV2',
        first.body.dataAreaId,
        first.body.salesOrderNumber,
      ),
      flow: ORDER_STATUS_FLOW,
      trigger: first.body.trigger,
      attempt: first.receiveCount,
      outcome: 'ignored',
      error: 'not a sales order the connector follows (created elsewhere, or already final)',
      work: first.body,
    });
    for (const m of group) verdicts.set(m.receiptHandle, { kind: 'done' });
  }
  if (orders.length === 0) return;
  const results = await refreshOrderStatus(ctx, orders, 'business-event');
  for (const [key, group] of byKey) {
    const result = results.get(key);
    if (!result) continue;
    const verdict: OrderVerdict = result.outcome === 'deferred' ? { kind: 'retry' } : { kind: 'done' };
    for (const m of group) verdicts.set(m.receiptHandle, verdict);
  }
}
