import { describe, expect, it } from 'vitest';
import { syncSalesOrder } from '#core/flows/sales-orders.ts';
import { createToDynamicsWorker } from '#core/workers/to-dynamics.ts';
import type { EngineHarness } from '#test/support/engine-harness.ts';
import { createSalesforceProducts, useSalesOrderEngine } from '#test/support/sales-order-fixture.ts';
import {
  crashingContext,
  createSyncedAccount,
  createWonOpportunity,
  delivery,
  dynamicsOrdersFor,
} from './engine-to-dynamics-fixtures.ts';

const ITEMS = ['P000001', 'P000002', 'P000003', 'P000004', 'P000005'];

/** OData calls the connector made since the last reset (HTTP attempts by operation; tokens excluded). */
function odataCalls(h: EngineHarness): number {
  const { byOperation } = h.clients.dynamics.counter.snapshot();
  return Object.entries(byOperation)
    .filter(([k]) => k.startsWith('odata.'))
    .reduce((sum, [, v]) => sum + v, 0);
}

/** Starts counting calls on both sides. */
function resetCounters(h: EngineHarness): void {
  h.clients.dynamics.counter.reset();
  h.sandboxes.dynamics.control.resetCounters();
}

function pricebookEntryOf(h: EngineHarness, item: string): string {
  const sf = h.sandboxes.salesforce.control;
  const [product] = sf.query(`SELECT Id FROM Product2 WHERE ProductCode = '${item}'`).records;
  const [entry] = sf.query(
    `SELECT Id FROM PricebookEntry WHERE Product2Id = '${String(product?.Id)}'`,
  ).records;
  return String(entry?.Id);
}

function linesOf(h: EngineHarness, sourceId: string) {
  const [order] = dynamicsOrdersFor(h, sourceId);
  return (order?.lines ?? []).map((l) => [l.ItemNumber, l.OrderedSalesQuantity, l.OrderLineReference]);
}

