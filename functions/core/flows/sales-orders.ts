/**
 * The wonOpportunities and activatedOrders flows: a won Opportunity or an activated Order becomes one Dynamics sales order, exactly
 * once, and its later line changes follow while the order is open. Dynamics has no idempotency
 * header, so every step is made safe to repeat:
 *
 * 1. idempotency record of the deal (also a lease: one worker at a time): `salesorder:Opportunity:<id>`
 *    for an Opportunity and for an Order made from it (Order.OpportunityId), so the two never make
 *    two orders; `salesorder:Order:<id>` for an Order without one. The record names the object whose
 *    lines the order carries (`source`); the other objects of the deal only get its number written
 *    back. `salesOrders.dealPrecedence` says which object may make it. A completed record is
 *    reopened when the lines' content hash differs from the one sent (`sentHash`);
 * 2. the header: the number saved by an earlier attempt, else an existing header found by
 *    `CustomersOrderReference` (the object's id, or its deal's) across the synced legal entities,
 *    else a POST (the number sequence assigns the number, saved at once);
 * 3. the lines: the order's lines are read (not for a header just created) and compared on the
 *    Salesforce line id in `salesOrders.lineIdField` (see sales-order-lines.ts): the lines to add,
 *    change and remove go in one `$batch` change set, all or none, in one call. F&O assigns
 *    InventoryLotId and LineNumber, so nothing rests on LineNumber. Each created line's answer must
 *    carry the id as sent, else the order is parked (a retry would duplicate its lines). A closed
 *    order (Delivered, Invoiced, Canceled) takes no change: parked with the reason;
 * 4. the number written back to the Opportunity/Order (an idempotent PATCH);
 * 5. the record completed with the hash of the lines sent, the attempt audited.
 * At most 4 OData calls per order: products, header look-up (or status), header create or lines
 * read, the change set. The lease is renewed with a conditional write before each create and change
 * set and before each re-send of one (after a 429's Retry-After), so a worker that lost it (it
 * stalled or waited past the lease) stops before writing. A crash between any two steps repeats at
 * most reads on retry, never a create.
 */

import { NetworkError, TimeoutError } from '#base/errors.ts';
import type { EngineContext } from '#core/engine/context.ts';
import { flowOfObject } from '#core/engine/wiring.ts';
import type { ChangeOperation } from '#core/ports/apis.ts';
import type { FieldOf } from '#core/ports/dynamics/entities.ts';
import { ReleasedProductsV2, SalesOrderHeadersV2, SalesOrderLines } from '#core/ports/dynamics/entities.ts';
import { DynamicsWriteError } from '#core/ports/dynamics/errors.ts';
import { eq, or } from '#core/ports/dynamics/odata.ts';
import type { Trigger } from '#core/work/items.ts';
import { recordKey } from '../mapping/keys.ts';
import { ParkedError, resolveCurrency } from '../mapping/legal-entity.ts';
import {
  headerRecord,
  lineRecord,
  parseSourceOrder,
  type SalesSource,
  type SourceOrder,
  salesOrderField,
  salesOrderQuery,
} from '../mapping/sales-orders.ts';
import { describeFailure, splitKey, writeBackAccount } from './account-write-back.ts';
import { type AttemptInfo, audit, claim, type Lease, newOwner } from './exactly-once.ts';
import { trackCreatedOrder } from './order-tracking.ts';
import { parkOnRefusal } from './parking.ts';
import {
  type DynamicsLine,
  describePlan,
  isClosedStatus,
  type LinePlan,
  linesHash,
  planIsEmpty,
  planLineChanges,
} from './sales-order-lines.ts';

/** The Salesforce object a sales order is made from. */
export interface SalesOrderRef {
  readonly sobject: SalesSource;
  readonly id: string;
}

/** Per-call options: the attempt facts for the audit trail and the lease owner. */
export interface SyncOptions extends Partial<AttemptInfo> {
  /** Lease owner (the worker's id); default a new one per call. */
  readonly owner?: string;
}

