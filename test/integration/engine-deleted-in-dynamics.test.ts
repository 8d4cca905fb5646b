import { afterAll, describe, expect, it } from 'vitest';
import type { ConnectorConfigInput } from '#core/config/schema.ts';
import { runDynamicsBackfill } from '#core/triggers/dynamics-backfill.ts';
import { QUEUES } from '#core/work/items.ts';
import { createToSalesforceWorker } from '#core/workers/to-salesforce.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';
import { drainToSalesforce, stub } from './engine-to-salesforce-support.ts';

type Row = Record<string, unknown>;

describe('customers and products deleted in F&O', () => {
  const harnesses: EngineHarness[] = [];
  afterAll(async () => {
    await Promise.all(harnesses.map((h) => h.close()));
  });

  /** A synced harness; deletes one customer and one product in F&O and delivers their stubs (as a delete data event does). */
  async function deleteAndDeliver(config: Partial<ConnectorConfigInput> = {}) {
    const h = await startEngineHarness({
      sandboxes: { dynamics: { customers: 9, products: 6, salesOrders: 0 } },
      config,
    });
    harnesses.push(h);
    const first = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3', 'ReleasedProductsV2'] });
    expect(first.stopped).toBeUndefined();
    const [customer] = h.sandboxes.dynamics.control.listRecords('CustomersV3', { company: 'usmf', top: 1 });
    const account = String(customer?.CustomerAccount);
    h.sandboxes.dynamics.control.deleteRecord('CustomersV3', {
      dataAreaId: 'usmf',
      CustomerAccount: account,
    });
    const [item] = h.sandboxes.dynamics.control.listRecords('ReleasedProductsV2', {
      company: 'usmf',
      top: 1,
    });
    const itemNumber = String(item?.ItemNumber);
    h.sandboxes.dynamics.control.deleteRecord('ReleasedProductsV2', {
      dataAreaId: 'usmf',
      ItemNumber: itemNumber,
    });
    const deliver = async () => {
      await h.queue.send(QUEUES.toSalesforce, [
        { body: stub('CustomersV3', 'usmf', account) },
        { body: stub('ReleasedProductsV2', 'usmf', itemNumber) },
        // Never synced, and not in F&O: nothing to mark.
        { body: stub('CustomersV3', 'usmf', 'NEVER-SEEN') },
      ]);
      return drainToSalesforce(h, createToSalesforceWorker(h.ctx));
    };
    return { h, account, itemNumber, deliver };
  }

  const query = (h: EngineHarness, soql: string) =>
    h.sandboxes.salesforce.control.query(soql).records as Row[];

  it('marks the Account and deactivates the Product2 and its price book entries, deleting nothing', async () => {
    const { h, account, itemNumber, deliver } = await deleteAndDeliver();
    const accountsBefore = query(h, 'SELECT Id FROM Account').length;
    const report = await deliver();
    expect(report).toMatchObject({ done: 3, retry: 0, deadLetter: 0 });

    const [marked] = query(
      h,
      `SELECT Id, D365_Hold_Status__c FROM Account WHERE D365_Customer_Key__c = 'usmf:${account}'`,
    );
    expect(marked?.D365_Hold_Status__c).toBe('Deleted');
    const [product] = query(
      h,
      `SELECT Id, IsActive FROM Product2 WHERE D365_Item_Key__c = 'usmf:${itemNumber}'`,
    );
    expect(product?.IsActive).toBe(false);
    const entries = query(
      h,
      `SELECT IsActive FROM PricebookEntry WHERE Product2Id = '${String(product?.Id)}'`,
    );
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.every((e) => e.IsActive === false)).toBe(true);
    expect(query(h, 'SELECT Id FROM Account')).toHaveLength(accountsBefore);

    const audit = await h.state.queryAudit({ recordKey: `dynamics:CustomersV3:usmf:${account}` });
    expect(audit[0]?.error).toContain('deleted there, marked in Salesforce');
    const unknown = await h.state.queryAudit({ recordKey: 'dynamics:CustomersV3:usmf:NEVER-SEEN' });
    expect(unknown[0]?.error).toBe('not found in Dynamics');

    // A repeated event changes nothing in Salesforce.
    h.sandboxes.salesforce.control.update('Account', String(marked?.Id), { D365_Hold_Status__c: 'Reviewed' });
    await deliver();
    const [again] = query(h, `SELECT D365_Hold_Status__c FROM Account WHERE Id = '${String(marked?.Id)}'`);
    expect(again?.D365_Hold_Status__c).toBe('Reviewed');
  });

  it('finds deletions no event announced in sync --reconcile, and marks only what F&O no longer has', async () => {
    const { h, account, itemNumber } = await deleteAndDeliver();
    const plain = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3', 'ReleasedProductsV2'] });
    expect(plain.stopped).toBeUndefined();
    const hold = () =>
      query(h, `SELECT D365_Hold_Status__c FROM Account WHERE D365_Customer_Key__c = 'usmf:${account}'`)[0]
        ?.D365_Hold_Status__c;
    expect(hold()).toBeNull();

    const repair = await runDynamicsBackfill(h.ctx, {
      entities: ['CustomersV3', 'ReleasedProductsV2'],
      reconcile: true,
    });
    expect(repair.stopped).toBeUndefined();
    expect(hold()).toBe('Deleted');
    const [product] = query(h, `SELECT IsActive FROM Product2 WHERE D365_Item_Key__c = 'usmf:${itemNumber}'`);
    expect(product?.IsActive).toBe(false);
    // Every other record is untouched.
    expect(query(h, "SELECT Id FROM Account WHERE D365_Hold_Status__c = 'Deleted'")).toHaveLength(1);
    expect(query(h, 'SELECT Id FROM Product2 WHERE IsActive = false')).toHaveLength(1);
  });

  it('leaves Salesforce as it is when the configuration says ignore', async () => {
    const { h, account, itemNumber, deliver } = await deleteAndDeliver({
      lifecycle: { deleted: { action: 'ignore' } },
    });
    await deliver();
    const [left] = query(
      h,
      `SELECT D365_Hold_Status__c FROM Account WHERE D365_Customer_Key__c = 'usmf:${account}'`,
    );
    expect(left?.D365_Hold_Status__c).toBeNull();
    const [product] = query(h, `SELECT IsActive FROM Product2 WHERE D365_Item_Key__c = 'usmf:${itemNumber}'`);
    expect(product?.IsActive).toBe(true);
  });
});
