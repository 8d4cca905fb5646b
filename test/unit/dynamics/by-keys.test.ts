import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '#base/errors.ts';
import { Currencies, CustomersV3 } from '#core/ports/dynamics/entities.ts';
import { planKeyReads } from '#dynamics/by-keys.ts';
import { parseFilter } from '#sandbox/dynamics/filter.ts';

const odataUrl = 'https://contoso.operations.dynamics.com/data/';
const account = (i: number) => `C-${String(i).padStart(6, '0')}`;

describe('planKeyReads', () => {
  it('groups keys per company in one OR-chain', () => {
    const chunks = planKeyReads(
      CustomersV3,
      [
        { dataAreaId: 'usmf', CustomerAccount: 'A' },
        { dataAreaId: 'demf', CustomerAccount: 'B' },
        { dataAreaId: 'USMF', CustomerAccount: "O'C" },
      ],
      { odataUrl },
    );
    expect(chunks).toHaveLength(1);
    const url = chunks[0]?.url ?? '';
    expect(url.startsWith(`${odataUrl}CustomersV3?cross-company=true&$filter=`)).toBe(true);
    const filter = decodeURIComponent(new URL(url).search.split('$filter=')[1] ?? '');
    expect(filter).toBe(
      "(dataAreaId eq 'usmf' and (CustomerAccount eq 'A' or CustomerAccount eq 'O''C')) or " +
        "(dataAreaId eq 'demf' and CustomerAccount eq 'B')",
    );
    expect(() => parseFilter(filter)).not.toThrow();
  });

  it('keeps every URL under the limit and makes ceil(n / per-call) calls for uniform keys', () => {
    const limit = 2048;
    const keys = Array.from({ length: 1000 }, (_, i) => ({
      dataAreaId: 'usmf',
      CustomerAccount: account(i),
    }));
    const chunks = planKeyReads(CustomersV3, keys, {
      odataUrl,
      select: ['OrganizationName'],
      maxUrlLength: limit,
    });
    for (const c of chunks) expect(c.url.length).toBeLessThanOrEqual(limit);
    // Every key predicate has the same encoded length, so all but the last chunk hold the same number.
    const perCall = chunks[0]?.keys.length ?? 0;
    expect(perCall).toBeGreaterThan(10);
    expect(chunks).toHaveLength(Math.ceil(keys.length / perCall));
    // And one more key would not have fitted in a full chunk.
    const overfull = planKeyReads(CustomersV3, keys.slice(0, perCall + 1), {
      odataUrl,
      maxUrlLength: limit,
      select: ['OrganizationName'],
    });
    expect(overfull).toHaveLength(2);
    expect(chunks.flatMap((c) => c.keys)).toHaveLength(1000);
  });

  it('keeps every URL under any limit for arbitrary keys and loses none (property)', () => {
    const key = fc.record({
      dataAreaId: fc.constantFrom('usmf', 'demf', 'gbsi'),
      CustomerAccount: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
    });
    fc.assert(
      fc.property(fc.array(key, { maxLength: 120 }), fc.integer({ min: 600, max: 4000 }), (keys, limit) => {
        const chunks = planKeyReads(CustomersV3, keys, { odataUrl, maxUrlLength: limit });
        for (const c of chunks) {
          expect(c.url.length).toBeLessThanOrEqual(limit);
          // The server (ASP.NET decoding, then the F&O filter grammar) reads it back.
          const raw = c.url.split('$filter=')[1] ?? '';
          expect(() => parseFilter(decodeURIComponent(raw.replace(/\+/g, ' ')))).not.toThrow();
        }
        const unique = new Set(keys.map((k) => `${k.dataAreaId}\u0000${k.CustomerAccount.toLowerCase()}`));
        expect(chunks.reduce((n, c) => n + c.keys.length, 0)).toBe(unique.size);
      }),
      { numRuns: 200 },
    );
  });

  it('reads a global entity without cross-company or dataAreaId', () => {
    const [chunk] = planKeyReads(Currencies, [{ CurrencyCode: 'EUR' }, { CurrencyCode: 'USD' }], {
      odataUrl,
    });
    expect(chunk?.url).toBe(
      `${odataUrl}Currencies?$filter=CurrencyCode%20eq%20%27EUR%27%20or%20CurrencyCode%20eq%20%27USD%27`,
    );
  });

  it('drops duplicate keys, compared case-insensitively as F&O does', () => {
    const chunks = planKeyReads(
      CustomersV3,
      [
        { dataAreaId: 'usmf', CustomerAccount: 'abc' },
        { dataAreaId: 'USMF', CustomerAccount: 'ABC' },
      ],
      { odataUrl },
    );
    expect(chunks.flatMap((c) => c.keys)).toHaveLength(1);
  });

  it('refuses a key that cannot fit in one URL and a key without dataAreaId', () => {
    expect(() =>
      planKeyReads(CustomersV3, [{ dataAreaId: 'usmf', CustomerAccount: 'x'.repeat(3000) }], { odataUrl }),
    ).toThrow(ValidationError);
    expect(() => planKeyReads(CustomersV3, [{ CustomerAccount: 'A' } as never], { odataUrl })).toThrow(
      /dataAreaId is missing/,
    );
  });

  it('makes no call for no keys', () => {
    expect(planKeyReads(CustomersV3, [], { odataUrl })).toEqual([]);
  });
});