/**
 * Succeeded with the order's key and the lines this attempt created, changed and removed (`linked`:
 * the deal's sales order was made from another object and only its number was written back); or
 * skipped/parked with the reason.
 */
export type SyncResult =
  | {
      readonly outcome: 'succeeded';
      readonly salesOrderNumber: string;
      readonly dataAreaId: string;
      readonly linesCreated: number;
      readonly linesUpdated: number;
      readonly linesRemoved: number;
      readonly linked?: true;
    }
  | { readonly outcome: 'skipped' | 'parked'; readonly reason: string };

const opts = (ctx: EngineContext) => (ctx.signal ? { signal: ctx.signal } : {});

async function readSource(ctx: EngineContext, ref: SalesOrderRef): Promise<SourceOrder | undefined> {
  const text = salesOrderQuery(ref.sobject, ref.id, ctx.config, ctx.reference);
  for await (const record of ctx.salesforce.query<Record<string, unknown>>(text, opts(ctx))) {
    return parseSourceOrder(ref.sobject, record, ctx.config);
  }
  return undefined;
}

/** The customer the order is for: the Account's key, or one created by the accountWriteBack flow. Parks when neither is possible. */
async function ensureCustomer(
  ctx: EngineContext,
  order: SourceOrder,
  info: AttemptInfo,
  owner: string,
): Promise<{ dataAreaId: string; customerAccount: string }> {
  const key = order.account[ctx.config.externalIds.account];
  if (typeof key === 'string' && key !== '') return splitKey(ctx, key, order.account);
  if (!order.accountId) throw new ParkedError('CUSTOMER_MISSING', `the ${order.sobject} has no Account`);
  if (!ctx.config.flows.accountWriteBack.enabled) {
    throw new ParkedError(
      'CUSTOMER_MISSING',
      `Account ${order.accountId} has no Dynamics key and account write-back is disabled; sync the customer first`,
    );
  }
  const result = await writeBackAccount(ctx, order.accountId, info.trigger, { ...info, owner });
  if ('customerAccount' in result)
    return { dataAreaId: result.dataAreaId, customerAccount: result.customerAccount };
  throw new ParkedError(
    'CUSTOMER_MISSING',
    `the customer could not be created in Dynamics: ${result.reason}`,
    {
      // Retried by itself once the Account's own write-back succeeds (its fix, or its replay).
      waitsFor: [recordKey('salesforce', 'Account', order.accountId)],
    },
  );
}

/** Checks every line maps to a released product in `dataAreaId` (one read); returns the products by item number. */
async function resolveProducts(
  ctx: EngineContext,
  order: SourceOrder,
  dataAreaId: string,
): Promise<Map<string, Readonly<Record<string, unknown>>>> {
  if (order.lines.length === 0) throw new ParkedError('NO_LINES', `the ${order.sobject} has no products`);
  const unmapped = order.lines.filter((l) => !l.itemNumber).map((l) => `line ${l.lineNumber} (${l.id})`);
  if (unmapped.length > 0) {
    throw new ParkedError(
      'PRODUCT_UNRESOLVED',
      `${unmapped.join(', ')}: the product has no ${ctx.config.externalIds.product} and no ProductCode`,
    );
  }
  const items = [...new Set(order.lines.map((l) => (l.itemNumber as string).toUpperCase()))];
  const result = await ctx.dynamics.readByKeys(
    ReleasedProductsV2,
    items.map((ItemNumber) => ({ dataAreaId, ItemNumber })),
    // Many items need several URL-length chunks: `$batch` reads them in one call.
    {
      ...opts(ctx),
      select: ['dataAreaId', 'ItemNumber', 'SalesUnitSymbol'],
      batch: ctx.config.batches.odataBatchReads,
    },
  );
  if (result.missing.length > 0) {
    const missing = result.missing.map((k) => k.ItemNumber).join(', ');
    throw new ParkedError(
      'PRODUCT_UNRESOLVED',
      `item(s) ${missing} are not released products in legal entity ${dataAreaId}; release them there, then replay`,
      // Retried by itself once a missing product arrives (synced by the products flow).
      {
        waitsFor: result.missing.map((k) =>
          recordKey('dynamics', 'ReleasedProductsV2', dataAreaId.toLowerCase(), String(k.ItemNumber)),
        ),
      },
    );
  }
  const byItem = new Map<string, Readonly<Record<string, unknown>>>();
  for (const record of result.found.values()) byItem.set(String(record.ItemNumber).toUpperCase(), record);
  return byItem;
}

