import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DynamicsSandbox, startDynamicsSandbox } from '#sandbox/dynamics/index.ts';
import { errorText, type SandboxHttp, sandboxHttp } from '#test/support/dynamics-sandbox-http.ts';

let sandbox: DynamicsSandbox;
let http: SandboxHttp;

beforeAll(async () => {
  sandbox = await startDynamicsSandbox({
    seed: 7,
    customers: 3000,
    products: 300,
    salesOrders: 30,
    // These tests choose their customer numbers (key encoding, duplicates): a Manual sequence.
    numberSequences: { customerAccounts: { manual: true } },
  });
  http = sandboxHttp(sandbox.info);
});
afterAll(async () => {
  await sandbox?.close();
});

type Row = Record<string, unknown>;
const rows = (json: Record<string, unknown>) => json.value as Row[];
const q = (s: string) => encodeURIComponent(s);

describe('dynamics sandbox OData reads', () => {
  it('returns only the default company without cross-company and every company with it', async () => {
    const scoped = await http.get('CustomersV3?$count=true&$top=5');
    expect(scoped['@odata.count']).toBe(1500);
    expect(new Set(rows(scoped).map((r) => r.dataAreaId))).toEqual(new Set(['usmf']));

    const demfOnly = await http.get(`CustomersV3?$filter=${q("dataAreaId eq 'demf'")}&$count=true`);
    expect(demfOnly['@odata.count']).toBe(0);

    const all = await http.get(
      'CustomersV3?cross-company=true&$count=true&$select=dataAreaId,CustomerAccount&$top=1',
    );
    expect(all['@odata.count']).toBe(3000);
    const demf = await http.get(
      `CustomersV3?cross-company=true&$filter=${q("dataAreaId eq 'demf'")}&$count=true&$top=2`,
    );
    expect(demf['@odata.count']).toBe(900);
    expect(rows(demf).every((r) => r.dataAreaId === 'demf')).toBe(true);
    expect(Object.keys(rows(all)[0] ?? {})).toEqual(['@odata.etag', 'dataAreaId', 'CustomerAccount']);
  });

  it('pages through more than 25,000 records cross-company by following nextLink to the end', async () => {
    const big = await startDynamicsSandbox({
      seed: 3,
      customers: 26_000,
      products: 10,
      salesOrders: 0,
      pageSize: 1000,
    });
    try {
      const bigHttp = sandboxHttp(big.info);
      let next: string | undefined =
        `${big.info.odataUrl}CustomersV3?cross-company=true&$select=dataAreaId,CustomerAccount`;
      let pages = 0;
      const seen = new Set<string>();
      while (next) {
        const page = await bigHttp.get(next);
        pages += 1;
        expect(rows(page).length).toBeLessThanOrEqual(1000);
        for (const r of rows(page)) seen.add(`${String(r.dataAreaId)}/${String(r.CustomerAccount)}`);
        next = page['@odata.nextLink'] as string | undefined;
        if (next) {
          expect(next.startsWith(`${big.info.odataUrl}CustomersV3?`)).toBe(true);
          expect(next).toContain('cross-company=true');
        }
      }
      expect(pages).toBe(26);
      expect(seen.size).toBe(26_000);
      expect(big.control.counters()['odata.read:CustomersV3']).toBe(26);
    } finally {
      await big.close();
    }
  });

  it('caps a page at the server page size and carries $top into the nextLink', async () => {
    const small = await startDynamicsSandbox({ customers: 50, products: 5, salesOrders: 0, pageSize: 10 });
    try {
      const page = await sandboxHttp(small.info).get(
        'CustomersV3?cross-company=true&$top=25&$orderby=OrganizationName desc',
      );
      expect(rows(page)).toHaveLength(10);
      const next = String(page['@odata.nextLink']);
      expect(next).toContain('$top=15');
      expect(next).toContain('$skip=10');
      const names = rows(page).map((r) => String(r.OrganizationName).toLowerCase());
      expect([...names].sort().reverse()).toEqual(names);
    } finally {
      await small.close();
    }
  });

  it('addresses a record by its full key and rejects partial keys', async () => {
    const key = "CustomersV3(dataAreaId='USMF',CustomerAccount='US-000042')";
    const one = await http.get(key);
    expect(one).toMatchObject({ dataAreaId: 'usmf', CustomerAccount: 'US-000042' });
    expect(String(one['@odata.context'])).toMatch(/#CustomersV3\/\$entity$/);

    const partial = await http.call('GET', "CustomersV3(CustomerAccount='US-000042')");
    expect(partial.status).toBe(400);
    expect(errorText(partial.json)).toMatch(/number of keys/);

    const missing = await http.call('GET', "CustomersV3(dataAreaId='usmf',CustomerAccount='US-999999')");
    expect(missing.status).toBe(404);
  });

  it('needs key values with a slash double-encoded, as behind IIS', async () => {
    sandbox.control.createRecord('ReleasedProductsV2', {
      dataAreaId: 'usmf',
      ItemNumber: '105E11/74N',
      ProductSearchName: 'VALVEKIT',
    });
    const single = await http.call('GET', "ReleasedProductsV2(dataAreaId='usmf',ItemNumber='105E11%2F74N')");
    expect(single.status).toBe(404);
    expect(single.json.Message).toMatch(/No HTTP resource was found/);
    const double = await http.call(
      'GET',
      "ReleasedProductsV2(dataAreaId='usmf',ItemNumber='105E11%252F74N')",
    );
    expect(double.status).toBe(200);
    expect(double.json.ItemNumber).toBe('105E11/74N');
    const created = await http.call('POST', 'ReleasedProductsV2', {
      ItemNumber: 'A+B 1',
      ProductSearchName: 'PLUSKIT',
    });
    const location = created.headers.get('location') ?? '';
    expect((await http.call('GET', location)).json.ItemNumber).toBe('A+B 1');
  });

  it('refuses request URLs longer than the limit with 414', async () => {
    const chain = Array.from(
      { length: 600 },
      (_, i) => `CustomerAccount eq 'US-${String(i).padStart(6, '0')}'`,
    ).join(' or ');
    const res = await http.call('GET', `CustomersV3?$filter=${q(chain)}`);
    expect(res.status).toBe(414);
    const short = chain.split(' or ').slice(0, 100).join(' or ');
    expect(rows(await http.get(`CustomersV3?$filter=${q(short)}`))).toHaveLength(99);
  });

  it('rejects in, has, functions and unknown fields with an OData error body', async () => {
    for (const filter of [
      "CustomerAccount in ('US-000001','US-000002')",
      "IsOneTimeCustomer has Microsoft.Dynamics.DataEntities.NoYes'Yes'",
      "contains(OrganizationName,'Pump')",
      "Nonexistent eq 'x'",
    ]) {
      const res = await http.call('GET', `CustomersV3?$filter=${q(filter)}`);
      expect(res.status, filter).toBe(400);
      expect((res.json.error as { message: string }).message).toMatch(
        /not valid|not supported|Could not find/,
      );
    }
  });

  it('filters with wildcards, enums, doubled quotes and decodes + as a space', async () => {
    const created = sandbox.control.createRecord('CustomersV3', {
      dataAreaId: 'usmf',
      CustomerAccount: 'US-ONEIL',
      OrganizationName: "O'Neil A+B Pumps",
      PartyType: 'Organization',
      CustomerGroupId: '10',
      SalesCurrencyCode: 'USD',
    });
    expect(created.CustomerAccount).toBe('US-ONEIL');
    const exact = await http.get(`CustomersV3?$filter=${q("OrganizationName eq 'O''Neil A+B Pumps'")}`);
    expect(rows(exact).map((r) => r.CustomerAccount)).toEqual(['US-ONEIL']);
    // An unencoded + arrives as a space, as on ASP.NET: the filter no longer matches.
    const unencoded = await http.get(`CustomersV3?$filter=OrganizationName%20eq%20'O''Neil%20A+B%20Pumps'`);
    expect(rows(unencoded)).toEqual([]);
    const wildcard = await http.get(`CustomersV3?$filter=${q("OrganizationName eq '*neil a+b*'")}`);
    expect(rows(wildcard).map((r) => r.CustomerAccount)).toEqual(['US-ONEIL']);
    const enumFilter = await http.get(
      `CustomersV3?$count=true&$top=0&$filter=${q("IsOneTimeCustomer eq Microsoft.Dynamics.DataEntities.NoYes'No'")}`,
    );
    expect(enumFilter['@odata.count']).toBe(1501);
    const byKey = await http.get(`CustomersV3(dataAreaId='usmf',CustomerAccount='US-ONEIL')`);
    expect(byKey.OrganizationName).toBe("O'Neil A+B Pumps");
  });

  it('expands sales order lines on headers', async () => {
    const page = await http.get('SalesOrderHeadersV2?cross-company=true&$top=3&$expand=SalesOrderLines');
    for (const header of rows(page)) {
      const lines = header.SalesOrderLines as Row[];
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) {
        expect(line.SalesOrderNumber).toBe(header.SalesOrderNumber);
        expect(line.dataAreaId).toBe(header.dataAreaId);
      }
    }
  });
});

