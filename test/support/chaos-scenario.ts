/**
 * The chaos scenario both shapes run (test/integration/engine-chaos.test.ts locally,
 * aws-chaos.test.ts on moto): the faults on both sandboxes, business events delivered twice and
 * out of order, a round of sales activity on both sides, the wait until all of it is through, and
 * the check that nothing was lost or duplicated. Each test adds its own shape's faults.
 */
import { expect } from 'vitest';
import type { FaultPlan, FaultRule } from '#sandbox/shared/faults.ts';
import type { EngineHarness } from './engine-harness.ts';
import { until } from './wait.ts';

/** The Dynamics sandbox's size in the scenario. */
export const CHAOS_CUSTOMERS = 150;
export const CHAOS_PRODUCTS = 45;

/** Throttling with Retry-After, 503s, connection resets and token expiry on OData. */
export const DYNAMICS_CHAOS_FAULTS: FaultPlan = {
  seed: 11,
  rules: [
    { kind: 'throttle', match: 'odata.read', probability: 0.2, retryAfterSeconds: 1, count: 5 },
    { kind: 'error', match: 'odata.*', status: 503, probability: 0.1, count: 6 },
    { kind: 'reset', match: 'odata.read', probability: 0.05, count: 3 },
    { kind: 'token-expiry', match: 'odata.*', probability: 0.05, count: 2 },
  ],
};

/** 503s, connection resets and token expiry on REST, and dropped CDC streams (seed 12). */
export const SALESFORCE_CHAOS_RULES: readonly FaultRule[] = [
  { kind: 'error', match: 'rest.*', status: 503, probability: 0.1, count: 6 },
  { kind: 'reset', match: 'rest.query', probability: 0.05, count: 2 },
  { kind: 'token-expiry', match: 'rest.*', probability: 0.05, count: 2 },
  { kind: 'stream-drop', match: 'pubsub.subscribe', probability: 0.3, count: 6 },
];

/** Business events posted to `receiverUrl` with `secret`, 40 % of them twice, reordered within 5. */
export function configureChaosBusinessEvents(h: EngineHarness, receiverUrl: string, secret: string): void {
  h.sandboxes.dynamics.control.configureBusinessEvents({
    url: `${receiverUrl}?code=${secret}`,
    duplicateProbability: 0.4,
    reorderWindow: 5,
    retryDelayMs: 50,
    seed: 5,
  });
}

export interface ChaosDeal {
  readonly id: string;
  readonly lines: number;
}

/** What `salesActivity` did, for the waits and checks that follow. */
export interface SalesActivity {
  /** Customer accounts whose phone changed in Dynamics. */
  readonly changed: readonly string[];
  /** Won Opportunities; `win` adds to them. */
  readonly opportunities: ChaosDeal[];
  readonly order: { readonly id: string };
  /** Accounts created in Salesforce. */
  readonly newAccounts: readonly string[];
  /** Wins a deal with (n % 3) + 1 lines for the Account keyed `key`. */
  win(key: string, n: number): ChaosDeal;
}

/**
 * Changes five customers' phones in Dynamics (announced by business events), then in Salesforce
 * wins three deals, activates an Order and creates two Accounts. Business events are not flushed.
 */