/** The sales order a deal's objects share, as step 2 found or made it. */
interface Header {
  readonly salesOrderNumber: string;
  readonly dataAreaId: string;
  readonly created: boolean;
  /** `<sobject>:<id>` of the Salesforce object whose lines the order carries. */
  readonly source: string;
  /** SalesOrderStatus when the look-up read it. */
  readonly status?: unknown;
}

/** Step 2: the header number saved, found, or created (and saved at once). */
async function ensureHeader(
  ctx: EngineContext,
  order: SourceOrder,
  deal: Deal,
  lease: Lease,
  target: { dataAreaId: string; customerAccount: string; currency: string },
): Promise<Header> {
  const saved = lease.data();
  const self = sourceOf(order);
  if (typeof saved.salesOrderNumber === 'string' && typeof saved.dataAreaId === 'string') {
    const source = sourceOfRecord(saved, deal);
    return { salesOrderNumber: saved.salesOrderNumber, dataAreaId: saved.dataAreaId, created: false, source };
  }
  // Any header of the deal: this object's, its Opportunity's or Orders', or the one a crashed attempt was creating.
  const references = new Set([order.id, ...deal.related]);
  if (typeof saved.creatingFor === 'string') references.add(saved.creatingFor.split(':')[1] ?? '');
  references.delete('');
  const found: { n: string; le: string; ref: string; status: unknown }[] = [];
  for await (const h of ctx.dynamics.read(
    SalesOrderHeadersV2,
    {
      company: ctx.config.legalEntities,
      filter: or(...[...references].map((r) => eq('CustomersOrderReference', r))),
      select: ['dataAreaId', 'SalesOrderNumber', 'CustomersOrderReference', 'SalesOrderStatus'],
    },
    opts(ctx),
  )) {
    found.push({
      n: String(h.SalesOrderNumber),
      le: String(h.dataAreaId).toLowerCase(),
      ref: String(h.CustomersOrderReference),
      status: h.SalesOrderStatus,
    });
  }
  // This object's own header first, then the deal's oldest.
  found.sort((a, b) => Number(b.ref === order.id) - Number(a.ref === order.id) || a.n.localeCompare(b.n));
  const first = found[0];
  if (first) {
    if (found.length > 1)
      ctx.logger.warn('sales-order.several-headers', { reference: order.id, count: found.length });
    const source = first.ref === order.id ? self : sourceFromReference(first.ref, deal, saved);
    await lease.save({ salesOrderNumber: first.n, dataAreaId: first.le, source });
    return { salesOrderNumber: first.n, dataAreaId: first.le, created: false, source, status: first.status };
  }
  // Renews the lease (and proves it is still ours) right before the one write that is not repeatable.
  await lease.save({ creatingFor: self });
  const created = await ctx.dynamics.create(SalesOrderHeadersV2, headerRecord(order, target, ctx.config), {
    ...opts(ctx),
    beforeResend: () => lease.renew(),
  });
  const salesOrderNumber = String(created.SalesOrderNumber);
  await lease.save({ salesOrderNumber, dataAreaId: target.dataAreaId, source: self });
  return { salesOrderNumber, dataAreaId: target.dataAreaId, created: true, source: self };
}

