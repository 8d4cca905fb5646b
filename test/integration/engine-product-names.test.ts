import { afterAll, describe, expect, it } from 'vitest';
import { runDynamicsBackfill } from '#core/triggers/dynamics-backfill.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';

type Row = Record<string, unknown>;

/** Backfills products into a fresh harness with `products.name` set, and returns Product2 by External ID. */
async function syncProducts(
  name: { source?: 'translation' | 'searchName' | 'productSearchName'; language?: string },
  setUp?: (h: EngineHarness) => void,
): Promise<{ products: Map<string, Row>; translationReads: number; h: EngineHarness }> {
  const h = await startEngineHarness({
    sandboxes: { dynamics: { customers: 30, products: 40, salesOrders: 0 } },
    config: { products: { name } },
  });
  setUp?.(h);
  h.sandboxes.dynamics.control.resetCounters();
  const report = await runDynamicsBackfill(h.ctx, { entities: ['ReleasedProductsV2'] });
  expect(report.stopped).toBeUndefined();
  const page = h.sandboxes.salesforce.control.query(
    'SELECT Id, Name, ProductCode, Description, D365_Item_Key__c FROM Product2',
  );
  const products = new Map(page.records.map((r) => [String(r.D365_Item_Key__c), r as Row]));
  const counters = h.sandboxes.dynamics.control.counters();
  const translationReads = Object.entries(counters)
    .filter(([k]) => k.endsWith(':ProductTranslations'))
    .reduce((n, [, v]) => n + v, 0);
  return { products, translationReads, h };
}

describe('product names from the fields F&O has', () => {
  const harnesses: EngineHarness[] = [];
  afterAll(async () => {
    await Promise.all(harnesses.map((h) => h.close()));
  });

  it('names products from their translation in the configured language, read by key set, and falls back to the search name', async () => {
    const run = await syncProducts({ language: 'de' }, (h) => {
      h.sandboxes.dynamics.control.createRecord('ReleasedProductsV2', {
        dataAreaId: 'usmf',
        ItemNumber: 'PNEW01',
        ProductSearchName: 'NEWPUMP',
        SalesPrice: 250,
      });
    });
    harnesses.push(run.h);
    const de = run.h.sandboxes.dynamics.control.getRecord('ProductTranslations', {
      ProductNumber: 'P000001',
      LanguageId: 'de',
    }) as Row;
    expect(run.products.get('usmf:P000001')).toMatchObject({
      Name: de.ProductName,
      Description: de.Description,
    });
    expect(run.products.get('usmf:PNEW01')).toMatchObject({ Name: 'NEWPUMP', Description: null });
    expect(run.products.size).toBe(41);
    // One page of products per legal entity: each page's translations in one read by key set.
    expect(run.translationReads).toBe(3);
  });

  it('names products from SearchName without reading translations when configured so', async () => {
    const run = await syncProducts({ source: 'searchName' });
    harnesses.push(run.h);
    const released = run.h.sandboxes.dynamics.control.getRecord('ReleasedProductsV2', {
      dataAreaId: 'usmf',
      ItemNumber: 'P000002',
    }) as Row;
    expect(run.products.get('usmf:P000002')?.Name).toBe(released.SearchName);
    expect(run.translationReads).toBe(0);
  });
});
