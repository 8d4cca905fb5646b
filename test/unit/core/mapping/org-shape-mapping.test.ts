import { describe, expect, it } from 'vitest';
import { assumedOrgShape, checkOrgShape, type SalesforceOrgShape } from '#core/engine/org-shape.ts';
import { accountQuery, customerRecord } from '#core/mapping/account-write-back.ts';
import { countryCodeOf } from '#core/mapping/countries.ts';
import { mapCustomerToAccount } from '#core/mapping/customers.ts';
import { ParkedError, resolutionFields, resolveLegalEntity } from '#core/mapping/legal-entity.ts';
import { salesOrderQuery } from '#core/mapping/sales-orders.ts';
import { fitToOrg } from '#core/mapping/salesforce-fit.ts';
import { testConfig } from '#test/support/config.ts';

const config = testConfig({
  legalEntities: ['usmf', 'demf'],
  legalEntityRules: [{ billingCountry: { US: 'usmf', DE: 'demf' } }],
});

const facts = (name: string, type: string, length: number, externalId = false) =>
  [name.toLowerCase(), { name, type, length, externalId }] as const;

const withPicklists: SalesforceOrgShape = {
  ...assumedOrgShape(true),
  addressCodes: true,
  countryCodes: new Set(['US', 'DE']),
  stateCodes: new Map([['US', new Set(['WA', 'WI'])]]),
  activeCurrencies: new Set(['USD', 'EUR']),
  fields: new Map([
    [
      'account',
      new Map([
        facts('Name', 'string', 255),
        facts('BillingCity', 'string', 40),
        facts('BillingPostalCode', 'string', 20),
        facts('Phone', 'phone', 40),
        facts('D365_Customer_Key__c', 'string', 80, true),
      ]),
    ],
  ]),
};
const withoutPicklists = assumedOrgShape(false);

const customer = {
  dataAreaId: 'usmf',
  CustomerAccount: 'US-000001',
  OrganizationName: 'Contoso Pumps',
  AddressState: 'WA',
  AddressCountryRegionISOCode: 'US',
};

describe('mapCustomerToAccount in org variants', () => {
  it('writes ISO codes into the free-text fields of an org without picklists', () => {
    const account = mapCustomerToAccount(customer, config, withoutPicklists);
    expect(account).toMatchObject({ BillingCountry: 'US', BillingState: 'WA' });
    expect(account).not.toHaveProperty('BillingCountryCode');
  });

  it('writes ISO codes into the Code fields, never into BillingCountry/BillingState, with picklists', () => {
    const account = mapCustomerToAccount(customer, config, withPicklists);
    expect(account).toMatchObject({ BillingCountryCode: 'US', BillingStateCode: 'WA' });
    expect(account).not.toHaveProperty('BillingCountry');
    expect(account).not.toHaveProperty('BillingState');
  });

  it('leaves out a state the country has no picklist value for, with a note', () => {
    const notes: string[] = [];
    const account = mapCustomerToAccount(
      { ...customer, dataAreaId: 'demf', AddressState: 'BY', AddressCountryRegionISOCode: 'DE' },
      config,
      withPicklists,
      notes,
    );
    expect(account).toMatchObject({ BillingCountryCode: 'DE', BillingStateCode: null });
    expect(notes).toEqual([expect.stringMatching(/^BillingStateCode: state BY is not a state of DE/)]);
  });
});

