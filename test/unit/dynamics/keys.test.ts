import { describe, expect, it } from 'vitest';
import { ValidationError } from '#base/errors.ts';
import { Currencies, CustomersV3, type EntityKey } from '#core/ports/dynamics/entities.ts';
import { formatKey, keyOfRecord, keyPath, validateKey } from '#core/ports/dynamics/keys.ts';

describe('formatKey', () => {
  it('names every key field, dataAreaId first and lowercased', () => {
    expect(formatKey(CustomersV3, { dataAreaId: 'USMF', CustomerAccount: 'US-001' })).toBe(
      "CustomersV3(dataAreaId='usmf',CustomerAccount='US-001')",
    );
    expect(formatKey(Currencies, { CurrencyCode: 'EUR' })).toBe("Currencies(CurrencyCode='EUR')");
  });

  it('doubles quotes in key values', () => {
    expect(formatKey(CustomersV3, { dataAreaId: 'usmf', CustomerAccount: "O'Neil" })).toBe(
      "CustomersV3(dataAreaId='usmf',CustomerAccount='O''Neil')",
    );
  });

  it('percent-encodes key values twice for the URL path, as IIS and OData each decode once', () => {
    expect(keyPath(CustomersV3, { dataAreaId: 'usmf', CustomerAccount: "A+B/1?'%" })).toBe(
      "CustomersV3(dataAreaId='usmf',CustomerAccount='A%252BB%252F1%253F''%2525')",
    );
  });
});

describe('validateKey', () => {
  it('names the missing key field', () => {
    const missing = { CustomerAccount: 'US-001' } as unknown as EntityKey<typeof CustomersV3>;
    expect(() => validateKey(CustomersV3, missing)).toThrow(/key field dataAreaId is missing/);
    try {
      validateKey(CustomersV3, missing);
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).field).toBe('dataAreaId');
    }
  });

  it('refuses empty values, non-strings and fields outside the key', () => {
    expect(() => validateKey(CustomersV3, { dataAreaId: 'usmf', CustomerAccount: '' })).toThrow(
      /CustomerAccount/,
    );
    expect(() => validateKey(CustomersV3, { dataAreaId: 'usmf', CustomerAccount: 7 as never })).toThrow(
      /string/,
    );
    expect(() =>
      validateKey(CustomersV3, { dataAreaId: 'usmf', CustomerAccount: 'A', Name: 'x' } as never),
    ).toThrow(/Name is not a key field/);
  });

  it('rejects a key without dataAreaId at compile time', () => {
    // @ts-expect-error dataAreaId is part of the CustomersV3 key
    const key: EntityKey<typeof CustomersV3> = { CustomerAccount: 'US-001' };
    expect(key).toBeDefined();
  });
});

describe('keyOfRecord', () => {
  it('reads the key from a record and reports an incomplete one as undefined', () => {
    expect(keyOfRecord(CustomersV3, { dataAreaId: 'usmf', CustomerAccount: 'A', X: 1 })).toEqual({
      dataAreaId: 'usmf',
      CustomerAccount: 'A',
    });
    expect(keyOfRecord(CustomersV3, { CustomerAccount: 'A' })).toBeUndefined();
  });
});