/** Which object of the deal a found header's CustomersOrderReference names. */
function sourceFromReference(
  reference: string,
  deal: Deal,
  saved: Readonly<Record<string, unknown>>,
): string {
  if (typeof saved.creatingFor === 'string' && saved.creatingFor.endsWith(`:${reference}`))
    return saved.creatingFor;
  return reference === deal.opportunityId ? `Opportunity:${reference}` : `Order:${reference}`;
}

/** The Dynamics lines of the order (one read). */
async function readLines(ctx: EngineContext, header: Header): Promise<DynamicsLine[]> {
  const idField = ctx.config.salesOrders.lineIdField;
  const lines: DynamicsLine[] = [];
  for await (const line of ctx.dynamics.read(
    SalesOrderLines,
    {
      company: header.dataAreaId,
      filter: eq('SalesOrderNumber', header.salesOrderNumber),
      select: [
        'InventoryLotId',
        'LineNumber',
        'ItemNumber',
        'OrderedSalesQuantity',
        'SalesPrice',
        idField as FieldOf<typeof SalesOrderLines>,
      ],
    },
    opts(ctx),
  )) {
    const id = line[idField];
    lines.push({
      lotId: String(line.InventoryLotId),
      salesforceId: typeof id === 'string' && id !== '' ? id : undefined,
      itemNumber: String(line.ItemNumber ?? ''),
      lineNumber: line.LineNumber,
      quantity: Number(line.OrderedSalesQuantity ?? 0),
      salesPrice: typeof line.SalesPrice === 'number' ? line.SalesPrice : undefined,
    });
  }
  return lines;
}

/** Reads the header's SalesOrderStatus when the look-up did not (one read). */
async function statusOf(ctx: EngineContext, header: Header): Promise<unknown> {
  if (header.created) return 'Backorder';
  if (header.status !== undefined) return header.status;
  const record = await ctx.dynamics.get(
    SalesOrderHeadersV2,
    { dataAreaId: header.dataAreaId, SalesOrderNumber: header.salesOrderNumber },
    { ...opts(ctx), select: ['SalesOrderStatus'] },
  );
  if (!record) {
    throw new ParkedError(
      'RECORD_NOT_FOUND',
      `sales order ${header.salesOrderNumber} (${header.dataAreaId}) no longer exists in Dynamics`,
    );
  }
  return record.SalesOrderStatus;
}

/**
 * Step 3: brings the order's lines to the Salesforce lines (adds, changes, removes) in one `$batch`
 * change set, all or none; returns the plan applied. A new header has no lines, so nothing is read.
 */
