/**
 * Flows 3 and 4: a won Opportunity or an activated Order becomes one Dynamics sales order, exactly
 * once. Dynamics has no idempotency header, so every step is made safe to repeat:
 *
 * 1. idempotency record `salesorder:<sobject>:<id>` (also a lease: one worker at a time);
 * 2. the header: the number saved by an earlier attempt, else an existing header found by
 *    `CustomersOrderReference eq '<Salesforce id>'` across the synced legal entities, else a POST
 *    (the number sequence assigns the number, saved at once);
 * 3. the lines: the order's lines are read and only lines whose Salesforce line id is not yet in
 *    `salesOrders.lineIdField` are created, in Salesforce order; F&O assigns InventoryLotId and
 *    LineNumber (from LineCreationSequenceNumber), so nothing rests on LineNumber. Each create's
 *    answer must carry the id as sent, else the order is parked before another line is written
 *    (a field that truncates or drops the id would make a retry duplicate the line);
 * 4. the number written back to the Opportunity/Order (an idempotent PATCH);
 * 5. the record completed, the attempt audited.
 * Before each create the lease is renewed with a conditional write, so a worker that lost it
 * (it stalled past the lease) stops before writing. A crash between any two steps repeats at most
 * reads on retry, never a create.
 */
import type { EngineContext } from '#core/engine/context.ts';
import type { Trigger } from '#core/work/items.ts';
import type { FieldOf } from '#dynamics/entities.ts';
import { ReleasedProductsV2, SalesOrderHeadersV2, SalesOrderLines } from '#dynamics/entities.ts';
import { eq } from '#dynamics/odata.ts';
import { recordKey } from '../mapping/keys.ts';
import { ParkedError, resolveCurrency } from '../mapping/legal-entity.ts';
import {
  type ExistingLine,
  headerRecord,
  lineRecord,
  parseSourceOrder,
  planLines,
  type SalesSource,
  type SourceOrder,
  salesOrderField,
  salesOrderQuery,
} from '../mapping/sales-orders.ts';
import { describeFailure, splitKey, writeBackAccount } from './account-write-back.ts';
import { type AttemptInfo, audit, claim, type Lease, newOwner } from './exactly-once.ts';
import { trackCreatedOrder } from './order-tracking.ts';
import { parkOnRefusal } from './parking.ts';

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

/** Succeeded with the order's key and how many lines this attempt created; or skipped/parked with the reason. */
export type SyncResult =
  | {
      readonly outcome: 'succeeded';
      readonly salesOrderNumber: string;
      readonly dataAreaId: string;
      readonly linesCreated: number;
    }
  | { readonly outcome: 'skipped' | 'parked'; readonly reason: string };

const FLOW: Readonly<Record<SalesSource, string>> = {
  Opportunity: 'won-opportunities',
  Order: 'activated-orders',
};

const opts = (ctx: EngineContext) => (ctx.signal ? { signal: ctx.signal } : {});

async function readSource(ctx: EngineContext, ref: SalesOrderRef): Promise<SourceOrder | undefined> {
  const text = salesOrderQuery(ref.sobject, ref.id, ctx.config, ctx.reference);
  for await (const record of ctx.salesforce.query<Record<string, unknown>>(text, opts(ctx))) {
    return parseSourceOrder(ref.sobject, record, ctx.config);
  }
  return undefined;
}

/** The customer the order is for: the Account's key, or one created by flow 5. Parks when neither is possible. */
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
    { ...opts(ctx), select: ['dataAreaId', 'ItemNumber', 'SalesUnitSymbol'] },
  );
  if (result.missing.length > 0) {
    const missing = result.missing.map((k) => k.ItemNumber).join(', ');
    throw new ParkedError(
      'PRODUCT_UNRESOLVED',
      `item(s) ${missing} are not released products in legal entity ${dataAreaId}; release them there, then replay`,
    );
  }
  const byItem = new Map<string, Readonly<Record<string, unknown>>>();
  for (const record of result.found.values()) byItem.set(String(record.ItemNumber).toUpperCase(), record);
  return byItem;
}

/** Step 2: the header number saved, found, or created (and saved at once). */
async function ensureHeader(
  ctx: EngineContext,
  order: SourceOrder,
  lease: Lease,
  target: { dataAreaId: string; customerAccount: string; currency: string },
): Promise<{ salesOrderNumber: string; dataAreaId: string; created: boolean }> {
  const saved = lease.data();
  if (typeof saved.salesOrderNumber === 'string' && typeof saved.dataAreaId === 'string') {
    return { salesOrderNumber: saved.salesOrderNumber, dataAreaId: saved.dataAreaId, created: false };
  }
  const found: { n: string; le: string }[] = [];
  for await (const h of ctx.dynamics.read(
    SalesOrderHeadersV2,
    {
      company: ctx.config.legalEntities,
      filter: eq('CustomersOrderReference', order.id),
      select: ['dataAreaId', 'SalesOrderNumber'],
    },
    opts(ctx),
  )) {
    found.push({ n: String(h.SalesOrderNumber), le: String(h.dataAreaId).toLowerCase() });
  }
  found.sort((a, b) => a.n.localeCompare(b.n));
  const first = found[0];
  if (first) {
    if (found.length > 1)
      ctx.logger.warn('sales-order.several-headers', { reference: order.id, count: found.length });
    await lease.save({ salesOrderNumber: first.n, dataAreaId: first.le });
    return { salesOrderNumber: first.n, dataAreaId: first.le, created: false };
  }
  // Renews the lease (and proves it is still ours) right before the one write that is not repeatable.
  await lease.save({ creating: 'header' });
  const created = await ctx.dynamics.create(
    SalesOrderHeadersV2,
    headerRecord(order, target, ctx.config),
    opts(ctx),
  );
  const salesOrderNumber = String(created.SalesOrderNumber);
  await lease.save({ salesOrderNumber, dataAreaId: target.dataAreaId });
  return { salesOrderNumber, dataAreaId: target.dataAreaId, created: true };
}

