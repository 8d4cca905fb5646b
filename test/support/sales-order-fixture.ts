/**
 * The set-up the sales-order integration tests share: the engine against both sandboxes (see
 * engine-harness.ts) with the deal's products in Salesforce, started once per `describe` block and
 * closed after it, and no fault plan left on either sandbox from one test to the next.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import { type EngineHarness, type EngineHarnessOptions, startEngineHarness } from './engine-harness.ts';

/** Product2 + an active Standard Price Book entry per item, keyed by the Dynamics item number. */
export function createSalesforceProducts(
  h: EngineHarness,
  items: readonly string[],
  fields: Readonly<Record<string, unknown>> = {},
): void {
  const sf = h.sandboxes.salesforce.control;
  for (const item of items) {
    const existing = sf.query(`SELECT Id FROM Product2 WHERE ProductCode = '${item}'`).records;
    if (existing.length > 0) continue;
    const productId = sf.insert('Product2', {
      Name: `Product ${item}`,
      ProductCode: item,
      D365_Item_Key__c: `usmf:${item}`,
      IsActive: true,
      ...fields,
    });
    sf.insert('PricebookEntry', {
      Pricebook2Id: h.ctx.reference.standardPricebookId,
      Product2Id: productId,
      UnitPrice: 100,
      IsActive: true,
    });
  }
}

/**
 * Registers the block's hooks (call it inside `describe`): before all, the engine harness with
 * `items` as Salesforce products, handed to `started`; after each test, empty fault plans on both
 * sandboxes; after all, the harness closed.
 */
export function useSalesOrderEngine(
  items: readonly string[],
  started: (h: EngineHarness) => void,
  options: EngineHarnessOptions = {},
): void {
  let harness: EngineHarness | undefined;
  beforeAll(async () => {
    harness = await startEngineHarness(options);
    createSalesforceProducts(harness, items);
    started(harness);
  });
  afterEach(() => {
    harness?.sandboxes.dynamics.control.setFaultPlan({ rules: [] });
    harness?.sandboxes.salesforce.control.setFaultPlan({ rules: [] });
  });
  afterAll(async () => {
    await harness?.close();
  });
}