describe('dynamics sandbox OData writes', () => {
  const customer = {
    CustomerAccount: 'US-NEW-1',
    OrganizationName: 'Harbor Test Works Inc.',
    PartyType: 'Organization',
    CustomerGroupId: '30',
    SalesCurrencyCode: 'USD',
  };

  it('creates a customer with 201, Location and ETag, then refuses the duplicate', async () => {
    const res = await http.call('POST', 'CustomersV3', customer);
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toContain(
      "CustomersV3(dataAreaId='usmf',CustomerAccount='US-NEW-1')",
    );
    expect(String(res.json['@odata.etag'])).toMatch(/^W\/"/);
    expect(res.json.dataAreaId).toBe('usmf');

    const dup = await http.call('POST', 'CustomersV3', customer);
    expect(dup.status).toBe(400);
    expect(errorText(dup.json)).toContain('The record already exists.');
    expect((dup.json.error as { innererror: { type: string } }).innererror.type).toMatch(
      /AxODataWriteException$/,
    );
  });

  it('answers 204 with Location to Prefer: return=minimal', async () => {
    const res = await http.call(
      'POST',
      'CustomersV3',
      { ...customer, CustomerAccount: 'US-MIN-1' },
      { prefer: 'return=minimal' },
    );
    expect(res.status).toBe(204);
    expect(res.headers.get('location')).toContain("CustomerAccount='US-MIN-1'");
  });

  it('reports missing fields and unknown references in the Infolog', async () => {
    const res = await http.call('POST', 'CustomersV3', {
      dataAreaId: 'gbsi',
      CustomerAccount: 'GB-NEW-1',
      OrganizationName: 'Mill Lane Ltd',
      PartyType: 'Organization',
      CustomerGroupId: '30',
      SalesCurrencyCode: 'XXX',
    });
    expect(res.status).toBe(400);
    const text = errorText(res.json);
    expect(text).toContain("Write failed for table row of type 'CustCustomerV3Entity'. Infolog:");
    expect(text).toContain(
      "The value '30' in field 'Customer group' is not found in the relating table 'Customer groups'.",
    );
    expect(text).toContain("The value 'XXX' in field 'Currency'");

    const missing = await http.call('POST', 'CustomersV3', { OrganizationName: 'No Account Inc.' });
    expect(errorText(missing.json)).toContain("Field 'Customer account' must be filled in.");

    const unknownProperty = await http.call('POST', 'CustomersV3', { ...customer, Colour: 'red' });
    expect(unknownProperty.status).toBe(400);
    expect(errorText(unknownProperty.json)).toContain("The property 'Colour' does not exist");
  });

  it('numbers new sales orders and lines from their sequences and validates references', async () => {
    const header = await http.call('POST', 'SalesOrderHeadersV2', {
      dataAreaId: 'demf',
      OrderingCustomerAccountNumber: 'DE-000010',
      CustomersOrderReference: '006Qy00000AbCdEIAZ',
    });
    expect(header.status).toBe(201);
    const number = String(header.json.SalesOrderNumber);
    expect(number).toMatch(/^SO-\d{6}$/);
    expect(Number(number.slice(3))).toBeGreaterThan(9);
    expect(header.json.CurrencyCode).toBeTruthy();

    const line = await http.call('POST', 'SalesOrderLines', {
      dataAreaId: 'demf',
      SalesOrderNumber: number,
      ItemNumber: 'P000003',
      OrderedSalesQuantity: 4,
    });
    expect(line.status).toBe(201);
    expect(String(line.json.InventoryLotId)).toMatch(/^DEMF-\d{9}$/);
    expect(line.json.LineAmount).toBeCloseTo(Number(line.json.SalesPrice) * 4, 2);

    const wrongCompany = await http.call('POST', 'SalesOrderLines', {
      dataAreaId: 'gbsi',
      SalesOrderNumber: number,
      ItemNumber: 'P000003',
    });
    expect(wrongCompany.status).toBe(400);
    expect(errorText(wrongCompany.json)).toContain(`The value '${number}' in field 'Sales order'`);
    const badItem = await http.call('POST', 'SalesOrderLines', {
      dataAreaId: 'demf',
      SalesOrderNumber: number,
      ItemNumber: 'NOPE',
    });
    expect(errorText(badItem.json)).toContain("The value 'NOPE' in field 'Item number'");

    const found = await http.get(
      `SalesOrderHeadersV2?cross-company=true&$filter=${q("CustomersOrderReference eq '006Qy00000AbCdEIAZ'")}&$expand=SalesOrderLines`,
    );
    expect(rows(found)).toHaveLength(1);
    expect(((rows(found)[0]?.SalesOrderLines ?? []) as Row[]).map((l) => l.InventoryLotId)).toEqual([
      line.json.InventoryLotId,
    ]);
    expect(
      sandbox.control.listRecords('SalesOrderHeadersV2', {
        filter: "CustomersOrderReference eq '006Qy00000AbCdEIAZ'",
      }),
    ).toHaveLength(1);
  });

  it('refuses changes to an invoiced sales order', async () => {
    const invoiced = rows(
      await http.get(
        `SalesOrderHeadersV2?cross-company=true&$top=1&$filter=${q("SalesOrderStatus eq Microsoft.Dynamics.DataEntities.SalesStatus'Invoiced'")}`,
      ),
    )[0];
    expect(invoiced).toBeDefined();
    const path = `SalesOrderHeadersV2(dataAreaId='${String(invoiced?.dataAreaId)}',SalesOrderNumber='${String(invoiced?.SalesOrderNumber)}')`;
    const res = await http.call('PATCH', path, { CustomerRequisitionNumber: 'late change' });
    expect(res.status).toBe(400);
    expect(errorText(res.json)).toMatch(/can no longer be changed/);
  });

  it('changes the ETag on PATCH and honours If-Match', async () => {
    const path = "CustomersV3(dataAreaId='usmf',CustomerAccount='US-000007')";
    const before = await http.get(path);
    const patched = await http.call('PATCH', path, { PrimaryContactEmail: 'ap@example.com' });
    expect(patched.status).toBe(204);
    const after = await http.get(path);
    expect(after.PrimaryContactEmail).toBe('ap@example.com');
    expect(after['@odata.etag']).not.toBe(before['@odata.etag']);

    const stale = await http.call(
      'PATCH',
      path,
      { CreditLimit: 1 },
      { 'if-match': String(before['@odata.etag']) },
    );
    expect(stale.status).toBe(412);
    const fresh = await http.call(
      'PATCH',
      path,
      { CreditLimit: 1 },
      { 'if-match': String(after['@odata.etag']) },
    );
    expect(fresh.status).toBe(204);

    const removed = await http.call('DELETE', "CustomersV3(dataAreaId='usmf',CustomerAccount='US-NEW-1')");
    expect(removed.status).toBe(204);
    expect((await http.call('GET', "CustomersV3(dataAreaId='usmf',CustomerAccount='US-NEW-1')")).status).toBe(
      404,
    );
  });
});

describe('dynamics sandbox modified-timestamp extension', () => {
  it('has no modified field by default and stamps the configured one on every write', async () => {
    const plain = await http.call(
      'GET',
      `CustomersV3?$filter=${q('MLModifiedDateTime ge 2025-01-01T00:00:00Z')}`,
    );
    expect(plain.status).toBe(400);

    const extended = await startDynamicsSandbox({
      customers: 300,
      products: 30,
      salesOrders: 0,
      modifiedField: 'MLModifiedDateTime',
    });
    try {
      const xhttp = sandboxHttp(extended.info);
      const watermark = new Date(extended.control.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const before = await xhttp.get(
        `CustomersV3?cross-company=true&$count=true&$top=0&$filter=${q(`MLModifiedDateTime ge ${watermark}`)}`,
      );
      expect(before['@odata.count']).toBe(0);
      extended.control.advanceClock(5000);
      await xhttp.call('PATCH', "CustomersV3(dataAreaId='demf',CustomerAccount='DE-000004')", {
        CreditLimit: 10,
      });
      const after = await xhttp.get(
        `CustomersV3?cross-company=true&$filter=${q(`MLModifiedDateTime ge ${watermark}`)}`,
      );
      expect(rows(after).map((r) => r.CustomerAccount)).toEqual(['DE-000004']);
      expect(Date.parse(String(rows(after)[0]?.MLModifiedDateTime))).toBeGreaterThan(Date.parse(watermark));
    } finally {
      await extended.close();
    }
  });
});

describe('dynamics sandbox faults', () => {
  it('throttles with 429 and Retry-After, then serves again', async () => {
    sandbox.control.setFaultPlan({
      rules: [{ kind: 'throttle', match: 'odata.read', count: 1, retryAfterSeconds: 7 }],
    });
    try {
      const throttled = await http.call('GET', 'LegalEntities');
      expect(throttled.status).toBe(429);
      expect(throttled.headers.get('retry-after')).toBe('7');
      expect((await http.call('GET', 'LegalEntities')).status).toBe(200);
      expect(sandbox.control.faultsFired()).toEqual({ throttle: 1 });
    } finally {
      sandbox.control.setFaultPlan({ rules: [] });
    }
  });

  it('sends Retry-After as an HTTP-date when the rule asks for it', async () => {
    sandbox.control.setFaultPlan({
      rules: [
        { kind: 'throttle', match: 'odata.create', count: 1, retryAfterSeconds: 30, retryAfterDate: true },
      ],
    });
    try {
      const res = await http.call('POST', 'CustomersV3', {});
      expect(res.status).toBe(429);
      const when = Date.parse(res.headers.get('retry-after') ?? '');
      expect(when - sandbox.control.now()).toBeGreaterThan(28_000);
      expect(when - sandbox.control.now()).toBeLessThanOrEqual(30_000);
    } finally {
      sandbox.control.setFaultPlan({ rules: [] });
    }
  });

  it('drops the connection on a reset fault', async () => {
    sandbox.control.setFaultPlan({ rules: [{ kind: 'reset', match: 'odata.*', count: 1 }] });
    try {
      await expect(http.call('GET', 'Currencies')).rejects.toThrow();
      expect((await http.call('GET', 'Currencies')).status).toBe(200);
    } finally {
      sandbox.control.setFaultPlan({ rules: [] });
    }
  });
});
