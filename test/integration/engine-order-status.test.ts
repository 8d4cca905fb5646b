import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReceiverServer, startReceiverServer } from '#adapters/local/receiver-server.ts';
import { replayAuditEntry } from '#core/engine/replay.ts';
import { syncSalesOrder } from '#core/flows/sales-orders.ts';
import { trackedOrderKey } from '#core/ports/state-store.ts';
import type { ReceivedMessage } from '#core/ports/work-queue.ts';
import { runOrderStatusPoll } from '#core/triggers/order-status-poll.ts';
import { QUEUES } from '#core/work/items.ts';
import { createToSalesforceWorker } from '#core/workers/to-salesforce.ts';
import { type EngineHarness, harnessReceiver, startEngineHarness } from '#test/support/engine-harness.ts';
import {
  createSalesforceProducts,
  createSyncedAccount,
  createWonOpportunity,
} from './engine-to-dynamics-fixtures.ts';

const SECRET = 'receiver-secret-0c1d2e3f4a5b6c7d8e9f';
const ITEMS = ['P000001', 'P000002'];
const STATUS_FIELDS =
  'D365_Order_Status__c, D365_Invoice_Number__c, D365_Invoice_Date__c, D365_Invoiced_Amount__c';

describe('sales order status and invoices back to Salesforce, against both sandboxes', () => {
  let h: EngineHarness;
  let server: ReceiverServer;

  beforeAll(async () => {
    h = await startEngineHarness();
    createSalesforceProducts(h, ITEMS);
    const receive = harnessReceiver(h, { secret: SECRET });
    server = await startReceiverServer({ receive, maxBodyBytes: h.config.businessEvents.maxBodyBytes });
  });
  afterAll(async () => {
    await server?.close();
    await h?.close();
  });

  /** A won Opportunity turned into a sales order by the connector; returns both keys. */
  async function orderFromOpportunity(customer: string) {
    const oppId = createWonOpportunity(h, createSyncedAccount(h, 'usmf', customer), ITEMS);
    const result = await syncSalesOrder(h.ctx, { sobject: 'Opportunity', id: oppId }, 'cdc');
    if (result.outcome !== 'succeeded') throw new Error(`no sales order: ${JSON.stringify(result)}`);
    return { oppId, salesOrderNumber: result.salesOrderNumber };
  }

  const opportunity = (id: string) =>
    h.sandboxes.salesforce.control.query(`SELECT Id, ${STATUS_FIELDS} FROM Opportunity WHERE Id = '${id}'`)
      .records[0] as Record<string, unknown>;

  /** Hands every queued to-Salesforce item to the worker, as the runner's pump does. */
  async function work(): Promise<number> {
    const worker = createToSalesforceWorker(h.ctx);
    let handled = 0;
    for (;;) {
      const got = await h.queue.receive<unknown>(QUEUES.toSalesforce, { max: 10 });
      if (got.length === 0) return handled;
      const outcome = await worker.handle(got as ReceivedMessage<unknown>[]);
      await h.queue.ack(QUEUES.toSalesforce, [...outcome.done]);
      expect(outcome.retry).toEqual([]);
      expect(outcome.deadLetter).toEqual([]);
      handled += got.length;
    }
  }

  it('writes the invoice an F&O invoice posting raises onto the Opportunity, then stops following the order', async () => {
    const { oppId, salesOrderNumber } = await orderFromOpportunity('US-000011');
    const key = trackedOrderKey('usmf', salesOrderNumber);
    expect((await h.state.getTrackedOrders([key])).get(key)).toMatchObject({
      sobject: 'Opportunity',
      salesforceId: oppId,
    });

    const dynamics = h.sandboxes.dynamics.control;
    dynamics.configureBusinessEvents({ url: `${server.url}?code=${SECRET}`, retryDelayMs: 50 });
    const posted = dynamics.advanceSalesOrder('usmf', salesOrderNumber, 'invoice');
    await dynamics.flushBusinessEvents();
    dynamics.configureBusinessEvents(undefined);
    expect(await work()).toBe(1);

    const [invoice] = dynamics.listRecords('SalesInvoiceHeadersV2', {
      filter: `SalesOrderNumber eq '${salesOrderNumber}'`,
    });
    expect(invoice?.InvoiceNumber).toBe(posted.documentNumber);
    expect(
      dynamics.listRecords('SalesInvoiceLines', { filter: `InvoiceNumber eq '${posted.documentNumber}'` }),
    ).toHaveLength(ITEMS.length);
    expect(opportunity(oppId)).toMatchObject({
      D365_Order_Status__c: 'Invoiced',
      D365_Invoice_Number__c: posted.documentNumber,
      D365_Invoice_Date__c: String(invoice?.InvoiceDate).slice(0, 10),
      D365_Invoiced_Amount__c: invoice?.TotalInvoiceAmount,
    });
    // Invoiced is final: the order is no longer followed.
    expect((await h.state.getTrackedOrders([key])).size).toBe(0);
  });

  it('backfills the status of followed orders by polling, and a second poll writes nothing', async () => {
    const open = await orderFromOpportunity('US-000012');
    const delivered = await orderFromOpportunity('US-000013');
    h.sandboxes.dynamics.control.advanceSalesOrder('usmf', delivered.salesOrderNumber, 'deliver');

    const first = await runOrderStatusPoll(h.ctx);
    expect(first.outcomes.updated).toBe(2);
    expect(opportunity(open.oppId)).toMatchObject({
      D365_Order_Status__c: 'Open',
      D365_Invoice_Number__c: null,
    });
    expect(opportunity(delivered.oppId)).toMatchObject({ D365_Order_Status__c: 'Delivered' });

    const before = h.sandboxes.salesforce.control.counters();
    const second = await runOrderStatusPoll(h.ctx);
    expect(second).toMatchObject({ orders: 2, untracked: 0 });
    expect(second.outcomes).toMatchObject({ updated: 0, unchanged: 2 });
    // Nothing was sent to Salesforce: re-applying the same status changes nothing.
    expect(h.sandboxes.salesforce.control.counters()).toEqual(before);
  });

  it('stops following a cancelled order, and F&O refuses to cancel a delivered one', async () => {
    const { oppId, salesOrderNumber } = await orderFromOpportunity('US-000014');
    const dynamics = h.sandboxes.dynamics.control;
    dynamics.advanceSalesOrder('usmf', salesOrderNumber, 'cancel');
    const report = await runOrderStatusPoll(h.ctx);
    expect(report.untracked).toBeGreaterThanOrEqual(1);
    expect(opportunity(oppId)).toMatchObject({ D365_Order_Status__c: 'Cancelled' });
    expect((await h.state.getTrackedOrders([trackedOrderKey('usmf', salesOrderNumber)])).size).toBe(0);

    const other = await orderFromOpportunity('US-000015');
    dynamics.advanceSalesOrder('usmf', other.salesOrderNumber, 'deliver');
    let refusal: unknown;
    try {
      dynamics.advanceSalesOrder('usmf', other.salesOrderNumber, 'cancel');
    } catch (error) {
      refusal = error;
    }
    // F&O's write error: the Infolog in innererror.
    expect(JSON.stringify((refusal as { body?: unknown } | undefined)?.body)).toMatch(
      /only an order with nothing delivered or invoiced can be cancelled/,
    );
    expect(
      dynamics.getRecord('SalesOrderHeadersV2', {
        dataAreaId: 'usmf',
        SalesOrderNumber: other.salesOrderNumber,
      })?.SalesOrderStatus,
    ).toBe('Delivered');
  });

  it('defers the write while Salesforce is unavailable, and the next poll makes it', async () => {
    const { oppId, salesOrderNumber } = await orderFromOpportunity('US-000016');
    h.sandboxes.dynamics.control.advanceSalesOrder('usmf', salesOrderNumber, 'deliver');
    h.sandboxes.salesforce.control.setFaultPlan({
      rules: [{ kind: 'error', match: 'rest.composite', status: 503, count: 50 }],
    });
    try {
      const failed = await runOrderStatusPoll(h.ctx);
      expect(failed.outcomes.deferred).toBeGreaterThanOrEqual(1);
      expect(opportunity(oppId).D365_Order_Status__c).toBeNull();
    } finally {
      h.sandboxes.salesforce.control.setFaultPlan({ rules: [] });
    }
    await runOrderStatusPoll(h.ctx);
    expect(opportunity(oppId).D365_Order_Status__c).toBe('Delivered');
  });

  it('parks a write Salesforce refuses with a replayable item, and keeps following the order', async () => {
    const { oppId, salesOrderNumber } = await orderFromOpportunity('US-000017');
    h.sandboxes.salesforce.control.delete('Opportunity', oppId);
    const report = await runOrderStatusPoll(h.ctx);
    expect(report.outcomes.parked).toBe(1);
    const recordKey = `dynamics:SalesOrderHeadersV2:usmf:${salesOrderNumber}`;
    const [parked] = await h.state.queryAudit({ recordKey, outcome: 'parked' });
    expect(parked?.error).toMatch(/Salesforce refused the Opportunity update: ENTITY_IS_DELETED/);
    expect((await h.state.getTrackedOrders([trackedOrderKey('usmf', salesOrderNumber)])).size).toBe(1);

    const item = await replayAuditEntry(h.ctx, String(parked?.auditId));
    expect(item).toMatchObject({
      kind: 'order-status',
      dataAreaId: 'usmf',
      salesOrderNumber,
      trigger: 'replay',
    });
    await h.state.untrackOrder(trackedOrderKey('usmf', salesOrderNumber));
    expect(await work()).toBe(1);
  });

  it('dead-letters an order-status item without a valid key', async () => {
    const worker = createToSalesforceWorker(h.ctx);
    const outcome = await worker.handle([
      {
        messageId: 'm-bad',
        receiptHandle: 'r-bad',
        receiveCount: 1,
        sentAt: Date.now(),
        body: { kind: 'order-status', dataAreaId: 'not a company', salesOrderNumber: 'SO-1' },
      },
    ]);
    expect(outcome.deadLetter).toEqual([
      { receiptHandle: 'r-bad', reason: 'an order-status stub needs dataAreaId and salesOrderNumber' },
    ]);
  });

  it('ignores an invoice event for a sales order the connector did not create', async () => {
    const dynamics = h.sandboxes.dynamics.control;
    const [seeded] = dynamics.listRecords('SalesOrderHeadersV2', {
      company: 'usmf',
      filter:
        "SalesOrderStatus eq Microsoft.Dynamics.DataEntities.SalesStatus'Backorder' and CustomersOrderReference eq ''",
      top: 1,
    });
    dynamics.configureBusinessEvents({ url: `${server.url}?code=${SECRET}`, retryDelayMs: 50 });
    dynamics.advanceSalesOrder('usmf', String(seeded?.SalesOrderNumber), 'invoice');
    await dynamics.flushBusinessEvents();
    dynamics.configureBusinessEvents(undefined);
    expect(await work()).toBe(1);
    const [note] = await h.state.queryAudit({
      recordKey: `dynamics:SalesOrderHeadersV2:usmf:${String(seeded?.SalesOrderNumber)}`,
    });
    expect(note).toMatchObject({ flow: 'order-status', outcome: 'ignored' });
  });
});
