import { describe, expect, it } from 'vitest';
import { validateConfig } from '#core/config/validate.ts';
import { mapProductToProduct2, unitPriceOf } from '#core/mapping/products.ts';
import { MINIMAL_CONFIG, testConfig } from '#test/support/config.ts';

const product = {
  dataAreaId: 'USMF',
  ItemNumber: 'P000001',
  ProductNumber: 'P000001',
  SearchName: 'CENTRIFUGALPUMPCP100',
  ProductSearchName: 'CPUMP100',
  SalesPrice: 1250,
  SalesPriceQuantity: 1,
  SalesUnitSymbol: 'ea',
  NetProductWeight: 42.5,
};
const translation = {
  ProductName: 'Centrifugal pump CP-100',
  Description: 'Centrifugal pump for industrial process applications',
};

describe('mapProductToProduct2', () => {
  it('maps the External ID with the legal entity, the translated name and description, the code and IsActive', () => {
    const config = testConfig({ legalEntities: ['usmf', 'demf'] });
    expect(config.products.name).toEqual({ source: 'translation', language: 'en-us' });
    expect(mapProductToProduct2(product, config, { translation })).toEqual({
      D365_Item_Key__c: 'usmf:P000001',
      Name: 'Centrifugal pump CP-100',
      ProductCode: 'P000001',
      Description: 'Centrifugal pump for industrial process applications',
      IsActive: true,
    });
  });

  it('falls back from the translation to SearchName, ProductSearchName and the item number for Name', () => {
    const config = testConfig({ legalEntities: ['usmf'] });
    expect(mapProductToProduct2(product, config)).toMatchObject({
      Name: 'CENTRIFUGALPUMPCP100',
      Description: null,
    });
    expect(
      mapProductToProduct2(product, config, { translation: { ProductName: ' ', Description: '' } }).Name,
    ).toBe('CENTRIFUGALPUMPCP100');
    expect(mapProductToProduct2({ ...product, SearchName: '' }, config).Name).toBe('CPUMP100');
    expect(mapProductToProduct2({ ...product, SearchName: '', ProductSearchName: '' }, config)).toMatchObject(
      {
        Name: 'P000001',
        D365_Item_Key__c: 'usmf:P000001',
      },
    );
  });

  it('takes the name from the configured search-name field and sends no Description', () => {
    const bySearch = testConfig({
      legalEntities: ['usmf'],
      products: { name: { source: 'searchName' } },
    });
    const mapped = mapProductToProduct2(product, bySearch, { translation });
    expect(mapped.Name).toBe('CENTRIFUGALPUMPCP100');
    expect(mapped).not.toHaveProperty('Description');
    const byProductSearch = testConfig({
      legalEntities: ['usmf'],
      products: { name: { source: 'productSearchName' } },
    });
    expect(mapProductToProduct2(product, byProductSearch).Name).toBe('CPUMP100');
    expect(mapProductToProduct2({ ...product, ProductSearchName: '' }, byProductSearch).Name).toBe(
      'CENTRIFUGALPUMPCP100',
    );
  });

  it('refuses an unknown name source and a malformed language', () => {
    expect(() =>
      validateConfig({ ...MINIMAL_CONFIG, products: { name: { source: 'ProductName' } } }),
    ).toThrow(/products\.name\.source/);
    expect(() => testConfig({ legalEntities: ['usmf'], products: { name: { language: 'en us' } } })).toThrow(
      /language id/,
    );
  });

  it('sends QuantityUnitOfMeasure only when the org has the field', () => {
    const config = testConfig({ legalEntities: ['usmf'] });
    expect(mapProductToProduct2(product, config)).not.toHaveProperty('QuantityUnitOfMeasure');
    expect(mapProductToProduct2(product, config, { quantityUnitOfMeasure: true })).toMatchObject({
      QuantityUnitOfMeasure: 'ea',
    });
  });

  it('adds configured custom field mappings, empty values as null', () => {
    const config = testConfig({
      legalEntities: ['usmf'],
      mappings: { products: { Weight__c: 'NetProductWeight', Family: 'ProductGroupId' } },
    });
    expect(mapProductToProduct2(product, config)).toMatchObject({ Weight__c: 42.5, Family: null });
  });
});

describe('unitPriceOf', () => {
  it('divides the sales price by its price quantity and rounds to cents', () => {
    expect(unitPriceOf({ SalesPrice: 100, SalesPriceQuantity: 3 })).toBe(33.33);
    expect(unitPriceOf({ SalesPrice: 1250, SalesPriceQuantity: 1 })).toBe(1250);
  });

  it('treats a missing or zero price quantity as per unit', () => {
    expect(unitPriceOf({ SalesPrice: 19.99, SalesPriceQuantity: 0 })).toBe(19.99);
    expect(unitPriceOf({ SalesPrice: 19.99 })).toBe(19.99);
  });

  it('gives 0 when the product has no usable price', () => {
    expect(unitPriceOf({})).toBe(0);
    expect(unitPriceOf({ SalesPrice: 'n/a' })).toBe(0);
  });
});
