import { describe, expect, it } from 'vitest';
import type { EngineContext, LegalEntityInfo } from '#core/engine/context.ts';
import { priceBookCurrencies } from '#core/flows/products.ts';
import { resolveCurrency } from '#core/mapping/legal-entity.ts';
import { testConfig } from '#test/support/config.ts';

const config = testConfig({
  legalEntities: ['usmf', 'gbsi'],
  currencies: { map: { GBP: 'GBX' } },
});
const le = (id: string, currency: string): [string, LegalEntityInfo] => [id, { id, name: id, currency }];
const reference = {
  legalEntities: new Map([le('usmf', 'USD'), le('gbsi', 'GBP')]),
  currencies: new Set(['USD', 'GBP']),
  standardPricebookId: '01s000000000001AAA',
  multiCurrency: true,
};
const ctx = { config, reference } as unknown as EngineContext;

describe('currencies.map', () => {
  it('maps a legal entity accounting currency to its Salesforce code for price book entries', () => {
    expect(priceBookCurrencies(ctx, 'gbsi')).toEqual(['GBX']);
    expect(priceBookCurrencies(ctx, 'usmf')).toEqual(['USD']);
  });

  it('maps a Salesforce record currency back to the Dynamics code for orders and customers', () => {
    expect(resolveCurrency('gbsi', 'GBX', config, reference)).toBe('GBP');
    expect(resolveCurrency('gbsi', undefined, config, { ...reference, multiCurrency: false })).toBe('GBP');
  });
});
