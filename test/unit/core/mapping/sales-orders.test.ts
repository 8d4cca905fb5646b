import { describe, expect, it } from 'vitest';
import { validateConfig } from '#core/config/validate.ts';
import type { LegalEntityInfo, ReferenceData } from '#core/engine/context.ts';
import {
  ParkedError,
  resolveCurrency,
  resolveLegalEntity,
  toDynamicsCurrency,
} from '#core/mapping/legal-entity.ts';
import {
  lineRecord,
  numberLines,
  planLines,
  type SourceLine,
  salesOrderQuery,
} from '#core/mapping/sales-orders.ts';
import { testConfig } from '#test/support/config.ts';

const config = testConfig({
  legalEntities: ['usmf', 'demf', 'gbsi'],
  legalEntityRules: [
    { field: 'D365_Legal_Entity__c' },
    { billingCountry: { US: 'usmf', DE: 'demf' } },
    { default: 'usmf' },
  ],
  currencies: { map: { GBP: 'GBX' } },
});

const le = (id: string, currency: string): [string, LegalEntityInfo] => [id, { id, name: id, currency }];
const reference: ReferenceData = {
  legalEntities: new Map([le('usmf', 'USD'), le('demf', 'EUR'), le('gbsi', 'GBP')]),
  currencies: new Set(['USD', 'EUR', 'GBP']),
  standardPricebookId: '01s000000000001AAA',
  multiCurrency: true,
};

describe('resolveLegalEntity', () => {
  it('takes the legal entity from the configured Account field first', () => {
    expect(
      resolveLegalEntity({ D365_Legal_Entity__c: 'GBSI', BillingCountryCode: 'DE' }, config, reference),
    ).toBe('gbsi');
  });

  it('maps the billing country code, or a two-letter BillingCountry, when the field is empty', () => {
    expect(resolveLegalEntity({ BillingCountryCode: 'DE' }, config, reference)).toBe('demf');
    expect(resolveLegalEntity({ BillingCountry: 'de' }, config, reference)).toBe('demf');
  });

  it('falls back to the default rule', () => {
    expect(resolveLegalEntity({ BillingCountryCode: 'FR' }, config, reference)).toBe('usmf');
  });

  it('skips a field value that is not a synced legal entity and says so when nothing else fits', () => {
    const strict = validateConfig({ ...config, legalEntityRules: [{ field: 'D365_Legal_Entity__c' }] });
    expect(() => resolveLegalEntity({ D365_Legal_Entity__c: 'xxxx' }, strict, reference)).toThrow(
      /"xxxx", which is not in legalEntities/,
    );
    try {
      resolveLegalEntity({}, strict, reference);
    } catch (error) {
      expect(error).toBeInstanceOf(ParkedError);
      expect((error as ParkedError).parkCode).toBe('LEGAL_ENTITY_UNRESOLVED');
    }
  });

  it('refuses a legal entity Dynamics does not know', () => {
    const partial = { legalEntities: new Map([le('usmf', 'USD')]) };
    expect(resolveLegalEntity({ BillingCountryCode: 'DE' }, config, partial)).toBe('usmf');
    const noDefault = validateConfig({ ...config, legalEntityRules: [{ billingCountry: { DE: 'demf' } }] });
    expect(() => resolveLegalEntity({ BillingCountryCode: 'DE' }, noDefault, partial)).toThrow(
      /Dynamics does not know/,
    );
  });
});

describe('resolveCurrency', () => {
  it("uses the record's currency in a multi-currency org, mapped back to the Dynamics code", () => {
    expect(resolveCurrency('usmf', 'EUR', config, reference)).toBe('EUR');
    expect(resolveCurrency('usmf', 'GBX', config, reference)).toBe('GBP');
    expect(toDynamicsCurrency('GBX', config)).toBe('GBP');
  });

  it("uses the legal entity's currency in a single-currency org", () => {
    expect(resolveCurrency('demf', 'USD', config, { ...reference, multiCurrency: false })).toBe('EUR');
  });

  it('parks a currency Dynamics does not have', () => {
    expect(() => resolveCurrency('usmf', 'JPY', config, reference)).toThrow(ParkedError);
  });
});

const wantedLines = () =>
  numberLines(
    [
      { Id: '00k000000000003AAA', Quantity: 1, UnitPrice: 5, Product2: { D365_Item_Key__c: 'usmf:P3' } },
      { Id: '00k000000000001AAA', Quantity: 2, UnitPrice: 7, Product2: { D365_Item_Key__c: 'P1' } },
      { Id: '00k000000000002AAA', Quantity: 3, Product2: { ProductCode: 'P2' } },
    ],
    config,
  );

describe('planLines', () => {
  const wanted = wantedLines();

  it('numbers lines by Salesforce Id order and reads the item from the key or ProductCode', () => {
    expect(wanted.map((l) => [l.lineNumber, l.itemNumber, l.quantity])).toEqual([
      [1, 'P1', 2],
      [2, 'P2', 3],
      [3, 'P3', 1],
    ]);
  });

  it('creates every line of a new order', () => {
    expect(planLines(wanted, []).missing.map((l) => l.lineNumber)).toEqual([1, 2, 3]);
  });

  it('creates only the lines whose Salesforce id the order lacks, whatever their LineNumbers', () => {
    const plan = planLines(wanted, [
      { salesforceId: '00k000000000001AAA', LineNumber: 7, ItemNumber: 'P1' },
      { salesforceId: undefined, LineNumber: 2, ItemNumber: 'P2' },
      { salesforceId: '00k000000000003AAA', LineNumber: 2, ItemNumber: 'p3' },
    ]);
    expect(plan.missing.map((l) => l.id)).toEqual(['00k000000000002AAA']);
    expect(plan.conflicts).toEqual([]);
  });

  it('matches Salesforce ids case-sensitively, as 15-character ids differ only in case', () => {
    const plan = planLines(wanted, [{ salesforceId: '00K000000000001AAA', LineNumber: 1, ItemNumber: 'P1' }]);
    expect(plan.missing).toHaveLength(3);
  });

  it('reports a line Dynamics holds with another item as a conflict', () => {
    const plan = planLines(wanted, [{ salesforceId: '00k000000000002AAA', LineNumber: 5, ItemNumber: 'P9' }]);
    expect(plan.conflicts).toEqual(['line 5 (00k000000000002AAA) is P9 in Dynamics but P2 in Salesforce']);
  });
});

describe('lineRecord', () => {
  it('sends the Salesforce line id in the configured field and no LineNumber', () => {
    const [line] = wantedLines();
    const record = lineRecord(
      line as SourceLine,
      { dataAreaId: 'usmf', salesOrderNumber: 'SO-000042', currency: 'USD' },
      { SalesUnitSymbol: 'ea' },
      'OrderLineReference',
    );
    expect(record).toMatchObject({
      OrderLineReference: '00k000000000001AAA',
      ItemNumber: 'P1',
      SalesUnitSymbol: 'ea',
    });
    expect(record).not.toHaveProperty('LineNumber');
  });
});

describe('salesOrderQuery', () => {
  it('reads the order, its lines and Account in one query with the id as an escaped literal', () => {
    const q = salesOrderQuery('Opportunity', "006' OR Name != '", config, reference);
    expect(q).toContain('FROM OpportunityLineItems');
    expect(q).toContain('Account.D365_Customer_Key__c');
    expect(q).toContain("WHERE Id = '006\\' OR Name != \\''");
  });
});
