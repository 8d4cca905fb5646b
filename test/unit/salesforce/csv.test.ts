import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '#base/errors.ts';
import { bulkValue, CsvParseError, csvRow, parseCsv, parseCsvRecords } from '#salesforce/csv.ts';
import { parseCsv as sandboxParseCsv, writeCsv as sandboxWriteCsv } from '#sandbox/salesforce/csv.ts';

const field = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom('"', ',', '\n', '\r', ' ', 'a', 'é', '😀', '#', '\t') }),
);
/** Rows of equal width ≥ 1; a single empty field alone on a row is ambiguous in CSV, so width-1 rows are non-empty. */
const table = fc.integer({ min: 1, max: 6 }).chain((width) =>
  fc.array(
    fc.array(field, { minLength: width, maxLength: width }).filter((r) => width > 1 || r[0] !== ''),
    { minLength: 1, maxLength: 20 },
  ),
);

describe('csv writer and parser', () => {
  it('round-trips any table (quotes, commas, CR, LF, unicode)', () => {
    fc.assert(
      fc.property(table, (rows) => {
        const text = rows.map(csvRow).join('');
        expect(parseCsv(text)).toEqual(rows);
      }),
      { numRuns: 1000 },
    );
  });

  it('writes what the sandbox parser reads and reads what the sandbox writes', () => {
    fc.assert(
      fc.property(table, (rows) => {
        expect(sandboxParseCsv(rows.map(csvRow).join(''))).toEqual(rows);
        expect(parseCsv(sandboxWriteCsv(rows))).toEqual(rows);
        expect(parseCsv(sandboxWriteCsv(rows, '\r\n'))).toEqual(rows);
      }),
      { numRuns: 500 },
    );
  });

  it('quotes only the fields that need it and doubles embedded quotes', () => {
    expect(csvRow(['plain', 'a,b', 'say "hi"', 'line\nbreak', 'cr\r', ' pad', 'é'])).toBe(
      'plain,"a,b","say ""hi""","line\nbreak","cr\r"," pad",é\n',
    );
  });

  it('names the row of a stray quote or an unterminated field', () => {
    const stray = (() => {
      try {
        parseCsv('a,b\n1,2\n3,x"y\n');
      } catch (e) {
        return e as CsvParseError;
      }
      return undefined;
    })();
    expect(stray).toBeInstanceOf(CsvParseError);
    expect(stray?.row).toBe(3);
    expect(() => parseCsv('a\n"open')).toThrow(/unterminated.*row 2/);
    expect(() => parseCsv('"a"b\n')).toThrow(/after a closing quote/);
  });

  it('refuses rows whose width differs from the header', () => {
    expect(() => parseCsvRecords('a,b\n1,2\n3\n')).toThrow(/row 3/);
    expect(parseCsvRecords('\ufeffa,b\r\n1,"x\r\ny"\r\n').records).toEqual([{ a: '1', b: 'x\r\ny' }]);
  });
});

describe('bulkValue', () => {
  it('formats values as Bulk 2.0 expects', () => {
    expect(bulkValue(null, 'f')).toBe('#N/A');
    expect(bulkValue('', 'f')).toBe('#N/A');
    expect(bulkValue(undefined, 'f')).toBe('');
    expect(bulkValue(true, 'f')).toBe('true');
    expect(bulkValue(false, 'f')).toBe('false');
    expect(bulkValue(1234.5, 'f')).toBe('1234.5');
    expect(bulkValue(1e21, 'f')).toBe('1000000000000000000000');
    expect(bulkValue(1e-7, 'f')).toBe('0.0000001');
    expect(bulkValue(new Date('2024-05-01T12:00:00Z'), 'f')).toBe('2024-05-01T12:00:00.000Z');
    expect(bulkValue('2024-05-01', 'f')).toBe('2024-05-01');
    expect(() => bulkValue(Number.POSITIVE_INFINITY, 'Amount')).toThrow(ValidationError);
    expect(() => bulkValue({ a: 1 }, 'Nested')).toThrow(/Nested/);
  });
});
