import { describe, expect, it } from 'vitest';
import { ConfigValidationError, validateConfig } from '#core/config/validate.ts';

const minimal = {
  dynamics: {
    environment: 'contoso.operations.dynamics.com',
    tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  },
  salesforce: { myDomain: 'https://acme.my.salesforce.com' },
  legalEntities: ['USMF', 'demf'],
};

function problems(raw: unknown) {
  try {
    validateConfig(raw);
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}

describe('validateConfig', () => {
  it('fills defaults and lowercases legal entities', () => {
    const config = validateConfig(minimal);
    expect(config.legalEntities).toEqual(['usmf', 'demf']);
    expect(config.externalIds.account).toBe('D365_Customer_Key__c');
    expect(config.batches.collectionsSize).toBe(200);
    expect(config.flows.wonOpportunities.enabled).toBe(true);
  });

  it('returns a frozen object', () => {
    const config = validateConfig(minimal);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.batches)).toBe(true);
  });

  it('names every missing or wrong key at once', () => {
    const found = problems({ dynamics: { environment: 'x' }, salesforce: {}, legalEntities: [] });
    expect(found.map((p) => p.key)).toEqual(
      expect.arrayContaining(['dynamics.tenantId', 'salesforce.myDomain', 'legalEntities']),
    );
  });

  it('refuses unknown keys with a hint to check the spelling', () => {
    const found = problems({ ...minimal, legalEntites: ['usmf'] });
    expect(found[0]?.message).toMatch(/unknown key.*legalEntites.*spelling/);
  });

  it('refuses a collections size above the Salesforce limit of 200', () => {
    expect(problems({ ...minimal, batches: { collectionsSize: 500 } })[0]?.key).toBe(
      'batches.collectionsSize',
    );
  });

  it('refuses a legal-entity rule that points at an entity not being synced', () => {
    const found = problems({ ...minimal, legalEntityRules: [{ billingCountry: { GB: 'gbsi' } }] });
    expect(found).toEqual([
      { key: 'legalEntityRules.0', message: expect.stringContaining('"gbsi" is not in legalEntities') },
    ]);
  });

  it('refuses a non-custom External ID field name', () => {
    expect(problems({ ...minimal, externalIds: { account: 'AccountNumber' } })[0]).toMatchObject({
      key: 'externalIds.account',
      message: expect.stringContaining('__c'),
    });
  });

  it('lets F&O number customers by default and carries Salesforce ids in real fields', () => {
    const config = validateConfig(minimal);
    expect(config.accountWriteBack).toEqual({
      salesforceIdField: 'IdentificationNumber',
      prefixAllowedBySequence: false,
    });
    expect(config.salesOrders.lineIdField).toBe('OrderLineReference');
    const prefixed = validateConfig({ ...minimal, accountWriteBack: { customerAccountPrefix: 'SF-' } });
    expect(prefixed.accountWriteBack.customerAccountPrefix).toBe('SF-');
  });

  it('refuses a Salesforce-id field that is not an OData field name', () => {
    expect(problems({ ...minimal, salesOrders: { lineIdField: 'Order.Line' } })[0]).toMatchObject({
      key: 'salesOrders.lineIdField',
      message: expect.stringContaining('OData field name'),
    });
  });
});