async function ensureLines(
  ctx: EngineContext,
  order: SourceOrder,
  lease: Lease,
  header: Header,
  currency: string,
  products: ReadonlyMap<string, Readonly<Record<string, unknown>>>,
): Promise<LinePlan> {
  const idField = ctx.config.salesOrders.lineIdField;
  const existing = header.created ? [] : await readLines(ctx, header);
  const plan = planLineChanges(order.sobject, order.lines, existing);
  const where = `sales order ${header.salesOrderNumber} (${header.dataAreaId})`;
  if (plan.conflicts.length > 0) {
    throw new ParkedError('LINES_CONFLICT', `${where} was changed in Dynamics: ${plan.conflicts.join('; ')}`);
  }
  if (planIsEmpty(plan)) return plan;
  const status = await statusOf(ctx, header);
  if (isClosedStatus(status)) {
    throw new ParkedError(
      'ORDER_CLOSED',
      `${where} is ${String(status)} in Dynamics and can no longer take line changes (${describePlan(plan)} wanted); change the order in Dynamics, or replay once it is open`,
    );
  }
  const key = (lotId: string) => ({ dataAreaId: header.dataAreaId, InventoryLotId: lotId });
  const operations: ChangeOperation[] = [
    ...plan.remove.map((l) => ({ kind: 'delete' as const, entity: SalesOrderLines, key: key(l.lotId) })),
    ...plan.update.map((u) => ({
      kind: 'update' as const,
      entity: SalesOrderLines,
      key: key(u.lotId),
      patch: u.patch,
    })),
    ...plan.add.map((line) => ({
      kind: 'create' as const,
      entity: SalesOrderLines,
      record: lineRecord(
        line,
        { ...header, currency },
        products.get(String(line.itemNumber).toUpperCase()),
        idField,
      ),
    })),
  ];
  // Renews the lease right before the change set (not repeatable: it may create lines), and again before any re-send.
  await lease.save({ writing: describePlan(plan) });
  let answers: readonly (Readonly<Record<string, unknown>> | undefined)[];
  try {
    answers = await ctx.dynamics.changeSet(operations, { ...opts(ctx), beforeResend: () => lease.renew() });
  } catch (error) {
    // F&O refused the change set (nothing was applied): park with its reason, for a person to act on.
    if (error instanceof DynamicsWriteError && error.status === 400) {
      throw new ParkedError(
        'LINES_REFUSED',
        `Dynamics refused the line changes of ${where} (${describePlan(plan)}): ${error.infolog ?? error.message}`,
        { cause: error },
      );
    }
    throw error;
  }
  const firstAdd = plan.remove.length + plan.update.length;
  for (const [i, line] of plan.add.entries()) {
    const record = answers[firstAdd + i];
    if (record?.[idField] !== line.id) {
      throw new ParkedError(
        'LINE_ID_NOT_KEPT',
        `SalesOrderLines.${idField} did not keep the Salesforce line id (sent ${line.id}, Dynamics holds ${JSON.stringify(record?.[idField] ?? null)}) on ${where}; set salesOrders.lineIdField to a text field of at least 18 characters, check that order's lines, then replay`,
      );
    }
  }
  return plan;
}

/**
 * The deal an Opportunity or Order belongs to: an Order made from an Opportunity (Order.OpportunityId)
 * shares its Opportunity's idempotency record, so the two never run at once and make one sales order.
 */
interface Deal {
  readonly key: string;
  readonly opportunityId: string | undefined;
  /** The deal's other objects' ids (the Opportunity, or the Opportunity's Orders). */
  readonly related: readonly string[];
}

const sourceOf = (order: SourceOrder) => `${order.sobject}:${order.id}`;

/** The object whose lines a record's sales order carries (records written before deals knew it: the key's object). */
const sourceOfRecord = (data: Readonly<Record<string, unknown>>, deal: Deal): string =>
  typeof data.source === 'string' ? data.source : deal.key.slice('salesorder:'.length);

function resolveDeal(order: SourceOrder): Deal {
  if (order.sobject === 'Order') {
    const opportunityId = typeof order.raw.OpportunityId === 'string' ? order.raw.OpportunityId : '';
    if (opportunityId === '')
      return { key: `salesorder:Order:${order.id}`, opportunityId: undefined, related: [] };
    return { key: `salesorder:Opportunity:${opportunityId}`, opportunityId, related: [opportunityId] };
  }
  // The query reads the Opportunity's Orders when the activated-orders flow is on (salesOrderQuery).
  const orders = order.raw.Orders as { records?: unknown } | null | undefined;
  const related = Array.isArray(orders?.records)
    ? (orders.records as { Id?: unknown }[]).map((o) => String(o.Id))
    : [];
  return { key: `salesorder:Opportunity:${order.id}`, opportunityId: order.id, related };
}

/**
 * Writes a new sales order's number to the Opportunity's Orders too (one Collections call), so an
 * Order that may not make its own (precedence) shows the deal's at once. Best effort: an Order
 * refused here links itself on its next change or replay.
 */
