/**
 * RFC 4180 CSV as Bulk API 2.0 reads and writes it: quoted fields may hold delimiters, quotes
 * (doubled) and line breaks; the line ending is the job's `lineEnding`.
 * https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/datafiles_csv_valid_record_rows.htm
 */

/** Column delimiters Bulk 2.0 accepts, by the job's `columnDelimiter` name. */
export const COLUMN_DELIMITERS = {
  COMMA: ',',
  TAB: '\t',
  SEMICOLON: ';',
  PIPE: '|',
  CARET: '^',
  BACKQUOTE: '`',
} as const;

export type ColumnDelimiter = keyof typeof COLUMN_DELIMITERS;

/** Thrown for malformed CSV; `line` is 1-based. */
export class CsvError extends Error {
  override name = 'CsvError';
  readonly line: number;
  constructor(message: string, line: number) {
    super(`${message} (line ${line})`);
    this.line = line;
  }
}

/**
 * Parses CSV into rows of fields. Outside quotes, LF and CRLF end a row (only `lineEnding` when
 * given, as a Bulk job enforces its `lineEnding`); inside quotes line breaks are kept verbatim. A
 * trailing line break does not add an empty row.
 */
export function parseCsv(text: string, delimiter = ',', lineEnding?: 'LF' | 'CRLF'): string[][] {
  const wrongEnding = (line: number) =>
    new CsvError(`LineEnding is invalid on user data. Current LineEnding setting is ${lineEnding}`, line);
  const input = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let wasQuoted = false;
  let line = 1;
  let i = 0;
  const endField = () => {
    row.push(field);
    field = '';
    wasQuoted = false;
  };
  const endRow = () => {
    endField();
    rows.push(row);
    row = [];
  };
  while (i < input.length) {
    const c = input[i] as string;
    if (quoted) {
      if (c === '"') {
        if (input[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        const next = input[i];
        if (next !== undefined && next !== delimiter && next !== '\n' && next !== '\r') {
          throw new CsvError('unexpected character after a closing quote', line);
        }
        continue;
      }
      if (c === '\n') line++;
      field += c;
      i++;
      continue;
    }
    if (c === '"') {
      if (field !== '' || wasQuoted) throw new CsvError('a quote inside an unquoted field', line);
      quoted = true;
      wasQuoted = true;
      i++;
    } else if (c === delimiter) {
      endField();
      i++;
    } else if (c === '\r' && input[i + 1] === '\n') {
      if (lineEnding === 'LF') throw wrongEnding(line);
      endRow();
      line++;
      i += 2;
    } else if (c === '\n') {
      if (lineEnding === 'CRLF') throw wrongEnding(line);
      endRow();
      line++;
      i++;
    } else {
      field += c;
      i++;
    }
  }
  if (quoted) throw new CsvError('an unterminated quoted field', line);
  if (field !== '' || row.length > 0 || wasQuoted) endRow();
  return rows;
}

/** Quotes every field (as Salesforce's result files do) and joins rows with `lineEnding`. */
export function writeCsv(rows: readonly (readonly string[])[], lineEnding = '\n', delimiter = ','): string {
  let out = '';
  for (const row of rows) {
    out += row.map((f) => `"${f.replaceAll('"', '""')}"`).join(delimiter) + lineEnding;
  }
  return out;
}
