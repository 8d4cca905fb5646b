/**
 * Remembering the sales orders the connector creates, so their status and invoices can flow back
 * (flows/order-status.ts). Its own module: the to-Dynamics worker needs this one write, not the flow.
 */
import type { EngineContext } from '#core/engine/context.ts';
import type { TrackedOrder } from '#core/ports/state-store.ts';

/**
 * Starts following an order the connector just created (a no-op when `orderStatus.enabled` is
 * false). Repeating it is harmless: it replaces the entry, and at worst the next refresh writes the
 * same status once more.
 */
export async function trackCreatedOrder(
  ctx: EngineContext,
  order: Omit<TrackedOrder, 'trackedAt' | 'appliedHash'>,
): Promise<void> {
  if (!ctx.config.orderStatus.enabled) return;
  await ctx.state.trackOrder({ ...order, dataAreaId: order.dataAreaId.toLowerCase(), trackedAt: ctx.now() });
}
