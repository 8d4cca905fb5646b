/**
 * The recipes of docs/MAPPING.md, read from the document and run against both sandboxes: each
 * passes the go-live field check, then its flows write what the recipe says. Also: a mapping that
 * fails for one record parks that record only.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEMO_MAPPINGS } from '#cli/demo-config.ts';
import { checkConfiguration } from '#core/engine/check.ts';
import { goLiveFieldCheck } from '#core/engine/field-check.ts';
import { writeBackAccount } from '#core/flows/account-write-back.ts';
import { syncSalesOrder } from '#core/flows/sales-orders.ts';
import { runDynamicsBackfill } from '#core/triggers/dynamics-backfill.ts';
import { fetchCsdlModel } from '#dynamics/metadata-fetch.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';
import { MAPPING_ORG_FIELDS } from '#test/support/mapping-org.ts';
import {
  createSalesforceProducts,
  createSyncedAccount,
  dynamicsOrdersFor,
} from './engine-to-dynamics-fixtures.ts';

type Row = Record<string, unknown>;

/** The `<!-- recipe: name -->` YAML blocks of docs/MAPPING.md. */
function recipes(): Map<string, Row> {
  const text = readFileSync(new URL('../../docs/MAPPING.md', import.meta.url), 'utf8');
  const out = new Map<string, Row>();
  for (const m of text.matchAll(/<!-- recipe: ([\w-]+) -->\s*```yaml\n([\s\S]*?)```/g)) {
    out.set(String(m[1]), parse(String(m[2])) as Row);
  }
  return out;
}

const RECIPES = recipes();
const PICKLIST: Row = {
  Net10: 'Net 10',
  Net30: 'Net 30',
  Net45: 'Net 45',
  Net60: 'Net 60',
  COD: 'Cash on delivery',
};
const harnesses: EngineHarness[] = [];

/** A harness with the recipe's configuration and the recipes' org, after the go-live field check passed. */
async function start(name: string): Promise<EngineHarness> {
  const recipe = RECIPES.get(name);
  if (!recipe) throw new Error(`docs/MAPPING.md has no recipe ${name}`);
  const h = await startEngineHarness({
    sandboxes: {
      dynamics: { customers: 8, products: 4, salesOrders: 0 },
      salesforce: { customFields: MAPPING_ORG_FIELDS },
    },
    config: recipe as never,
  });
  harnesses.push(h);
  const fieldCheck = goLiveFieldCheck(h.config, () => fetchCsdlModel(h.clients.dynamics));
  await checkConfiguration(h.config, h.clients.dynamics, h.clients.salesforce, { fieldCheck });
  return h;
}

function customers(h: EngineHarness): Row[] {
  return h.sandboxes.dynamics.control.listRecords('CustomersV3') as Row[];
}

function accountsByKey(h: EngineHarness, fields: string): Map<string, Row> {
  const page = h.sandboxes.salesforce.control.query(
    `SELECT Id, D365_Customer_Key__c, ${fields} FROM Account`,
  );
  return new Map(page.records.map((r) => [String(r.D365_Customer_Key__c), r as Row]));
}

const keyOf = (c: Row) => `${String(c.dataAreaId)}:${String(c.CustomerAccount)}`;

async function backfillCustomers(h: EngineHarness) {
  const report = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3'] });
  expect(report.stopped).toBeUndefined();
  return report;
}

/** A won Opportunity on a synced Account with two lines, the first discounted 12.5 %. */
function wonOpportunity(h: EngineHarness, account: Row = {}): { oppId: string; accountId: string } {
  const sf = h.sandboxes.salesforce.control;
  createSalesforceProducts(h, ['P000001', 'P000002']);
  const [first] = customers(h).filter((c) => c.dataAreaId === 'usmf');
  const accountId = createSyncedAccount(h, 'usmf', String(first?.CustomerAccount));
  sf.update('Account', accountId, account);
  const { id, lineIds } = sf.createOpportunity({
    accountId,
    name: 'Pump refit for the north plant',
    closeDate: '2026-07-15',
    lines: [
      { productCode: 'P000001', quantity: 2 },
      { productCode: 'P000002', quantity: 1 },
    ],
  });
  sf.update('OpportunityLineItem', String(lineIds[0]), { Discount: 12.5 });
  sf.closeOpportunityWon(id);
  return { oppId: id, accountId };
}

