/**
 * The engine under faults on both sides at once: throttling with Retry-After, 503s, connection
 * resets and token expiry on Dynamics and Salesforce, dropped CDC streams, and business events
 * delivered twice and out of order. Afterwards: nothing lost, nothing duplicated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRunner } from '#adapters/local/runner.ts';
import { type EngineHarness, startEngineHarness, startHarnessRunner } from '#test/support/engine-harness.ts';
import { until } from '#test/support/wait.ts';

const SECRET = 'chaos-receiver-secret-31415926';
const CUSTOMERS = 150;
const PRODUCTS = 45;

describe('the engine under faults on both sides', () => {
  let h: EngineHarness;
  let runner: LocalRunner;

  beforeAll(async () => {
    h = await startEngineHarness({
      sandboxes: { dynamics: { customers: CUSTOMERS, products: PRODUCTS, salesOrders: 0 } },
    });
    runner = await startHarnessRunner(h, { receiverSecret: SECRET });
    h.sandboxes.dynamics.control.setFaultPlan({
      seed: 11,
      rules: [
        { kind: 'throttle', match: 'odata.read', probability: 0.2, retryAfterSeconds: 1, count: 5 },
        { kind: 'error', match: 'odata.*', status: 503, probability: 0.1, count: 6 },
        { kind: 'reset', match: 'odata.read', probability: 0.05, count: 3 },
        { kind: 'token-expiry', match: 'odata.*', probability: 0.05, count: 2 },
      ],
    });
    h.sandboxes.salesforce.control.setFaultPlan({
      seed: 12,
      rules: [
        { kind: 'error', match: 'rest.*', status: 503, probability: 0.1, count: 6 },
        { kind: 'reset', match: 'rest.query', probability: 0.05, count: 2 },
        { kind: 'token-expiry', match: 'rest.*', probability: 0.05, count: 2 },
        { kind: 'stream-drop', match: 'pubsub.subscribe', probability: 0.3, count: 6 },
      ],
    });
    h.sandboxes.dynamics.control.configureBusinessEvents({
      url: `${runner.receiverUrl}?code=${SECRET}`,
      duplicateProbability: 0.4,
      reorderWindow: 5,
      retryDelayMs: 50,
      seed: 5,
    });
  });
  afterAll(async () => {
    await runner?.stop();
    await h?.close();
  });

  it('loses nothing and duplicates nothing', async () => {
    const sf = h.sandboxes.salesforce.control;
    const d365 = h.sandboxes.dynamics.control;
    await runner.backfill();
    await runner.idle({ timeoutMs: 90_000 });

    // Dynamics changes announced by business events (delivered twice, out of order).
    const changed = ['US-000002', 'US-000004', 'US-000006', 'US-000008', 'US-000010'];
    for (const account of changed) {
      d365.updateRecord(
        'CustomersV3',
        { dataAreaId: 'usmf', CustomerAccount: account },
        { PrimaryContactPhone: `+1 312 ${account.slice(-4)}` },
      );
    }
    // Sales activity in Salesforce, seen through CDC (with dropped streams) and the backfill.
    const products = sf.query(
      "SELECT Id FROM Product2 WHERE D365_Item_Key__c LIKE 'usmf:%' ORDER BY ProductCode LIMIT 3",
    ).records;
    const accountOf = (key: string) =>
      String(sf.query(`SELECT Id FROM Account WHERE D365_Customer_Key__c = '${key}'`).records[0]?.Id);
    const opportunities = ['usmf:US-000001', 'usmf:US-000003', 'usmf:US-000005'].map((key, n) => {
      const { id } = sf.createOpportunity({
        accountId: accountOf(key),
        name: `Chaos deal ${n}`,
        lines: products.slice(0, n + 1).map((p) => ({ product2Id: String(p.Id), quantity: 2 })),
      });
      sf.closeOpportunityWon(id);
      return { id, lines: n + 1 };
    });
    const order = sf.createOrder({
      accountId: accountOf('usmf:US-000007'),
      lines: [{ product2Id: String(products[0]?.Id), quantity: 1 }],
    });
    sf.activateOrder(order.id);
    const newAccounts = [
      sf.createAccount({ Name: 'Chaos Pumpen GmbH', BillingCountryCode: 'DE' }),
      sf.createAccount({ Name: 'Chaos Valves Ltd', BillingCountryCode: 'GB' }),
    ];
    await d365.flushBusinessEvents();

    const written = (sobject: string, id: string) => Boolean(sf.get(sobject, id)?.D365_Sales_Order__c);
    await until(
      'every sales order written back',
      () => opportunities.every((o) => written('Opportunity', o.id)) && written('Order', order.id),
      90_000,
    );
    await until(
      'both new accounts keyed',
      () => newAccounts.every((id) => Boolean(sf.get('Account', id)?.D365_Customer_Key__c)),
      90_000,
    );
    await until(
      'every business event applied',
      () =>
        changed.every((account) => {
          const [a] = sf.query(
            `SELECT Phone FROM Account WHERE D365_Customer_Key__c = 'usmf:${account}'`,
          ).records;
          return a?.Phone === `+1 312 ${account.slice(-4)}`;
        }),
      90_000,
    );
    // A last backfill catches anything a fault deferred; it must find nothing new to create.
    await runner.backfill();
    await runner.idle({ timeoutMs: 90_000 });

    // Every Dynamics record once in Salesforce.
    const keys = sf
      .query('SELECT D365_Customer_Key__c FROM Account WHERE D365_Customer_Key__c != null')
      .records.map((r) => r.D365_Customer_Key__c);
    expect(keys).toHaveLength(CUSTOMERS + newAccounts.length);
    expect(new Set(keys).size).toBe(keys.length);
    const items = sf.query('SELECT D365_Item_Key__c FROM Product2 WHERE D365_Item_Key__c != null').records;
    expect(items).toHaveLength(PRODUCTS);
    expect(sf.query('SELECT COUNT() FROM PricebookEntry WHERE Pricebook2.IsStandard = true').totalSize).toBe(
      PRODUCTS,
    );

    // Every sale once in Dynamics, with exactly its lines.
    for (const o of [...opportunities, { id: order.id, lines: 1 }]) {
      const headers = d365.listRecords('SalesOrderHeadersV2', {
        filter: `CustomersOrderReference eq '${o.id}'`,
      });
      expect(headers).toHaveLength(1);
      const number = String(headers[0]?.SalesOrderNumber);
      expect(
        d365.listRecords('SalesOrderLines', { company: 'usmf', filter: `SalesOrderNumber eq '${number}'` }),
      ).toHaveLength(o.lines);
    }
    // Every new account once in Dynamics (found by the Account Id it carries; F&O numbered it).
    for (const id of newAccounts) {
      expect(d365.listRecords('CustomersV3', { filter: `IdentificationNumber eq '${id}'` })).toHaveLength(1);
    }

    // The faults really happened.
    expect(Object.values(d365.faultsFired()).reduce((a, b) => a + b, 0)).toBeGreaterThan(3);
    expect(h.sandboxes.salesforce.faults.fired()).toMatchObject({ error: expect.any(Number) });
  }, 240_000);
});
