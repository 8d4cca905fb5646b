import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeBackAccount } from '#core/flows/account-write-back.ts';
import { syncSalesOrder } from '#core/flows/sales-orders.ts';
import { createReplayGapHandler } from '#core/triggers/cdc.ts';
import { runSalesforceBackfill, watermarkName } from '#core/triggers/salesforce-backfill.ts';
import { QUEUES, type SalesforceStub } from '#core/work/items.ts';
import { createToDynamicsWorker } from '#core/workers/to-dynamics.ts';
import { ReplayGapError } from '#salesforce/pubsub/errors.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';
import {
  createSalesforceProducts,
  createSyncedAccount,
  createWonOpportunity,
  delivery,
  dynamicsCustomersNamed,
  dynamicsOrdersFor,
} from './engine-to-dynamics-fixtures.ts';

const ITEMS = ['P000001', 'P000002', 'P000003'];

/** The CustomerAccount F&O's number sequence gives the next customer of `company`. */
function nextCustomerAccount(h: EngineHarness, company: string): string {
  const seq = h.sandboxes.dynamics.control
    .numberSequences()
    .find((q) => q.kind === 'customerAccounts' && q.company === company);
  return `${company.slice(0, 2).toUpperCase()}-${String(seq?.next).padStart(6, '0')}`;
}

/** The engine context with `accountWriteBack.customerAccountPrefix: SF-` (the connector chooses numbers). */
const withPrefix = (h: EngineHarness) => ({
  ...h.ctx,
  config: { ...h.config, accountWriteBack: { ...h.config.accountWriteBack, customerAccountPrefix: 'SF-' } },
});

