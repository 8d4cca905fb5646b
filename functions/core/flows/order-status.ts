/**
 * The sales order's life back to Salesforce: for the orders the connector created (tracked in the
 * state store when flows won-opportunities/activated-orders succeed), the order's status and its
 * invoices are written to the Opportunity or Order they came from. Steps, per chunk of at most
 * `orderStatus.pollChunk` orders:
 *
 * 1. the headers, by key sets (OR-chains, URL-sized chunks sent together in one `$batch`);
 * 2. the invoices, by the orders' numbers (SalesInvoiceHeadersV2 filtered on SalesOrderNumber, the
 *    same way: one `$batch`);
 * 3. the target fields (mapping/order-status.ts) and their hash: an order whose hash equals the one
 *    last applied is not written (re-applying changes nothing);
 * 4. one sObject Collections update per 200 changed orders (mixed Opportunities and Orders);
 * 5. the applied hash stored, or, once the order is final (invoiced or cancelled), tracking ended.
 *
 * Every step is safe to repeat: reads, then a PATCH of the same values, then a state write. Two
 * runs on one order (an event and the poll) write what F&O says at their read; a run that read an
 * older state and wrote last leaves the order tracked with that state's hash, so the next poll
 * reads again and corrects it.
 */
import type { EngineContext } from '#core/engine/context.ts';
import { contentHash } from '#core/mapping/hash.ts';
import { recordKey } from '#core/mapping/keys.ts';
import {
  type InvoiceFact,
  invoiceOf,
  isFinal,
  orderStatusFields,
  parseSalesStatus,
} from '#core/mapping/order-status.ts';
import { defineEntity, SalesInvoiceHeadersV2, SalesOrderHeadersV2 } from '#core/ports/dynamics/entities.ts';
import { formatKey } from '#core/ports/dynamics/keys.ts';
import { type TrackedOrder, trackedOrderKey } from '#core/ports/state-store.ts';
import type { OrderStatusStub, Trigger } from '#core/work/items.ts';
import { isTransient, reasonOf } from './transient.ts';

/** The flow's name in the audit trail. */
export const ORDER_STATUS_FLOW = 'order-status';

/**
 * SalesInvoiceHeadersV2 addressed by (dataAreaId, SalesOrderNumber), so the key-set reader builds
 * the OR-chains over order numbers. Not unique: an order has any number of invoices, all returned.
 */
const InvoicesByOrder = defineEntity({
  name: SalesInvoiceHeadersV2.name,
  keys: ['dataAreaId', 'SalesOrderNumber'],
  companySpecific: true,
  fields: SalesInvoiceHeadersV2.fields,
  types: { InvoiceDate: 'Edm.DateTimeOffset', TotalInvoiceAmount: 'Edm.Decimal' },
});

/** What happened to one tracked order. */
export type OrderOutcome =
  /** Written to Salesforce (then untracked when final). */
  | 'updated'
  /** Nothing changed since the last write (untracked when final). */
  | 'unchanged'
  /** The order no longer exists in Dynamics: untracked. */
  | 'missing'
  /** Salesforce refused the write (audited as parked; the next poll tries again). */
  | 'parked'
  /** A transient failure: try again later. */
  | 'deferred';

export interface OrderResult {
  readonly outcome: OrderOutcome;
  /** Whether tracking ended (the order is final or gone). */
  readonly untracked: boolean;
  readonly reason?: string;
}

/** Results by tracked-order key ({@link trackedOrderKey}). */
export type RefreshResults = Map<string, OrderResult>;

const keyOf = (o: TrackedOrder) => trackedOrderKey(o.dataAreaId, o.salesOrderNumber);
const orderIdentity = (dataAreaId: string, number: string) =>
  `${dataAreaId.toLowerCase()}\u0000${number.toLowerCase()}`;

async function note(
  ctx: EngineContext,
  order: TrackedOrder,
  trigger: Trigger,
  outcome: 'succeeded' | 'skipped' | 'parked' | 'failed',
  error?: string,
): Promise<void> {
  await ctx.state.appendAudit({
    recordKey: recordKey('dynamics', 'SalesOrderHeadersV2', order.dataAreaId, order.salesOrderNumber),
    flow: ORDER_STATUS_FLOW,
    trigger,
    attempt: 1,
    outcome,
    targetIds: { [order.sobject]: order.salesforceId, salesOrderNumber: order.salesOrderNumber },
    ...(error ? { error: error.slice(0, 2000) } : {}),
    // A parked refresh can be replayed (`ml-connector replay`) as well as waiting for the next poll.
    ...(outcome === 'parked'
      ? {
          work: {
            kind: 'order-status',
            dataAreaId: order.dataAreaId,
            salesOrderNumber: order.salesOrderNumber,
            trigger,
            observedAt: ctx.now(),
          } satisfies OrderStatusStub,
        }
      : {}),
  });
}

