/**
 * The connector in Salesforce orgs that refuse some of its writes or lack features: validation
 * rules and required custom fields park the records concerned (Collections and Bulk API 2.0 alike)
 * while the rest of the batch syncs; values longer than a field are truncated with a note or
 * parked; an existing standard price answered FIELD_INTEGRITY_EXCEPTION is reconciled; and the
 * start-up check tells an org without Orders to enable them and names inactive currencies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '#adapters/clients.ts';
import type { ConnectorConfigInput } from '#core/config/schema.ts';
import { ConfigurationCheckError, checkConfiguration } from '#core/engine/check.ts';
import { replayAuditEntry } from '#core/engine/replay.ts';
import { ensureStandardPrices } from '#core/flows/price-book.ts';
import { syncSalesOrder } from '#core/flows/sales-orders.ts';
import { type RecordOutcome, syncRecords } from '#core/flows/sync.ts';
import type { DynamicsRecord } from '#core/mapping/customers.ts';
import { startSandboxes } from '#sandbox/index.ts';
import type { SalesforceSandboxOptions } from '#sandbox/salesforce/index.ts';
import { DEFAULT_CUSTOM_FIELDS } from '#sandbox/salesforce/objects.ts';
import { type EngineHarness, sandboxConfig, startEngineHarness } from '#test/support/engine-harness.ts';
import { createSalesforceProducts } from '#test/support/sales-order-fixture.ts';
import { createSyncedAccount, dynamicsOrdersFor } from './engine-to-dynamics-fixtures.ts';

const reasonOf = (o: RecordOutcome | undefined) => (o && 'reason' in o ? o.reason : undefined);

describe('the to-Salesforce flows in an org with validation rules and required custom fields', () => {
  let h: EngineHarness;
  let refuseLeeds = true;
  let lockOrders = true;

  beforeAll(async () => {
    h = await startEngineHarness({
      sandboxes: {
        dynamics: { customers: 30, products: 12, salesOrders: 0 },
        salesforce: {
          validationRules: [
            {
              object: 'Account',
              name: 'Leeds_Served_By_Partner',
              errorMessage: 'Leeds customers are served by our partner.',
              errorField: 'BillingCity',
              failsWhen: (r) => refuseLeeds && r.BillingCity === 'Leeds',
            },
            {
              object: 'Order',
              name: 'Locked_For_Review',
              errorMessage: 'The order is locked for finance review.',
              failsWhen: (r, prev) =>
                lockOrders && prev !== undefined && r.D365_Sales_Order__c !== prev.D365_Sales_Order__c,
            },
          ],
          customFields: {
            ...DEFAULT_CUSTOM_FIELDS,
            Product2: [
              ...DEFAULT_CUSTOM_FIELDS.Product2,
              {
                name: 'Warranty_Code__c',
                type: 'string',
                label: 'Warranty Code',
                length: 10,
                nillable: false,
                createable: true,
                updateable: true,
                required: true,
              },
            ],
          },
        },
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const customer = (id: string): DynamicsRecord =>
    h.sandboxes.dynamics.control.getRecord('CustomersV3', {
      dataAreaId: 'gbsi',
      CustomerAccount: id,
    }) as DynamicsRecord;

  it('parks the account a validation rule refuses, with its message, and syncs the rest of the batch', async () => {
    h.sandboxes.dynamics.control.updateRecord(
      'CustomersV3',
      { dataAreaId: 'gbsi', CustomerAccount: 'GB-000002' },
      { AddressCity: 'Leeds' },
    );
    const records = ['GB-000001', 'GB-000002', 'GB-000003'].map(customer);
    const { outcomes, summary } = await syncRecords(h.ctx, 'CustomersV3', records, { trigger: 'sync' });
    expect(outcomes.map((o) => o.status)).toEqual(['succeeded', 'parked', 'succeeded']);
    expect(reasonOf(outcomes[1])).toBe(
      'FIELD_CUSTOM_VALIDATION_EXCEPTION: Leeds customers are served by our partner.',
    );
    expect(summary).toMatchObject({ upserted: 2, failed: 1, parked: 1 });
    const [entry] = await h.state.queryAudit({ recordKey: 'dynamics:CustomersV3:gbsi:GB-000002' });
    expect(entry).toMatchObject({ outcome: 'parked', error: reasonOf(outcomes[1]) });

    // Once the rule no longer refuses, the parked record replays through its queue.
    refuseLeeds = false;
    const item = await replayAuditEntry(h.ctx, entry?.auditId ?? '');
    expect(item).toMatchObject({
      kind: 'dynamics-stub',
      key: { dataAreaId: 'gbsi', CustomerAccount: 'GB-000002' },
    });
    const again = await syncRecords(h.ctx, 'CustomersV3', [customer('GB-000002')], { trigger: 'replay' });
    expect(again.outcomes[0]?.status).toBe('succeeded');
  });

  it('parks an order whose number write-back a validation rule refuses, and completes it on replay without a second sales order', async () => {
    // The last usmf product: the products test below uses the first ones.
    const item = h.sandboxes.dynamics.control.listRecords('ReleasedProductsV2', { company: 'usmf' }).at(-1);
    const sf = h.sandboxes.salesforce.control;
    createSalesforceProducts(h, [String(item?.ItemNumber)], { Warranty_Code__c: 'W1' });
    const accountId = createSyncedAccount(h, 'usmf', 'US-000001');
    const order = sf.createOrder({
      accountId,
      lines: [{ productCode: String(item?.ItemNumber), quantity: 2 }],
    });
    sf.activateOrder(order.id);
    const first = await syncSalesOrder(h.ctx, { sobject: 'Order', id: order.id }, 'cdc');
    expect(first).toEqual({
      outcome: 'parked',
      reason: expect.stringMatching(
        /^writing sales order \S+ back to the Order: FIELD_CUSTOM_VALIDATION_EXCEPTION: The order is locked for finance review\.$/,
      ),
    });
    lockOrders = false;
    const second = await syncSalesOrder(h.ctx, { sobject: 'Order', id: order.id }, 'replay');
    expect(second).toMatchObject({ outcome: 'succeeded', linesCreated: 0 });
    expect(dynamicsOrdersFor(h, order.id)).toHaveLength(1);
    expect(sf.get('Order', order.id)?.D365_Sales_Order__c).toBe(
      (second as { salesOrderNumber: string }).salesOrderNumber,
    );
  });

  it('parks every product without the required custom field, through Collections and through Bulk API 2.0', async () => {
    const products = h.sandboxes.dynamics.control
      .listRecords('ReleasedProductsV2', { company: 'usmf' })
      .slice(0, 3) as DynamicsRecord[];
    const missing = 'REQUIRED_FIELD_MISSING: Required fields are missing: [Warranty_Code__c]';
    const collections = await syncRecords(h.ctx, 'ReleasedProductsV2', products, { trigger: 'sync' });
    expect(collections.outcomes.map((o) => [o.status, reasonOf(o)])).toEqual(
      products.map(() => ['parked', missing]),
    );

    const viaBulk = {
      ...h.ctx,
      config: { ...h.ctx.config, batches: { ...h.ctx.config.batches, bulkThreshold: 1 } },
    };
    const bulk = await syncRecords(viaBulk, 'ReleasedProductsV2', products, { trigger: 'sync' });
    expect(bulk.outcomes.map((o) => o.status)).toEqual(['parked', 'parked', 'parked']);
    expect(reasonOf(bulk.outcomes[0])).toMatch(
      /^REQUIRED_FIELD_MISSING: Required fields are missing: \[Warranty_Code__c\]/,
    );
  });

  it('truncates a city longer than its field with an audit note, and parks a phone number that does not fit', async () => {
    const control = h.sandboxes.dynamics.control;
    const city = 'Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch';
    control.updateRecord(
      'CustomersV3',
      { dataAreaId: 'gbsi', CustomerAccount: 'GB-000004' },
      { AddressCity: city },
    );
    control.updateRecord(
      'CustomersV3',
      { dataAreaId: 'gbsi', CustomerAccount: 'GB-000005' },
      { PrimaryContactPhone: `+44 ${'1'.repeat(40)}` },
    );
    const { outcomes } = await syncRecords(
      h.ctx,
      'CustomersV3',
      [customer('GB-000004'), customer('GB-000005')],
      {
        trigger: 'sync',
      },
    );
    expect(outcomes[0]?.status).toBe('succeeded');
    const [account] = h.sandboxes.salesforce.control.query(
      "SELECT BillingCity FROM Account WHERE D365_Customer_Key__c = 'gbsi:GB-000004'",
    ).records;
    expect(account?.BillingCity).toBe(city.slice(0, 40));
    const [note] = await h.state.queryAudit({ recordKey: 'dynamics:CustomersV3:gbsi:GB-000004' });
    expect(note?.error).toBe(
      `note: Account.BillingCity truncated from ${city.length} to 40 characters (the Salesforce field's length)`,
    );
    expect(outcomes[1]?.status).toBe('parked');
    expect(reasonOf(outcomes[1])).toMatch(
      /^STRING_TOO_LONG: Account\.Phone holds 40 characters and the value has 44/,
    );
  });
});

describe('the products flow when an existing standard price is answered FIELD_INTEGRITY_EXCEPTION', () => {
  let h: EngineHarness;
  beforeAll(async () => {
    h = await startEngineHarness({
      sandboxes: {
        dynamics: { customers: 3, products: 4, salesOrders: 0 },
        salesforce: { duplicatePriceStatusCode: 'FIELD_INTEGRITY_EXCEPTION' },
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('reconciles the existing entry instead of failing the product', async () => {
    const sf = h.sandboxes.salesforce.control;
    // The create of an earlier attempt went through but its answer was lost: the entry exists.
    const productId = sf.insert('Product2', { Name: 'Pump', IsActive: true });
    sf.insert('PricebookEntry', {
      Pricebook2Id: h.ctx.reference.standardPricebookId,
      Product2Id: productId,
      UnitPrice: 1,
      IsActive: false,
    });
    h.clients.salesforce.counter.reset();
    const failures = await ensureStandardPrices(h.ctx, [
      { ref: 0, productId, unitPrice: 42, currencies: [undefined], mode: 'create' },
    ]);
    expect(failures.size).toBe(0);
    // The create was refused FIELD_INTEGRITY_EXCEPTION, then the entry was read and updated.
    expect(h.clients.salesforce.counter.snapshot().byOperation).toMatchObject({
      'rest.collections.create': 1,
      'rest.query': 1,
    });
    const entries = sf.query(
      `SELECT UnitPrice, IsActive FROM PricebookEntry WHERE Product2Id = '${productId}'`,
    ).records;
    expect(entries).toEqual([expect.objectContaining({ UnitPrice: 42, IsActive: true })]);
  });
});

describe('the start-up check in org variants', () => {
  async function check(
    salesforce: Omit<SalesforceSandboxOptions, 'tls'>,
    overrides: Partial<ConnectorConfigInput> = {},
  ) {
    const sandboxes = await startSandboxes({
      dynamics: { customers: 3, products: 3, salesOrders: 0 },
      salesforce,
    });
    const config = sandboxConfig(sandboxes.info, overrides);
    const { dynamics, salesforce: sf } = sandboxes.info;
    const clients = createClients(config, {
      dynamics: { clientId: dynamics.clientId, clientSecret: dynamics.clientSecret },
      salesforce: { clientId: sf.clientId, clientSecret: sf.clientSecret },
    });
    try {
      return await checkConfiguration(config, clients.dynamics, clients.salesforce).catch((e: unknown) => e);
    } finally {
      await clients.close();
      await sandboxes.close();
    }
  }

  it('tells an org without Orders to enable Orders, not to create the write-back field', async () => {
    const error = await check({ orders: false });
    expect(error).toBeInstanceOf(ConfigurationCheckError);
    const problems = (error as ConfigurationCheckError).problems;
    expect(problems).toEqual([
      expect.objectContaining({
        key: 'flows.activatedOrders',
        fix: expect.stringMatching(/^enable Orders in Salesforce Setup/),
      }),
    ]);
    const fine = await check({ orders: false }, { flows: { activatedOrders: { enabled: false } } });
    expect(fine).toMatchObject({ salesforceOrg: { ordersEnabled: false } });
  });

  it('names a legal-entity currency that is not active in a multi-currency org', async () => {
    const error = await check({ multiCurrency: true, currencies: ['USD', 'EUR'] });
    expect(error).toBeInstanceOf(ConfigurationCheckError);
    expect((error as ConfigurationCheckError).problems).toEqual([
      expect.objectContaining({
        key: 'currencies.map',
        problem: expect.stringContaining('currency GBP'),
        fix: expect.stringContaining('activate GBP'),
      }),
    ]);
  });

  it('reads the org shape: codes, state codes per country and active currencies', async () => {
    const reference = await check({ multiCurrency: true, currencies: ['USD', 'EUR', 'GBP'] });
    expect(reference).toMatchObject({ multiCurrency: true });
    const org = (
      reference as {
        salesforceOrg: {
          addressCodes: boolean;
          stateCodes: Map<string, Set<string>>;
          activeCurrencies: Set<string>;
        };
      }
    ).salesforceOrg;
    expect(org.addressCodes).toBe(true);
    expect(org.stateCodes.get('US')?.has('WI')).toBe(true);
    expect(org.stateCodes.has('DE')).toBe(false);
    expect([...org.activeCurrencies]).toEqual(['USD', 'EUR', 'GBP']);
  });
});
