import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '#base/errors.ts';
import { Currencies, CustomersV3 } from '#core/ports/dynamics/entities.ts';
import {
  and,
  contains,
  encodeQueryValue,
  enumValue,
  eq,
  ge,
  gt,
  le,
  literal,
  lt,
  matches,
  ne,
  not,
  or,
} from '#core/ports/dynamics/odata.ts';
import { buildQueryString, buildReadUrl } from '#dynamics/query.ts';
import { parseFilter } from '#sandbox/dynamics/filter.ts';

/** Decodes a query component as ASP.NET does: `+` is a space, then percent escapes. */
const aspNetDecode = (raw: string): string => decodeURIComponent(raw.replace(/\+/g, ' '));

const filterOf = (qs: string): string => {
  const part = qs.split('&').find((p) => p.startsWith('$filter='));
  if (!part) throw new Error(`no $filter in ${qs}`);
  return aspNetDecode(part.slice('$filter='.length));
};

describe('literal', () => {
  it('doubles single quotes in strings', () => {
    expect(literal("O'Neil")).toBe("'O''Neil'");
    expect(literal("''")).toBe("''''''");
  });

  it('writes DateTimeOffset values unquoted in UTC', () => {
    expect(literal(new Date('2024-05-01T14:00:00+02:00'))).toBe('2024-05-01T12:00:00Z');
    expect(literal(new Date('2024-05-01T12:00:00.250Z'))).toBe('2024-05-01T12:00:00.250Z');
  });

  it('qualifies enum values with the F&O namespace', () => {
    expect(literal(enumValue('NoYes', 'Yes'))).toBe("Microsoft.Dynamics.DataEntities.NoYes'Yes'");
  });

  it('writes numbers, booleans and null', () => {
    expect([literal(42), literal(-1.5), literal(true), literal(false), literal(null)]).toEqual([
      '42',
      '-1.5',
      'true',
      'false',
      'null',
    ]);
  });

  it('refuses values OData cannot carry', () => {
    expect(() => literal(Number.NaN)).toThrow(ValidationError);
    expect(() => literal(Number.POSITIVE_INFINITY)).toThrow(ValidationError);
    expect(() => literal(new Date('nope'))).toThrow(ValidationError);
    expect(() => literal('\uD800')).toThrow(ValidationError);
    expect(() => enumValue('NoYes', "Yes' or 1 eq 1")).toThrow(ValidationError);
  });
});

