import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDynamicsBackfill } from '#core/triggers/dynamics-backfill.ts';
import { QUEUES } from '#core/work/items.ts';
import { createToSalesforceWorker } from '#core/workers/to-salesforce.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';
import { drainToSalesforce, stub } from './engine-to-salesforce-support.ts';

const CUSTOMERS = 300;
const PRODUCTS = 150;

type Row = Record<string, unknown>;

/** How many records share each value of `field` (duplicates show as counts above 1). */
function countBy(rows: readonly Row[], field: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(String(r[field]), (counts.get(String(r[field])) ?? 0) + 1);
  return counts;
}

describe('to-Salesforce initial load under faults on both sides', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngineHarness({
      sandboxes: {
        dynamics: { customers: CUSTOMERS, products: PRODUCTS, salesOrders: 0, pageSize: 50 },
        salesforce: { multiCurrency: true },
      },
    });
    // Faults from here on, so they hit the load rather than the start-up check.
    h.sandboxes.dynamics.control.setFaultPlan({
      seed: 7,
      rules: [
        { kind: 'throttle', match: 'odata.read', retryAfterSeconds: 1, count: 2 },
        { kind: 'error', match: 'odata.read', status: 503, probability: 0.3 },
      ],
    });
    h.sandboxes.salesforce.control.setFaultPlan({
      seed: 11,
      rules: [
        { kind: 'token-expiry', match: 'rest.composite', count: 2 },
        { kind: 'error', match: 'rest.composite', status: 503, probability: 0.3 },
        { kind: 'error', match: 'rest.query', status: 503, probability: 0.3 },
      ],
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('completes the load with every record exactly once', async () => {
    const report = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3', 'ReleasedProductsV2'] });
    // Whatever a page could not finish was enqueued for the worker; drain it like the runner would.
    await drainToSalesforce(h, createToSalesforceWorker(h.ctx), 50);
    if (report.stopped) {
      await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3', 'ReleasedProductsV2'] });
      await drainToSalesforce(h, createToSalesforceWorker(h.ctx), 50);
    }
    expect(await h.queue.depth(QUEUES.toSalesforce)).toMatchObject({
      visible: 0,
      inFlight: 0,
      deadLettered: 0,
    });
    const control = h.sandboxes.salesforce.control;
    // The faults did fire: retries on both clients, 429s and 503s on OData.
    expect(h.sandboxes.dynamics.control.faultsFired()).toMatchObject({ throttle: 2 });
    expect(h.sandboxes.dynamics.control.faultsFired().error).toBeGreaterThan(0);
    expect(h.clients.dynamics.counter.snapshot().retries).toBeGreaterThan(2);
    const sfCalls = h.clients.salesforce.counter.snapshot();
    expect(sfCalls.retries).toBeGreaterThan(2);
    expect(sfCalls.byOperation['oauth.token']).toBeGreaterThanOrEqual(3);

    const accounts = control.query('SELECT D365_Customer_Key__c FROM Account').records as Row[];
    const accountKeys = countBy(accounts, 'D365_Customer_Key__c');
    expect(accountKeys.size).toBe(CUSTOMERS);
    expect(Math.max(...accountKeys.values())).toBe(1);

    const products = control.query('SELECT Id, D365_Item_Key__c FROM Product2').records as Row[];
    const productKeys = countBy(products, 'D365_Item_Key__c');
    expect(productKeys.size).toBe(PRODUCTS);
    expect(Math.max(...productKeys.values())).toBe(1);

    const entries = control.query('SELECT Product2Id, IsActive FROM PricebookEntry').records as Row[];
    const perProduct = countBy(entries, 'Product2Id');
    expect(perProduct.size).toBe(PRODUCTS);
    expect(Math.max(...perProduct.values())).toBe(1);
    expect(entries.every((e) => e.IsActive === true)).toBe(true);

    // Nothing left to do: a re-run under the same faults writes nothing.
    control.resetCounters();
    const rerun = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3', 'ReleasedProductsV2'] });
    expect(rerun.runs.reduce((n, r) => n + r.skipped, 0)).toBe(CUSTOMERS + PRODUCTS);
    expect(control.counters()['rest.composite'] ?? 0).toBe(0);
  });

  it('enqueues what a transient failure interrupted and finishes it through the worker', async () => {
    const dynamics = h.sandboxes.dynamics.control;
    const control = h.sandboxes.salesforce.control;
    dynamics.setFaultPlan({ rules: [] });
    for (let i = 1; i <= 10; i++) {
      const CustomerAccount = `DE-${String(i).padStart(6, '0')}`;
      dynamics.updateRecord(
        'CustomersV3',
        { dataAreaId: 'demf', CustomerAccount },
        { AddressCity: 'Bremen' },
      );
    }
    // Every attempt of the first upsert fails: the HTTP layer gives up, the records are deferred.
    control.setFaultPlan({ rules: [{ kind: 'error', match: 'rest.composite', status: 503, count: 5 }] });
    const report = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3'] });
    expect(report.runs.find((r) => r.legalEntity === 'demf')).toMatchObject({ deferred: 10, upserted: 0 });
    expect(report.stopped).toMatch(/unavailable/);
    expect(await h.queue.depth(QUEUES.toSalesforce)).toMatchObject({ visible: 10 });
    const audit = await h.state.queryAudit({ recordKey: 'dynamics:CustomersV3:demf:DE-000001' });
    expect(audit[0]).toMatchObject({ outcome: 'failed', error: expect.stringMatching(/^transient/) });

    control.setFaultPlan({ rules: [] });
    expect(await drainToSalesforce(h, createToSalesforceWorker(h.ctx), 10)).toMatchObject({
      done: 10,
      deadLetter: 0,
    });
    const bremen = control.query("SELECT Id FROM Account WHERE BillingCity = 'Bremen'").records;
    expect(bremen).toHaveLength(10);
  });

  it('retries instead of dropping work when the Salesforce daily budget runs out', async () => {
    const control = h.sandboxes.salesforce.control;
    h.sandboxes.dynamics.control.updateRecord(
      'CustomersV3',
      { dataAreaId: 'gbsi', CustomerAccount: 'GB-000002' },
      { AddressCity: 'Leeds' },
    );
    await h.queue.send(QUEUES.toSalesforce, [{ body: stub('CustomersV3', 'gbsi', 'GB-000002') }]);
    // The org is at its limit: Salesforce answers 403 REQUEST_LIMIT_EXCEEDED, the budget pauses calls.
    control.setApiUsage({ used: 100_000 });
    const worker = createToSalesforceWorker(h.ctx);
    const first = await drainToSalesforce(h, worker, 10, 1);
    expect(first).toMatchObject({ done: 0, retry: 1, deadLetter: 0 });

    control.setApiUsage({ used: 0 });
    // A fresh usage reading (as the next answered call or /limits would give) lifts the pause.
    h.clients.salesforce.budget.record(0, 100_000, Date.now() + 1);
    expect(await drainToSalesforce(h, worker, 10)).toMatchObject({ done: 1, deadLetter: 0 });
    const [account] = control.query(
      "SELECT BillingCity FROM Account WHERE D365_Customer_Key__c = 'gbsi:GB-000002'",
    ).records as Row[];
    expect(account?.BillingCity).toBe('Leeds');
  });
});
