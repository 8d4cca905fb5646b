import { describe, expect, it } from 'vitest';
import { ENTITY_SETS, type EntitySetDef } from '#sandbox/dynamics/entities.ts';
import { keyPredicate, parseKey, parseResourcePath, RouteError } from '#sandbox/dynamics/odata.ts';

const customers = ENTITY_SETS.CustomersV3 as EntitySetDef;
const currencies = ENTITY_SETS.Currencies as EntitySetDef;

describe('parseResourcePath', () => {
  it('splits entity set, key and navigation', () => {
    expect(
      parseResourcePath("SalesOrderHeadersV2(dataAreaId='usmf',SalesOrderNumber='SO-1')/SalesOrderLines"),
    ).toEqual({
      set: 'SalesOrderHeadersV2',
      keyText: "dataAreaId='usmf',SalesOrderNumber='SO-1'",
      navigation: 'SalesOrderLines',
    });
    expect(parseResourcePath('CustomersV3')).toEqual({
      set: 'CustomersV3',
      keyText: undefined,
      navigation: undefined,
    });
  });

  it('misses the route when a key value holds a once-encoded slash', () => {
    expect(() => parseResourcePath("ReleasedProductsV2(dataAreaId='usmf',ItemNumber='A%2FB')")).toThrow(
      RouteError,
    );
    expect(parseResourcePath("ReleasedProductsV2(dataAreaId='usmf',ItemNumber='A%252FB')").keyText).toBe(
      "dataAreaId='usmf',ItemNumber='A%2FB'",
    );
  });
});

describe('parseKey', () => {
  it('undoubles quotes and decodes values a second time', () => {
    expect(parseKey(customers, "dataAreaId='usmf',CustomerAccount='O''Neil%2B1'")).toEqual([
      'usmf',
      "O'Neil+1",
    ]);
    expect(parseKey(customers, "CustomerAccount='X',dataAreaId='demf'")).toEqual(['demf', 'X']);
    expect(parseKey(currencies, "'USD'")).toEqual(['USD']);
  });

  it('requires every key field, named, once', () => {
    expect(() => parseKey(customers, "CustomerAccount='X'")).toThrow(/number of keys/);
    expect(() => parseKey(customers, "'usmf','X'")).toThrow(/not valid/);
    expect(() => parseKey(customers, "dataAreaId='usmf',Account='X'")).toThrow(/not valid/);
    expect(() => parseKey(customers, "dataAreaId='usmf',CustomerAccount='X',dataAreaId='usmf'")).toThrow(
      /not valid/,
    );
  });

  it('round-trips keyPredicate output through the path and key parsers', () => {
    for (const value of ["O'Neil", 'A/B', 'A+B C', '100%', 'plain']) {
      const predicate = keyPredicate(customers, { dataAreaId: 'usmf', CustomerAccount: value });
      const { keyText } = parseResourcePath(`CustomersV3(${predicate})`);
      expect(parseKey(customers, keyText ?? '')).toEqual(['usmf', value]);
    }
  });
});