describe('encodeQueryValue', () => {
  it('escapes + & # % / ? and = so the server decodes them back', () => {
    const raw = "a+b&c#d%e/f?g=h i'j";
    const encoded = encodeQueryValue(raw);
    expect(encoded).not.toMatch(/[+&#/?= ]/);
    expect(encoded).toContain('%2B');
    expect(aspNetDecode(encoded)).toBe(raw);
  });
});

describe('filter builders', () => {
  it('builds comparisons, conjunctions with grouped disjunctions and negation', () => {
    const f = and(
      eq('dataAreaId', 'usmf'),
      or(eq('CustomerGroupId', '10'), ne('CustomerGroupId', '20')),
      not(gt('CreditLimit', 1000)),
    );
    expect(f.text).toBe(
      "dataAreaId eq 'usmf' and (CustomerGroupId eq '10' or CustomerGroupId ne '20') and not (CreditLimit gt 1000)",
    );
    expect(or(ge('A', 1), le('B', 2), lt('C', 3)).text).toBe('A ge 1 or B le 2 or C lt 3');
  });

  it('spells contains as the F&O wildcard', () => {
    expect(contains('OrganizationName', 'Bike').text).toBe("OrganizationName eq '*Bike*'");
    expect(matches('OrganizationName', 'Con*').text).toBe("OrganizationName eq 'Con*'");
  });

  it('refuses a * in eq, since F&O would read it as a wildcard', () => {
    expect(() => eq('CustomerAccount', 'A*')).toThrow(/wildcard/);
  });

  it('refuses field names that are not identifiers', () => {
    expect(() => eq('Name eq 1 or X', 'a')).toThrow(ValidationError);
    expect(() => eq('Lines/Amount', 'a')).toThrow(ValidationError);
  });

  it('allows only eq and ne on enums', () => {
    expect(eq('IsOneTimeCustomer', enumValue('NoYes', 'No')).text).toBe(
      "IsOneTimeCustomer eq Microsoft.Dynamics.DataEntities.NoYes'No'",
    );
    expect(() => gt('IsOneTimeCustomer', enumValue('NoYes', 'No'))).toThrow(/eq and ne/);
  });

  it('refuses hand-made filter objects and empty conjunctions', () => {
    expect(() => and()).toThrow(ValidationError);
    expect(() => buildQueryString(CustomersV3, { filter: { text: '1 eq 1' } as never })).toThrow(
      ValidationError,
    );
  });

  it('produces filters the sandbox parser accepts', () => {
    const f = and(
      eq('dataAreaId', 'usmf'),
      or(contains('OrganizationName', "O'Neil & Sons"), ge('CreditLimit', 10.5)),
      eq('IsOneTimeCustomer', enumValue('NoYes', 'No')),
      lt('ModifiedDateTime', new Date('2024-05-01T12:00:00Z')),
    );
    expect(() => parseFilter(filterOf(buildQueryString(CustomersV3, { filter: f })))).not.toThrow();
  });
});

describe('string literals (property)', () => {
  it('round-trip any string through encoding, ASP.NET decoding and the sandbox filter parser', () => {
    const tricky = fc.constantFrom(
      "'",
      "''",
      '+',
      '&',
      '#',
      '%',
      '/',
      '?',
      '=',
      ' ',
      '%2B',
      '\u00e9',
      '\u{1F600}',
      '*',
    );
    const text = fc.oneof(
      fc.string({ unit: 'grapheme' }),
      fc.string({ unit: 'binary' }),
      fc
        .array(fc.oneof(tricky, fc.string({ unit: 'grapheme-composite', maxLength: 3 })))
        .map((a) => a.join('')),
    );
    fc.assert(
      fc.property(text, (value) => {
        const qs = buildQueryString(CustomersV3, { filter: matches('OrganizationName', value) });
        const ast = parseFilter(filterOf(qs));
        expect(ast).toMatchObject({
          kind: 'compare',
          op: 'eq',
          right: { kind: 'literal', type: 'string', value },
        });
      }),
      { numRuns: 2000 },
    );
  });
});

describe('buildQueryString', () => {
  it('reads one company with its dataAreaId filter and cross-company=true', () => {
    const qs = buildQueryString(CustomersV3, {
      company: 'USMF',
      filter: eq('CustomerGroupId', '10'),
      select: ['CustomerAccount', 'OrganizationName'],
      orderBy: ['CustomerAccount desc'],
      top: 5,
      skip: 10,
      count: true,
    });
    expect(qs).toBe(
      'cross-company=true&$filter=dataAreaId%20eq%20%27usmf%27%20and%20CustomerGroupId%20eq%20%2710%27' +
        '&$select=CustomerAccount,OrganizationName&$orderby=CustomerAccount%20desc&$top=5&$skip=10&$count=true',
    );
  });

  it('reads every company with cross-company=true and no company filter', () => {
    expect(buildQueryString(CustomersV3, { company: { crossCompany: true } })).toBe('cross-company=true');
  });

  it('reads several companies as an or-chain', () => {
    expect(filterOf(buildQueryString(CustomersV3, { company: ['usmf', 'demf'] }))).toBe(
      "dataAreaId eq 'usmf' or dataAreaId eq 'demf'",
    );
  });

  it('reads the default company when no scope is given', () => {
    expect(buildReadUrl('https://e.operations.dynamics.com/data/', CustomersV3, {})).toBe(
      'https://e.operations.dynamics.com/data/CustomersV3',
    );
  });

  it('refuses a company scope on a global entity and invalid company ids', () => {
    expect(() => buildQueryString(Currencies, { company: 'usmf' })).toThrow(/shared by all companies/);
    expect(() => buildQueryString(CustomersV3, { company: "us'mf" })).toThrow(ValidationError);
    expect(() => buildQueryString(CustomersV3, { company: [] })).toThrow(ValidationError);
  });

  it('refuses malformed paging and ordering options', () => {
    expect(() => buildQueryString(CustomersV3, { top: -1 })).toThrow(ValidationError);
    expect(() => buildQueryString(CustomersV3, { skip: 1.5 })).toThrow(ValidationError);
    expect(() => buildQueryString(CustomersV3, { orderBy: ['Name; drop'] })).toThrow(ValidationError);
    expect(() => buildQueryString(CustomersV3, { select: [] })).toThrow(ValidationError);
  });
});
