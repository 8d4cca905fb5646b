import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTITY_SETS } from '#sandbox/dynamics/entities.ts';
import { type DynamicsSandbox, startDynamicsSandbox } from '#sandbox/dynamics/index.ts';
import { errorText, type SandboxHttp, sandboxHttp } from '#test/support/dynamics-sandbox-http.ts';

let sandbox: DynamicsSandbox;
let http: SandboxHttp;

beforeAll(async () => {
  sandbox = await startDynamicsSandbox({ seed: 11, customers: 300, products: 40, salesOrders: 6 });
  http = sandboxHttp(sandbox.info);
});
afterAll(async () => {
  await sandbox?.close();
});

type Row = Record<string, unknown>;
const rows = (json: Record<string, unknown>) => json.value as Row[];
const q = (s: string) => encodeURIComponent(s);

async function metadata(): Promise<string> {
  const res = await fetch(`${sandbox.info.odataUrl}$metadata`, {
    headers: { authorization: `Bearer ${await http.token()}` },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/xml/);
  return res.text();
}

/** The `<EntityType Name="…">…</EntityType>` element of a type. */
const entityType = (xml: string, name: string): string =>
  new RegExp(`<EntityType Name="${name}">.*?</EntityType>`).exec(xml)?.[0] ?? '';

describe('dynamics sandbox $metadata', () => {
  it('serves a CSDL document with every entity set, key, property and enum type the service has', async () => {
    const xml = await metadata();
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="utf-8"\?><edmx:Edmx Version="4.0"/);
    expect(xml).toContain('<Schema Namespace="Microsoft.Dynamics.DataEntities"');
    for (const def of Object.values(ENTITY_SETS)) {
      expect(xml).toContain(`<EntitySet Name="${def.name}" EntityType="${def.typeName}"`);
      const type = entityType(xml, def.typeName.split('.').at(-1) ?? '');
      const keys = [...type.matchAll(/<PropertyRef Name="(\w+)"\/>/g)].map((m) => m[1]);
      expect(keys).toEqual(def.keys);
      expect([...type.matchAll(/<Property Name="/g)].length).toBe(def.fields.size);
    }
    const customer = entityType(xml, 'CustomerV3');
    expect(customer).toContain(
      '<Property Name="IsOneTimeCustomer" Type="Microsoft.Dynamics.DataEntities.NoYes" Nullable="true"/>',
    );
    expect(customer).toContain('<Property Name="CustomerAccount" Type="Edm.String" Nullable="false"/>');
    expect(customer).toContain(
      '<Property Name="PrimaryContactFaxRecordId" Type="Edm.Int64" Nullable="false"/>',
    );
    expect(xml).toContain(
      '<EnumType Name="NoYes"><Member Name="No" Value="0"/><Member Name="Yes" Value="1"/></EnumType>',
    );
    expect(xml).toContain('<Member Name="Backorder" Value="1"/>');
    expect(entityType(xml, 'ReleasedProductV2')).not.toContain('"ProductName"');
    expect(entityType(xml, 'LegalEntity')).not.toContain('"AccountingCurrency"');
    expect(entityType(xml, 'Ledger')).toContain('<Property Name="AccountingCurrency" Type="Edm.String"');
  });
});

describe('dynamics sandbox schema fidelity', () => {
  it('returns every field without $select, unset ones as F&O empty values', async () => {
    const customer = await http.get("CustomersV3(dataAreaId='usmf',CustomerAccount='US-000001')");
    const def = ENTITY_SETS.CustomersV3;
    expect(Object.keys(customer).filter((k) => !k.startsWith('@odata.'))).toEqual([
      ...(def?.fields.keys() ?? []),
    ]);
    expect(customer.OnHoldStatus).toBe('No');
    expect(customer.IdentificationNumber).toBe('');
    expect(customer.PrimaryContactFaxRecordId).toBe(0);
    const unset = await http.get(
      `CustomersV3?$count=true&$top=0&$filter=${q("IdentificationNumber eq '' and OnHoldStatus eq Microsoft.Dynamics.DataEntities.CustVendorBlocked'No'")}`,
    );
    expect(unset['@odata.count']).toBe(150);
  });

  it('refuses fields F&O does not have', async () => {
    for (const [set, field] of [
      ['ReleasedProductsV2', 'ProductName'],
      ['ReleasedProductsV2', 'ProductDescription'],
      ['LegalEntities', 'AccountingCurrency'],
      ['Currencies', 'RoundingPrecision'],
    ] as const) {
      const res = await http.call('GET', `${set}?$select=${field}`);
      expect(res.status, `${set}.${field}`).toBe(400);
      expect(errorText(res.json)).toMatch(new RegExp(`Could not find a property named '${field}'`));
    }
  });

  it('writes enum values as member names and filters them only with the enum literal syntax', async () => {
    const product = await http.get(
      "ReleasedProductsV2(dataAreaId='usmf',ItemNumber='P000001')?$select=ProductType",
    );
    expect(['Item', 'Service']).toContain(product.ProductType);

    const ok = await http.get(
      `CustomersV3?$count=true&$top=0&$filter=${q("IsOneTimeCustomer eq Microsoft.Dynamics.DataEntities.NoYes'No'")}`,
    );
    expect(ok['@odata.count']).toBe(150);

    const plain = await http.call('GET', `CustomersV3?$filter=${q("IsOneTimeCustomer eq 'No'")}`);
    expect(plain.status).toBe(400);
    expect(errorText(plain.json)).toContain(
      "Found operand types 'Microsoft.Dynamics.DataEntities.NoYes' and 'Edm.String' for operator kind 'Equal'",
    );
    const ordered = await http.call(
      'GET',
      `SalesOrderHeadersV2?$filter=${q("SalesOrderStatus gt Microsoft.Dynamics.DataEntities.SalesStatus'None'")}`,
    );
    expect(ordered.status).toBe(400);
    const unknown = await http.call(
      'GET',
      `SalesOrderHeadersV2?$filter=${q("SalesOrderStatus eq Microsoft.Dynamics.DataEntities.SalesStatus'Open'")}`,
    );
    expect(unknown.status).toBe(400);
    const written = await http.call('PATCH', "CustomersV3(dataAreaId='usmf',CustomerAccount='US-000002')", {
      OnHoldStatus: 'Blocked',
    });
    expect(written.status).toBe(400);
  });

  it('serves each company accounting currency on Ledgers', async () => {
    const ledgers = rows(
      await http.get('Ledgers?$select=LegalEntityId,AccountingCurrency,ReportingCurrency'),
    );
    expect(Object.fromEntries(ledgers.map((l) => [l.LegalEntityId, l.AccountingCurrency]))).toEqual({
      demf: 'EUR',
      gbsi: 'GBP',
      usmf: 'USD',
    });
  });

  it('serves product names and descriptions per language on ProductTranslations', async () => {
    const en = await http.get("ProductTranslations(ProductNumber='P000001',LanguageId='en-us')");
    const de = await http.get("ProductTranslations(ProductNumber='P000001',LanguageId='de')");
    expect(String(en.ProductName)).not.toBe('');
    expect(String(de.ProductName)).not.toBe(String(en.ProductName));
    expect(String(en.Description)).toContain(String(en.ProductName));
    const all = await http.get(`ProductTranslations?$count=true&$top=0&$filter=${q("LanguageId eq 'de'")}`);
    expect(all['@odata.count']).toBe(20);
    const missing = await http.call('GET', "ProductTranslations(ProductNumber='P000001',LanguageId='fr')");
    expect(missing.status).toBe(404);
  });
});