/** Step 3: creates the lines the order lacks; returns how many were created. */
async function ensureLines(
  ctx: EngineContext,
  order: SourceOrder,
  lease: Lease,
  header: { salesOrderNumber: string; dataAreaId: string; created: boolean },
  currency: string,
  products: ReadonlyMap<string, Readonly<Record<string, unknown>>>,
): Promise<number> {
  const idField = ctx.config.salesOrders.lineIdField;
  const existing: ExistingLine[] = [];
  if (!header.created) {
    for await (const line of ctx.dynamics.read(
      SalesOrderLines,
      {
        company: header.dataAreaId,
        filter: eq('SalesOrderNumber', header.salesOrderNumber),
        select: ['LineNumber', 'ItemNumber', idField as FieldOf<typeof SalesOrderLines>],
      },
      opts(ctx),
    )) {
      const id = line[idField];
      existing.push({
        salesforceId: typeof id === 'string' && id !== '' ? id : undefined,
        ItemNumber: line.ItemNumber,
        LineNumber: line.LineNumber,
      });
    }
  }
  const plan = planLines(order.lines, existing);
  if (plan.conflicts.length > 0) {
    throw new ParkedError(
      'LINES_CONFLICT',
      `sales order ${header.salesOrderNumber} (${header.dataAreaId}) was changed in Dynamics: ${plan.conflicts.join('; ')}`,
    );
  }
  let created = 0;
  for (const line of plan.missing) {
    const product = products.get(String(line.itemNumber).toUpperCase());
    await lease.save({ creating: `line ${line.id}` });
    const record = await ctx.dynamics.create(
      SalesOrderLines,
      lineRecord(line, { ...header, currency }, product, idField),
      opts(ctx),
    );
    created += 1;
    if (record[idField] !== line.id) {
      throw new ParkedError(
        'LINE_ID_NOT_KEPT',
        `SalesOrderLines.${idField} did not keep the Salesforce line id (sent ${line.id}, Dynamics holds ${JSON.stringify(record[idField] ?? null)}) on sales order ${header.salesOrderNumber} (${header.dataAreaId}); set salesOrders.lineIdField to a text field of at least 18 characters, check that order's lines, then replay`,
      );
    }
  }
  return created;
}

/**
 * Flows 3/4 for one Opportunity or Order (see the module doc). Returns skipped (not eligible,
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
  const flow = FLOW[ref.sobject];
  const startedAt = ctx.now();
  const info: AttemptInfo = { trigger, attempt: options.attempt, work: options.work };
  const key = recordKey('salesforce', ref.sobject, ref.id);
  const idemKey = `salesorder:${ref.sobject}:${ref.id}`;
  const owner = options.owner ?? newOwner();
  const skip = async (reason: string): Promise<SyncResult> => {
    await audit(ctx, { recordKey: key, flow, outcome: 'skipped', startedAt, info, error: reason });
    return { outcome: 'skipped', reason };
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
    if (order.writtenBack && (await ctx.state.getIdempotent(idemKey))?.status === 'completed') {
      return await skip(`already synced as sales order ${order.writtenBack}`);
    }
    const customer = await ensureCustomer(ctx, order, info, owner);
    const currency = resolveCurrency(
      customer.dataAreaId,
      order.currency ?? order.account.CurrencyIsoCode,
      config,
      ctx.reference,
    );
    const products = await resolveProducts(ctx, order, customer.dataAreaId);
    const claimed = await claim(ctx, idemKey, owner);
    if (claimed.completed)
      return await skip(`already synced as sales order ${String(claimed.record.data.salesOrderNumber)}`);
    const { lease } = claimed;
    try {
      const header = await ensureHeader(ctx, order, lease, { ...customer, currency });
      const linesCreated = await ensureLines(ctx, order, lease, header, currency, products);
      if (order.writtenBack !== header.salesOrderNumber) {
        await parkOnRefusal(`writing sales order ${header.salesOrderNumber} back to the ${ref.sobject}`, () =>
          ctx.salesforce.update(
            ref.sobject,
            ref.id,
            { [salesOrderField(ref.sobject, config)]: header.salesOrderNumber },
            opts(ctx),
          ),
        );
      }
      // Followed for its status and invoices (order-status.ts) before the record completes, so a crash cannot skip it.
      await trackCreatedOrder(ctx, {
        dataAreaId: header.dataAreaId,
        salesOrderNumber: header.salesOrderNumber,
        sobject: ref.sobject,
        salesforceId: ref.id,
      });
      await lease.complete({ salesOrderNumber: header.salesOrderNumber, dataAreaId: header.dataAreaId });
      const targetIds = { salesOrderNumber: header.salesOrderNumber, dataAreaId: header.dataAreaId };
      await audit(ctx, { recordKey: key, flow, outcome: 'succeeded', startedAt, info, targetIds });
      return { outcome: 'succeeded', ...targetIds, linesCreated };
    } finally {
      await lease.release();
    }
  } catch (error) {
    if (error instanceof ParkedError) {
      await audit(ctx, { recordKey: key, flow, outcome: 'parked', startedAt, info, error: error.message });
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