async function numberTheDealsOrders(
  ctx: EngineContext,
  order: SourceOrder,
  deal: Deal,
  salesOrderNumber: string,
): Promise<void> {
  if (order.sobject !== 'Opportunity' || deal.related.length === 0) return;
  const field = salesOrderField('Order', ctx.config);
  const results = await ctx.salesforce.updateMany(
    deal.related.map((id) => ({ sobject: 'Order', id, fields: { [field]: salesOrderNumber } })),
    opts(ctx),
  );
  for (const r of results.filter((x) => x.outcome === 'failed')) {
    ctx.logger.warn('sales-order.deal-order-not-numbered', {
      order: r.id,
      salesOrderNumber,
      error: r.errors?.map((e) => `${e.statusCode}: ${e.message}`).join('; '),
    });
  }
}

/**
 * Whether `salesOrders.dealPrecedence` lets this object create the deal's sales order: `opportunity`
 * keeps an Order of an Opportunity from creating one, `order` keeps an Opportunity that has Orders.
 */
function yieldsTo(ctx: EngineContext, order: SourceOrder, deal: Deal): string | undefined {
  const { config } = ctx;
  const precedence = config.salesOrders.dealPrecedence;
  if (precedence === 'opportunity' && order.sobject === 'Order' && deal.opportunityId) {
    if (config.flows.wonOpportunities.enabled) return `its Opportunity ${deal.opportunityId}`;
  }
  if (precedence === 'order' && order.sobject === 'Opportunity' && deal.related.length > 0) {
    if (config.flows.activatedOrders.enabled) return `its Order(s) ${deal.related.join(', ')}`;
  }
  return undefined;
}

/**
 * The wonOpportunities or activatedOrders flow for one Opportunity or Order (see the module doc). Returns skipped (not eligible,
 * gone, already done), parked (audited with a reason; replay once fixed) or succeeded; other
 * failures are audited and thrown for the worker to classify.
 */
