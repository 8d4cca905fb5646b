import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDynamicsBackfill } from '#core/triggers/dynamics-backfill.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';

type Row = Record<string, unknown>;

describe('holds and retirements from F&O to Salesforce', () => {
  let h: EngineHarness;
  beforeAll(async () => {
    h = await startEngineHarness({
      sandboxes: { dynamics: { customers: 12, products: 10, salesOrders: 0 } },
      config: {
        lifecycle: {
          products: { inactiveStates: ['Obsolete'], stoppedFlags: ['IsIntercompanySalesUsageBlocked'] },
        },
      },
    });
    const first = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3', 'ReleasedProductsV2'] });
    expect(first.stopped).toBeUndefined();
  });
  afterAll(() => h.close());

  const account = (key: string): Row =>
    h.sandboxes.salesforce.control.query(
      `SELECT Id, Name, D365_Hold_Status__c FROM Account WHERE D365_Customer_Key__c = '${key}'`,
    ).records[0] as Row;
  const product = (key: string): Row =>
    h.sandboxes.salesforce.control.query(
      `SELECT Id, IsActive FROM Product2 WHERE D365_Item_Key__c = '${key}'`,
    ).records[0] as Row;
  const entries = (productId: string): Row[] =>
    h.sandboxes.salesforce.control.query(
      `SELECT Id, IsActive, UnitPrice FROM PricebookEntry WHERE Product2Id = '${productId}'`,
    ).records as Row[];
  const backfill = async (entity: 'CustomersV3' | 'ReleasedProductsV2') => {
    const report = await runDynamicsBackfill(h.ctx, { entities: [entity] });
    expect(report.stopped).toBeUndefined();
    return report.runs.reduce((n, r) => n + r.updated, 0);
  };

  it('puts a customer held in F&O on hold on its Account, and lifts it again', async () => {
    const [customer] = h.sandboxes.dynamics.control.listRecords('CustomersV3', { company: 'usmf', top: 1 });
    const key = { dataAreaId: 'usmf', CustomerAccount: String(customer?.CustomerAccount) };
    expect(account(`usmf:${key.CustomerAccount}`).D365_Hold_Status__c).toBeNull();

    h.sandboxes.dynamics.control.updateRecord('CustomersV3', key, { OnHoldStatus: 'All' });
    expect(await backfill('CustomersV3')).toBe(1);
    expect(account(`usmf:${key.CustomerAccount}`).D365_Hold_Status__c).toBe('All');

    h.sandboxes.dynamics.control.updateRecord('CustomersV3', key, { OnHoldStatus: 'No' });
    expect(await backfill('CustomersV3')).toBe(1);
    expect(account(`usmf:${key.CustomerAccount}`).D365_Hold_Status__c).toBeNull();
  });

  it('deactivates a product whose stop flag is set, with its price book entries, and reactivates it when released again', async () => {
    const key = { dataAreaId: 'usmf', ItemNumber: 'P000002' };
    const before = product('usmf:P000002');
    expect(before.IsActive).toBe(true);
    expect(entries(String(before.Id)).every((e) => e.IsActive === true)).toBe(true);

    h.sandboxes.dynamics.control.updateRecord('ReleasedProductsV2', key, {
      IsIntercompanySalesUsageBlocked: 'Yes',
    });
    expect(await backfill('ReleasedProductsV2')).toBe(1);
    expect(product('usmf:P000002').IsActive).toBe(false);
    const stopped = entries(String(before.Id));
    expect(stopped.length).toBeGreaterThan(0);
    expect(stopped.every((e) => e.IsActive === false)).toBe(true);

    h.sandboxes.dynamics.control.updateRecord('ReleasedProductsV2', key, {
      IsIntercompanySalesUsageBlocked: 'No',
    });
    expect(await backfill('ReleasedProductsV2')).toBe(1);
    expect(product('usmf:P000002').IsActive).toBe(true);
    expect(entries(String(before.Id)).every((e) => e.IsActive === true)).toBe(true);
  });

  it('deactivates a product in a lifecycle state the configuration calls inactive', async () => {
    const key = { dataAreaId: 'usmf', ItemNumber: 'P000003' };
    h.sandboxes.dynamics.control.updateRecord('ReleasedProductsV2', key, {
      ProductLifecycleStateId: 'Obsolete',
    });
    expect(await backfill('ReleasedProductsV2')).toBe(1);
    const retired = product('usmf:P000003');
    expect(retired.IsActive).toBe(false);
    expect(entries(String(retired.Id)).every((e) => e.IsActive === false)).toBe(true);
  });

  it('creates a product that is already retired as inactive, with inactive entries', async () => {
    h.sandboxes.dynamics.control.createRecord('ReleasedProductsV2', {
      dataAreaId: 'usmf',
      ItemNumber: 'PRET01',
      ProductSearchName: 'RETIRED',
      SalesPrice: 99,
      ProductLifecycleStateId: 'Obsolete',
    });
    await backfill('ReleasedProductsV2');
    const created = product('usmf:PRET01');
    expect(created.IsActive).toBe(false);
    const list = entries(String(created.Id));
    expect(list.length).toBeGreaterThan(0);
    expect(list.every((e) => e.IsActive === false)).toBe(true);
  });
});