describe('sales order lines in one change set, and changes after the order exists', () => {
  let h: EngineHarness;
  useSalesOrderEngine(ITEMS, (started) => {
    h = started;
  });

  it.each([5, 50])(
    'writes a %i-line order in at most 4 OData calls, its lines in one change set',
    async (n) => {
      // As many different products as lines: at 50 their read takes several URL-length chunks.
      const items = Array.from({ length: n }, (_, i) => `P${String(i + 1).padStart(6, '0')}`);
      createSalesforceProducts(h, items);
      const accountId = createSyncedAccount(h, 'usmf', 'US-000020');
      const oppId = createWonOpportunity(h, accountId, items);
      resetCounters(h);

      const result = await syncSalesOrder(h.ctx, { sobject: 'Opportunity', id: oppId }, 'cdc');
      expect(result).toMatchObject({ outcome: 'succeeded', linesCreated: n });
      expect(odataCalls(h)).toBeLessThanOrEqual(4);
      // The lines' change set, plus at 50 lines the products' chunked read as one `$batch` of GETs.
      expect(h.sandboxes.dynamics.control.counters()['odata.batch']).toBe(n > 5 ? 2 : 1);
      expect(h.sandboxes.dynamics.control.counters()['odata.create:SalesOrderLines']).toBe(n);
      const [order] = dynamicsOrdersFor(h, oppId);
      expect(order?.lines).toHaveLength(n);
      expect(new Set(order?.lines.map((l) => l.OrderLineReference)).size).toBe(n);
    },
  );

  it('writes no line when the change set fails, and the retry writes them all once', async () => {
    const accountId = createSyncedAccount(h, 'usmf', 'US-000021');
    const oppId = createWonOpportunity(h, accountId, ITEMS.slice(0, 3));
    // A 503 on the change set: not retried by the HTTP layer (the write may not be repeated blindly).
    h.sandboxes.dynamics.control.setFaultPlan({
      rules: [{ kind: 'error', match: 'odata.batch', status: 503, count: 1 }],
    });
    const worker = createToDynamicsWorker(h.ctx);
    expect(await worker.handle(delivery('Opportunity', oppId))).toBe('retry');
    expect(dynamicsOrdersFor(h, oppId)[0]?.lines).toHaveLength(0);
    expect(await worker.handle(delivery('Opportunity', oppId, 2))).toBe('done');
    expect(dynamicsOrdersFor(h, oppId)[0]?.lines).toHaveLength(3);
  });

  it('adds, changes and removes lines of an open order when the Opportunity changes, exactly once', async () => {
    const sf = h.sandboxes.salesforce.control;
    const accountId = createSyncedAccount(h, 'usmf', 'US-000022');
    const { id: oppId, lineIds } = sf.createOpportunity({
      accountId,
      name: 'Deal that changes',
      lines: [
        { productCode: 'P000001', quantity: 1 },
        { productCode: 'P000002', quantity: 2 },
        { productCode: 'P000003', quantity: 3 },
      ],
    });
    sf.closeOpportunityWon(oppId);
    const worker = createToDynamicsWorker(h.ctx);
    expect(await worker.handle(delivery('Opportunity', oppId))).toBe('done');

    // An unchanged Opportunity is skipped as already synced: no OData write.
    resetCounters(h);
    expect(await syncSalesOrder(h.ctx, { sobject: 'Opportunity', id: oppId }, 'cdc')).toMatchObject({
      outcome: 'skipped',
      reason: expect.stringMatching(/already synced/),
    });
    expect(odataCalls(h)).toBe(0);

    // The rep edits the won deal: one quantity changes, one line goes, one product is added.
    const [first, second, third] = lineIds as [string, string, string];
    sf.update('OpportunityLineItem', first, { Quantity: 10 });
    sf.delete('OpportunityLineItem', third);
    const added = sf.insert('OpportunityLineItem', {
      OpportunityId: oppId,
      PricebookEntryId: pricebookEntryOf(h, 'P000004'),
      Quantity: 4,
      UnitPrice: 100,
    });
    resetCounters(h);
    const changed = await syncSalesOrder(h.ctx, { sobject: 'Opportunity', id: oppId }, 'cdc');
    expect(changed).toMatchObject({
      outcome: 'succeeded',
      linesCreated: 1,
      linesUpdated: 1,
      linesRemoved: 1,
    });
    expect(odataCalls(h)).toBeLessThanOrEqual(4);
    expect(linesOf(h, oppId)).toEqual([
      ['P000001', 10, first],
      ['P000002', 2, second],
      ['P000004', 4, added],
    ]);
    expect(dynamicsOrdersFor(h, oppId)).toHaveLength(1);

    // Delivered again (CDC and the poll): nothing more is written.
    resetCounters(h);
    expect(await worker.handle(delivery('Opportunity', oppId, 2))).toBe('done');
    expect(h.sandboxes.dynamics.control.counters()['odata.batch'] ?? 0).toBe(0);
    expect(linesOf(h, oppId)).toHaveLength(3);
  });

  it('follows an activated Order taken back to Draft, edited and activated again', async () => {
    const sf = h.sandboxes.salesforce.control;
    const accountId = createSyncedAccount(h, 'usmf', 'US-000025');
    const { id, lineIds } = sf.createOrder({
      accountId,
      lines: [
        { productCode: 'P000001', quantity: 1 },
        { productCode: 'P000002', quantity: 1 },
      ],
    });
    sf.activateOrder(id);
    expect(await syncSalesOrder(h.ctx, { sobject: 'Order', id }, 'cdc')).toMatchObject({ linesCreated: 2 });

    // Salesforce lets products change only on a Draft order: back to Draft, edit, activate again.
    sf.update('Order', id, { Status: 'Draft' });
    sf.update('OrderItem', lineIds[0] as string, { Quantity: 3 });
    sf.delete('OrderItem', lineIds[1] as string);
    sf.activateOrder(id);
    expect(await syncSalesOrder(h.ctx, { sobject: 'Order', id }, 'cdc')).toMatchObject({
      outcome: 'succeeded',
      linesCreated: 0,
      linesUpdated: 1,
      linesRemoved: 1,
    });
    expect(linesOf(h, id)).toEqual([['P000001', 3, lineIds[0]]]);
  });

  it('converges without a duplicate line when the worker dies right after the change set', async () => {
    const sf = h.sandboxes.salesforce.control;
    const accountId = createSyncedAccount(h, 'usmf', 'US-000023');
    const { id: oppId } = sf.createOpportunity({
      accountId,
      name: 'Deal that changes under a crash',
      lines: [{ productCode: 'P000001', quantity: 1 }],
    });
    sf.closeOpportunityWon(oppId);
    expect(await createToDynamicsWorker(h.ctx).handle(delivery('Opportunity', oppId))).toBe('done');
    const added = sf.insert('OpportunityLineItem', {
      OpportunityId: oppId,
      PricebookEntryId: pricebookEntryOf(h, 'P000002'),
      Quantity: 2,
      UnitPrice: 100,
    });
    const crashing = crashingContext(h.ctx, { at: 1, when: 'after' });
    expect(await createToDynamicsWorker(crashing.ctx).handle(delivery('Opportunity', oppId, 2))).toBe(
      'retry',
    );
    expect(crashing.writes).toEqual(['dynamics.changeSet']);
    expect(await createToDynamicsWorker(h.ctx).handle(delivery('Opportunity', oppId, 3))).toBe('done');
    expect(linesOf(h, oppId).map((l) => l[2])).toEqual([expect.any(String), added]);
  });

  it('parks a change to a delivered order with the reason, and writes nothing to it', async () => {
    const sf = h.sandboxes.salesforce.control;
    const accountId = createSyncedAccount(h, 'usmf', 'US-000024');
    const { id: oppId, lineIds } = sf.createOpportunity({
      accountId,
      name: 'Deal already delivered',
      lines: [{ productCode: 'P000001', quantity: 1 }],
    });
    sf.closeOpportunityWon(oppId);
    expect(await createToDynamicsWorker(h.ctx).handle(delivery('Opportunity', oppId))).toBe('done');
    const [order] = dynamicsOrdersFor(h, oppId);
    h.sandboxes.dynamics.control.updateRecord(
      'SalesOrderHeadersV2',
      { dataAreaId: 'usmf', SalesOrderNumber: String(order?.header.SalesOrderNumber) },
      { SalesOrderStatus: 'Delivered' },
    );
    sf.update('OpportunityLineItem', lineIds[0] as string, { Quantity: 5 });

    const result = await syncSalesOrder(h.ctx, { sobject: 'Opportunity', id: oppId }, 'cdc');
    expect(result).toMatchObject({ outcome: 'parked' });
    expect(result.outcome === 'parked' && result.reason).toMatch(
      /is Delivered in Dynamics and can no longer take line changes \(adds 0, changes 1, removes 0/,
    );
    expect(linesOf(h, oppId)).toEqual([['P000001', 1, lineIds[0]]]);
    const parked = await h.state.queryAudit({
      recordKey: `salesforce:Opportunity:${oppId}`,
      outcome: 'parked',
    });
    expect(parked.map((e) => e.error)).toEqual([expect.stringMatching(/Delivered/)]);
  });
});
