import { afterEach, describe, expect, it } from 'vitest';
import { runDynamicsBackfill } from '#core/triggers/dynamics-backfill.ts';
import { createToSalesforceWorker } from '#core/workers/to-salesforce.ts';
import type { ValidationRule } from '#sandbox/salesforce/index.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';
import { drainToSalesforce } from './engine-to-salesforce-support.ts';

const CUSTOMERS = 240;
const PRODUCTS = 120;
const CURRENCY: Record<string, string> = { usmf: 'USD', demf: 'EUR', gbsi: 'GBP' };

type Row = Record<string, unknown>;

/** The Bulk calls the Salesforce client made, by operation. */
function bulkCalls(h: EngineHarness): Record<string, number> {
  return Object.fromEntries(
    Object.entries(h.clients.salesforce.counter.snapshot().byOperation).filter(([op]) =>
      op.startsWith('bulk.'),
    ),
  );
}

describe('the initial load through streamed Bulk API 2.0 jobs', () => {
  let h: EngineHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const start = (batches: Record<string, number>, validationRules: ValidationRule[] = []) =>
    startEngineHarness({
      sandboxes: {
        dynamics: { customers: CUSTOMERS, products: PRODUCTS, salesOrders: 0, pageSize: 40 },
        salesforce: { multiCurrency: true, validationRules },
      },
      config: { batches: { bulkThreshold: 10, ...batches } as never },
    });
  const sfQuery = (soql: string) =>
    ((h as EngineHarness).sandboxes.salesforce.control.query(soql).records as Row[]).map(
      ({ attributes: _, ...rest }) => rest,
    );

  it('loads a retired product inactive, with an inactive price book entry, through the Bulk jobs', async () => {
    h = await startEngineHarness({
      sandboxes: {
        dynamics: { customers: 0, products: PRODUCTS, salesOrders: 0, pageSize: 40 },
        salesforce: { multiCurrency: true },
      },
      config: {
        batches: { bulkThreshold: 10 } as never,
        lifecycle: { products: { inactiveStates: ['Obsolete'] } } as never,
      },
    });
    h.sandboxes.dynamics.control.updateRecord(
      'ReleasedProductsV2',
      { dataAreaId: 'usmf', ItemNumber: 'P000003' },
      { ProductLifecycleStateId: 'Obsolete' },
    );
    h.clients.salesforce.counter.reset();
    await runDynamicsBackfill(h.ctx, { entities: ['ReleasedProductsV2'] });
    expect(bulkCalls(h)['bulk.create']).toBe(2);
    const products = sfQuery('SELECT Id, D365_Item_Key__c, IsActive FROM Product2');
    const retired = products.find((p) => p.D365_Item_Key__c === 'usmf:P000003') as Row;
    expect(retired.IsActive).toBe(false);
    expect(products.filter((p) => p.IsActive === false)).toHaveLength(1);
    const entries = sfQuery('SELECT Product2Id, IsActive FROM PricebookEntry');
    expect(entries.filter((e) => e.Product2Id === retired.Id)).toEqual([
      { Product2Id: retired.Id, IsActive: false },
    ]);
    expect(entries.filter((e) => e.IsActive === true)).toHaveLength(PRODUCTS - 1);
  });

  it('loads every page of every legal entity through one job per object, price book entries included', async () => {
    h = await start({});
    h.clients.salesforce.counter.reset();
    const report = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3', 'ReleasedProductsV2'] });
    expect(report.stopped).toBeUndefined();
    expect(report.runs.reduce((n, r) => n + r.created, 0)).toBe(CUSTOMERS + PRODUCTS);
    // Account, Product2 and PricebookEntry: one job each, one upload each.
    const calls = bulkCalls(h);
    expect(calls['bulk.create']).toBe(3);
    expect(calls['bulk.upload']).toBe(3);
    expect(calls['bulk.close']).toBe(3);

    const accounts = sfQuery('SELECT D365_Customer_Key__c FROM Account');
    expect(new Set(accounts.map((a) => a.D365_Customer_Key__c)).size).toBe(CUSTOMERS);
    const products = sfQuery('SELECT Id, D365_Item_Key__c FROM Product2');
    expect(products).toHaveLength(PRODUCTS);
    const entries = sfQuery('SELECT Product2Id, UnitPrice, IsActive, CurrencyIsoCode FROM PricebookEntry');
    expect(entries).toHaveLength(PRODUCTS);
    const product = products.find((p) => p.D365_Item_Key__c === 'demf:P000002') as Row;
    const source = h.sandboxes.dynamics.control.getRecord('ReleasedProductsV2', {
      dataAreaId: 'demf',
      ItemNumber: 'P000002',
    }) as Row;
    expect(entries.filter((e) => e.Product2Id === product.Id)).toEqual([
      {
        Product2Id: product.Id,
        UnitPrice: source.SalesPrice,
        IsActive: true,
        CurrencyIsoCode: CURRENCY.demf,
      },
    ]);
    const audit = await h.state.queryAudit({ recordKey: 'dynamics:ReleasedProductsV2:demf:P000002' });
    expect(audit).toMatchObject([
      { outcome: 'succeeded', targetIds: { salesforceId: product.Id, operation: 'created' } },
    ]);

    // Hashes were stored from the results: an unchanged re-run writes nothing.
    h.clients.salesforce.counter.reset();
    const again = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3', 'ReleasedProductsV2'] });
    expect(again.runs.reduce((n, r) => n + r.skipped, 0)).toBe(CUSTOMERS + PRODUCTS);
    expect(bulkCalls(h)).toEqual({});
  });

  it('reprices the existing standard entries of products whose price changed, in a later Bulk load', async () => {
    h = await start({});
    await runDynamicsBackfill(h.ctx, { entities: ['ReleasedProductsV2'] });
    const items = Array.from({ length: 12 }, (_, i) => `P${String(i + 1).padStart(6, '0')}`);
    for (const ItemNumber of items)
      h.sandboxes.dynamics.control.updateRecord(
        'ReleasedProductsV2',
        { dataAreaId: 'usmf', ItemNumber },
        { SalesPrice: 1234.5 },
      );
    h.clients.salesforce.counter.reset();
    const report = await runDynamicsBackfill(h.ctx, { entities: ['ReleasedProductsV2'] });
    expect(report.runs.reduce((n, r) => n + r.updated, 0)).toBe(12);
    expect(bulkCalls(h)['bulk.create']).toBe(1);
    const ids = sfQuery(
      `SELECT Id FROM Product2 WHERE D365_Item_Key__c IN (${items.map((i) => `'usmf:${i}'`).join(',')})`,
    ).map((p) => p.Id);
    const entries = sfQuery(
      `SELECT Product2Id, UnitPrice, IsActive FROM PricebookEntry WHERE Product2Id IN (${ids.map((id) => `'${id}'`).join(',')})`,
    );
    expect(entries).toHaveLength(12);
    expect(entries.every((e) => e.UnitPrice === 1234.5 && e.IsActive === true)).toBe(true);
    expect(sfQuery('SELECT Id FROM PricebookEntry')).toHaveLength(PRODUCTS);
  });

  it('starts a new job when the next row would pass the job size limit, and loses no record', async () => {
    h = await start({ bulkJobMaxBytes: 4096 });
    h.clients.salesforce.counter.reset();
    const report = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3', 'ReleasedProductsV2'] });
    expect(report.stopped).toBeUndefined();
    expect(report.runs.reduce((n, r) => n + r.created, 0)).toBe(CUSTOMERS + PRODUCTS);
    const calls = bulkCalls(h);
    expect(calls['bulk.create']).toBeGreaterThan(6);
    expect(calls['bulk.upload']).toBe(calls['bulk.create']);
    expect(
      new Set(sfQuery('SELECT D365_Customer_Key__c FROM Account').map((a) => a.D365_Customer_Key__c)).size,
    ).toBe(CUSTOMERS);
    expect(sfQuery('SELECT Id FROM PricebookEntry')).toHaveLength(PRODUCTS);
  });

  it('parks a record Salesforce refuses in the Bulk results and stores no hash for it', async () => {
    h = await start({}, [
      {
        object: 'Account',
        name: 'NoFirstDemf',
        errorMessage: 'This customer is served by our partner.',
        failsWhen: (r) => r.D365_Customer_Key__c === 'demf:DE-000001',
      },
    ]);
    const report = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3'] });
    expect(report.stopped).toBeUndefined();
    expect(report.runs.reduce((n, r) => n + r.failed, 0)).toBe(1);
    expect(report.runs.reduce((n, r) => n + r.created, 0)).toBe(CUSTOMERS - 1);
    const [entry] = await h.state.queryAudit({ recordKey: 'dynamics:CustomersV3:demf:DE-000001' });
    expect(entry).toMatchObject({
      outcome: 'parked',
      error: 'FIELD_CUSTOM_VALIDATION_EXCEPTION: This customer is served by our partner.',
    });
    expect((await h.state.getHashes(['customers:demf:DE-000001'])).size).toBe(0);
    expect((await h.state.getHashes(['customers:demf:DE-000002'])).size).toBe(1);
  });

  it('defers every record of a job stopped mid-stream and the worker then delivers them', async () => {
    h = await start({});
    const stop = new AbortController();
    const report = await runDynamicsBackfill(h.ctx, {
      entities: ['CustomersV3'],
      signal: stop.signal,
      onProgress: (p) => {
        if (p.pages === 2) stop.abort();
      },
    });
    expect(report.stopped).toBe('aborted');
    // Nothing was confirmed: no hash stored, every streamed record handed to the worker.
    const hashes = await h.state.getHashes(['customers:usmf:US-000001']);
    expect(hashes.size).toBe(0);
    const deferred = report.runs.reduce((n, r) => n + r.deferred, 0);
    expect(deferred).toBe(80);
    const outcome = await drainToSalesforce(h, createToSalesforceWorker(h.ctx), 50);
    expect(outcome).toMatchObject({ done: 80, deadLetter: 0 });
    expect(sfQuery('SELECT Id FROM Account')).toHaveLength(80);
  });
});
