import { describe, expect, it } from 'vitest';
import { validateConfig } from '#core/config/validate.ts';
import { customerFields } from '#core/flows/customers.ts';
import { accountQuery } from '#core/mapping/account-write-back.ts';
import {
  applyMapping,
  type Expr,
  evaluate,
  exprConstants,
  exprPaths,
  exprProblems,
  mergeMapping,
  plainPath,
} from '#core/mapping/expression.ts';
import { flowMapping, mappingPaths, tooLongPolicies } from '#core/mapping/flow-mappings.ts';
import { ParkedError } from '#core/mapping/legal-entity.ts';
import { salesOrderQuery } from '#core/mapping/sales-orders.ts';

const record = {
  OrganizationName: '  Contoso Pumps  ',
  CustomerAccount: 'US-001',
  PaymentTerms: 'Net30',
  OnHoldStatus: 'No',
  AddressStreet: '12 Main St',
  AddressCity: 'Springfield',
  AddressState: '',
  CreditLimit: 12500.456,
  SalesPrice: 250,
  SalesPriceQuantity: 100,
  Since: '2026-03-04T15:06:07Z',
  Empty: '',
  Account: { ShippingCity: 'Lyon', Owner: { Name: 'Ada' } },
};

const run = (expr: Expr) => evaluate(expr, record, 'mappings.customers.X');

function parkReason(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof ParkedError) return `${error.parkCode}: ${error.message}`;
    throw error;
  }
  throw new Error('expected the mapping to park');
}

describe('evaluate (sources)', () => {
  it('reads a field path, and an empty string as null', () => {
    expect(run('CustomerAccount')).toBe('US-001');
    expect(run('Empty')).toBeNull();
    expect(run('Missing')).toBeNull();
  });

  it('follows relationship paths, case-insensitively', () => {
    expect(run('Account.ShippingCity')).toBe('Lyon');
    expect(run({ field: 'account.owner.name' })).toBe('Ada');
    expect(run('Account.Nothing.Deeper')).toBeNull();
  });

  it('writes a constant, including false and null', () => {
    expect(run({ const: 'Customer' })).toBe('Customer');
    expect(run({ const: false })).toBe(false);
    expect(run({ const: null })).toBeNull();
  });

  it('fills a template, with empty placeholders as nothing and doubled braces as braces', () => {
    expect(run({ template: '{CustomerAccount} / {PaymentTerms}' })).toBe('US-001 / Net30');
    expect(run({ template: '{{{CustomerAccount}}} {Missing}x' })).toBe('{US-001} x');
    expect(run({ template: '{Missing}' })).toBeNull();
  });

  it('takes the first non-empty of several expressions', () => {
    expect(run({ first: ['Empty', 'Missing', 'CustomerAccount'] })).toBe('US-001');
    expect(run({ first: ['Empty', { const: 'none' }] })).toBe('none');
    expect(run({ first: ['Empty'] })).toBeNull();
  });

  it('joins the non-empty parts of a concatenation with its separator', () => {
    expect(run({ concat: ['AddressStreet', 'AddressState', 'AddressCity'], separator: ', ' })).toBe(
      '12 Main St, Springfield',
    );
  });
});