describe('to-Dynamics flows against both sandboxes', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngineHarness();
    createSalesforceProducts(h, [...ITEMS, 'PNEW01']);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('turns a won opportunity with three lines into one sales order and writes the number back', async () => {
    const accountId = createSyncedAccount(h, 'usmf', 'US-000001');
    const oppId = createWonOpportunity(h, accountId, ITEMS);
    const worker = createToDynamicsWorker(h.ctx);

    expect(await worker.handle(delivery('Opportunity', oppId))).toBe('done');

    const orders = dynamicsOrdersFor(h, oppId);
    expect(orders).toHaveLength(1);
    const [order] = orders;
    expect(order?.header).toMatchObject({ dataAreaId: 'usmf', OrderingCustomerAccountNumber: 'US-000001' });
    expect(order?.lines.map((l) => [l.LineNumber, l.ItemNumber, l.OrderedSalesQuantity])).toEqual([
      [1, 'P000001', 1],
      [2, 'P000002', 2],
      [3, 'P000003', 3],
    ]);
    const opp = h.sandboxes.salesforce.control.get('Opportunity', oppId);
    expect(opp?.D365_Sales_Order__c).toBe(order?.header.SalesOrderNumber);
    const audit = await h.state.queryAudit({ recordKey: `salesforce:Opportunity:${oppId}` });
    expect(audit[0]).toMatchObject({
      outcome: 'succeeded',
      flow: 'won-opportunities',
      targetIds: { salesOrderNumber: order?.header.SalesOrderNumber, dataAreaId: 'usmf' },
    });

    // A second delivery of the same stub writes nothing.
    h.sandboxes.dynamics.control.resetCounters();
    expect(await worker.handle(delivery('Opportunity', oppId))).toBe('done');
    expect(h.sandboxes.dynamics.control.counters()['odata.create'] ?? 0).toBe(0);
    expect(dynamicsOrdersFor(h, oppId)).toHaveLength(1);
  });

  it('parks the order after its one change set when Dynamics does not keep the line id as sent', async () => {
    const accountId = createSyncedAccount(h, 'usmf', 'US-000007');
    const oppId = createWonOpportunity(h, accountId, ITEMS);
    // A field that cuts the 18-character id down (as a too-short customer field would).
    const truncating = {
      ...h.ctx,
      dynamics: {
        ...h.ctx.dynamics,
        changeSet: (async (operations, options) => {
          const answers = await h.ctx.dynamics.changeSet(operations, options);
          return answers.map((a) =>
            a && 'OrderLineReference' in a
              ? { ...a, OrderLineReference: String(a.OrderLineReference).slice(0, 15) }
              : a,
          );
        }) as typeof h.ctx.dynamics.changeSet,
      },
    };

    const result = await syncSalesOrder(truncating, { sobject: 'Opportunity', id: oppId }, 'cdc');
    expect(result).toMatchObject({ outcome: 'parked' });
    expect(result.outcome === 'parked' && result.reason).toMatch(
      /SalesOrderLines\.OrderLineReference did not keep the Salesforce line id .* set salesOrders\.lineIdField/,
    );
    // The change set is all or none: every line was written once, and the order waits for a person.
    expect(dynamicsOrdersFor(h, oppId)[0]?.lines).toHaveLength(3);
    expect((await h.state.getIdempotent(`salesorder:Opportunity:${oppId}`))?.status).toBe('in_progress');
  });

  it('turns an activated Order into one sales order with its lines', async () => {
    const sf = h.sandboxes.salesforce.control;
    const accountId = createSyncedAccount(h, 'usmf', 'US-000002');
    const { id } = sf.createOrder({
      accountId,
      lines: ITEMS.map((productCode) => ({ productCode, quantity: 4 })),
    });
    const worker = createToDynamicsWorker(h.ctx);
    const draft = await syncSalesOrder(h.ctx, { sobject: 'Order', id }, 'cdc');
    expect(draft).toEqual({ outcome: 'skipped', reason: 'the Order is not activated' });

    sf.activateOrder(id);
    expect(await worker.handle(delivery('Order', id))).toBe('done');
    const orders = dynamicsOrdersFor(h, id);
    expect(orders).toHaveLength(1);
    expect(orders[0]?.lines).toHaveLength(3);
    expect(sf.get('Order', id)?.D365_Sales_Order__c).toBe(orders[0]?.header.SalesOrderNumber);
  });

  it('creates a Dynamics customer in demf with EUR for a new German Account, numbered by F&O, and writes the key back', async () => {
    const sf = h.sandboxes.salesforce.control;
    const name = 'Müller Pumpen GmbH';
    const accountId = sf.createAccount({ Name: name, BillingCountryCode: 'DE', BillingCity: 'Köln' });
    const next = nextCustomerAccount(h, 'demf');

    const result = await writeBackAccount(h.ctx, accountId, 'cdc');
    expect(result).toMatchObject({ outcome: 'succeeded', dataAreaId: 'demf', customerAccount: next });

    const customers = dynamicsCustomersNamed(h, name);
    expect(customers).toHaveLength(1);
    expect(customers[0]).toMatchObject({
      dataAreaId: 'demf',
      CustomerAccount: next,
      IdentificationNumber: accountId,
      SalesCurrencyCode: 'EUR',
      CustomerGroupId: '10',
      AddressCity: 'Köln',
    });
    expect(sf.get('Account', accountId)).toMatchObject({
      D365_Customer_Key__c: `demf:${next}`,
      D365_Legal_Entity__c: 'demf',
    });
    // The key is there now: a later stub for the Account does nothing.
    expect(await writeBackAccount(h.ctx, accountId, 'cdc')).toMatchObject({ outcome: 'exists' });
    expect(dynamicsCustomersNamed(h, name)).toHaveLength(1);
  });

  it('finds the customer an earlier attempt created by the Account Id instead of creating another', async () => {
    const sf = h.sandboxes.salesforce.control;
    const accountId = sf.createAccount({ Name: 'Already There GmbH', BillingCountryCode: 'DE' });
    const made = h.sandboxes.dynamics.control.createRecord('CustomersV3', {
      dataAreaId: 'demf',
      OrganizationName: 'Already There GmbH',
      PartyType: 'Organization',
      CustomerGroupId: '10',
      SalesCurrencyCode: 'EUR',
      IdentificationNumber: accountId,
    });
    h.sandboxes.dynamics.control.resetCounters();

    const result = await writeBackAccount(h.ctx, accountId, 'cdc');
    expect(result).toMatchObject({ outcome: 'succeeded', customerAccount: made.CustomerAccount });
    expect(h.sandboxes.dynamics.control.counters()['odata.create'] ?? 0).toBe(0);
    expect(dynamicsCustomersNamed(h, 'Already There GmbH')).toHaveLength(1);
  });

  it('creates the customer first for an opportunity on a brand-new Account, then the order', async () => {
    const sf = h.sandboxes.salesforce.control;
    const name = 'Brand New Inc';
    const accountId = sf.createAccount({ Name: name, BillingCountryCode: 'US' });
    const oppId = createWonOpportunity(h, accountId, ITEMS.slice(0, 2));

    const result = await syncSalesOrder(h.ctx, { sobject: 'Opportunity', id: oppId }, 'cdc');
    expect(result).toMatchObject({ outcome: 'succeeded', dataAreaId: 'usmf', linesCreated: 2 });

    const [customer] = dynamicsCustomersNamed(h, name);
    expect(customer).toMatchObject({ dataAreaId: 'usmf', SalesCurrencyCode: 'USD' });
    const orders = dynamicsOrdersFor(h, oppId);
    expect(orders).toHaveLength(1);
    expect(orders[0]?.header.OrderingCustomerAccountNumber).toBe(customer?.CustomerAccount);
    expect(sf.get('Account', accountId)?.D365_Customer_Key__c).toBe(
      `usmf:${String(customer?.CustomerAccount)}`,
    );
  });

  it('parks an order whose product is not released in its legal entity, and a replay succeeds once it is', async () => {
    const accountId = createSyncedAccount(h, 'usmf', 'US-000003');
    const oppId = createWonOpportunity(h, accountId, ['P000001', 'PNEW01']);
    const worker = createToDynamicsWorker(h.ctx);

    expect(await worker.handle(delivery('Opportunity', oppId))).toBe('done');
    const [parked] = await h.state.queryAudit({ recordKey: `salesforce:Opportunity:${oppId}` });
    expect(parked?.outcome).toBe('parked');
    expect(parked?.error).toMatch(/PNEW01 are not released products in legal entity usmf/);
    expect(dynamicsOrdersFor(h, oppId)).toHaveLength(0);

    h.sandboxes.dynamics.control.createRecord('ReleasedProductsV2', {
      dataAreaId: 'usmf',
      ItemNumber: 'PNEW01',
      ProductSearchName: 'NEWPUMP',
      SalesPrice: 250,
    });
    const replay = {
      ...delivery('Opportunity', oppId, 1),
      body: { ...(parked?.work as SalesforceStub), trigger: 'replay' as const },
    };
    expect(await worker.handle(replay)).toBe('done');
    const orders = dynamicsOrdersFor(h, oppId);
    expect(orders).toHaveLength(1);
    expect(orders[0]?.lines.map((l) => l.ItemNumber)).toEqual(['P000001', 'PNEW01']);
  });

  it('backfills won opportunities that still lack an order number and advances the watermark after enqueuing', async () => {
    const accountId = createSyncedAccount(h, 'usmf', 'US-000004');
    const oppId = createWonOpportunity(h, accountId, ['P000002']);

    const report = await runSalesforceBackfill(h.ctx, { objects: ['Opportunity'] });
    expect(report.enqueued.Opportunity).toBeGreaterThanOrEqual(1);
    const messages = await h.queue.receive<SalesforceStub>(QUEUES.toDynamics, { max: 10 });
    expect(messages.map((m) => m.body.id)).toContain(oppId);
    const watermark = await h.state.getCheckpoint(watermarkName('Opportunity'));
    expect(watermark?.value).toBe(report.watermarks.Opportunity);

    const worker = createToDynamicsWorker(h.ctx);
    const outcome = await worker.handleBatch(messages);
    expect(outcome.retry).toEqual([]);
    expect(outcome.deadLetter).toEqual([]);
    await h.queue.ack(QUEUES.toDynamics, outcome.done);
    expect(dynamicsOrdersFor(h, oppId)).toHaveLength(1);

    // Done opportunities carry their number now, so the next poll owes nothing for them.
    const again = await runSalesforceBackfill(h.ctx, { objects: ['Opportunity'], full: true });
    const queued = await h.queue.receive<SalesforceStub>(QUEUES.toDynamics, { max: 10 });
    expect(queued.map((m) => m.body.id)).not.toContain(oppId);
    expect(again.enqueued.Opportunity).toBe(queued.length);
  });

  it('keeps the watermark where it was when the enqueue fails', async () => {
    const accountId = createSyncedAccount(h, 'usmf', 'US-000005');
    createWonOpportunity(h, accountId, ['P000003']);
    const before = await h.state.getCheckpoint(watermarkName('Opportunity'));
    const failing = {
      ...h.ctx,
      queue: {
        ...h.ctx.queue,
        send: async () => {
          throw new Error('queue unavailable');
        },
      },
    };
    await expect(runSalesforceBackfill(failing, { objects: ['Opportunity'] })).rejects.toThrow(
      'queue unavailable',
    );
    expect(await h.state.getCheckpoint(watermarkName('Opportunity'))).toEqual(before);
  });

  it('answers a replay gap by backfilling the topic object from its watermark, then resubscribing at LATEST', async () => {
    const accountId = createSyncedAccount(h, 'usmf', 'US-000006');
    const oppId = createWonOpportunity(h, accountId, ['P000001']);
    const onGap = createReplayGapHandler(h.ctx);
    const decision = await onGap({
      topic: '/data/OpportunityChangeEvent',
      lastReplayId: undefined,
      reason: 'replay id outside retention',
      error: new ReplayGapError('gone', { topic: '/data/OpportunityChangeEvent' }),
    });
    expect(decision).toBe('resubscribe-latest');
    const queued = await h.queue.receive<SalesforceStub>(QUEUES.toDynamics, { max: 10 });
    expect(queued.map((m) => [m.body.id, m.body.trigger])).toContainEqual([oppId, 'backfill']);
  });

  it('is refused by a number sequence that is not Manual when a prefix makes the connector choose numbers', async () => {
    const prefixed = withPrefix(h);
    const accountId = h.sandboxes.salesforce.control.createAccount({
      Name: 'Refused Pumps Ltd',
      BillingCountryCode: 'GB',
    });
    await expect(writeBackAccount(prefixed, accountId, 'cdc')).rejects.toThrow(
      /Field Customer account doesn't allow editing\. Number SF-000001 doesn't match format GB-#{6}\. Validations failed\./,
    );
    expect(dynamicsCustomersNamed(h, 'Refused Pumps Ltd')).toHaveLength(0);
    const [entry] = await h.state.queryAudit({ recordKey: `salesforce:Account:${accountId}` });
    expect(entry).toMatchObject({ outcome: 'failed', flow: 'account-write-back' });
  });

  it('skips a prefixed customer number someone else already took in a Manual sequence', async () => {
    const dynamics = h.sandboxes.dynamics.control;
    dynamics.configureNumberSequence('customerAccounts', { manual: true }, 'gbsi');
    try {
      dynamics.createRecord('CustomersV3', {
        dataAreaId: 'gbsi',
        CustomerAccount: 'SF-000002',
        OrganizationName: 'Created by hand in F&O',
        PartyType: 'Organization',
        CustomerGroupId: '10',
        SalesCurrencyCode: 'GBP',
      });
      const accountId = h.sandboxes.salesforce.control.createAccount({
        Name: 'Brighton Valves Ltd',
        BillingCountryCode: 'GB',
      });

      // SF-000001 went to the refused attempt above (a counter number is never reused).
      const result = await writeBackAccount(withPrefix(h), accountId, 'cdc');
      expect(result).toMatchObject({
        outcome: 'succeeded',
        dataAreaId: 'gbsi',
        customerAccount: 'SF-000003',
      });
      expect(dynamicsCustomersNamed(h, 'Created by hand in F&O')).toHaveLength(1);
      expect(dynamicsCustomersNamed(h, 'Brighton Valves Ltd')[0]).toMatchObject({
        CustomerAccount: 'SF-000003',
        IdentificationNumber: accountId,
      });
    } finally {
      dynamics.configureNumberSequence('customerAccounts', { manual: false }, 'gbsi');
    }
  });

  it('parks an Account whose legal entity cannot be resolved, with the reason', async () => {
    const strict = {
      ...h.ctx,
      config: { ...h.config, legalEntityRules: [{ billingCountry: { US: 'usmf' } }] },
    };
    const accountId = h.sandboxes.salesforce.control.createAccount({
      Name: 'Nowhere SA',
      BillingCountryCode: 'FR',
    });
    const result = await writeBackAccount(strict, accountId, 'cdc');
    expect(result).toMatchObject({ outcome: 'parked' });
    const [entry] = await h.state.queryAudit({ recordKey: `salesforce:Account:${accountId}` });
    expect(entry).toMatchObject({ outcome: 'parked', flow: 'account-write-back' });
    expect(entry?.error).toMatch(/billing country FR has no mapping/);
  });
});
