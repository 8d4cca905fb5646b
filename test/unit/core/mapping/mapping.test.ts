import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mapCustomerToAccount } from '#core/mapping/customers.ts';
import { contentHash } from '#core/mapping/hash.ts';
import { externalIdValue, parseExternalIdValue } from '#core/mapping/keys.ts';
import { testConfig } from '#test/support/config.ts';

describe('contentHash', () => {
  it('ignores key order and distinguishes values', () => {
    expect(contentHash({ a: 1, b: { c: 'x', d: null } })).toBe(contentHash({ b: { d: null, c: 'x' }, a: 1 }));
    expect(contentHash({ a: 1 })).not.toBe(contentHash({ a: '1' }));
  });
});

describe('externalIdValue', () => {
  it('prefixes the legal entity only when several are synced', () => {
    expect(externalIdValue({ dataAreaId: 'USMF', id: 'US-001' }, true)).toBe('usmf:US-001');
    expect(externalIdValue({ dataAreaId: 'usmf', id: 'US-001' }, false)).toBe('US-001');
  });

  it('round-trips any key through parseExternalIdValue', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9]{1,4}$/), fc.string({ minLength: 1 }), (dataAreaId, id) => {
        const parsed = parseExternalIdValue(externalIdValue({ dataAreaId, id }, true), undefined);
        return parsed.dataAreaId === dataAreaId && parsed.id === id;
      }),
    );
  });
});

describe('mapCustomerToAccount', () => {
  const customer = {
    dataAreaId: 'usmf',
    CustomerAccount: 'US-001',
    OrganizationName: "O'Neil Pumps & Valves",
    AddressCity: 'Chicago',
    AddressZipCode: '',
    PrimaryContactPhone: '+1 312 555 0100',
    CreditLimit: 50000,
  };

  it('maps the default fields and the External ID with the legal entity when several are synced', () => {
    const account = mapCustomerToAccount(customer, testConfig({ legalEntities: ['usmf', 'demf'] }));
    expect(account).toMatchObject({
      D365_Customer_Key__c: 'usmf:US-001',
      Name: "O'Neil Pumps & Valves",
      AccountNumber: 'US-001',
      BillingCity: 'Chicago',
      BillingPostalCode: null,
      Phone: '+1 312 555 0100',
    });
  });

  it('adds configured custom field mappings', () => {
    const config = testConfig({
      legalEntities: ['usmf'],
      mappings: { customers: { Credit_Limit__c: 'CreditLimit' } },
    });
    expect(mapCustomerToAccount(customer, config)).toMatchObject({
      D365_Customer_Key__c: 'usmf:US-001',
      Credit_Limit__c: 50000,
    });
  });

  it('keeps the legal entity in the key with one legal entity, and leaves it out only in the legacy format', () => {
    const one = testConfig({ legalEntities: ['usmf'] });
    expect(mapCustomerToAccount(customer, one).D365_Customer_Key__c).toBe('usmf:US-001');
    const legacy = testConfig({ legalEntities: ['usmf'], externalIds: { format: 'legacy' } });
    expect(mapCustomerToAccount(customer, legacy).D365_Customer_Key__c).toBe('US-001');
    const legacyTwo = testConfig({
      legalEntities: ['usmf', 'demf'],
      externalIds: { format: 'legacy' },
    });
    expect(mapCustomerToAccount(customer, legacyTwo).D365_Customer_Key__c).toBe('usmf:US-001');
  });
});
