/**
 * The Salesforce sandbox in each org variant, over REST as the connector sees it: State and
 * Country/Territory Picklists on and off, multi-currency on and off (CurrencyType), validation
 * rules and required custom fields, Orders disabled, and the duplicate standard price.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SalesforceSandbox } from '#sandbox/salesforce/index.ts';
import { DEFAULT_CUSTOM_FIELDS, type FieldDef } from '#sandbox/salesforce/objects.ts';
import { api, mintToken, startSandbox } from './salesforce-sandbox-helpers.ts';

type RecordResult = { success: boolean; errors: { statusCode: string; message: string; fields: string[] }[] };
type ApiErrors = { errorCode: string; message: string }[];

const query = (sandbox: SalesforceSandbox, token: string, soql: string) =>
  api<{ records: Record<string, unknown>[] } | ApiErrors>(
    sandbox,
    token,
    'GET',
    `/query?q=${encodeURIComponent(soql)}`,
  );

async function createAccounts(sandbox: SalesforceSandbox, token: string, records: Record<string, unknown>[]) {
  const res = await api<RecordResult[]>(sandbox, token, 'POST', '/composite/sobjects', {
    allOrNone: false,
    records: records.map((r) => ({ attributes: { type: 'Account' }, ...r })),
  });
  expect(res.status).toBe(200);
  return res.body;
}

describe('Salesforce sandbox with State and Country/Territory Picklists on (the default)', () => {
  let sandbox: SalesforceSandbox;
  let token: string;
  beforeAll(async () => {
    sandbox = await startSandbox();
    token = await mintToken(sandbox);
  });
  afterAll(async () => sandbox.close());

  it('accepts valid ISO codes in the Code fields and fills the names from them', async () => {
    const [result] = await createAccounts(sandbox, token, [
      { Name: 'Codes', BillingCountryCode: 'US', BillingStateCode: 'WI', ShippingCountryCode: 'DE' },
    ]);
    expect(result?.success).toBe(true);
    const res = await query(
      sandbox,
      token,
      "SELECT BillingCountry, BillingState, ShippingCountry FROM Account WHERE Name = 'Codes'",
    );
    expect((res.body as { records: unknown[] }).records[0]).toMatchObject({
      BillingCountry: 'United States',
      BillingState: 'Wisconsin',
      ShippingCountry: 'Germany',
    });
  });

  it('sets the codes from valid names', async () => {
    await createAccounts(sandbox, token, [
      { Name: 'Names', BillingCountry: 'Canada', BillingState: 'Ontario' },
    ]);
    const res = await query(
      sandbox,
      token,
      "SELECT BillingCountryCode, BillingStateCode FROM Account WHERE Name = 'Names'",
    );
    expect((res.body as { records: unknown[] }).records[0]).toMatchObject({
      BillingCountryCode: 'CA',
      BillingStateCode: 'ON',
    });
  });

  it('moves an address to another country when the codes change together, the old state cleared', async () => {
    const [created] = await createAccounts(sandbox, token, [
      { Name: 'Mover', BillingCountryCode: 'US', BillingStateCode: 'WA' },
    ]);
    expect(created?.success).toBe(true);
    const id = (created as unknown as { id: string }).id;
    const res = await api(sandbox, token, 'PATCH', `/sobjects/Account/${id}`, {
      BillingCountryCode: 'DE',
      BillingStateCode: null,
    });
    expect(res.status).toBe(204);
    expect(sandbox.control.get('Account', id)).toMatchObject({
      BillingCountry: 'Germany',
      BillingCountryCode: 'DE',
      BillingState: null,
      BillingStateCode: null,
    });
    const stale = await api<ApiErrors>(sandbox, token, 'PATCH', `/sobjects/Account/${id}`, {
      BillingCountryCode: 'CA',
    });
    expect(stale.status).toBe(204);
  });

  it('refuses ISO codes written into BillingCountry and BillingState with FIELD_INTEGRITY_EXCEPTION', async () => {
    const results = await createAccounts(sandbox, token, [
      { Name: 'Iso country', BillingCountry: 'DE' },
      { Name: 'Iso state', BillingCountryCode: 'US', BillingState: 'WA' },
      { Name: 'Fine', BillingCountryCode: 'GB' },
    ]);
    expect(results.map((r) => r.success)).toEqual([false, false, true]);
    expect(results[0]?.errors[0]).toEqual({
      statusCode: 'FIELD_INTEGRITY_EXCEPTION',
      message:
        "There's a problem with this country, even though it may appear correct. Please select a country/territory from the list of valid countries.",
      fields: ['BillingCountry'],
    });
    expect(results[1]?.errors[0]).toEqual({
      statusCode: 'FIELD_INTEGRITY_EXCEPTION',
      message:
        "There's a problem with this state, even though it may appear correct. Please select a state from the list of valid states.",
      fields: ['BillingState'],
    });
  });

  it('refuses an unknown country code and a state code the country does not have', async () => {
    const results = await createAccounts(sandbox, token, [
      { Name: 'Bad code', BillingCountryCode: 'XX' },
      { Name: 'German state', BillingCountryCode: 'DE', BillingStateCode: 'BY' },
    ]);
    expect(results[0]?.errors[0]).toEqual({
      statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
      message: 'Billing Country Code: bad value for restricted picklist field: XX',
      fields: ['BillingCountryCode'],
    });
    expect(results[1]?.errors[0]).toEqual({
      statusCode: 'FIELD_INTEGRITY_EXCEPTION',
      message:
        "The BillingStateCode field contains BY, which isn't an available state. Your administrator can add it for you.",
      fields: ['BillingStateCode'],
    });
  });

  it('describes the state codes as dependent on the country code', async () => {
    const res = await api<{ fields: Record<string, unknown>[] }>(
      sandbox,
      token,
      'GET',
      '/sobjects/Account/describe',
    );
    const country = res.body.fields.find((f) => f.name === 'BillingCountryCode') as {
      picklistValues: { value: string; label: string }[];
    };
    const state = res.body.fields.find((f) => f.name === 'BillingStateCode') as {
      controllerName: string;
      picklistValues: { value: string; validFor: string }[];
    };
    expect(country.picklistValues).toContainEqual(expect.objectContaining({ value: 'DE', label: 'Germany' }));
    expect(state.controllerName).toBe('BillingCountryCode');
    const wi = state.picklistValues.find((v) => v.value === 'WI');
    const bits = Buffer.from(wi?.validFor ?? '', 'base64');
    const usIndex = country.picklistValues.findIndex((v) => v.value === 'US');
    expect(((bits[usIndex >> 3] ?? 0) & (0x80 >> (usIndex & 7))) !== 0).toBe(true);
  });

  it('has no CurrencyIsoCode and no CurrencyType in a single-currency org', async () => {
    const field = await query(sandbox, token, 'SELECT CurrencyIsoCode FROM Account');
    expect((field.body as ApiErrors)[0]?.errorCode).toBe('INVALID_FIELD');
    const object = await query(sandbox, token, 'SELECT IsoCode FROM CurrencyType');
    expect((object.body as ApiErrors)[0]?.errorCode).toBe('INVALID_TYPE');
  });

  it('answers a second standard price for a product with FIELD_INTEGRITY_EXCEPTION', async () => {
    const pricebook = sandbox.control.query('SELECT Id FROM Pricebook2 WHERE IsStandard = true').records[0]
      ?.Id;
    const product = sandbox.control.insert('Product2', { Name: 'Pump', IsActive: true });
    const entry = { Pricebook2Id: pricebook, Product2Id: product, UnitPrice: 5, IsActive: true };
    sandbox.control.insert('PricebookEntry', entry);
    const res = await api<RecordResult[]>(sandbox, token, 'POST', '/composite/sobjects', {
      allOrNone: false,
      records: [{ attributes: { type: 'PricebookEntry' }, ...entry }],
    });
    expect(res.body[0]?.errors[0]).toEqual({
      statusCode: 'FIELD_INTEGRITY_EXCEPTION',
      message: 'This price definition already exists in this price book',
      fields: [],
    });
  });
});

describe('Salesforce sandbox without picklists, with multi-currency, rules and required fields', () => {
  let sandbox: SalesforceSandbox;
  let token: string;
  const required: FieldDef = {
    name: 'Region__c',
    type: 'string',
    label: 'Region',
    length: 20,
    nillable: false,
    createable: true,
    updateable: true,
    required: true,
  };
  beforeAll(async () => {
    sandbox = await startSandbox({
      stateCountryPicklists: false,
      multiCurrency: true,
      currencies: ['USD', 'EUR', 'GBP'],
      orders: false,
      customFields: { ...DEFAULT_CUSTOM_FIELDS, Product2: [...DEFAULT_CUSTOM_FIELDS.Product2, required] },
      validationRules: [
        {
          object: 'Account',
          name: 'Phone_Required',
          errorMessage: 'A customer needs a phone number.',
          errorField: 'Phone',
          failsWhen: (r) => !r.Phone,
        },
      ],
    });
    token = await mintToken(sandbox);
  });
  afterAll(async () => sandbox.close());

  it('has no Code fields: a SOQL naming BillingCountryCode fails INVALID_FIELD, free text is kept', async () => {
    const res = await query(sandbox, token, 'SELECT Id, BillingCountryCode FROM Account');
    expect(res.status).toBe(400);
    expect((res.body as ApiErrors)[0]).toMatchObject({
      errorCode: 'INVALID_FIELD',
      message: expect.stringContaining("No such column 'BillingCountryCode' on entity 'Account'"),
    });
    const [ok] = await createAccounts(sandbox, token, [{ Name: 'Text', BillingCountry: 'DE', Phone: '1' }]);
    expect(ok?.success).toBe(true);
  });

  it('parks one record on a validation rule with its message and location, the others succeed', async () => {
    const results = await createAccounts(sandbox, token, [
      { Name: 'No phone' },
      { Name: 'With phone', Phone: '+1 555 0100' },
    ]);
    expect(results.map((r) => r.success)).toEqual([false, true]);
    expect(results[0]?.errors).toEqual([
      {
        statusCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
        message: 'A customer needs a phone number.',
        fields: ['Phone'],
      },
    ]);
  });

  it('refuses a record without a required custom field with REQUIRED_FIELD_MISSING', async () => {
    const res = await api<RecordResult[]>(sandbox, token, 'POST', '/composite/sobjects', {
      allOrNone: false,
      records: [{ attributes: { type: 'Product2' }, Name: 'No region' }],
    });
    expect(res.body[0]?.errors).toEqual([
      {
        statusCode: 'REQUIRED_FIELD_MISSING',
        message: 'Required fields are missing: [Region__c]',
        fields: ['Region__c'],
      },
    ]);
  });

  it('lists the active currencies in CurrencyType, the corporate one first', async () => {
    const res = await query(
      sandbox,
      token,
      'SELECT IsoCode, IsCorporate FROM CurrencyType WHERE IsActive = true',
    );
    expect((res.body as { records: unknown[] }).records).toEqual([
      expect.objectContaining({ IsoCode: 'USD', IsCorporate: true }),
      expect.objectContaining({ IsoCode: 'EUR', IsCorporate: false }),
      expect.objectContaining({ IsoCode: 'GBP', IsCorporate: false }),
    ]);
  });

  it('answers as an org without Orders: INVALID_TYPE for SOQL, NOT_FOUND for describe', async () => {
    const soql = await query(sandbox, token, 'SELECT Id FROM Order');
    expect((soql.body as ApiErrors)[0]).toMatchObject({
      errorCode: 'INVALID_TYPE',
      message: expect.stringContaining("sObject type 'Order' is not supported."),
    });
    const describe = await api<ApiErrors>(sandbox, token, 'GET', '/sobjects/Order/describe');
    expect(describe.status).toBe(404);
    expect(describe.body[0]).toMatchObject({
      errorCode: 'NOT_FOUND',
      message: 'The requested resource does not exist',
    });
  });
});
