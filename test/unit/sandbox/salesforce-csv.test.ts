import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvError, parseCsv, writeCsv } from '#sandbox/salesforce/csv.ts';

describe('parseCsv', () => {
  it('reads quoted fields with delimiters, doubled quotes and line breaks', () => {
    expect(parseCsv('a,b,c\n"x, y","say ""hi""","line1\nline2"\n')).toEqual([
      ['a', 'b', 'c'],
      ['x, y', 'say "hi"', 'line1\nline2'],
    ]);
  });

  it('accepts CRLF and LF row ends and a missing final line break', () => {
    expect(parseCsv('a,b\r\n1,2\n3,')).toEqual([
      ['a', 'b'],
      ['1', '2'],
      ['3', ''],
    ]);
  });

  it('keeps UTF-8 text and strips a byte-order mark', () => {
    expect(parseCsv('\uFEFFName\nÆøå 日本\n')).toEqual([['Name'], ['Æøå 日本']]);
  });

  it('enforces a required line ending outside quotes only', () => {
    expect(parseCsv('a\n"x\r\ny"\n', ',', 'LF')).toEqual([['a'], ['x\r\ny']]);
    expect(() => parseCsv('a\r\nb\r\n', ',', 'LF')).toThrow(/Current LineEnding setting is LF/);
    expect(() => parseCsv('a\nb\n', ',', 'CRLF')).toThrow(/Current LineEnding setting is CRLF/);
  });

  it('uses the job column delimiter', () => {
    expect(parseCsv('a|b\n"x|y"|z', '|')).toEqual([
      ['a', 'b'],
      ['x|y', 'z'],
    ]);
  });

  it('rejects an unterminated quote and text after a closing quote', () => {
    expect(() => parseCsv('a\n"open')).toThrow(CsvError);
    expect(() => parseCsv('"a"b\n')).toThrow(/after a closing quote/);
  });

  it('round-trips whatever writeCsv writes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.string(), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 5 }),
        (rows) => {
          expect(parseCsv(writeCsv(rows))).toEqual(rows);
          expect(parseCsv(writeCsv(rows, '\r\n'))).toEqual(rows);
        },
      ),
    );
  });
});