describe('docs/MAPPING.md recipes against the sandboxes', () => {
  afterAll(async () => {
    await Promise.all(harnesses.map((h) => h.close()));
  });

  it('finds every recipe the document describes', () => {
    expect([...RECIPES.keys()].sort()).toEqual(
      ['custom-fields', 'line-discounts', 'on-hold', 'payment-terms', 'shipping-address'].sort(),
    );
  });

  it('custom-fields: writes custom fields, a template in upper case, and removes a default', async () => {
    const h = await start('custom-fields');
    await backfillCustomers(h);
    const accounts = accountsByKey(h, 'AccountNumber, Credit_Limit__c, Website');
    expect(accounts.size).toBe(customers(h).length);
    for (const c of customers(h)) {
      expect(accounts.get(keyOf(c))).toMatchObject({
        Credit_Limit__c: c.CreditLimit,
        AccountNumber: `${String(c.dataAreaId)}-${String(c.CustomerAccount)}`.toUpperCase(),
        Website: null,
      });
    }
  });

  it('shipping-address: fills the shipping address and the sales order delivery address through Account.', async () => {
    const h = await start('shipping-address');
    await backfillCustomers(h);
    const accounts = accountsByKey(
      h,
      'ShippingStreet, ShippingCity, ShippingPostalCode, ShippingCountryCode',
    );
    for (const c of customers(h)) {
      expect(accounts.get(keyOf(c))).toMatchObject({
        ShippingStreet: c.AddressStreet,
        ShippingCity: c.AddressCity,
        ShippingPostalCode: c.AddressZipCode,
        ShippingCountryCode: c.AddressCountryRegionISOCode,
      });
    }
    const { oppId } = wonOpportunity(h, {
      ShippingStreet: '1 Harbour Road',
      ShippingCity: 'Portland',
      ShippingPostalCode: '97201',
    });
    expect(await syncSalesOrder(h.ctx, { sobject: 'Opportunity', id: oppId }, 'cdc')).toMatchObject({
      outcome: 'succeeded',
    });
    const [order] = dynamicsOrdersFor(h, oppId);
    expect(order?.header).toMatchObject({
      DeliveryAddressStreet: '1 Harbour Road',
      DeliveryAddressCity: 'Portland',
      DeliveryAddressZipCode: '97201',
      SalesOrderName: 'Pump refit for the north plant',
    });
    expect(String(order?.header.RequestedShippingDate)).toMatch(/^2026-07-15T00:00:00/);
  });

  it('shipping-address: parks an order whose postal code is longer than the mapping allows, before writing', async () => {
    const h = await start('shipping-address');
    const { oppId } = wonOpportunity(h, { ShippingPostalCode: '97201-1234-5678' });
    h.sandboxes.dynamics.control.resetCounters();
    const result = await syncSalesOrder(h.ctx, { sobject: 'Opportunity', id: oppId }, 'cdc');
    expect(result).toMatchObject({ outcome: 'parked' });
    expect('reason' in result ? result.reason : '').toMatch(/mappings\.salesOrders\.DeliveryAddressZipCode/);
    expect(h.sandboxes.dynamics.control.counters()['odata.create'] ?? 0).toBe(0);
  });

  it('payment-terms: maps codes to picklist values and maps them back for a new Account', async () => {
    const h = await start('payment-terms');
    await backfillCustomers(h);
    const accounts = accountsByKey(h, 'Payment_Terms__c');
    expect(accounts.size).toBe(customers(h).length);
    for (const c of customers(h)) {
      expect(accounts.get(keyOf(c))?.Payment_Terms__c).toBe(PICKLIST[String(c.PaymentTerms)]);
    }
    const sf = h.sandboxes.salesforce.control;
    const accountId = sf.createAccount({
      Name: 'Terms Back Ltd',
      BillingCountryCode: 'US',
      Payment_Terms__c: 'Net 45',
    });
    expect(await writeBackAccount(h.ctx, accountId, 'cdc')).toMatchObject({ outcome: 'succeeded' });
    const created = customers(h).find((c) => c.OrganizationName === 'Terms Back Ltd');
    expect(created).toMatchObject({ PaymentTerms: 'Net45', IdentificationNumber: accountId });
  });

  it('payment-terms: parks only the customers whose code the value map lacks, naming the key and the fix', async () => {
    const recipe = RECIPES.get('payment-terms') as {
      mappings: { customers: { Payment_Terms__c: { map: Row } } };
    };
    const { COD: _cod, ...withoutCod } = recipe.mappings.customers.Payment_Terms__c.map;
    const h = await startEngineHarness({
      sandboxes: {
        dynamics: { customers: 8, products: 4, salesOrders: 0 },
        salesforce: { customFields: MAPPING_ORG_FIELDS },
      },
      config: { mappings: { customers: { Payment_Terms__c: { field: 'PaymentTerms', map: withoutCod } } } },
    });
    harnesses.push(h);
    for (const c of customers(h).slice(0, 2)) {
      h.sandboxes.dynamics.control.updateRecord(
        'CustomersV3',
        { dataAreaId: String(c.dataAreaId), CustomerAccount: String(c.CustomerAccount) },
        { PaymentTerms: 'COD' },
      );
    }
    const cod = customers(h).filter((c) => c.PaymentTerms === 'COD');
    expect(cod.length).toBeGreaterThanOrEqual(2);
    await backfillCustomers(h);
    const accounts = accountsByKey(h, 'Payment_Terms__c');
    expect(accounts.size).toBe(customers(h).length - cod.length);
    for (const c of cod) expect(accounts.has(keyOf(c))).toBe(false);
    const parked = (await h.state.queryAudit({ outcome: 'parked' })).filter((a) => a.flow === 'customers');
    expect(parked).toHaveLength(cod.length);
    expect(parked[0]?.error).toBe(
      'mappings.customers.Payment_Terms__c: the value "COD" has no entry in the value map; add it under mappings.customers.Payment_Terms__c.map (or give mappings.customers.Payment_Terms__c.fallback), then replay',
    );
  });

  it('on-hold: turns OnHoldStatus into a checkbox', async () => {
    const h = await start('on-hold');
    const [held, never] = customers(h);
    const d = h.sandboxes.dynamics.control;
    const key = (c: Row | undefined) => ({
      dataAreaId: String(c?.dataAreaId),
      CustomerAccount: String(c?.CustomerAccount),
    });
    d.updateRecord('CustomersV3', key(held), { OnHoldStatus: 'All' });
    d.updateRecord('CustomersV3', key(never), { OnHoldStatus: 'Never' });
    await backfillCustomers(h);
    const accounts = accountsByKey(h, 'On_Hold__c');
    expect(accounts.get(keyOf(held ?? {}))?.On_Hold__c).toBe(true);
    expect(accounts.get(keyOf(never ?? {}))?.On_Hold__c).toBe(false);
    const others = customers(h).filter(
      (c) => c !== held && c !== never && keyOf(c) !== keyOf(held ?? {}) && keyOf(c) !== keyOf(never ?? {}),
    );
    for (const c of others) expect(accounts.get(keyOf(c))?.On_Hold__c).toBe(false);
  });

  it('line-discounts: writes the line discount, the parent name on each line and a templated order name', async () => {
    const h = await start('line-discounts');
    const { oppId, accountId } = wonOpportunity(h);
    expect(await syncSalesOrder(h.ctx, { sobject: 'Opportunity', id: oppId }, 'cdc')).toMatchObject({
      outcome: 'succeeded',
    });
    const [order] = dynamicsOrdersFor(h, oppId);
    const account = h.sandboxes.salesforce.control.get('Account', accountId);
    expect(order?.header.SalesOrderName).toBe(
      `Pump refit for the north plant / ${String(account?.Name)}`.slice(0, 60),
    );
    expect(
      order?.lines.map((l) => [l.ItemNumber, l.LineDiscountPercentage, l.CustomerRequisitionNumber]),
    ).toEqual([
      ['P000001', 12.5, 'Pump refit for the n'],
      ['P000002', 0, 'Pump refit for the n'],
    ]);
  });

  it('the demo: its mappings pass the field check and shape its Accounts, products and sales orders', async () => {
    const h = await startEngineHarness({
      sandboxes: { dynamics: { customers: 8, products: 4, salesOrders: 0 } },
      config: { mappings: DEMO_MAPPINGS as never },
    });
    harnesses.push(h);
    const fieldCheck = goLiveFieldCheck(h.config, () => fetchCsdlModel(h.clients.dynamics));
    await checkConfiguration(h.config, h.clients.dynamics, h.clients.salesforce, { fieldCheck });
    await backfillCustomers(h);
    const accounts = accountsByKey(h, 'Description, ShippingCity');
    for (const c of customers(h)) {
      expect(accounts.get(keyOf(c))).toMatchObject({
        Description: `Payment terms ${String(c.PaymentTerms)}, delivery terms ${String(c.DeliveryTerms)}, customer group ${String(c.CustomerGroupId)}`,
        ShippingCity: c.AddressCity,
      });
    }
    const { oppId } = wonOpportunity(h, { ShippingCity: 'Leeds' });
    expect(await syncSalesOrder(h.ctx, { sobject: 'Opportunity', id: oppId }, 'cdc')).toMatchObject({
      outcome: 'succeeded',
    });
    expect(dynamicsOrdersFor(h, oppId)[0]?.header.DeliveryAddressCity).toBe('Leeds');
  });

  it('products and price book entries: a configured mapping shapes Product2 and the standard price', async () => {
    const h = await startEngineHarness({
      sandboxes: { dynamics: { customers: 2, products: 6, salesOrders: 0 } },
      config: {
        products: { name: { source: 'searchName', language: 'en-us' } },
        mappings: {
          products: {
            Description: { template: '{SearchName} in group {ProductGroupId}' },
            ProductCode: { field: 'ItemNumber', case: 'lower' },
          },
          priceBookEntries: { UnitPrice: { field: 'SalesPrice', decimals: 0 } },
        },
      },
    });
    harnesses.push(h);
    const fieldCheck = goLiveFieldCheck(h.config, () => fetchCsdlModel(h.clients.dynamics));
    await checkConfiguration(h.config, h.clients.dynamics, h.clients.salesforce, { fieldCheck });
    const report = await runDynamicsBackfill(h.ctx, { entities: ['ReleasedProductsV2'] });
    expect(report.stopped).toBeUndefined();
    const sf = h.sandboxes.salesforce.control;
    const released = h.sandboxes.dynamics.control.listRecords('ReleasedProductsV2', {
      filter: "dataAreaId eq 'usmf'",
    }) as Row[];
    expect(released.length).toBeGreaterThan(0);
    for (const p of released) {
      const [product] = sf.query(
        `SELECT Id, Name, ProductCode, Description FROM Product2 WHERE D365_Item_Key__c = 'usmf:${String(p.ItemNumber)}'`,
      ).records;
      expect(product).toMatchObject({
        Name: p.SearchName,
        ProductCode: String(p.ItemNumber).toLowerCase(),
        Description: `${String(p.SearchName)} in group ${String(p.ProductGroupId)}`,
      });
      const [entry] = sf.query(
        `SELECT UnitPrice FROM PricebookEntry WHERE Product2Id = '${String(product?.Id)}'`,
      ).records;
      expect(entry?.UnitPrice).toBe(Math.round(Number(p.SalesPrice)));
    }
  });

  it('parks an order whose line mapping fails before writing anything, and skips an ineligible one', async () => {
    const h = await startEngineHarness({
      sandboxes: { dynamics: { customers: 4, products: 4, salesOrders: 0 } },
      config: {
        mappings: { salesOrderLines: { LineDiscountPercentage: { field: 'Description', as: 'number' } } },
      },
    });
    harnesses.push(h);
    const sf = h.sandboxes.salesforce.control;
    const won = wonOpportunity(h);
    const [line] = sf.query(
      `SELECT Id FROM OpportunityLineItem WHERE OpportunityId = '${won.oppId}'`,
    ).records;
    sf.update('OpportunityLineItem', String(line?.Id), { Description: 'ten percent' });
    h.sandboxes.dynamics.control.resetCounters();
    const result = await syncSalesOrder(h.ctx, { sobject: 'Opportunity', id: won.oppId }, 'cdc');
    expect(result).toMatchObject({ outcome: 'parked' });
    expect('reason' in result ? result.reason : '').toMatch(
      /^line \d \(\w+\): mappings\.salesOrderLines\.LineDiscountPercentage: "ten percent" is not a number/,
    );
    expect(h.sandboxes.dynamics.control.counters()['odata.create'] ?? 0).toBe(0);

    const open = sf.createOpportunity({
      accountId: won.accountId,
      name: 'Still open',
      lines: [{ productCode: 'P000001', quantity: 1 }],
    });
    sf.update('OpportunityLineItem', String(open.lineIds[0]), { Description: 'ten percent' });
    expect(await syncSalesOrder(h.ctx, { sobject: 'Opportunity', id: open.id }, 'cdc')).toMatchObject({
      outcome: 'skipped',
    });
  });
});