export async function syncSalesOrder(
  ctx: EngineContext,
  ref: SalesOrderRef,
  trigger: Trigger,
  options: SyncOptions = {},
): Promise<SyncResult> {
  const { config } = ctx;
  const flow = flowOfObject(ref.sobject);
  const startedAt = ctx.now();
  const info: AttemptInfo = { trigger, attempt: options.attempt, work: options.work };
  const key = recordKey('salesforce', ref.sobject, ref.id);
  const owner = options.owner ?? newOwner();
  const skip = async (reason: string): Promise<SyncResult> => {
    await audit(ctx, { recordKey: key, flow, outcome: 'skipped', startedAt, info, error: reason });
    return { outcome: 'skipped', reason };
  };
  const succeed = async (
    header: { salesOrderNumber: string; dataAreaId: string },
    plan?: LinePlan,
  ): Promise<SyncResult> => {
    const targetIds = { salesOrderNumber: header.salesOrderNumber, dataAreaId: header.dataAreaId };
    await audit(ctx, { recordKey: key, flow, outcome: 'succeeded', startedAt, info, targetIds });
    return {
      outcome: 'succeeded' as const,
      ...targetIds,
      linesCreated: plan?.add.length ?? 0,
      linesUpdated: plan?.update.length ?? 0,
      linesRemoved: plan?.remove.length ?? 0,
      ...(plan ? {} : { linked: true as const }),
    };
  };
  try {
    const enabled =
      ref.sobject === 'Opportunity' ? config.flows.wonOpportunities : config.flows.activatedOrders;
    if (!enabled.enabled) return await skip(`flow ${flow} is disabled`);
    const order = await readSource(ctx, ref);
    if (!order) return await skip(`the ${ref.sobject} no longer exists`);
    if (!order.eligible) {
      return await skip(
        ref.sobject === 'Opportunity' ? 'the Opportunity is not won' : 'the Order is not activated',
      );
    }
    const self = sourceOf(order);
    const sentHash = linesHash(order.lines);
    const deal = resolveDeal(order);
    // The sales order number goes back to the object (an idempotent PATCH), whichever made the order.
    const writeBack = async (number: string) => {
      if (order.writtenBack === number) return;
      await parkOnRefusal(`writing sales order ${number} back to the ${ref.sobject}`, () =>
        ctx.salesforce.update(
          ref.sobject,
          ref.id,
          { [salesOrderField(ref.sobject, config)]: number },
          opts(ctx),
        ),
      );
    };
    const known = await ctx.state.getIdempotent(deal.key);
    const knownSource = known ? sourceOfRecord(known.data, deal) : undefined;
    const knownNumber = known?.data.salesOrderNumber;
    if (typeof knownNumber === 'string' && knownSource !== self) {
      // Another object of the deal made the sales order: this one links to it, its lines stay the other's.
      await writeBack(knownNumber);
      return await succeed({ salesOrderNumber: knownNumber, dataAreaId: String(known?.data.dataAreaId) });
    }
    if (
      known?.status === 'completed' &&
      known.data.sentHash === sentHash &&
      typeof knownNumber === 'string'
    ) {
      return await skip(`already synced as sales order ${knownNumber}`);
    }
    const yielded = knownSource === self ? undefined : yieldsTo(ctx, order, deal);
    if (yielded) {
      return await skip(
        `salesOrders.dealPrecedence is ${config.salesOrders.dealPrecedence}: ${yielded} make(s) this deal's sales order`,
      );
    }
    const customer = await ensureCustomer(ctx, order, info, owner);
    const currency = resolveCurrency(
      customer.dataAreaId,
      order.currency ?? order.account.CurrencyIsoCode,
      config,
      ctx.reference,
    );
    const products = await resolveProducts(ctx, order, customer.dataAreaId);
    const claimed = await claim(ctx, deal.key, owner, {
      leaseSeconds: config.salesOrders.leaseSeconds,
      // A completed order whose lines changed since they were sent is written again (changes after the order exists).
      reopen: (record) => sourceOfRecord(record.data, deal) === self && record.data.sentHash !== sentHash,
    });
    if (claimed.completed) {
      const number = String(claimed.record.data.salesOrderNumber);
      if (sourceOfRecord(claimed.record.data, deal) !== self) {
        await writeBack(number);
        return await succeed({
          salesOrderNumber: number,
          dataAreaId: String(claimed.record.data.dataAreaId),
        });
      }
      return await skip(`already synced as sales order ${number}`);
    }
    const { lease } = claimed;
    let keepLease = false;
    try {
      const header = await ensureHeader(ctx, order, deal, lease, { ...customer, currency });
      if (header.source !== self) {
        // Linked to the deal's order made by another object: no line of this one is written.
        await writeBack(header.salesOrderNumber);
        return await succeed(header);
      }
      const plan = await ensureLines(ctx, order, lease, header, currency, products);
      await writeBack(header.salesOrderNumber);
      if (header.created) await numberTheDealsOrders(ctx, order, deal, header.salesOrderNumber);
      // Followed for its status and invoices (order-status.ts) before the record completes, so a crash cannot skip it.
      await trackCreatedOrder(ctx, {
        dataAreaId: header.dataAreaId,
        salesOrderNumber: header.salesOrderNumber,
        sobject: ref.sobject,
        salesforceId: ref.id,
      });
      await lease.complete({
        salesOrderNumber: header.salesOrderNumber,
        dataAreaId: header.dataAreaId,
        source: self,
        sentHash,
      });
      return await succeed(header, plan);
    } catch (error) {
      // A write whose answer was lost (time-out, connection reset) may still be applied by F&O: the
      // lease is left to run out instead of released, so no retry looks for its result too early.
      keepLease = error instanceof TimeoutError || error instanceof NetworkError;
      throw error;
    } finally {
      if (!keepLease) await lease.release();
    }
  } catch (error) {
    if (error instanceof ParkedError) {
      await audit(ctx, {
        recordKey: key,
        flow,
        outcome: 'parked',
        startedAt,
        info,
        error: error.message,
        waitsFor: error.waitsFor,
      });
      return { outcome: 'parked', reason: error.message };
    }
    await audit(ctx, {
      recordKey: key,
      flow,
      outcome: 'failed',
      startedAt,
      info,
      error: describeFailure(error),
    });
    throw error;
  }
}
