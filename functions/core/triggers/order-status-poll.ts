/**
 * The backfill behind the order business events: pages through the orders the connector created
 * and still follows (state store, key order) and refreshes each page (flows/order-status.ts: a
 * header `$batch`, an invoice `$batch` and at most one Collections call per 200 orders). Orders
 * that became final are no longer followed, so the poll shrinks as orders close.
 */
import type { EngineContext } from '#core/engine/context.ts';
import { type OrderOutcome, refreshOrderStatus } from '#core/flows/order-status.ts';

/** What one poll did. */
export interface OrderStatusPollReport {
  /** Orders looked at. */
  readonly orders: number;
  readonly outcomes: Readonly<Record<OrderOutcome, number>>;
  /** Orders no longer followed after this poll (final or gone). */
  readonly untracked: number;
  /** Set when the poll stopped early (the process is stopping, or the flow is disabled). */
  readonly stopped?: string;
}

/** Runs one poll of every followed order. */
export async function runOrderStatusPoll(ctx: EngineContext): Promise<OrderStatusPollReport> {
  const outcomes: Record<OrderOutcome, number> = {
    updated: 0,
    unchanged: 0,
    missing: 0,
    parked: 0,
    deferred: 0,
  };
  let orders = 0;
  let untracked = 0;
  if (!ctx.config.orderStatus.enabled) return { orders, outcomes, untracked, stopped: 'disabled' };
  let after: string | undefined;
  do {
    if (ctx.signal?.aborted) return { orders, outcomes, untracked, stopped: 'stopping' };
    const page = await ctx.state.listTrackedOrders({ after, limit: ctx.config.orderStatus.pollChunk });
    if (page.orders.length === 0) break;
    const results = await refreshOrderStatus(ctx, page.orders, 'backfill');
    orders += page.orders.length;
    for (const r of results.values()) {
      outcomes[r.outcome] += 1;
      if (r.untracked) untracked += 1;
    }
    after = page.next;
  } while (after);
  ctx.logger.info('order-status.poll', { orders, untracked, ...outcomes });
  return { orders, outcomes, untracked };
}
