/**
 * The engine end to end in its local shape: the runner (receiver, CDC subscribers, backfill,
 * pumps) against both sandboxes, as a user runs it. The example business arrives in Salesforce;
 * a rep's activity flows back into Dynamics exactly once; a re-run writes nothing; a CDC outage
 * longer than the retention window is recovered by the backfill; no secret reaches a log or audit entry.
 * It runs in two Salesforce org variants: a single-currency org without State and Country/Territory
 * Picklists (an older org), and a multi-currency org with them (the EUR and GBP legal entities'
 * accounts, prices and opportunities in their own currencies).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRunner } from '#adapters/local/runner.ts';
import type { SalesforceSandboxOptions } from '#sandbox/salesforce/index.ts';
import { type EngineHarness, startEngineHarness, startHarnessRunner } from '#test/support/engine-harness.ts';
import { until } from '#test/support/wait.ts';

const RECEIVER_SECRET = 'e2e-receiver-secret-9f8e7d6c5b4a';

function startRunner(h: EngineHarness, options: { backfillOnStart?: boolean } = {}): Promise<LocalRunner> {
  return startHarnessRunner(h, { receiverSecret: RECEIVER_SECRET, ...options });
}

const salesforceWrites = (h: EngineHarness) =>
  Object.entries(h.clients.salesforce.counter.snapshot().byOperation).filter(([op]) =>
    /upsert|create|update|bulk/.test(op),
  );

interface OrgVariant {
  readonly name: string;
  readonly salesforce: Omit<SalesforceSandboxOptions, 'tls'>;
  /** A German address as a rep enters it in this org. */
  readonly german: Record<string, unknown>;
  /** The currency of a record of legal entity demf (undefined: the org has one currency). */
  readonly demfCurrency: string | undefined;
}

const VARIANTS: readonly OrgVariant[] = [
  {
    name: 'a single-currency org without State and Country/Territory Picklists',
    salesforce: { multiCurrency: false, stateCountryPicklists: false },
    german: { BillingCountry: 'Germany' },
    demfCurrency: undefined,
  },
  {
    name: 'a multi-currency org with State and Country/Territory Picklists',
    salesforce: { multiCurrency: true, currencies: ['USD', 'EUR', 'GBP'], stateCountryPicklists: true },
    german: { BillingCountryCode: 'DE', CurrencyIsoCode: 'EUR' },
    demfCurrency: 'EUR',
  },
];