describe('evaluate (steps)', () => {
  it('trims and changes case', () => {
    expect(run({ field: 'OrganizationName', trim: true })).toBe('Contoso Pumps');
    expect(run({ field: 'OrganizationName', trim: true, case: 'upper' })).toBe('CONTOSO PUMPS');
    expect(run({ field: 'PaymentTerms', case: 'lower' })).toBe('net30');
  });

  it('maps values, with a fallback for values the map lacks', () => {
    expect(run({ field: 'PaymentTerms', map: { Net30: 'Net 30 days' } })).toBe('Net 30 days');
    expect(run({ field: 'OnHoldStatus', map: { No: false, Never: false }, fallback: true })).toBe(false);
    expect(run({ field: 'PaymentTerms', map: { COD: 'Cash' }, fallback: 'Other' })).toBe('Other');
    expect(run({ field: 'PaymentTerms', map: { COD: 'Cash' }, unmapped: 'keep' })).toBe('Net30');
    expect(run({ field: 'PaymentTerms', map: { COD: 'Cash' }, unmapped: 'null' })).toBeNull();
  });

  it('parks a record whose value the map lacks, naming the key and the fix', () => {
    expect(parkReason(() => run({ field: 'PaymentTerms', map: { COD: 'Cash' } }))).toBe(
      'MAPPING_FAILED: mappings.customers.X: the value "Net30" has no entry in the value map; add it under mappings.customers.X.map (or give mappings.customers.X.fallback), then replay',
    );
  });

  it('leaves an empty value out of the map and gives the default instead', () => {
    expect(run({ field: 'Empty', map: { COD: 'Cash' }, default: 'Net 30 days' })).toBe('Net 30 days');
    expect(run({ field: 'Missing', default: 0 })).toBe(0);
  });

  it('converts numbers: divide by a quantity, round, integer, text with fixed decimals', () => {
    expect(run({ field: 'SalesPrice', divideBy: 'SalesPriceQuantity', decimals: 2 })).toBe(2.5);
    expect(run({ field: 'SalesPrice', divideBy: 'Missing' })).toBe(250);
    expect(run({ field: 'CreditLimit', decimals: 1 })).toBe(12500.5);
    expect(run({ field: 'CreditLimit', as: 'integer' })).toBe(12500);
    expect(run({ field: 'CreditLimit', as: 'text', decimals: 2 })).toBe('12500.46');
    expect(run({ const: '42', as: 'number' })).toBe(42);
  });

  it('parks a value that is not a number when a number is asked for', () => {
    expect(parkReason(() => run({ field: 'PaymentTerms', as: 'number' }))).toMatch(
      /^MAPPING_FAILED: .*"Net30" is not a number/,
    );
  });

  it('converts booleans from words and F&O NoYes members', () => {
    expect(run({ const: 'Yes', as: 'boolean' })).toBe(true);
    expect(run({ field: 'OnHoldStatus', as: 'boolean' })).toBe(false);
    expect(parkReason(() => run({ field: 'PaymentTerms', as: 'boolean' }))).toMatch(/not true\/false/);
  });

  it('formats dates, reading F&O 1900-01-01 as no date', () => {
    expect(run({ field: 'Since', as: 'date' })).toBe('2026-03-04');
    expect(run({ field: 'Since', as: 'datetime' })).toBe('2026-03-04T15:06:07.000Z');
    expect(run({ field: 'Since', format: 'DD.MM.YYYY hh:mm' })).toBe('04.03.2026 15:06');
    expect(run({ const: '1900-01-01T12:00:00Z', as: 'date' })).toBeNull();
    expect(parkReason(() => run({ const: 'soon', as: 'date' }))).toMatch(/"soon" is not a date/);
  });

  it('truncates to maxLength, or parks when the mapping says so', () => {
    expect(run({ field: 'AddressStreet', maxLength: 5 })).toBe('12 Ma');
    expect(run({ const: 'ab\u{1F600}', maxLength: 3 })).toBe('ab');
    expect(parkReason(() => run({ field: 'AddressStreet', maxLength: 5, tooLong: 'park' }))).toBe(
      'MAPPING_FAILED: mappings.customers.X: the value has 10 characters and the mapping allows 5 (tooLong: park); shorten it in the source system or raise mappings.customers.X.maxLength, then replay',
    );
  });
});

describe('exprProblems', () => {
  it('accepts every kind of expression', () => {
    const all: unknown[] = [
      'Account.ShippingCity',
      {
        field: 'A',
        trim: true,
        case: 'upper',
        map: { a: 'b' },
        fallback: null,
        default: 'x',
        maxLength: 3,
        tooLong: 'park',
      },
      { const: 1 },
      { template: '{A} {{x}}' },
      { first: ['A', { const: 'b' }] },
      { concat: ['A', 'B'], separator: ' ' },
      { field: 'P', divideBy: 'Q', decimals: 2, as: 'number' },
      { field: 'D', format: 'YYYY', as: 'date' },
    ];
    for (const expr of all) expect(exprProblems(expr, 'k')).toEqual([]);
  });

  it('names each problem of a bad expression with its key', () => {
    expect(exprProblems({ field: 'A', const: 1 }, 'Name')).toEqual([
      'Name: give exactly one of field, const, template, first, concat (found 2)',
    ]);
    expect(exprProblems({ field: 'A', upper: true }, 'Name')).toEqual(['Name: unknown step "upper"']);
    expect(exprProblems({ template: 'a {b c} {' }, 'T')).toEqual([
      'T.template: {b c} is not a field path',
      'T.template: unbalanced { } (write {{ or }} for a brace)',
    ]);
    expect(exprProblems({ field: 'A', fallback: 'x' }, 'F')).toEqual([
      'F: fallback and unmapped go with a map',
    ]);
    expect(exprProblems('A b', 'P')).toEqual(['P: "A b" is not a field path']);
    expect(exprProblems({ first: [] }, 'L')).toEqual(['L.first: a list of 1 to 20 expressions']);
  });

  it('bounds nesting, so an expression costs at most its size', () => {
    let deep: unknown = 'A';
    for (let i = 0; i < 6; i++) deep = { first: [deep] };
    expect(exprProblems(deep, 'D').join()).toMatch(/nest at most 4 deep/);
  });
});

