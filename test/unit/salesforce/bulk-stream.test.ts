import { describe, expect, it } from 'vitest';
import { csvRecords } from '#salesforce/bulk-stream.ts';
import { CsvParseError } from '#salesforce/csv.ts';

async function* chunks(bytes: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function collect(text: string, size: number): Promise<string[][]> {
  const out: string[][] = [];
  for await (const row of csvRecords(chunks(Buffer.from(text), size))) out.push(row);
  return out;
}

describe('csvRecords', () => {
  const text = '\ufeffsf__Id,Name\n001A,"Acme, ""The""\nsecond line"\n001B,Ünïcödé 😀\n001C,\n';
  const expected = [
    ['sf__Id', 'Name'],
    ['001A', 'Acme, "The"\nsecond line'],
    ['001B', 'Ünïcödé 😀'],
    ['001C', ''],
  ];

  it('splits records at line breaks outside quotes whatever the chunk boundaries', async () => {
    for (const size of [1, 2, 3, 7, 1024]) expect(await collect(text, size)).toEqual(expected);
  });

  it('reads a last record without a trailing line break', async () => {
    expect(await collect('a,b\n1,2', 3)).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });

  it('names the record of a malformed field', async () => {
    await expect(collect('a,b\n1,x"y\n', 4)).rejects.toThrow(CsvParseError);
    await expect(collect('a,b\n1,x"y\n', 4)).rejects.toMatchObject({ row: 2 });
  });
});