/** Refreshes one chunk (≤ 200 orders: one Collections call). */
async function refreshChunk(
  ctx: EngineContext,
  orders: readonly TrackedOrder[],
  trigger: Trigger,
  results: RefreshResults,
): Promise<void> {
  const signal = ctx.signal;
  const batch = ctx.config.batches.odataBatchReads;
  const keys = orders.map((o) => ({ dataAreaId: o.dataAreaId, SalesOrderNumber: o.salesOrderNumber }));
  let headers: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
  const invoices = new Map<string, InvoiceFact[]>();
  try {
    headers = (
      await ctx.dynamics.readByKeys(SalesOrderHeadersV2, keys, {
        select: ['dataAreaId', 'SalesOrderNumber', 'SalesOrderStatus'],
        batch,
        signal,
      })
    ).found;
    const read = await ctx.dynamics.readByKeys(InvoicesByOrder, keys, {
      select: ['dataAreaId', 'SalesOrderNumber', 'InvoiceNumber', 'InvoiceDate', 'TotalInvoiceAmount'],
      batch,
      signal,
    });
    for (const record of read.records) {
      const invoice = invoiceOf(record);
      if (!invoice) continue;
      const id = orderIdentity(String(record.dataAreaId), String(record.SalesOrderNumber));
      const list = invoices.get(id) ?? [];
      // The same invoice can come back twice when two key chunks overlap case-insensitively.
      if (!list.some((i) => i.number === invoice.number)) list.push(invoice);
      invoices.set(id, list);
    }
  } catch (error) {
    if (!isTransient(error)) throw error;
    ctx.logger.warn('order-status.read-failed', { orders: orders.length, error: reasonOf(error) });
    for (const o of orders)
      results.set(keyOf(o), { outcome: 'deferred', untracked: false, reason: reasonOf(error) });
    return;
  }

  const changes: { order: TrackedOrder; fields: Record<string, unknown>; hash: string; final: boolean }[] =
    [];
  for (const order of orders) {
    const header = headers.get(
      formatKey(SalesOrderHeadersV2, {
        dataAreaId: order.dataAreaId,
        SalesOrderNumber: order.salesOrderNumber,
      }),
    );
    if (!header) {
      await ctx.state.untrackOrder(keyOf(order));
      await note(
        ctx,
        order,
        trigger,
        'skipped',
        'the sales order no longer exists in Dynamics; no longer followed',
      );
      results.set(keyOf(order), { outcome: 'missing', untracked: true });
      continue;
    }
    const status = parseSalesStatus(header.SalesOrderStatus);
    if (!status) {
      const reason = `SalesOrderStatus ${JSON.stringify(header.SalesOrderStatus ?? null)} is not a SalesStatus member`;
      await note(ctx, order, trigger, 'parked', reason);
      results.set(keyOf(order), { outcome: 'parked', untracked: false, reason });
      continue;
    }
    const snapshot = {
      status,
      invoices: invoices.get(orderIdentity(order.dataAreaId, order.salesOrderNumber)) ?? [],
    };
    const fields = orderStatusFields(ctx.config, order.sobject, snapshot);
    const hash = contentHash(fields);
    const final = isFinal(status);
    if (hash === order.appliedHash) {
      if (final) await ctx.state.untrackOrder(keyOf(order));
      results.set(keyOf(order), { outcome: 'unchanged', untracked: final });
      continue;
    }
    changes.push({ order, fields, hash, final });
  }
  if (changes.length === 0) return;

  let saved: Awaited<ReturnType<EngineContext['salesforce']['updateMany']>>;
  try {
    saved = await ctx.salesforce.updateMany(
      changes.map((c) => ({ sobject: c.order.sobject, id: c.order.salesforceId, fields: c.fields })),
      { chunkSize: ctx.config.batches.collectionsSize, ...(signal ? { signal } : {}) },
    );
  } catch (error) {
    if (!isTransient(error)) throw error;
    for (const c of changes)
      results.set(keyOf(c.order), { outcome: 'deferred', untracked: false, reason: reasonOf(error) });
    return;
  }
  for (const [i, change] of changes.entries()) {
    const { order } = change;
    const result = saved[i];
    if (result?.outcome !== 'updated') {
      const first = result?.errors?.[0];
      const reason = `Salesforce refused the ${order.sobject} update: ${first ? `${first.statusCode}: ${first.message}` : 'no result'}`;
      await note(ctx, order, trigger, 'parked', reason);
      results.set(keyOf(order), { outcome: 'parked', untracked: false, reason });
      continue;
    }
    if (change.final) await ctx.state.untrackOrder(keyOf(order));
    else await ctx.state.trackOrder({ ...order, appliedHash: change.hash });
    await note(ctx, order, trigger, 'succeeded');
    results.set(keyOf(order), { outcome: 'updated', untracked: change.final });
  }
}

/**
 * Refreshes these tracked orders (see the module doc). Transient failures come back as `deferred`;
 * anything else (the state store, a programming error) is thrown.
 */
export async function refreshOrderStatus(
  ctx: EngineContext,
  orders: readonly TrackedOrder[],
  trigger: Trigger,
): Promise<RefreshResults> {
  const results: RefreshResults = new Map();
  const size = ctx.config.orderStatus.pollChunk;
  for (let i = 0; i < orders.length; i += size) {
    await refreshChunk(ctx, orders.slice(i, i + size), trigger, results);
  }
  return results;
}
