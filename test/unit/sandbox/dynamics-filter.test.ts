import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ENTITY_SETS } from '#sandbox/dynamics/entities.ts';
import { evalFilter, FilterError, parseFilter, validateFilter } from '#sandbox/dynamics/filter.ts';
import { decodeQueryComponent, parseQueryString } from '#sandbox/dynamics/query.ts';

const customers = ENTITY_SETS.CustomersV3;
if (!customers) throw new Error('CustomersV3 missing');
const check = (text: string) => validateFilter(parseFilter(text), customers.fields, customers.typeName);

describe('parseFilter', () => {
  it('decodes doubled quotes in string literals', () => {
    expect(parseFilter("OrganizationName eq 'O''Neil'")).toEqual({
      kind: 'compare',
      op: 'eq',
      left: { kind: 'field', name: 'OrganizationName' },
      right: { kind: 'literal', type: 'string', value: "O'Neil" },
    });
    expect(parseFilter("X eq ''''")).toMatchObject({ right: { value: "'" } });
  });

  it('round-trips any string through doubling quotes', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const node = parseFilter(`CustomerAccount eq '${s.replace(/'/g, "''")}'`);
        expect(node).toMatchObject({ kind: 'compare', right: { kind: 'literal', type: 'string', value: s } });
      }),
    );
  });

  it('parses unquoted DateTimeOffset, enum, number, boolean, null and GUID literals', () => {
    expect(parseFilter('D ge 2024-05-01T12:00:00Z')).toMatchObject({
      right: { type: 'datetime', value: '2024-05-01T12:00:00Z', epochMs: Date.UTC(2024, 4, 1, 12) },
    });
    expect(parseFilter("E eq Microsoft.Dynamics.DataEntities.NoYes'Yes'")).toMatchObject({
      right: { type: 'enum', enumType: 'Microsoft.Dynamics.DataEntities.NoYes', value: 'Yes' },
    });
    expect(parseFilter('N lt -12.5')).toMatchObject({ right: { type: 'number', value: -12.5 } });
    expect(parseFilter('B eq true')).toMatchObject({ right: { type: 'boolean', value: true } });
    expect(parseFilter('B eq null')).toMatchObject({ right: { type: 'null', value: null } });
    expect(parseFilter('G eq 5f1e4b2a-0c3d-4e5f-8a9b-0c1d2e3f4a5b')).toMatchObject({
      right: { type: 'guid' },
    });
  });

  it('binds not tighter than and, and and tighter than or', () => {
    const node = parseFilter("not A eq 'a' and B eq 'b' or (C eq 'c')");
    expect(node).toMatchObject({
      kind: 'or',
      left: { kind: 'and', left: { kind: 'not' } },
      right: { kind: 'compare' },
    });
  });

  it('rejects in, has and function calls', () => {
    expect(() => parseFilter("A in ('x','y')")).toThrow(/'in' operator is not supported/);
    expect(() => parseFilter("A has Microsoft.Dynamics.DataEntities.NoYes'Yes'")).toThrow(/'has' operator/);
    expect(() => parseFilter("contains(A,'x')")).toThrow(/function 'contains' is not supported/);
    expect(() => parseFilter("startswith(A,'x') eq true")).toThrow(FilterError);
  });

  it('rejects syntax errors and unterminated strings', () => {
    expect(() => parseFilter("A eq 'x")).toThrow(/unterminated/);
    expect(() => parseFilter('A eq')).toThrow(FilterError);
    expect(() => parseFilter('')).toThrow(/empty/);
    expect(() => parseFilter("A eq 'x' B")).toThrow(/Syntax error/);
  });
});

describe('validateFilter', () => {
  it('rejects unknown fields with the ASP.NET OData message', () => {
    expect(() => check("Colour eq 'red'")).toThrow(
      "Could not find a property named 'Colour' on type 'Microsoft.Dynamics.DataEntities.CustomerV3'.",
    );
  });

  it('rejects incompatible literal types and enum ordering', () => {
    expect(() => check('CustomerAccount eq 5')).toThrow(/incompatible types/);
    expect(() => check("IsOneTimeCustomer eq 'Yes'")).toThrow(/incompatible types/);
    expect(() => check("IsOneTimeCustomer gt Microsoft.Dynamics.DataEntities.NoYes'No'")).toThrow(
      /only support/,
    );
    expect(() =>
      check("CreditLimit gt 100 and IsOneTimeCustomer eq Microsoft.Dynamics.DataEntities.NoYes'No'"),
    ).not.toThrow();
  });
});

describe('evalFilter', () => {
  const rec = {
    OrganizationName: "O'Neil Pumps Inc.",
    CreditLimit: 5000,
    IsOneTimeCustomer: 'No',
    D: '2024-05-02T12:00:00Z',
  };

  it('compares strings case-insensitively and treats * in eq as a wildcard', () => {
    expect(evalFilter(parseFilter("OrganizationName eq 'o''neil pumps inc.'"), rec)).toBe(true);
    expect(evalFilter(parseFilter("OrganizationName eq '*pumps*'"), rec)).toBe(true);
    expect(evalFilter(parseFilter("OrganizationName eq 'O''Neil*'"), rec)).toBe(true);
    expect(evalFilter(parseFilter("OrganizationName ne '*Valves*'"), rec)).toBe(true);
  });

  it('compares numbers, enums and datetimes', () => {
    expect(evalFilter(parseFilter('CreditLimit ge 5000 and CreditLimit lt 5001'), rec)).toBe(true);
    expect(
      evalFilter(parseFilter("IsOneTimeCustomer eq Microsoft.Dynamics.DataEntities.NoYes'No'"), rec),
    ).toBe(true);
    expect(evalFilter(parseFilter('D gt 2024-05-01T12:00:00Z'), rec)).toBe(true);
    expect(evalFilter(parseFilter('not (D gt 2024-05-01T12:00:00Z)'), rec)).toBe(false);
  });
});

describe('decodeQueryComponent', () => {
  it('decodes + as a space like ASP.NET and %2B as a plus', () => {
    expect(decodeQueryComponent("Name%20eq%20'A+B'")).toBe("Name eq 'A B'");
    expect(decodeQueryComponent("Name%20eq%20'A%2BB'")).toBe("Name eq 'A+B'");
    expect(decodeQueryComponent('100%')).toBe('100%');
  });

  it('splits a query string into decoded pairs', () => {
    expect(parseQueryString("cross-company=true&%24filter=A+eq+'x%26y'&$top=5")).toEqual([
      ['cross-company', 'true'],
      ['$filter', "A eq 'x&y'"],
      ['$top', '5'],
    ]);
  });

  it('turns an unencoded + in a DateTimeOffset offset into a syntax error', () => {
    const decoded = decodeQueryComponent('D ge 2024-05-01T12:00:00+02:00');
    expect(() => parseFilter(decoded)).toThrow(FilterError);
    expect(parseFilter(decodeQueryComponent('D ge 2024-05-01T12:00:00%2B02:00'))).toMatchObject({
      right: { type: 'datetime', epochMs: Date.UTC(2024, 4, 1, 10) },
    });
  });
});
