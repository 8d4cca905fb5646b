import { describe, expect, it } from 'vitest';
import type { ConnectorConfig } from '#core/config/schema.ts';
import type { EngineContext } from '#core/engine/context.ts';
import { syncSalesOrder } from '#core/flows/sales-orders.ts';
import { createToDynamicsWorker } from '#core/workers/to-dynamics.ts';
import type { EngineHarness } from '#test/support/engine-harness.ts';
import { useSalesOrderEngine } from '#test/support/sales-order-fixture.ts';
import {
  createSyncedAccount,
  createWonOpportunity,
  delivery,
  dynamicsOrdersFor,
} from './engine-to-dynamics-fixtures.ts';

const ITEMS = ['P000001', 'P000002'];

describe('one sales order per deal when Orders are created from Opportunities', () => {
  let h: EngineHarness;
  useSalesOrderEngine(ITEMS, (started) => {
    h = started;
  });

  const withPrecedence = (
    dealPrecedence: ConnectorConfig['salesOrders']['dealPrecedence'],
  ): EngineContext => ({
    ...h.ctx,
    config: { ...h.config, salesOrders: { ...h.config.salesOrders, dealPrecedence } },
  });

  /** An Order created from the Opportunity (Order.OpportunityId), with the same products, activated. */
  function orderFromOpportunity(accountId: string, oppId: string, activate = true): string {
    const sf = h.sandboxes.salesforce.control;
    const { id } = sf.createOrder({
      accountId,
      opportunityId: oppId,
      lines: ITEMS.map((productCode) => ({ productCode, quantity: 1 })),
    });
    if (activate) sf.activateOrder(id);
    return id;
  }

  /**
   * An open Opportunity `name` of ITEMS (`quantity` each) for a new usmf account `account`, and an
   * activated Order made from it.
   */
  function openOpportunityWithOrder(account: string, name: string, quantity: number) {
    const accountId = createSyncedAccount(h, 'usmf', account);
    const { id: oppId } = h.sandboxes.salesforce.control.createOpportunity({
      accountId,
      name,
      lines: ITEMS.map((productCode) => ({ productCode, quantity })),
    });
    return { oppId, orderId: orderFromOpportunity(accountId, oppId) };
  }

  /** Every Dynamics sales order of the deal, whichever object's id it carries. */
  const dealOrders = (...ids: string[]) => ids.flatMap((id) => dynamicsOrdersFor(h, id));

  it('links an Order made from an already synced Opportunity to its sales order instead of making a second', async () => {
    const sf = h.sandboxes.salesforce.control;
    const accountId = createSyncedAccount(h, 'usmf', 'US-000030');
    const oppId = createWonOpportunity(h, accountId, ITEMS);
    expect(await syncSalesOrder(h.ctx, { sobject: 'Opportunity', id: oppId }, 'cdc')).toMatchObject({
      outcome: 'succeeded',
      linesCreated: 2,
    });
    const orderId = orderFromOpportunity(accountId, oppId);
    expect(sf.get('Order', orderId)?.OpportunityId).toBe(oppId);

    const linked = await syncSalesOrder(h.ctx, { sobject: 'Order', id: orderId }, 'cdc');
    expect(linked).toMatchObject({ outcome: 'succeeded', linked: true, linesCreated: 0 });
    const orders = dealOrders(oppId, orderId);
    expect(orders).toHaveLength(1);
    expect(orders[0]?.lines).toHaveLength(2);
    const number = orders[0]?.header.SalesOrderNumber;
    expect(sf.get('Order', orderId)?.D365_Sales_Order__c).toBe(number);
    expect(sf.get('Opportunity', oppId)?.D365_Sales_Order__c).toBe(number);
  });

  it('links the Opportunity to the sales order its activated Order made first', async () => {
    const sf = h.sandboxes.salesforce.control;
    const { oppId, orderId } = openOpportunityWithOrder('US-000031', 'Order first', 2);
    expect(await syncSalesOrder(h.ctx, { sobject: 'Order', id: orderId }, 'cdc')).toMatchObject({
      outcome: 'succeeded',
      linesCreated: 2,
    });
    sf.closeOpportunityWon(oppId);

    expect(await syncSalesOrder(h.ctx, { sobject: 'Opportunity', id: oppId }, 'cdc')).toMatchObject({
      outcome: 'succeeded',
      linked: true,
    });
    const orders = dealOrders(oppId, orderId);
    expect(orders).toHaveLength(1);
    expect(orders[0]?.header.CustomersOrderReference).toBe(orderId);
    expect(sf.get('Opportunity', oppId)?.D365_Sales_Order__c).toBe(orders[0]?.header.SalesOrderNumber);
  });

  it('makes one sales order when the Opportunity and its Order are processed at once by two workers', async () => {
    const accountId = createSyncedAccount(h, 'usmf', 'US-000032');
    const oppId = createWonOpportunity(h, accountId, ITEMS);
    const orderId = orderFromOpportunity(accountId, oppId);
    const a = createToDynamicsWorker(h.ctx);
    const b = createToDynamicsWorker(h.ctx);
    const outcomes = await Promise.all([
      a.handle(delivery('Opportunity', oppId)),
      b.handle(delivery('Order', orderId)),
    ]);
    // The loser of the deal's lease is told to come back; its retry links to the order.
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome === 'done') continue;
      expect(outcome).toEqual({ retryAfterSeconds: expect.any(Number) });
      const stub = i === 0 ? delivery('Opportunity', oppId, 2) : delivery('Order', orderId, 2);
      expect(await createToDynamicsWorker(h.ctx).handle(stub)).toBe('done');
    }
    const orders = dealOrders(oppId, orderId);
    expect(orders).toHaveLength(1);
    expect(orders[0]?.lines).toHaveLength(2);
  });

  it('keeps an Order of an Opportunity from making a sales order under precedence opportunity, then links it', async () => {
    const sf = h.sandboxes.salesforce.control;
    const ctx = withPrecedence('opportunity');
    const { oppId, orderId } = openOpportunityWithOrder('US-000033', 'Opportunity wins', 3);

    const waiting = await syncSalesOrder(ctx, { sobject: 'Order', id: orderId }, 'cdc');
    expect(waiting).toMatchObject({ outcome: 'skipped' });
    expect(waiting.outcome === 'skipped' && waiting.reason).toMatch(
      new RegExp(`dealPrecedence is opportunity: its Opportunity ${oppId}`),
    );
    expect(dealOrders(oppId, orderId)).toHaveLength(0);

    sf.closeOpportunityWon(oppId);
    expect(await syncSalesOrder(ctx, { sobject: 'Opportunity', id: oppId }, 'cdc')).toMatchObject({
      outcome: 'succeeded',
      linesCreated: 2,
    });
    // The new sales order's number reaches the deal's Order at once.
    const number = sf.get('Opportunity', oppId)?.D365_Sales_Order__c;
    expect(number).toEqual(expect.any(String));
    expect(sf.get('Order', orderId)?.D365_Sales_Order__c).toBe(number);
    expect(await syncSalesOrder(ctx, { sobject: 'Order', id: orderId }, 'replay')).toMatchObject({
      outcome: 'succeeded',
      linked: true,
    });
    const orders = dealOrders(oppId, orderId);
    expect(orders).toHaveLength(1);
    expect(orders[0]?.header.CustomersOrderReference).toBe(oppId);
  });

  it('keeps an Opportunity that has Orders from making a sales order under precedence order', async () => {
    const sf = h.sandboxes.salesforce.control;
    const ctx = withPrecedence('order');
    const accountId = createSyncedAccount(h, 'usmf', 'US-000034');
    const oppId = createWonOpportunity(h, accountId, ITEMS);
    const orderId = orderFromOpportunity(accountId, oppId, false);

    const waiting = await syncSalesOrder(ctx, { sobject: 'Opportunity', id: oppId }, 'cdc');
    expect(waiting.outcome === 'skipped' && waiting.reason).toMatch(
      new RegExp(`dealPrecedence is order: its Order\\(s\\) ${orderId}`),
    );
    expect(dealOrders(oppId, orderId)).toHaveLength(0);

    sf.activateOrder(orderId);
    expect(await syncSalesOrder(ctx, { sobject: 'Order', id: orderId }, 'cdc')).toMatchObject({
      outcome: 'succeeded',
      linesCreated: 2,
    });
    expect(await syncSalesOrder(ctx, { sobject: 'Opportunity', id: oppId }, 'replay')).toMatchObject({
      outcome: 'succeeded',
      linked: true,
    });
    expect(dealOrders(oppId, orderId)).toHaveLength(1);
  });
});
