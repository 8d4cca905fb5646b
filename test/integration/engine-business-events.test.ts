import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReceiverServer, startReceiverServer } from '#adapters/local/receiver-server.ts';
import type { IgnoredEvent } from '#core/triggers/business-events.ts';
import { type DynamicsStub, QUEUES } from '#core/work/items.ts';
import { createToSalesforceWorker } from '#core/workers/to-salesforce.ts';
import { type EngineHarness, harnessReceiver, startEngineHarness } from '#test/support/engine-harness.ts';

const SECRET = 'receiver-secret-4f9d0c7b2a7e4f5c9b1d';

describe('business events from the Dynamics sandbox through the local receiver', () => {
  let h: EngineHarness;
  let server: ReceiverServer;
  const outcomes: string[] = [];
  const ignored: IgnoredEvent[] = [];

  beforeAll(async () => {
    h = await startEngineHarness();
    const receive = harnessReceiver(h, { secret: SECRET, onIgnored: (event) => ignored.push(event) });
    server = await startReceiverServer({
      receive: async (request) => {
        const answer = await receive(request);
        outcomes.push(...(answer.body.results?.map((r) => r.outcome) ?? [answer.body.status]));
        return answer;
      },
      maxBodyBytes: h.config.businessEvents.maxBodyBytes,
    });
  });
  afterAll(async () => {
    await server?.close();
    await h?.close();
  });

  async function stubs(): Promise<DynamicsStub[]> {
    const out: DynamicsStub[] = [];
    for (;;) {
      const got = await h.queue.receive<DynamicsStub>(QUEUES.toSalesforce);
      if (got.length === 0) return out;
      out.push(...got.map((m) => m.body));
      await h.queue.ack(
        QUEUES.toSalesforce,
        got.map((m) => m.receiptHandle),
      );
    }
  }

  it('enqueues one stub per change although F&O delivers duplicates out of order', async () => {
    h.sandboxes.dynamics.control.configureBusinessEvents({
      url: `${server.url}?code=${SECRET}`,
      duplicateProbability: 0.5,
      reorderWindow: 4,
      retryDelayMs: 50,
      seed: 7,
    });
    const accounts = ['US-000001', 'US-000002', 'US-000003', 'US-000004', 'US-000005', 'US-000006'];
    for (const account of accounts) {
      h.sandboxes.dynamics.control.updateRecord(
        'CustomersV3',
        { dataAreaId: 'usmf', CustomerAccount: account },
        { PrimaryContactPhone: '+1 555 0100' },
      );
    }
    await h.sandboxes.dynamics.control.flushBusinessEvents();
    const got = await stubs();
    expect(got.map((s) => s.key.CustomerAccount).sort()).toEqual(accounts);
    expect(got.every((s) => s.entity === 'CustomersV3' && s.key.dataAreaId === 'usmf')).toBe(true);
    // The seeded plan made F&O deliver some events twice; the receiver dropped those as duplicates.
    expect(outcomes.filter((o) => o === 'enqueued')).toHaveLength(accounts.length);
    expect(outcomes.filter((o) => o === 'duplicate').length).toBeGreaterThan(0);
  });

  /** Hands every queued stub to the to-Salesforce worker, as the runner's pump does. */
  async function work(): Promise<number> {
    const worker = createToSalesforceWorker(h.ctx);
    let handled = 0;
    for (;;) {
      const messages = await h.queue.receive<DynamicsStub>(QUEUES.toSalesforce, { max: 10 });
      if (messages.length === 0) return handled;
      const outcome = await worker.handle(messages);
      expect(outcome.retry).toEqual([]);
      expect(outcome.deadLetter).toEqual([]);
      await h.queue.ack(QUEUES.toSalesforce, outcome.done);
      handled += outcome.done.length;
    }
  }

  const accountPhone = (key: string) =>
    h.sandboxes.salesforce.control.query(`SELECT Phone FROM Account WHERE D365_Customer_Key__c = '${key}'`)
      .records[0]?.Phone;

  it('carries a customer change in the plain envelope, secret in the URL only, to its Account in Salesforce', async () => {
    await stubs();
    h.sandboxes.dynamics.control.configureBusinessEvents({
      url: `${server.url}?code=${SECRET}`,
      retryDelayMs: 50,
    });
    h.sandboxes.dynamics.control.updateRecord(
      'CustomersV3',
      { dataAreaId: 'usmf', CustomerAccount: 'US-000007' },
      { PrimaryContactPhone: '+1 555 0107' },
    );
    await h.sandboxes.dynamics.control.flushBusinessEvents();
    expect(await work()).toBe(1);
    expect(accountPhone('usmf:US-000007')).toBe('+1 555 0107');
    expect(h.sandboxes.dynamics.control.businessEventErrors()).toEqual([]);
  });

  it('carries data events in the Dataverse RemoteExecutionContext shape to Salesforce, and ignores unmapped ones with a 2xx', async () => {
    await stubs();
    ignored.length = 0;
    h.sandboxes.dynamics.control.configureBusinessEvents({
      url: `${server.url}?code=${SECRET}`,
      shape: 'data-event',
      retryDelayMs: 50,
    });
    h.sandboxes.dynamics.control.updateRecord(
      'CustomersV3',
      { dataAreaId: 'demf', CustomerAccount: 'DE-000002' },
      { PrimaryContactPhone: '+49 30 0102' },
    );
    h.sandboxes.dynamics.control.updateRecord(
      'ReleasedProductsV2',
      { dataAreaId: 'usmf', ItemNumber: 'P000003' },
      { SalesPrice: 123.45 },
    );
    const [order] = h.sandboxes.dynamics.control.listRecords('SalesOrderHeadersV2', {
      company: 'usmf',
      top: 1,
    });
    h.sandboxes.dynamics.control.updateRecord(
      'SalesOrderHeadersV2',
      { dataAreaId: 'usmf', SalesOrderNumber: String(order?.SalesOrderNumber) },
      { CustomersOrderReference: 'PO-DATA-EVENT' },
    );
    const productQuery = "SELECT Id FROM Product2 WHERE D365_Item_Key__c = 'usmf:P000003'";
    expect(h.sandboxes.salesforce.control.query(productQuery).totalSize).toBe(0);
    await h.sandboxes.dynamics.control.flushBusinessEvents();

    // The customer and the product reach the worker; the sales order's data event has no mapping.
    expect(await work()).toBe(2);
    expect(accountPhone('demf:DE-000002')).toBe('+49 30 0102');
    expect(h.sandboxes.salesforce.control.query(productQuery).totalSize).toBe(1);
    expect(ignored).toEqual([
      {
        shape: 'remote-execution-context',
        reason: 'no data event mapping for mserp_salesorderheaderv2entity',
      },
    ]);
    const notes = await h.state.queryAudit({ outcome: 'ignored' });
    expect(notes.map((n) => n.error)).toContain('no data event mapping for mserp_salesorderheaderv2entity');
    // Answered 2xx, so F&O neither retried nor parked anything.
    expect(h.sandboxes.dynamics.control.businessEventErrors()).toEqual([]);
  });

  it('refuses events sent with a wrong secret, so F&O parks them, and enqueues nothing', async () => {
    h.sandboxes.dynamics.control.configureBusinessEvents({
      url: `${server.url}?code=wrong`,
      retries: 1,
      retryDelayMs: 20,
    });
    h.sandboxes.dynamics.control.updateRecord(
      'CustomersV3',
      { dataAreaId: 'demf', CustomerAccount: 'DE-000001' },
      { PrimaryContactPhone: '+49 30 0000' },
    );
    await h.sandboxes.dynamics.control.flushBusinessEvents();
    expect(await stubs()).toEqual([]);
    expect(h.sandboxes.dynamics.control.businessEventErrors().length).toBeGreaterThan(0);
  });
});