export function salesActivity(h: EngineHarness): SalesActivity {
  const sf = h.sandboxes.salesforce.control;
  const changed = ['US-000002', 'US-000004', 'US-000006', 'US-000008', 'US-000010'];
  for (const account of changed) {
    h.sandboxes.dynamics.control.updateRecord(
      'CustomersV3',
      { dataAreaId: 'usmf', CustomerAccount: account },
      { PrimaryContactPhone: `+1 312 ${account.slice(-4)}` },
    );
  }
  const products = sf.query(
    "SELECT Id FROM Product2 WHERE D365_Item_Key__c LIKE 'usmf:%' ORDER BY ProductCode LIMIT 3",
  ).records;
  const accountOf = (key: string) =>
    String(sf.query(`SELECT Id FROM Account WHERE D365_Customer_Key__c = '${key}'`).records[0]?.Id);
  const win = (key: string, n: number): ChaosDeal => {
    const { id } = sf.createOpportunity({
      accountId: accountOf(key),
      name: `Chaos deal ${n}`,
      lines: products.slice(0, (n % 3) + 1).map((p) => ({ product2Id: String(p.Id), quantity: 2 })),
    });
    sf.closeOpportunityWon(id);
    return { id, lines: (n % 3) + 1 };
  };
  const opportunities = ['usmf:US-000001', 'usmf:US-000003', 'usmf:US-000005'].map(win);
  const order = sf.createOrder({
    accountId: accountOf('usmf:US-000007'),
    lines: [{ product2Id: String(products[0]?.Id), quantity: 1 }],
  });
  sf.activateOrder(order.id);
  const newAccounts = [
    sf.createAccount({ Name: 'Chaos Pumpen GmbH', BillingCountryCode: 'DE' }),
    sf.createAccount({ Name: 'Chaos Valves Ltd', BillingCountryCode: 'GB' }),
  ];
  return { changed, opportunities, order, newAccounts, win };
}

/** Waits until every sale is written back, every new Account keyed and every business event applied. */
export async function untilActivityApplied(h: EngineHarness, activity: SalesActivity): Promise<void> {
  const sf = h.sandboxes.salesforce.control;
  const written = (sobject: string, id: string) => Boolean(sf.get(sobject, id)?.D365_Sales_Order__c);
  await until(
    'every sales order written back',
    () =>
      activity.opportunities.every((o) => written('Opportunity', o.id)) &&
      written('Order', activity.order.id),
    90_000,
  );
  await until(
    'both new accounts keyed',
    () => activity.newAccounts.every((id) => Boolean(sf.get('Account', id)?.D365_Customer_Key__c)),
    90_000,
  );
  await until(
    'every business event applied',
    () =>
      activity.changed.every((account) => {
        const [a] = sf.query(
          `SELECT Phone FROM Account WHERE D365_Customer_Key__c = 'usmf:${account}'`,
        ).records;
        return a?.Phone === `+1 312 ${account.slice(-4)}`;
      }),
    90_000,
  );
}

/**
 * Every Dynamics record once in Salesforce, every sale once in Dynamics with exactly its lines,
 * every new Account once in Dynamics, and faults really fired on both sides.
 */
export function expectNothingLostOrDuplicated(h: EngineHarness, activity: SalesActivity): void {
  const sf = h.sandboxes.salesforce.control;
  const d365 = h.sandboxes.dynamics.control;
  const keys = sf
    .query('SELECT D365_Customer_Key__c FROM Account WHERE D365_Customer_Key__c != null')
    .records.map((r) => r.D365_Customer_Key__c);
  expect(keys).toHaveLength(CHAOS_CUSTOMERS + activity.newAccounts.length);
  expect(new Set(keys).size).toBe(keys.length);
  const items = sf.query('SELECT D365_Item_Key__c FROM Product2 WHERE D365_Item_Key__c != null').records;
  expect(items).toHaveLength(CHAOS_PRODUCTS);
  expect(sf.query('SELECT COUNT() FROM PricebookEntry WHERE Pricebook2.IsStandard = true').totalSize).toBe(
    CHAOS_PRODUCTS,
  );

  for (const o of [...activity.opportunities, { id: activity.order.id, lines: 1 }]) {
    const headers = d365.listRecords('SalesOrderHeadersV2', {
      filter: `CustomersOrderReference eq '${o.id}'`,
    });
    expect(headers).toHaveLength(1);
    const number = String(headers[0]?.SalesOrderNumber);
    expect(
      d365.listRecords('SalesOrderLines', { company: 'usmf', filter: `SalesOrderNumber eq '${number}'` }),
    ).toHaveLength(o.lines);
  }
  // Found by the Account Id each carries (F&O numbered them).
  for (const id of activity.newAccounts) {
    expect(d365.listRecords('CustomersV3', { filter: `IdentificationNumber eq '${id}'` })).toHaveLength(1);
  }

  expect(Object.values(d365.faultsFired()).reduce((a, b) => a + b, 0)).toBeGreaterThan(3);
  expect(h.sandboxes.salesforce.faults.fired()).toMatchObject({ error: expect.any(Number) });
}
