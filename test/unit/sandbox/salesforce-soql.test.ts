import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSoql, type SoqlQuery, SoqlSyntaxError } from '#sandbox/salesforce/soql.ts';

/** The escaping the SOQL reference prescribes, as a client would write it. */
const quote = (s: string) =>
  `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}'`;

const whereValue = (q: SoqlQuery) => {
  const w = q.where;
  if (w?.kind !== 'compare') throw new Error('expected a comparison');
  return w.value;
};

describe('parseSoql', () => {
  it('parses fields, relationship paths, a child subquery, ORDER BY, LIMIT and OFFSET', () => {
    const q = parseSoql(
      'SELECT Id, Account.Name, (SELECT Id, Quantity FROM OpportunityLineItems) FROM Opportunity ORDER BY CloseDate DESC NULLS LAST, Name LIMIT 10 OFFSET 5',
    );
    expect(q.select.map((s) => s.kind)).toEqual(['field', 'field', 'subquery']);
    expect(q.select[1]).toMatchObject({ kind: 'field', path: ['Account', 'Name'] });
    expect(q.from.name).toBe('Opportunity');
    expect(q.orderBy).toEqual([
      expect.objectContaining({ direction: 'DESC', nulls: 'LAST' }),
      expect.objectContaining({ direction: 'ASC', nulls: 'FIRST' }),
    ]);
    expect(q.limit).toBe(10);
    expect(q.offset).toBe(5);
  });

  it('decodes every SOQL string escape', () => {
    const q = parseSoql("SELECT Id FROM Account WHERE Name = 'O\\'Neil\\\\x\\n\\r\\t\\b\\f\\\"\\u00e9'");
    expect(whereValue(q)).toEqual({ kind: 'string', value: 'O\'Neil\\x\n\r\t\b\f"é' });
  });

  it('rejects any other backslash sequence as malformed', () => {
    expect(() => parseSoql("SELECT Id FROM Account WHERE Name = 'a\\qb'")).toThrow(SoqlSyntaxError);
    expect(() => parseSoql("SELECT Id FROM Account WHERE Name = 'a\\%'")).toThrow(
      /Illegal character sequence/,
    );
  });

  it('allows \\% and \\_ in LIKE as literal characters', () => {
    const q = parseSoql("SELECT Id FROM Account WHERE Name LIKE '50\\%_off%'");
    const w = q.where;
    if (w?.kind !== 'like') throw new Error('expected LIKE');
    expect(w.value.value).toBe('50%_off%');
    expect(w.value.regex.test('50%xoff and more')).toBe(true);
    expect(w.value.regex.test('500xoff')).toBe(false);
  });

  it('parses numbers, booleans, null, dates and dateTimes with offsets', () => {
    const q = parseSoql(
      'SELECT Id FROM Opportunity WHERE Amount >= -1.5 AND IsWon = TRUE AND Description != null AND CloseDate < 2024-05-01 AND SystemModstamp > 2024-05-01T12:00:00+02:00',
    );
    const w = q.where;
    if (w?.kind !== 'and') throw new Error('expected AND');
    const values = w.operands.map((o) => (o.kind === 'compare' ? o.value : undefined));
    expect(values).toEqual([
      { kind: 'number', value: -1.5 },
      { kind: 'boolean', value: true },
      { kind: 'null', value: null },
      { kind: 'date', value: '2024-05-01' },
      { kind: 'datetime', value: Date.parse('2024-05-01T10:00:00Z'), text: '2024-05-01T12:00:00+02:00' },
    ]);
  });

  it('parses NOT, OR, parentheses and NOT IN with AND binding tighter than OR', () => {
    const q = parseSoql(
      "SELECT Id FROM Account WHERE A__c = 'a' OR NOT (B__c IN ('x','y') AND C__c NOT IN (1, 2))",
    );
    expect(q.where).toMatchObject({
      kind: 'or',
      operands: [
        { kind: 'compare' },
        {
          kind: 'not',
          operand: {
            kind: 'and',
            operands: [
              { kind: 'in', negated: false },
              { kind: 'in', negated: true },
            ],
          },
        },
      ],
    });
  });

  it('parses relative date literals and rejects bind variables', () => {
    const q = parseSoql('SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:30 OR CreatedDate = TODAY');
    expect(q.where).toMatchObject({
      kind: 'or',
      operands: [
        { value: { kind: 'relativeDate', value: 'LAST_N_DAYS', n: 30 } },
        { value: { kind: 'relativeDate', value: 'TODAY' } },
      ],
    });
    expect(() => parseSoql('SELECT Id FROM Account WHERE Name = :name')).toThrow(SoqlSyntaxError);
    expect(() => parseSoql('SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS')).toThrow(
      SoqlSyntaxError,
    );
  });

  it('parses COUNT() alone', () => {
    expect(parseSoql('select count() from Account').select).toEqual([{ kind: 'count', pos: 7 }]);
  });

  it('reports the row and column of unsupported syntax', () => {
    expect(() => parseSoql('SELECT Id FROM Account\nGROUP BY Name')).toThrow(
      /ERROR at Row:2:Column:1\nunexpected token: GROUP/,
    );
    expect(() => parseSoql('SELECT Id FROM Account WHERE')).toThrow(/unexpected token: <EOF>/);
    expect(() => parseSoql("SELECT Id FROM Account WHERE Name = 'open")).toThrow(SoqlSyntaxError);
  });

  it('round-trips any string escaped the documented way', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(whereValue(parseSoql(`SELECT Id FROM Account WHERE Name = ${quote(s)}`))).toEqual({
          kind: 'string',
          value: s,
        });
      }),
      { numRuns: 300 },
    );
  });
});
