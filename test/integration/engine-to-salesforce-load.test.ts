import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDynamicsBackfill } from '#core/triggers/dynamics-backfill.ts';
import { QUEUES } from '#core/work/items.ts';
import { createToSalesforceWorker } from '#core/workers/to-salesforce.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';
import { drainToSalesforce, stub } from './engine-to-salesforce-support.ts';

const CUSTOMERS = 600;
const PRODUCTS = 300;
const PAGE = 100;
const CURRENCY: Record<string, string> = { usmf: 'USD', demf: 'EUR', gbsi: 'GBP' };

type Row = Record<string, unknown>;

describe('to-Salesforce flows (customers, products) against both sandboxes', () => {
  let h: EngineHarness;
  const sfQuery = (soql: string) =>
    (h.sandboxes.salesforce.control.query(soql).records as Row[]).map(({ attributes: _, ...rest }) => rest);

  beforeAll(async () => {
    h = await startEngineHarness({
      sandboxes: {
        dynamics: { customers: CUSTOMERS, products: PRODUCTS, salesOrders: 0, pageSize: PAGE },
        salesforce: { multiCurrency: true },
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('loads every customer as an Account and every product with an active standard price per currency', async () => {
    const report = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3', 'ReleasedProductsV2'] });
    expect(report.stopped).toBeUndefined();
    expect(report.runs.reduce((n, r) => n + r.created, 0)).toBe(CUSTOMERS + PRODUCTS);

    const accounts = sfQuery(
      'SELECT Id, Name, AccountNumber, BillingCity, D365_Customer_Key__c FROM Account',
    );
    const keys = accounts.map((a) => a.D365_Customer_Key__c as string);
    expect(new Set(keys).size).toBe(CUSTOMERS);
    const d365 = h.sandboxes.dynamics.control.getRecord('CustomersV3', {
      dataAreaId: 'demf',
      CustomerAccount: 'DE-000001',
    }) as Row;
    expect(accounts.find((a) => a.D365_Customer_Key__c === 'demf:DE-000001')).toMatchObject({
      Name: d365.OrganizationName,
      AccountNumber: 'DE-000001',
      BillingCity: d365.AddressCity,
    });

    const products = sfQuery('SELECT Id, Name, ProductCode, IsActive, D365_Item_Key__c FROM Product2');
    expect(new Set(products.map((p) => p.D365_Item_Key__c)).size).toBe(PRODUCTS);
    const entries = sfQuery(
      'SELECT Product2Id, UnitPrice, IsActive, CurrencyIsoCode, Pricebook2Id FROM PricebookEntry',
    );
    const byProduct = new Map<string, Row[]>();
    for (const e of entries)
      byProduct.set(e.Product2Id as string, [...(byProduct.get(e.Product2Id as string) ?? []), e]);
    for (const p of products) {
      const [le, item] = String(p.D365_Item_Key__c).split(':') as [string, string];
      const source = h.sandboxes.dynamics.control.getRecord('ReleasedProductsV2', {
        dataAreaId: le,
        ItemNumber: item,
      }) as Row;
      expect(byProduct.get(p.Id as string)).toEqual([
        {
          Product2Id: p.Id,
          UnitPrice: source.SalesPrice,
          IsActive: true,
          CurrencyIsoCode: CURRENCY[le],
          Pricebook2Id: h.ctx.reference.standardPricebookId,
        },
      ]);
    }

    // A rep can quote at once: an opportunity line on a synced product in the entity's currency.
    const account = accounts.find((a) => a.D365_Customer_Key__c === 'demf:DE-000001') as Row;
    const product = products.find((p) => p.D365_Item_Key__c === 'demf:P000001') as Row;
    const opp = h.sandboxes.salesforce.control.createOpportunity({
      accountId: account.Id as string,
      name: 'Pumps for Hamburg',
      currency: 'EUR',
      lines: [{ product2Id: product.Id as string, quantity: 3 }],
    });
    expect(opp.lineIds).toHaveLength(1);
  });

  it('writes nothing to Salesforce on an unchanged re-run and reads ceil(N/page) OData pages', async () => {
    h.sandboxes.salesforce.control.resetCounters();
    h.sandboxes.dynamics.control.resetCounters();
    const report = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3', 'ReleasedProductsV2'] });
    expect(report.runs.reduce((n, r) => n + r.upserted + r.failed + r.deferred, 0)).toBe(0);
    expect(report.runs.reduce((n, r) => n + r.skipped, 0)).toBe(CUSTOMERS + PRODUCTS);
    const sf = h.sandboxes.salesforce.control.counters();
    expect(sf['rest.composite'] ?? 0).toBe(0);
    expect(sf['rest.bulk'] ?? 0).toBe(0);
    expect(sf['rest.sobject'] ?? 0).toBe(0);
    const counters = h.sandboxes.dynamics.control.counters();
    // Each page of products also reads its products' names (ProductTranslations) by key set.
    const translationReads = counters['odata.read:ProductTranslations'] ?? 0;
    const reads = (counters['odata.read'] ?? 0) - translationReads;
    // 3 legal entities × 2 entities; one extra page per read at most when a page is exactly full.
    const pages = Math.ceil(CUSTOMERS / PAGE) + Math.ceil(PRODUCTS / PAGE);
    expect(reads).toBeGreaterThanOrEqual(pages);
    expect(reads).toBeLessThanOrEqual(pages + 6);
    // Those reads are URL-length chunks of key sets (≥ 20 keys each) sent together in one $batch per page.
    expect(translationReads).toBeGreaterThanOrEqual(1);
    expect(translationReads).toBeLessThanOrEqual(Math.ceil(PRODUCTS / 20) + 3);
    expect(counters['odata.batch'] ?? 0).toBeLessThanOrEqual(Math.ceil(PRODUCTS / PAGE) + 3);
  });

  it('updates exactly the changed Account when a customer changes in Dynamics', async () => {
    h.sandboxes.dynamics.control.updateRecord(
      'CustomersV3',
      { dataAreaId: 'gbsi', CustomerAccount: 'GB-000003' },
      { OrganizationName: 'Thames Valley Pumps Ltd', AddressCity: 'Reading' },
    );
    await h.queue.send(QUEUES.toSalesforce, [{ body: stub('CustomersV3', 'gbsi', 'GB-000003') }]);
    h.sandboxes.salesforce.control.resetCounters();
    const since = Date.now();
    const outcome = await drainToSalesforce(h, createToSalesforceWorker(h.ctx));
    expect(outcome).toMatchObject({ done: 1, retry: 0, deadLetter: 0 });
    const [account] = sfQuery(
      "SELECT Name, BillingCity FROM Account WHERE D365_Customer_Key__c = 'gbsi:GB-000003'",
    );
    expect(account).toMatchObject({ Name: 'Thames Valley Pumps Ltd', BillingCity: 'Reading' });
    expect(h.sandboxes.salesforce.control.counters()['rest.composite']).toBe(1);
    const audit = await h.state.queryAudit({ outcome: 'succeeded', since });
    expect(audit.map((a) => a.recordKey)).toEqual(['dynamics:CustomersV3:gbsi:GB-000003']);
    expect(audit[0]).toMatchObject({
      flow: 'customers',
      trigger: 'business-event',
      work: { kind: 'dynamics-stub', entity: 'CustomersV3' },
    });
  });

  it('reprices the standard price book entry when a sales price changes in Dynamics', async () => {
    h.sandboxes.dynamics.control.updateRecord(
      'ReleasedProductsV2',
      { dataAreaId: 'usmf', ItemNumber: 'P000002' },
      { SalesPrice: 1234.5 },
    );
    await h.queue.send(QUEUES.toSalesforce, [{ body: stub('ReleasedProductsV2', 'usmf', 'P000002') }]);
    h.sandboxes.salesforce.control.resetCounters();
    const outcome = await drainToSalesforce(h, createToSalesforceWorker(h.ctx));
    expect(outcome).toMatchObject({ done: 1, retry: 0, deadLetter: 0 });
    const entries = sfQuery(
      "SELECT UnitPrice, IsActive, CurrencyIsoCode FROM PricebookEntry WHERE Product2.D365_Item_Key__c = 'usmf:P000002'",
    );
    expect(entries).toEqual([{ UnitPrice: 1234.5, IsActive: true, CurrencyIsoCode: 'USD' }]);
    // Product upsert + entry update (Collections) and one SOQL for the entries.
    expect(h.sandboxes.salesforce.control.counters()).toMatchObject({ 'rest.composite': 2, 'rest.query': 1 });
  });

  it('hydrates 50 stubs across 3 legal entities in a handful of OData calls and one Collections call', async () => {
    const keys = [
      ...Array.from({ length: 25 }, (_, i) => ['usmf', `US-${String(i + 10).padStart(6, '0')}`]),
      ...Array.from({ length: 15 }, (_, i) => ['demf', `DE-${String(i + 10).padStart(6, '0')}`]),
      ...Array.from({ length: 10 }, (_, i) => ['gbsi', `GB-${String(i + 10).padStart(6, '0')}`]),
    ] as [string, string][];
    for (const [dataAreaId, CustomerAccount] of keys) {
      h.sandboxes.dynamics.control.updateRecord(
        'CustomersV3',
        { dataAreaId, CustomerAccount },
        { PrimaryContactPhone: `+1 555 ${CustomerAccount.slice(-4)}` },
      );
    }
    // Two stubs for one key: deduplicated before the read.
    await h.queue.send(QUEUES.toSalesforce, [
      ...keys.map(([le, id]) => ({ body: stub('CustomersV3', le, id) })),
      { body: stub('CustomersV3', 'usmf', 'US-000010') },
    ]);
    h.sandboxes.salesforce.control.resetCounters();
    h.sandboxes.dynamics.control.resetCounters();
    const outcome = await drainToSalesforce(h, createToSalesforceWorker(h.ctx), 60);
    expect(outcome).toMatchObject({ done: 51, retry: 0, deadLetter: 0, batches: 1 });
    const reads = h.sandboxes.dynamics.control.counters()['odata.read'] ?? 0;
    expect(reads).toBeGreaterThan(0);
    expect(reads).toBeLessThanOrEqual(6);
    expect(h.sandboxes.salesforce.control.counters()['rest.composite']).toBe(1);
    const [account] = sfQuery("SELECT Phone FROM Account WHERE D365_Customer_Key__c = 'gbsi:GB-000019'");
    expect(account).toEqual({ Phone: '+1 555 0019' });
  });

  it('parks a record Salesforce refuses with its reason, truncates an over-long name with a note, and completes the others', async () => {
    const longName = 'Very long name '.repeat(20);
    h.sandboxes.dynamics.control.updateRecord(
      'CustomersV3',
      { dataAreaId: 'usmf', CustomerAccount: 'US-000005' },
      { OrganizationName: longName },
    );
    h.sandboxes.dynamics.control.updateRecord(
      'CustomersV3',
      { dataAreaId: 'usmf', CustomerAccount: 'US-000006' },
      { OrganizationName: 'Short and fine Inc.' },
    );
    // Not a country of the org's State and Country/Territory Picklists: Salesforce refuses the record.
    h.sandboxes.dynamics.control.updateRecord(
      'CustomersV3',
      { dataAreaId: 'usmf', CustomerAccount: 'US-000007' },
      { AddressCountryRegionISOCode: 'XX', AddressState: '' },
    );
    await h.queue.send(QUEUES.toSalesforce, [
      { body: stub('CustomersV3', 'usmf', 'US-000005') },
      { body: stub('CustomersV3', 'usmf', 'US-000006') },
      { body: stub('CustomersV3', 'usmf', 'US-000007') },
      { body: stub('CustomersV3', 'usmf', 'US-999999') },
    ]);
    const outcome = await drainToSalesforce(h, createToSalesforceWorker(h.ctx));
    expect(outcome).toMatchObject({ done: 4, retry: 0, deadLetter: 0 });
    const [parked] = await h.state.queryAudit({ recordKey: 'dynamics:CustomersV3:usmf:US-000007' });
    expect(parked).toMatchObject({
      outcome: 'parked',
      error:
        'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: Billing Country Code: bad value for restricted picklist field: XX',
      work: expect.objectContaining({ key: expect.objectContaining({ CustomerAccount: 'US-000007' }) }),
    });
    const [truncated] = await h.state.queryAudit({ recordKey: 'dynamics:CustomersV3:usmf:US-000005' });
    expect(truncated).toMatchObject({
      outcome: 'succeeded',
      error: `note: Account.Name truncated from ${longName.length} to 255 characters (the Salesforce field's length)`,
    });
    const missing = await h.state.queryAudit({ recordKey: 'dynamics:CustomersV3:usmf:US-999999' });
    expect(missing[0]).toMatchObject({ outcome: 'skipped', error: 'not found in Dynamics' });
    const [fine] = sfQuery("SELECT Name FROM Account WHERE D365_Customer_Key__c = 'usmf:US-000006'");
    expect(fine).toEqual({ Name: 'Short and fine Inc.' });
    const [long] = sfQuery("SELECT Name FROM Account WHERE D365_Customer_Key__c = 'usmf:US-000005'");
    expect(long).toEqual({ Name: longName.slice(0, 255) });
  });
});
