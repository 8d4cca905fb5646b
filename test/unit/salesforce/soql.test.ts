import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '#base/errors.ts';
import {
  escapeSoqlString,
  formatSoqlNumber,
  soql,
  soqlDate,
  soqlDateTime,
  soqlFields,
  soqlIdent,
  soqlLike,
  soqlLiteral,
} from '#core/ports/salesforce/soql.ts';
import { type Condition, type Literal, parseSoql } from '#sandbox/salesforce/soql.ts';

function whereOf(text: string): Condition {
  const where = parseSoql(text).where;
  if (!where) throw new Error('no WHERE');
  return where;
}

function compared(text: string): Literal {
  const where = whereOf(text);
  if (where.kind !== 'compare') throw new Error(`not a comparison: ${where.kind}`);
  return where.value;
}

/** Strings over all of UTF-16: full code points, lone surrogates, quotes, backslashes, controls. */
const nasty = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
  fc.string({
    unit: fc.constantFrom("'", '\\', '"', '\n', '\r', '\t', '\b', '\f', '\0', '\u2028', '%', '_', 'a', ' '),
  }),
);

describe('soql literals', () => {
  it('round-trips any string through the sandbox parser to the same value', () => {
    fc.assert(
      fc.property(nasty, (value) => {
        const text = soql`SELECT Id FROM Account WHERE Name = ${value}`;
        expect(compared(text)).toEqual({ kind: 'string', value });
      }),
      { numRuns: 2000 },
    );
  });

  it('escapes quotes, backslashes and controls per the SOQL rules', () => {
    expect(escapeSoqlString(`it's a \\ "q"\n\r\t\b\f`)).toBe(`it\\'s a \\\\ \\"q\\"\\n\\r\\t\\b\\f`);
    expect(escapeSoqlString('\u0000\u001f\u007f\u0085')).toBe('\\u0000\\u001F\\u007F\\u0085');
    expect(escapeSoqlString('\ud800x\udc00')).toBe('\\uD800x\\uDC00');
    expect(escapeSoqlString('😀 é')).toBe('😀 é');
  });

  it('keeps an injection attempt inside the literal', () => {
    const text = soql`SELECT Id FROM Account WHERE Name = ${"x' OR Name != 'y"}`;
    expect(compared(text)).toEqual({ kind: 'string', value: "x' OR Name != 'y" });
  });

  it('writes numbers, booleans and null unquoted', () => {
    expect(soqlLiteral(42)).toBe('42');
    expect(soqlLiteral(-1.25)).toBe('-1.25');
    expect(soqlLiteral(true)).toBe('true');
    expect(soqlLiteral(null)).toBe('null');
    expect(soqlLiteral(12345678901234567890n)).toBe('12345678901234567890');
    expect(() => soqlLiteral(Number.NaN)).toThrow(ValidationError);
  });

  it('writes numbers without exponent notation so the parser reads the same value', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        const text = formatSoqlNumber(n);
        expect(text).not.toMatch(/e/i);
        expect(Number(text)).toBe(n === 0 ? 0 : n);
      }),
      { numRuns: 1000 },
    );
    expect(formatSoqlNumber(1e21)).toBe('1000000000000000000000');
    expect(formatSoqlNumber(1.5e-7)).toBe('0.00000015');
  });

  it('writes date and dateTime literals unquoted', () => {
    const since = new Date('2024-05-01T12:00:00Z');
    const text = soql`SELECT Id FROM Account WHERE SystemModstamp > ${since} AND CreatedDate >= ${soqlDate('2024-05-01')}`;
    expect(text).toBe(
      'SELECT Id FROM Account WHERE SystemModstamp > 2024-05-01T12:00:00Z AND CreatedDate >= 2024-05-01',
    );
    const where = whereOf(text);
    expect(where.kind).toBe('and');
    expect(soqlDateTime('2024-05-01T12:00:00.123Z').text).toBe('2024-05-01T12:00:00.123Z');
    expect(() => soqlDate('2024-02-30')).toThrow(ValidationError);
  });

  it('writes arrays as IN lists and refuses empty ones', () => {
    const text = soql`SELECT Id FROM Account WHERE D365_Customer_Key__c IN ${['a', "b'", 'c\\']}`;
    const where = whereOf(text);
    expect(where).toMatchObject({
      kind: 'in',
      values: [
        { kind: 'string', value: 'a' },
        { kind: 'string', value: "b'" },
        { kind: 'string', value: 'c\\' },
      ],
    });
    expect(() => soql`SELECT Id FROM Account WHERE Id IN ${[]}`).toThrow(ValidationError);
  });

  it('matches LIKE values literally, wildcards escaped', () => {
    fc.assert(
      fc.property(nasty, fc.string(), (value, other) => {
        const text = soql`SELECT Id FROM Account WHERE Name LIKE ${soqlLike(value, 'exact')}`;
        const where = whereOf(text);
        if (where.kind !== 'like') throw new Error('not LIKE');
        expect(where.value.value).toBe(value);
        expect(where.value.regex.test(value)).toBe(true);
        if (other.toLowerCase() !== value.toLowerCase()) expect(where.value.regex.test(other)).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('anchors LIKE values by mode', () => {
    const like = (mode: 'startsWith' | 'endsWith' | 'contains') => {
      const where = whereOf(soql`SELECT Id FROM Account WHERE Name LIKE ${soqlLike('50%_off', mode)}`);
      if (where.kind !== 'like') throw new Error('not LIKE');
      return where.value.regex;
    };
    expect(like('startsWith').test('50%_off sale')).toBe(true);
    expect(like('startsWith').test('500 off sale')).toBe(false);
    expect(like('endsWith').test('big 50%_off')).toBe(true);
    expect(like('contains').test('a 50%_OFF b')).toBe(true);
  });

  it('validates identifiers', () => {
    expect(soqlFields(['Id', 'Account.Name', 'D365_Customer_Key__c']).text).toBe(
      'Id, Account.Name, D365_Customer_Key__c',
    );
    expect(() => soqlIdent('Name FROM User --')).toThrow(ValidationError);
    expect(() => soqlIdent("Name'")).toThrow(ValidationError);
  });
});