describe.each(VARIANTS)('the engine end to end against both sandboxes, in $name', (variant) => {
  let h: EngineHarness;
  let runner: LocalRunner;
  const sold: { opportunityId?: string; orderId?: string; newAccountId?: string } = {};

  beforeAll(async () => {
    h = await startEngineHarness({
      sandboxes: {
        dynamics: { customers: 240, products: 90, salesOrders: 10 },
        salesforce: variant.salesforce,
      },
    });
    runner = await startRunner(h);
    h.sandboxes.dynamics.control.configureBusinessEvents({
      url: `${runner.receiverUrl}?code=${RECEIVER_SECRET}`,
      retryDelayMs: 50,
    });
  });
  afterAll(async () => {
    await runner?.stop();
    await h?.close();
  });

  it('brings every customer and product of the example business into Salesforce, with price book entries', async () => {
    await runner.backfill();
    await runner.idle();
    const sf = h.sandboxes.salesforce.control;
    const count = (q: string) => sf.query(q).totalSize;
    expect(count('SELECT COUNT() FROM Account WHERE D365_Customer_Key__c != null')).toBe(240);
    expect(count('SELECT COUNT() FROM Product2 WHERE D365_Item_Key__c != null')).toBe(90);
    expect(
      count('SELECT COUNT() FROM PricebookEntry WHERE Pricebook2.IsStandard = true AND IsActive = true'),
    ).toBe(90);
  });

  it('writes each address the way the org holds it', async () => {
    const sf = h.sandboxes.salesforce.control;
    const codes = variant.salesforce.stateCountryPicklists === true;
    const [us] = sf.query(
      `SELECT BillingCountry, BillingState${codes ? ', BillingCountryCode, BillingStateCode' : ''} FROM Account WHERE D365_Customer_Key__c = 'usmf:US-000001'`,
    ).records;
    const [de] = sf.query(
      `SELECT Id, BillingCountry, BillingState FROM Account WHERE D365_Customer_Key__c = 'demf:DE-000001'`,
    ).records;
    if (codes) {
      // ISO codes into the Code fields; Salesforce fills the names. Germany has no states in the org.
      expect(us).toMatchObject({ BillingCountryCode: 'US', BillingCountry: 'United States' });
      expect(String(us?.BillingStateCode)).toMatch(/^[A-Z]{2}$/);
      expect(de).toMatchObject({ BillingCountry: 'Germany', BillingState: null });
      const [entry] = await h.state.queryAudit({ recordKey: 'dynamics:CustomersV3:demf:DE-000001' });
      expect(entry?.error).toMatch(/^note: BillingStateCode: state [A-Z]{2} is not a state of DE/);
    } else {
      expect(us).toMatchObject({ BillingCountry: 'US' });
      expect(String(us?.BillingState)).toMatch(/^[A-Z]{2}$/);
      expect(de).toMatchObject({ BillingCountry: 'DE' });
    }
  });

  it('turns a won opportunity with three lines into one Dynamics sales order and writes its number back', async () => {
    const sf = h.sandboxes.salesforce.control;
    const [account] = sf.query(
      "SELECT Id FROM Account WHERE D365_Customer_Key__c = 'usmf:US-000007'",
    ).records;
    const products = sf.query(
      "SELECT Id FROM Product2 WHERE D365_Item_Key__c LIKE 'usmf:%' ORDER BY ProductCode LIMIT 3",
    ).records;
    const opportunity = sf.createOpportunity({
      accountId: String(account?.Id),
      name: 'Three pumps',
      lines: products.map((p, i) => ({ product2Id: String(p.Id), quantity: i + 1 })),
    });
    sf.closeOpportunityWon(opportunity.id);
    sold.opportunityId = opportunity.id;
    const number = await until(
      'the order number on the Opportunity',
      () => sf.get('Opportunity', opportunity.id)?.D365_Sales_Order__c as string | undefined,
    );
    const headers = h.sandboxes.dynamics.control.listRecords('SalesOrderHeadersV2', {
      filter: `CustomersOrderReference eq '${opportunity.id}'`,
    });
    expect(headers).toHaveLength(1);
    expect(headers[0]).toMatchObject({
      SalesOrderNumber: number,
      dataAreaId: 'usmf',
      OrderingCustomerAccountNumber: 'US-000007',
    });
    expect(
      h.sandboxes.dynamics.control.listRecords('SalesOrderLines', {
        filter: `SalesOrderNumber eq '${number}'`,
        company: 'usmf',
      }),
    ).toHaveLength(3);
  });

  it('turns an activated order into a sales order, and a new account into a Dynamics customer with its key', async () => {
    const sf = h.sandboxes.salesforce.control;
    const [account] = sf.query(
      "SELECT Id FROM Account WHERE D365_Customer_Key__c = 'usmf:US-000008'",
    ).records;
    const [product] = sf.query(
      "SELECT Id FROM Product2 WHERE D365_Item_Key__c LIKE 'usmf:%' ORDER BY ProductCode LIMIT 1",
    ).records;
    const order = sf.createOrder({
      accountId: String(account?.Id),
      lines: [{ product2Id: String(product?.Id), quantity: 4 }],
    });
    sf.activateOrder(order.id);
    sold.orderId = order.id;
    const newAccount = sf.createAccount({
      Name: 'Nordsee Kompressoren AG',
      BillingCity: 'Hamburg',
      ...variant.german,
    });
    sold.newAccountId = newAccount;
    await until('the order number on the Order', () => sf.get('Order', order.id)?.D365_Sales_Order__c);
    const key = await until(
      'the key on the new Account',
      () => sf.get('Account', newAccount)?.D365_Customer_Key__c as string | undefined,
    );
    // F&O numbered the customer from demf's customer account sequence.
    expect(key).toMatch(/^demf:DE-\d{6}$/);
    const customer = h.sandboxes.dynamics.control.getRecord('CustomersV3', {
      dataAreaId: 'demf',
      CustomerAccount: key.split(':')[1] ?? '',
    });
    expect(customer).toMatchObject({
      OrganizationName: 'Nordsee Kompressoren AG',
      SalesCurrencyCode: 'EUR',
      IdentificationNumber: newAccount,
    });
  });

  it('carries a Dynamics change announced by a business event to its Account', async () => {
    h.sandboxes.dynamics.control.updateRecord(
      'CustomersV3',
      { dataAreaId: 'gbsi', CustomerAccount: 'GB-000003' },
      { PrimaryContactPhone: '+44 20 7946 0003' },
    );
    await h.sandboxes.dynamics.control.flushBusinessEvents();
    await until('the Account update', () => {
      const [a] = h.sandboxes.salesforce.control.query(
        "SELECT Phone FROM Account WHERE D365_Customer_Key__c = 'gbsi:GB-000003'",
      ).records;
      return a?.Phone === '+44 20 7946 0003' ? true : undefined;
    });
  });

  it('writes nothing to Salesforce and creates nothing in Dynamics when every flow runs again', async () => {
    await runner.idle();
    h.clients.salesforce.counter.reset();
    h.clients.dynamics.counter.reset();
    await runner.backfill({ full: true });
    await runner.idle();
    expect(salesforceWrites(h)).toEqual([]);
    expect(h.clients.dynamics.counter.snapshot().byOperation['odata.create'] ?? 0).toBe(0);
    expect(
      h.sandboxes.dynamics.control.listRecords('SalesOrderHeadersV2', {
        filter: `CustomersOrderReference eq '${sold.opportunityId}'`,
      }),
    ).toHaveLength(1);
  });

  it('recovers every change made while CDC was down for longer than the 72-hour retention', async () => {
    await runner.stop();
    const sf = h.sandboxes.salesforce.control;
    const [account] = sf.query(
      "SELECT Id FROM Account WHERE D365_Customer_Key__c = 'demf:DE-000002'",
    ).records;
    const [product] = sf.query(
      "SELECT Id FROM Product2 WHERE D365_Item_Key__c LIKE 'demf:%' ORDER BY ProductCode LIMIT 1",
    ).records;
    const missed = sf.createOpportunity({
      accountId: String(account?.Id),
      name: 'Won during the outage',
      lines: [{ product2Id: String(product?.Id), quantity: 2 }],
      ...(variant.demfCurrency ? { currency: variant.demfCurrency } : {}),
    });
    sf.closeOpportunityWon(missed.id);
    h.sandboxes.salesforce.control.advanceClock(73 * 3600_000);
    // No backfill at start: only the replay-gap path can find this change.
    runner = await startRunner(h, { backfillOnStart: false });
    const number = await until(
      'the missed opportunity in Dynamics',
      () => sf.get('Opportunity', missed.id)?.D365_Sales_Order__c,
      45_000,
    );
    expect(
      h.sandboxes.dynamics.control.listRecords('SalesOrderHeadersV2', {
        filter: `CustomersOrderReference eq '${missed.id}'`,
      }),
    ).toEqual([expect.objectContaining({ SalesOrderNumber: number, dataAreaId: 'demf' })]);
  });

  it('keeps client secrets, access tokens and the receiver secret out of every log line and audit entry', async () => {
    const { dynamics, salesforce } = h.sandboxes.info;
    const session = await h.clients.salesforce.tokenSource.getSession();
    const secrets = [dynamics.clientSecret, salesforce.clientSecret, RECEIVER_SECRET, session.accessToken];
    const audit = JSON.stringify(await h.state.queryAudit({ since: 0, limit: 1000 }));
    expect(h.logs.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      expect(h.logs.filter((line) => line.includes(secret))).toEqual([]);
      expect(audit.includes(secret)).toBe(false);
    }
    // Entra tokens are JWTs: none may appear either.
    expect(h.logs.filter((line) => /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/.test(line))).toEqual([]);
  });
});
