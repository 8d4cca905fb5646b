import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SalesforceSandbox } from '#sandbox/salesforce/index.ts';
import { api, jsforceLogin, mintToken, startSandbox } from './salesforce-sandbox-helpers.ts';

interface Page {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: Record<string, unknown>[];
}

describe('Salesforce sandbox SOQL query', () => {
  let sandbox: SalesforceSandbox;
  let token: string;
  const ACCOUNTS = 2_450;

  beforeAll(async () => {
    sandbox = await startSandbox();
    token = await mintToken(sandbox);
    for (let i = 0; i < ACCOUNTS; i++) {
      sandbox.control.insert('Account', {
        Name: `Account ${String(i).padStart(5, '0')}`,
        D365_Customer_Key__c: `C${i}`,
        BillingCity: i % 2 === 0 ? 'Oslo' : null,
      });
    }
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it('pages with batchSize=200 through nextRecordsUrl until done', async () => {
    const headers = { 'Sforce-Query-Options': 'batchSize=200' };
    let res = await api<Page>(
      sandbox,
      token,
      'GET',
      `/query?q=${encodeURIComponent('SELECT Id, Name FROM Account')}`,
      undefined,
      headers,
    );
    const ids = new Set<string>();
    let pages = 0;
    for (;;) {
      expect(res.status).toBe(200);
      expect(res.body.totalSize).toBe(ACCOUNTS);
      expect(res.body.records.length).toBeLessThanOrEqual(200);
      for (const r of res.body.records) ids.add(r.Id as string);
      pages++;
      if (res.body.done) break;
      expect(res.body.nextRecordsUrl).toMatch(/^\/services\/data\/v63\.0\/query\/01g[A-Za-z0-9]{15}-\d+$/);
      res = await api<Page>(sandbox, token, 'GET', res.body.nextRecordsUrl as string, undefined, headers);
    }
    expect(pages).toBe(Math.ceil(ACCOUNTS / 200));
    expect(ids.size).toBe(ACCOUNTS);
    expect(res.body.nextRecordsUrl).toBeUndefined();
  });

  it('returns at most 2,000 records per page by default', async () => {
    const res = await api<Page>(
      sandbox,
      token,
      'GET',
      `/query?q=${encodeURIComponent('SELECT Id FROM Account')}`,
    );
    expect(res.body.records).toHaveLength(2000);
    expect(res.body.done).toBe(false);
    expect(res.headers.get('sforce-limit-info')).toMatch(/^api-usage=\d+\/100000$/);
  });

  it('releases the oldest of more than 10 open cursors and expires idle ones', async () => {
    const q = `/query?q=${encodeURIComponent('SELECT Id FROM Account')}`;
    const first = await api<Page>(sandbox, token, 'GET', q);
    for (let i = 0; i < 10; i++) await api<Page>(sandbox, token, 'GET', q);
    const gone = await api(sandbox, token, 'GET', first.body.nextRecordsUrl as string);
    expect(gone.status).toBe(400);
    expect((gone.body as { errorCode: string }[])[0]?.errorCode).toBe('INVALID_QUERY_LOCATOR');
    const idle = await api<Page>(sandbox, token, 'GET', q);
    sandbox.clock.advance(16 * 60_000);
    const fresh = await mintToken(sandbox);
    expect((await api(sandbox, fresh, 'GET', idle.body.nextRecordsUrl as string)).status).toBe(400);
    token = fresh;
  });

  it('lets jsforce autoFetch past 2,000 records', async () => {
    const conn = await jsforceLogin(sandbox);
    const result = await conn
      .query<{ Id: string; D365_Customer_Key__c: string }>('SELECT Id, D365_Customer_Key__c FROM Account')
      .run({ autoFetch: true, maxFetch: 10_000 });
    const records = result.records;
    expect(result.totalSize).toBe(ACCOUNTS);
    expect(records).toHaveLength(ACCOUNTS);
    expect(new Set(records.map((r) => r.D365_Customer_Key__c)).size).toBe(ACCOUNTS);
  });

  it('filters, orders with NULLS LAST, limits and nests relationship fields', async () => {
    const q =
      "SELECT Name, BillingCity FROM Account WHERE (Name LIKE 'Account 0000_' OR D365_Customer_Key__c IN ('C20','C21')) AND NOT Name = 'Account 00003' ORDER BY BillingCity DESC NULLS LAST, Name LIMIT 5";
    const res = await api<Page>(sandbox, token, 'GET', `/query?q=${encodeURIComponent(q)}`);
    expect(res.status).toBe(200);
    expect(res.body.records.map((r) => r.Name)).toEqual([
      'Account 00000',
      'Account 00002',
      'Account 00004',
      'Account 00006',
      'Account 00008',
    ]);
    expect(res.body.records[0]?.attributes).toEqual({
      type: 'Account',
      url: `/services/data/v63.0/sobjects/Account/${String((res.body.records[0] as { attributes: { url: string } }).attributes.url.split('/').at(-1))}`,
    });
  });

  it('nests parent fields and child subqueries as Salesforce does', async () => {
    const product = sandbox.control.insert('Product2', {
      Name: 'Widget',
      ProductCode: 'W-1',
      IsActive: true,
    });
    sandbox.control.insert('PricebookEntry', {
      Pricebook2Id: (
        sandbox.control.query('SELECT Id FROM Pricebook2 WHERE IsStandard = true').records[0] as {
          Id: string;
        }
      ).Id,
      Product2Id: product,
      UnitPrice: 10,
      IsActive: true,
    });
    const account = sandbox.control.createAccount({ Name: 'Parent Co', D365_Customer_Key__c: 'P-1' });
    const opp = sandbox.control.createOpportunity({
      accountId: account,
      name: 'Deal',
      lines: [{ productCode: 'W-1', quantity: 3 }],
    });
    const q = `SELECT Id, Amount, Account.Name, Account.D365_Customer_Key__c, (SELECT Quantity, TotalPrice, PricebookEntry.Product2.ProductCode FROM OpportunityLineItems) FROM Opportunity WHERE Id = '${opp.id}'`;
    const res = await api<Page>(sandbox, token, 'GET', `/query?q=${encodeURIComponent(q)}`);
    const rec = res.body.records[0] as Record<string, unknown>;
    expect(rec.Amount).toBe(30);
    expect(rec.Account).toMatchObject({
      attributes: { type: 'Account' },
      Name: 'Parent Co',
      D365_Customer_Key__c: 'P-1',
    });
    expect(rec.OpportunityLineItems).toMatchObject({
      totalSize: 1,
      done: true,
      records: [{ Quantity: 3, TotalPrice: 30, PricebookEntry: { Product2: { ProductCode: 'W-1' } } }],
    });
    const empty = await api<Page>(
      sandbox,
      token,
      'GET',
      `/query?q=${encodeURIComponent("SELECT Id, (SELECT Id FROM Opportunities) FROM Account WHERE D365_Customer_Key__c = 'C1'")}`,
    );
    expect(empty.body.records[0]?.Opportunities).toBeNull();
  });

  it('answers MALFORMED_QUERY with the row and column of the error', async () => {
    const res = await api(
      sandbox,
      token,
      'GET',
      `/query?q=${encodeURIComponent("SELECT Id FROM Account WHERE Name = 'a\\qb'")}`,
    );
    expect(res.status).toBe(400);
    const [error] = res.body as { errorCode: string; message: string }[];
    expect(error?.errorCode).toBe('MALFORMED_QUERY');
    const grouped = await api(
      sandbox,
      token,
      'GET',
      `/query?q=${encodeURIComponent('SELECT Id FROM Account GROUP BY Name')}`,
    );
    expect(grouped.body).toEqual([
      expect.objectContaining({
        errorCode: 'MALFORMED_QUERY',
        message: expect.stringContaining('ERROR at Row:1:Column:'),
      }),
    ]);
  });

  it('answers INVALID_FIELD and INVALID_TYPE with Salesforce wording', async () => {
    const field = await api(
      sandbox,
      token,
      'GET',
      `/query?q=${encodeURIComponent('SELECT Id, Nmae FROM Account')}`,
    );
    expect(field.status).toBe(400);
    expect(field.body).toEqual([
      {
        errorCode: 'INVALID_FIELD',
        message: expect.stringContaining("No such column 'Nmae' on entity 'Account'"),
      },
    ]);
    const type = await api(sandbox, token, 'GET', `/query?q=${encodeURIComponent('SELECT Id FROM Acount')}`);
    expect((type.body as { errorCode: string }[])[0]?.errorCode).toBe('INVALID_TYPE');
    const quoted = await api(
      sandbox,
      token,
      'GET',
      `/query?q=${encodeURIComponent("SELECT Id FROM Account WHERE SystemModstamp > '2024-01-01T00:00:00Z'")}`,
    );
    expect((quoted.body as { message: string }[])[0]?.message).toContain(
      'must be of type dateTime and should not be enclosed in quotes',
    );
  });

  it('counts with COUNT() and returns deleted records only through queryAll', async () => {
    const id = sandbox.control.insert('Account', { Name: 'To delete', D365_Customer_Key__c: 'DEL-1' });
    sandbox.control.delete('Account', id);
    const q = encodeURIComponent(
      "SELECT Id, IsDeleted FROM Account WHERE D365_Customer_Key__c = 'DEL-1' OR Name = 'To delete'",
    );
    const live = await api<Page>(sandbox, token, 'GET', `/query?q=${q}`);
    expect(live.body.totalSize).toBe(0);
    const all = await api<Page>(sandbox, token, 'GET', `/queryAll?q=${q}`);
    expect(all.body.records).toEqual([expect.objectContaining({ Id: id, IsDeleted: true })]);
    const count = await api<Page>(
      sandbox,
      token,
      'GET',
      `/query?q=${encodeURIComponent("SELECT COUNT() FROM Account WHERE BillingCity = 'oslo'")}`,
    );
    expect(count.body).toEqual({ totalSize: ACCOUNTS / 2, done: true, records: [] });
  });

  it('filters datetimes against SystemModstamp watermarks', async () => {
    const before = new Date(sandbox.clock.now() - 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    sandbox.clock.advance(60_000);
    const mark = new Date(sandbox.clock.now()).toISOString().replace(/\.\d+Z$/, 'Z');
    sandbox.clock.advance(1000);
    sandbox.control.insert('Account', { Name: 'Fresh' });
    const q = (w: string) => encodeURIComponent(`SELECT Name FROM Account WHERE SystemModstamp > ${w}`);
    expect(
      (await api<Page>(sandbox, token, 'GET', `/query?q=${q(mark)}`)).body.records.map((r) => r.Name),
    ).toEqual(['Fresh']);
    expect((await api<Page>(sandbox, token, 'GET', `/query?q=${q(before)}`)).body.totalSize).toBeGreaterThan(
      1,
    );
  });
});
