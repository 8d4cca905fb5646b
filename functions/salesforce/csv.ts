/**
 * RFC 4180 CSV for Bulk API 2.0 (https://www.rfc-editor.org/rfc/rfc4180): fields holding `"`, `,`,
 * CR or LF are quoted with embedded quotes doubled; rows end with LF (the job's `lineEnding`).
 * Value formats and `#N/A` to set a field to null:
 * https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/datafiles_prepare_csv.htm
 * https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/datafiles_date_format.htm
 */
import { ConnectorError, ValidationError } from '#base/errors.ts';

/** Quotes a field when it holds a quote, comma, CR or LF (or leading/trailing spaces). */
export function csvField(text: string): string {
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV row (LF-terminated). */
export function csvRow(fields: readonly string[]): string {
  return `${fields.map(csvField).join(',')}\n`;
}

/**
 * A record value as Bulk 2.0 expects it: `null` and `''` → `#N/A` (set the field to null, as the
 * JSON APIs do for both), `undefined` → empty (leave unchanged), booleans `true`/`false`, numbers
 * without exponent, Date → `yyyy-MM-ddTHH:mm:ss.SSSZ` (UTC). Objects and non-finite numbers are refused.
 */
export function bulkValue(value: unknown, field: string): string {
  if (value === undefined) return '';
  if (value === null || value === '') return '#N/A';
  switch (typeof value) {
    case 'string':
      return value;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'number': {
      if (!Number.isFinite(value))
        throw new ValidationError(`${field}: ${value} cannot be loaded`, { field });
      const text = String(value);
      return text.includes('e')
        ? value.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 })
        : text;
    }
    default:
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) throw new ValidationError(`${field}: invalid Date`, { field });
        return value.toISOString();
      }
      throw new ValidationError(`${field}: a ${typeof value} cannot be written to CSV`, { field });
  }
}

/** Thrown for malformed CSV; `row` is the 1-based record number (header = 1), `line` the 1-based line if known. */
export class CsvParseError extends ConnectorError {
  override name = 'CsvParseError';
  readonly row: number;
  readonly line: number | undefined;
  constructor(message: string, row: number, line?: number) {
    super(`${message} (row ${row}${line === undefined ? '' : `, line ${line}`})`, { code: 'CSV_INVALID' });
    this.row = row;
    this.line = line;
  }
}

/**
 * Parses RFC 4180 CSV (LF or CRLF rows, quoted fields with doubled quotes and line breaks, an
 * optional UTF-8 BOM). Throws CsvParseError naming the row for a stray or unterminated quote.
 * A trailing line break does not add a row.
 */
export function parseCsv(text: string): string[][] {
  const input = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let line = 1;
  let rowLine = 1;
  let i = 0;
  const n = input.length;
  const fail = (message: string): never => {
    throw new CsvParseError(message, rows.length + 1, rowLine);
  };
  while (i < n) {
    const c = input.charCodeAt(i);
    if (c === 34 /* " */) {
      if (field !== '') fail('a quote inside an unquoted field');
      let j = i + 1;
      let value = '';
      for (;;) {
        const q = input.indexOf('"', j);
        if (q === -1) fail('an unterminated quoted field');
        value += input.slice(j, q);
        if (input.charCodeAt(q + 1) === 34) {
          value += '"';
          j = q + 2;
          continue;
        }
        j = q + 1;
        break;
      }
      for (let k = i; k < j; k++) if (input.charCodeAt(k) === 10) line++;
      const next = input.charCodeAt(j);
      if (j < n && next !== 44 && next !== 10 && !(next === 13 && input.charCodeAt(j + 1) === 10)) {
        fail('unexpected character after a closing quote');
      }
      row.push(value);
      i = j;
      if (next === 44) {
        i++;
        if (i === n) row.push('');
      }
      if (j >= n || next === 10 || next === 13) {
        rows.push(row);
        row = [];
        i = j >= n ? n : next === 13 ? j + 2 : j + 1;
        line++;
        rowLine = line;
      }
      continue;
    }
    // Unquoted field: up to the next comma or line break.
    let j = i;
    while (j < n) {
      const d = input.charCodeAt(j);
      if (d === 44 || d === 10 || (d === 13 && input.charCodeAt(j + 1) === 10)) break;
      if (d === 34) fail('a quote inside an unquoted field');
      j++;
    }
    field = input.slice(i, j);
    row.push(field);
    field = '';
    const d = input.charCodeAt(j);
    if (j < n && d === 44) {
      i = j + 1;
      if (i === n) row.push('');
      continue;
    }
    rows.push(row);
    row = [];
    i = j >= n ? n : d === 13 ? j + 2 : j + 1;
    line++;
    rowLine = line;
  }
  if (row.length > 0) rows.push(row);
  return rows;
}

/** Parses CSV with a header row into records keyed by column name; rows of the wrong width fail. */
export function parseCsvRecords(text: string): { header: string[]; records: Record<string, string>[] } {
  const rows = parseCsv(text);
  const header = rows[0] ?? [];
  const records: Record<string, string>[] = [];
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r] as string[];
    if (row.length !== header.length) {
      throw new CsvParseError(`expected ${header.length} fields, found ${row.length}`, r + 1);
    }
    const record: Record<string, string> = {};
    header.forEach((name, k) => {
      record[name] = row[k] as string;
    });
    records.push(record);
  }
  return { header, records };
}