describe('fitToOrg', () => {
  it('truncates free text to the field length with a note', () => {
    const notes: string[] = [];
    const out = fitToOrg('Account', { BillingCity: 'x'.repeat(45), Name: 'short' }, withPicklists, notes);
    expect(out).toEqual({ BillingCity: 'x'.repeat(40), Name: 'short' });
    expect(notes).toEqual([
      "Account.BillingCity truncated from 45 to 40 characters (the Salesforce field's length)",
    ]);
  });

  it('parks with STRING_TOO_LONG named for an External ID, a phone number or a postal code', () => {
    for (const fields of [
      { D365_Customer_Key__c: 'k'.repeat(81) },
      { Phone: '1'.repeat(41) },
      { BillingPostalCode: '9'.repeat(21) },
    ]) {
      const error = (() => {
        try {
          fitToOrg('Account', fields, withPicklists, []);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(ParkedError);
      expect((error as ParkedError).parkCode).toBe('STRING_TOO_LONG');
      expect((error as ParkedError).message).toMatch(/^STRING_TOO_LONG: Account\.\w+ holds \d+ characters/);
    }
  });

  it('does not split a surrogate pair and leaves objects it knows nothing about alone', () => {
    const notes: string[] = [];
    const city = `${'a'.repeat(39)}😀`;
    expect(fitToOrg('Account', { BillingCity: city }, withPicklists, notes).BillingCity).toBe('a'.repeat(39));
    expect(fitToOrg('Product2', { Name: 'p'.repeat(300) }, withPicklists, notes).Name).toHaveLength(300);
  });
});

describe('Salesforce queries in org variants', () => {
  it('never selects BillingCountryCode or CurrencyIsoCode where the org lacks them', () => {
    const single = { multiCurrency: false, salesforceOrg: withoutPicklists };
    expect(resolutionFields(config, single)).toEqual(['BillingCountry']);
    expect(accountQuery(config, single, '001000000000001AAA')).not.toMatch(
      /CountryCode|StateCode|CurrencyIsoCode/,
    );
    expect(salesOrderQuery('Order', '801000000000001AAA', config, single)).not.toMatch(
      /CountryCode|CurrencyIsoCode/,
    );
    const multi = { multiCurrency: true, salesforceOrg: withPicklists };
    expect(resolutionFields(config, multi)).toEqual([
      'BillingCountry',
      'BillingCountryCode',
      'CurrencyIsoCode',
    ]);
    expect(accountQuery(config, multi, '001000000000001AAA')).toContain('BillingStateCode');
  });
});

describe('customerRecord address fallback', () => {
  const target = { dataAreaId: 'demf', customerAccount: 'SF-000001', currency: 'EUR', group: '10' };

  it('takes the ISO code of a country name and the state code where the org has one', () => {
    expect(customerRecord({ Name: 'A', BillingCountry: 'Germany' }, target, config)).toMatchObject({
      AddressCountryRegionISOCode: 'DE',
    });
    expect(
      customerRecord(
        { Name: 'B', BillingCountryCode: 'US', BillingState: 'Washington', BillingStateCode: 'WA' },
        target,
        config,
      ),
    ).toMatchObject({ AddressCountryRegionISOCode: 'US', AddressState: 'WA' });
  });
});

describe('countryCodeOf and legal entity resolution by country name', () => {
  it('reads codes and English names, not deprecated codes', () => {
    expect(countryCodeOf('de')).toBe('DE');
    expect(countryCodeOf('Germany')).toBe('DE');
    expect(countryCodeOf('united kingdom')).toBe('GB');
    expect(countryCodeOf('Atlantis')).toBeUndefined();
  });

  it('resolves an Account of an org without picklists by its BillingCountry name', () => {
    const reference = {
      legalEntities: new Map([['demf', { id: 'demf', name: 'demf', currency: 'EUR' }]]),
    };
    expect(resolveLegalEntity({ BillingCountry: 'Germany' }, config, reference)).toBe('demf');
  });
});

describe('checkOrgShape', () => {
  const legalEntities = new Map([
    ['usmf', { id: 'usmf', name: 'usmf', currency: 'USD' }],
    ['demf', { id: 'demf', name: 'demf', currency: 'EUR' }],
  ]);

  it('passes an org with every currency active and Orders enabled', () => {
    expect(checkOrgShape(config, withPicklists, legalEntities)).toEqual([]);
  });

  it('names an inactive price book currency and Orders disabled, each with its fix', () => {
    const priced = testConfig({
      legalEntities: ['usmf'],
      currencies: { priceBook: ['USD', 'CHF'] },
    });
    const problems = checkOrgShape(priced, { ...withPicklists, ordersEnabled: false }, legalEntities);
    expect(problems.map((p) => p.key)).toEqual(['flows.activatedOrders', 'currencies.priceBook']);
    expect(problems[0]?.fix).toMatch(/^enable Orders/);
    expect(problems[1]?.problem).toMatch(/^currency CHF \(currencies\.priceBook\) is not an active currency/);
  });
});
