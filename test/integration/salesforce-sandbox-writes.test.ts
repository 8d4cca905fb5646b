import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxChange } from '#sandbox/salesforce/change-feed.ts';
import type { SalesforceSandbox } from '#sandbox/salesforce/index.ts';
import { api, jsforceLogin, mintToken, startSandbox } from './salesforce-sandbox-helpers.ts';

type SaveResult = {
  id?: string;
  success: boolean;
  created?: boolean;
  errors: { statusCode: string; message: string; fields: string[] }[];
};

describe('Salesforce sandbox writes', () => {
  let sandbox: SalesforceSandbox;
  let token: string;
  const changes: SandboxChange[] = [];

  beforeAll(async () => {
    sandbox = await startSandbox();
    token = await mintToken(sandbox);
    sandbox.changeFeed.subscribe((c) => changes.push(c));
  });
  afterAll(async () => {
    await sandbox.close();
  });

  const upsertAccounts = (records: Record<string, unknown>[], allOrNone = false) =>
    api<SaveResult[]>(sandbox, token, 'PATCH', '/composite/sobjects/Account/D365_Customer_Key__c', {
      allOrNone,
      records: records.map((r) => ({ attributes: { type: 'Account' }, ...r })),
    });

  it('creates and updates in one Collections upsert with per-record results in request order', async () => {
    await upsertAccounts([{ D365_Customer_Key__c: 'K-1', Name: 'One' }]);
    const res = await upsertAccounts([
      { D365_Customer_Key__c: 'K-1', Name: 'One renamed' },
      { D365_Customer_Key__c: 'K-2', Name: 'Two' },
      { D365_Customer_Key__c: 'K-3' },
      { D365_Customer_Key__c: 'K-4', Name: 'x'.repeat(256) },
      { D365_Customer_Key__c: 'K-5', Name: 'Five', Bogus__c: 1 },
      { D365_Customer_Key__c: 'K-6', Name: 'Six', IsDeleted: true },
      { D365_Customer_Key__c: 'K-7', Name: 'Seven', OwnerId: 'not-an-id' },
      { D365_Customer_Key__c: 'K-8', Name: 'Eight', AccountNumber: { nested: true } },
    ]);
    expect(res.status).toBe(200);
    const r = res.body;
    expect(r[0]).toMatchObject({ success: true, created: false, errors: [] });
    expect(r[1]).toMatchObject({ success: true, created: true, errors: [] });
    expect(r[1]?.id).toMatch(/^001[A-Za-z0-9]{15}$/);
    expect(r[2]?.errors[0]).toEqual({
      statusCode: 'REQUIRED_FIELD_MISSING',
      message: 'Required fields are missing: [Name]',
      fields: ['Name'],
    });
    expect(r[3]?.errors[0]?.statusCode).toBe('STRING_TOO_LONG');
    expect(r[4]?.errors[0]?.statusCode).toBe('INVALID_FIELD');
    expect(r[5]?.errors[0]?.statusCode).toBe('INVALID_FIELD_FOR_INSERT_UPDATE');
    expect(r[6]?.errors[0]?.statusCode).toBe('MALFORMED_ID');
    expect(r[7]?.errors[0]?.statusCode).toBe('INVALID_TYPE_ON_FIELD_IN_RECORD');
    expect(
      sandbox.control.query("SELECT Name FROM Account WHERE D365_Customer_Key__c = 'K-1'").records[0]?.Name,
    ).toBe('One renamed');
  });

  it('fails every record whose external id appears twice in one request', async () => {
    const res = await upsertAccounts([
      { D365_Customer_Key__c: 'DUP', Name: 'A' },
      { D365_Customer_Key__c: 'dup', Name: 'B' },
      { D365_Customer_Key__c: 'UNIQUE', Name: 'C' },
    ]);
    expect(res.body.map((x) => x.success)).toEqual([false, false, true]);
    expect(res.body[0]?.errors[0]).toMatchObject({
      statusCode: 'DUPLICATE_VALUE',
      message: 'Duplicate external id specified: DUP',
    });
  });

  it('rolls every record back with allOrNone when one fails', async () => {
    const res = await upsertAccounts(
      [{ D365_Customer_Key__c: 'AON-1', Name: 'Fine' }, { D365_Customer_Key__c: 'AON-2' }],
      true,
    );
    expect(res.body[0]).toMatchObject({
      success: false,
      errors: [{ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK' }],
    });
    expect(res.body[1]?.errors[0]?.statusCode).toBe('REQUIRED_FIELD_MISSING');
    expect(
      sandbox.control.query("SELECT Id FROM Account WHERE D365_Customer_Key__c = 'AON-1'").totalSize,
    ).toBe(0);
  });

  it('refuses more than 200 records in one Collections request', async () => {
    const records = Array.from({ length: 201 }, (_, i) => ({ D365_Customer_Key__c: `M-${i}`, Name: 'n' }));
    const res = await upsertAccounts(records);
    expect(res.status).toBe(400);
    expect((res.body as unknown as { errorCode: string }[])[0]?.errorCode).toBe('EXCEEDED_ID_LIMIT');
  });

  it('upserts one record by External ID with 201 then 200, and 404/400 for bad fields', async () => {
    const path = '/sobjects/Account/D365_Customer_Key__c/SINGLE-1';
    const created = await api<SaveResult>(sandbox, token, 'PATCH', path, { Name: 'Single' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ success: true, created: true, errors: [] });
    const updated = await api<SaveResult>(sandbox, token, 'PATCH', path, { Name: 'Single 2' });
    expect(updated.status).toBe(200);
    expect(updated.body).toEqual({ id: created.body.id, success: true, errors: [], created: false });
    const updateOnly = await api(
      sandbox,
      token,
      'PATCH',
      '/sobjects/Account/D365_Customer_Key__c/NEW-9?updateOnly=true',
      {
        Name: 'x',
      },
    );
    expect(updateOnly.status).toBe(404);
    const unknownField = await api(sandbox, token, 'PATCH', '/sobjects/Account/Nope__c/x', { Name: '1' });
    expect(unknownField.body).toEqual([
      {
        errorCode: 'NOT_FOUND',
        message: 'Provided external ID field does not exist or is not accessible: Nope__c',
      },
    ]);
    const notExternal = await api(sandbox, token, 'PATCH', '/sobjects/Account/Name/x', { Phone: '1' });
    expect(notExternal.status).toBe(400);
    expect((notExternal.body as { errorCode: string }[])[0]?.errorCode).toBe('INVALID_FIELD');
    const unknownType = await api(sandbox, token, 'PATCH', '/sobjects/Nope/Ext__c/x', { Name: '1' });
    expect(unknownType.status).toBe(404);
  });

  it('creates, reads, updates and deletes through the sObject resources', async () => {
    const created = await api<SaveResult>(sandbox, token, 'POST', '/sobjects/Account', {
      Name: 'Basic',
      BillingCity: 'Bergen',
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const read = await api<Record<string, unknown>>(sandbox, token, 'GET', `/sobjects/Account/${id}`);
    expect(read.body).toMatchObject({ Id: id, Name: 'Basic', BillingCity: 'Bergen', IsDeleted: false });
    expect(read.body.BillingAddress).toMatchObject({ city: 'Bergen', street: null });
    expect(read.body.CreatedDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/);
    expect((await api(sandbox, token, 'PATCH', `/sobjects/Account/${id}`, { Phone: '555' })).status).toBe(
      204,
    );
    expect((await api(sandbox, token, 'DELETE', `/sobjects/Account/${id}`)).status).toBe(204);
    expect((await api(sandbox, token, 'GET', `/sobjects/Account/${id}`)).status).toBe(404);
  });

  it('publishes a change event with changedFields, nulledFields and the client changeOrigin', async () => {
    const created = await api<SaveResult>(sandbox, token, 'POST', '/sobjects/Account', {
      Name: 'Evented',
      BillingCity: 'Oslo',
      Phone: '1',
    });
    changes.length = 0;
    const res = await api(
      sandbox,
      token,
      'PATCH',
      `/sobjects/Account/${created.body.id}`,
      { BillingCity: 'Bergen', Phone: null },
      { 'Sforce-Call-Options': 'client=ml-connector' },
    );
    expect(res.status).toBe(204);
    expect(changes).toHaveLength(1);
    const change = changes[0] as SandboxChange;
    expect(change).toMatchObject({
      entityName: 'Account',
      changeType: 'UPDATE',
      recordIds: [created.body.id],
      changeOrigin: 'com/salesforce/api/rest/63.0;client=ml-connector',
      sequenceNumber: 1,
    });
    expect([...change.changedFields].sort()).toEqual(['BillingAddress.City', 'LastModifiedDate', 'Phone']);
    expect(change.nulledFields).toEqual(['Phone']);
    expect(change.values.BillingCity).toBe('Bergen');
    changes.length = 0;
    await api(sandbox, token, 'PATCH', `/sobjects/Account/${created.body.id}`, { BillingCity: 'Bergen' });
    expect(changes).toHaveLength(0);
  });

  it('shares one transaction key across the records of one Collections request and tags UI writes with an empty origin', async () => {
    changes.length = 0;
    await upsertAccounts([
      { D365_Customer_Key__c: 'TX-1', Name: 'a' },
      { D365_Customer_Key__c: 'TX-2', Name: 'b' },
    ]);
    expect(changes.map((c) => c.changeType)).toEqual(['CREATE', 'CREATE']);
    expect(changes[0]?.transactionKey).toBe(changes[1]?.transactionKey);
    expect(changes.map((c) => c.sequenceNumber)).toEqual([1, 2]);
    expect(changes[0]?.changeOrigin).toBe('com/salesforce/api/rest/63.0');
    // Salesforce leaves changedFields empty on CREATE; the values carry the record.
    expect(changes[0]?.changedFields).toEqual([]);
    expect(changes[0]?.values).toMatchObject({ Name: 'a' });
    changes.length = 0;
    sandbox.control.createAccount({ Name: 'By hand' });
    expect(changes[0]?.changeOrigin).toBe('');
  });

  it('lets jsforce upsert an array by External ID through sObject Collections', async () => {
    const conn = await jsforceLogin(sandbox);
    sandbox.control.resetCounters();
    const results = await conn.sobject('Account').upsert(
      [
        { D365_Customer_Key__c: 'JS-1', Name: 'From jsforce 1' },
        { D365_Customer_Key__c: 'JS-2', Name: 'From jsforce 2' },
      ],
      'D365_Customer_Key__c',
    );
    expect(results.map((r) => r.success)).toEqual([true, true]);
    expect(sandbox.control.counters()).toEqual({ 'rest.composite': 1 });
  });

  it('serves jsforce create, retrieve, update, destroy and describe unmodified', async () => {
    const conn = await jsforceLogin(sandbox);
    const created = await conn.sobject('Account').create([{ Name: 'J1' }, { Name: 'J2' }]);
    const ids = created.map((r) => (r.success ? r.id : ''));
    expect(ids.every((id) => id.startsWith('001'))).toBe(true);
    const updated = await conn.sobject('Account').update(ids.map((Id) => ({ Id, Phone: '42' })));
    expect(updated.every((r) => r.success)).toBe(true);
    const fetched = await conn.sobject('Account').retrieve(ids[0] as string);
    expect(fetched.Phone).toBe('42');
    const destroyed = await conn.sobject('Account').destroy(ids);
    expect(destroyed.every((r) => r.success)).toBe(true);
    const describe = await conn.sobject('Account').describe();
    expect(describe.fields.find((f) => f.name === 'D365_Customer_Key__c')?.externalId).toBe(true);
  });
});

describe('Salesforce sandbox org rules', () => {
  let sandbox: SalesforceSandbox;
  let token: string;
  let standardPricebook: string;
  let productId: string;

  beforeAll(async () => {
    sandbox = await startSandbox({ multiCurrency: true });
    token = await mintToken(sandbox);
    standardPricebook = (
      sandbox.control.query('SELECT Id FROM Pricebook2 WHERE IsStandard = true').records[0] as { Id: string }
    ).Id;
    productId = sandbox.control.insert('Product2', { Name: 'Gadget', ProductCode: 'G-1', IsActive: true });
    for (const currency of ['USD', 'EUR']) {
      sandbox.control.insert('PricebookEntry', {
        Pricebook2Id: standardPricebook,
        Product2Id: productId,
        UnitPrice: currency === 'USD' ? 100 : 90,
        CurrencyIsoCode: currency,
        IsActive: true,
      });
    }
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it('seeds exactly one standard price book', () => {
    expect(sandbox.control.query('SELECT Name, IsStandard FROM Pricebook2').records).toEqual([
      expect.objectContaining({ Name: 'Standard Price Book', IsStandard: true }),
    ]);
  });

  it('refuses duplicate and custom-before-standard price book entries', async () => {
    const dup = await api(sandbox, token, 'POST', '/sobjects/PricebookEntry', {
      Pricebook2Id: standardPricebook,
      Product2Id: productId,
      UnitPrice: 1,
      CurrencyIsoCode: 'USD',
    });
    // The default answer to a second standard price; DUPLICATE_VALUE is an option (see rules.ts).
    expect((dup.body as { errorCode: string }[])[0]?.errorCode).toBe('FIELD_INTEGRITY_EXCEPTION');
    const custom = sandbox.control.insert('Pricebook2', { Name: 'Partner', IsActive: true });
    const res = await api(sandbox, token, 'POST', '/sobjects/PricebookEntry', {
      Pricebook2Id: custom,
      Product2Id: productId,
      UnitPrice: 1,
      CurrencyIsoCode: 'GBP',
    });
    expect((res.body as { errorCode: string }[])[0]?.errorCode).toBe('STANDARD_PRICE_NOT_DEFINED');
  });

  it('derives IsWon, line prices and the opportunity amount', () => {
    const account = sandbox.control.createAccount({ Name: 'Buyer' });
    const opp = sandbox.control.createOpportunity({
      accountId: account,
      name: 'Big deal',
      currency: 'EUR',
      lines: [
        { productCode: 'G-1', quantity: 2 },
        { product2Id: productId, quantity: 1, unitPrice: 50 },
      ],
    });
    sandbox.control.closeOpportunityWon(opp.id);
    const [row] = sandbox.control.query(
      `SELECT IsWon, IsClosed, Amount, CurrencyIsoCode, (SELECT ListPrice, TotalPrice, ProductCode FROM OpportunityLineItems ORDER BY TotalPrice) FROM Opportunity WHERE Id = '${opp.id}'`,
    ).records;
    expect(row).toMatchObject({
      IsWon: true,
      IsClosed: true,
      Amount: 230,
      CurrencyIsoCode: 'EUR',
      OpportunityLineItems: {
        records: [
          { ListPrice: 90, TotalPrice: 50 },
          { ListPrice: 90, TotalPrice: 180, ProductCode: 'G-1' },
        ],
      },
    });
  });

  it('refuses an opportunity product whose price book entry is in another currency', async () => {
    const account = sandbox.control.createAccount({ Name: 'Euro buyer' });
    const opp = sandbox.control.createOpportunity({ accountId: account, name: 'EUR deal', currency: 'EUR' });
    const usdEntry = sandbox.control.query(
      `SELECT Id FROM PricebookEntry WHERE Product2Id = '${productId}' AND CurrencyIsoCode = 'USD'`,
    ).records[0] as { Id: string };
    const res = await api(sandbox, token, 'POST', '/sobjects/OpportunityLineItem', {
      OpportunityId: opp.id,
      PricebookEntryId: usdEntry.Id,
      Quantity: 1,
      UnitPrice: 5,
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual([
      expect.objectContaining({
        errorCode: 'FIELD_INTEGRITY_EXCEPTION',
        message: expect.stringContaining('currency code does not match'),
      }),
    ]);
  });

  it('publishes one event per record per transaction with the state at commit', () => {
    const changes: SandboxChange[] = [];
    const stop = sandbox.changeFeed.subscribe((c) => changes.push(c));
    const account = sandbox.control.createAccount({ Name: 'Merged' });
    changes.length = 0;
    const opp = sandbox.control.createOpportunity({
      accountId: account,
      name: 'One event',
      lines: [{ productCode: 'G-1', quantity: 1 }],
    });
    stop();
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ changeType: 'CREATE', recordIds: [opp.id], values: { Amount: 100 } });
  });

  it('deletes opportunity products with their opportunity and refuses to delete used price book entries', async () => {
    const account = sandbox.control.createAccount({ Name: 'Cascade' });
    const opp = sandbox.control.createOpportunity({
      accountId: account,
      name: 'Gone',
      lines: [{ productCode: 'G-1', quantity: 1 }],
    });
    const entry = sandbox.control.query(
      `SELECT PricebookEntryId FROM OpportunityLineItem WHERE Id = '${opp.lineIds[0]}'`,
    ).records[0] as { PricebookEntryId: string };
    const refused = await api(sandbox, token, 'DELETE', `/sobjects/PricebookEntry/${entry.PricebookEntryId}`);
    expect((refused.body as { errorCode: string }[])[0]?.errorCode).toBe('DELETE_FAILED');
    expect((await api(sandbox, token, 'DELETE', `/sobjects/Opportunity/${opp.id}`)).status).toBe(204);
    expect(
      sandbox.control.query(`SELECT Id FROM OpportunityLineItem WHERE OpportunityId = '${opp.id}'`).totalSize,
    ).toBe(0);
    expect(
      sandbox.control.query(`SELECT Id FROM OpportunityLineItem WHERE OpportunityId = '${opp.id}'`, {
        all: true,
      }).totalSize,
    ).toBe(1);
  });

  it('inserts orders as Draft only and activates them once they have products', async () => {
    const account = sandbox.control.createAccount({ Name: 'Orderer' });
    const activated = await api(sandbox, token, 'POST', '/sobjects/Order', {
      AccountId: account,
      EffectiveDate: '2024-05-01',
      Status: 'Activated',
    });
    expect(activated.status).toBe(400);
    const empty = sandbox.control.createOrder({ accountId: account });
    expect(() => sandbox.control.activateOrder(empty.id)).toThrow(/without any products/);
    const order = sandbox.control.createOrder({
      accountId: account,
      lines: [{ productCode: 'G-1', quantity: 3 }],
    });
    sandbox.control.activateOrder(order.id);
    const got = sandbox.control.get('Order', order.id) as Record<string, unknown>;
    expect(got).toMatchObject({ Status: 'Activated', StatusCode: 'Activated', TotalAmount: 300 });
    expect(got.OrderNumber).toMatch(/^\d{8}$/);
    expect(got.ActivatedDate).toEqual(expect.any(String));
  });
});