describe('expression analysis', () => {
  it('lists the paths, constants and plain copies of expressions', () => {
    expect(exprPaths({ concat: ['A', { template: '{B.C} {D}' }], separator: ' ' })).toEqual([
      'A',
      'B.C',
      'D',
    ]);
    expect(exprPaths({ field: 'P', divideBy: 'Q' })).toEqual(['P', 'Q']);
    expect(exprConstants({ field: 'T', map: { a: 'X', b: 'Y' }, fallback: 'Z' })).toEqual(['X', 'Y', 'Z']);
    expect(plainPath({ field: 'A', trim: true })).toBe('A');
    expect(plainPath({ field: 'A', map: {} })).toBeUndefined();
  });

  it('lays configuration over defaults: replaces, removes with null, adds', () => {
    const merged = mergeMapping({ Name: 'A', Phone: 'B' }, { Phone: null, Name: { const: 'n' }, Fax: 'C' });
    expect(merged).toEqual({ Name: { const: 'n' }, Fax: 'C' });
    expect(applyMapping(merged, { C: 'fax' }, 'mappings.customers')).toEqual({ Name: 'n', Fax: 'fax' });
  });
});

describe('flowMapping', () => {
  const config = (mappings: Record<string, unknown> = {}) =>
    validateConfig({
      dynamics: { environment: 'x.operations.dynamics.com', tenantId: 't' },
      salesforce: { myDomain: 'https://x.my.salesforce.com' },
      legalEntities: ['usmf'],
      mappings,
    });

  it('removes a default with null and names only the fields the mapping reads', () => {
    const cfg = config({ customers: { Website: null, Description: { template: '{PaymentTerms}' } } });
    const mapping = flowMapping('customers', cfg);
    expect(mapping.Website).toBeUndefined();
    expect(mappingPaths(mapping)).toContain('PaymentTerms');
    expect(mappingPaths(mapping)).not.toContain('PrimaryContactURL');
  });

  it('gives each sales order source its own SalesOrderName default', () => {
    expect(flowMapping('salesOrders', config(), { sobject: 'Order' }).SalesOrderName).toMatchObject({
      field: 'OrderNumber',
    });
    expect(flowMapping('salesOrders', config(), { sobject: 'Opportunity' }).SalesOrderName).toMatchObject({
      field: 'Name',
    });
  });

  it('collects tooLong choices for targets sized by the Salesforce describe', () => {
    const cfg = config({ customers: { Phone: { field: 'PrimaryContactPhone', tooLong: 'truncate' } } });
    expect(tooLongPolicies(flowMapping('customers', cfg))).toEqual(new Map([['phone', 'truncate']]));
  });

  it('refuses a configuration with an invalid expression, naming the key', () => {
    expect(() => config({ customers: { Name: { field: 'A', case: 'title' } } })).toThrow(
      /Name.case: upper or lower/,
    );
  });

  it('reads exactly the mapped source fields: relationship paths in SOQL, parent paths on the header, none removed', () => {
    const cfg = config({
      customers: { Website: null, Description: { template: '{PaymentTerms}' } },
      salesOrders: { DeliveryAddressCity: 'Account.ShippingCity' },
      salesOrderLines: {
        CustomerRequisitionNumber: 'parent.Description',
        LineDiscountPercentage: 'Product2.Family',
      },
      accountWriteBack: { PaymentTerms: 'Owner.Name' },
    });
    const org = { multiCurrency: false } as const;
    const soql = salesOrderQuery('Opportunity', '006000000000001AAA', cfg, org);
    expect(soql).toMatch(
      /^SELECT .*Account\.ShippingCity.*, Description.*\(SELECT .*Product2\.Family FROM OpportunityLineItems\)/,
    );
    expect(soql).not.toMatch(/parent\./);
    expect(accountQuery(cfg, org, '001000000000001AAA')).toContain('Owner.Name');
    const select = customerFields(cfg);
    expect(select).toContain('PaymentTerms');
    expect(select).not.toContain('PrimaryContactURL');
  });
});
