import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiBudget } from '#salesforce/budget.ts';
import type { BulkResultRow } from '#salesforce/bulk-stream.ts';
import { createSalesforceClient, type SalesforceClient } from '#salesforce/rest.ts';
import { type SalesforceSandbox, startSalesforceSandbox } from '#sandbox/salesforce/index.ts';

const KEY = 'D365_Customer_Key__c';

describe('a streamed Bulk API 2.0 job against the sandbox org', () => {
  let sandbox: SalesforceSandbox;
  let client: SalesforceClient;

  beforeAll(async () => {
    sandbox = await startSalesforceSandbox({ bulkProcessingDelayMs: 40 });
    client = createSalesforceClient({
      myDomainUrl: sandbox.info.myDomainUrl,
      clientId: sandbox.info.clientId,
      clientSecret: sandbox.info.clientSecret,
      budget: createApiBudget({ reserveCalls: 0 }),
      bulkPolling: { pollIntervalMs: 20, maxPollIntervalMs: 100 },
    });
  });
  afterAll(async () => {
    await client.close();
    await sandbox.close();
  });

  it('streams rows into the one upload while they are written, then reads both result files as streams', async () => {
    client.counter.reset();
    const job = await client.openBulkJob('Account', {
      operation: 'upsert',
      externalIdField: KEY,
      columns: [KEY, 'Name', 'Phone'],
    });
    for (let i = 0; i < 3_000; i++) {
      const row = job.encode({
        [KEY]: `S-${i}`,
        Name: i === 7 ? null : `Name "${i}",\nline two`,
        Phone: undefined,
      });
      await job.write(row as string);
    }
    const info = await job.finish();
    expect(info).toMatchObject({
      state: 'JobComplete',
      numberRecordsProcessed: 3_000,
      numberRecordsFailed: 1,
    });
    const rows: BulkResultRow[] = [];
    expect(await client.readBulkResults(job.id, 'successfulResults', (r) => rows.push(r))).toBe(2_999);
    expect(await client.readBulkResults(job.id, 'failedResults', (r) => rows.push(r))).toBe(1);
    const created = rows.find((r) => r.values[KEY] === 'S-42');
    expect(created).toMatchObject({
      file: 'successfulResults',
      created: true,
      values: { Name: 'Name "42",\nline two' },
    });
    expect(created?.id).toMatch(/^001/);
    expect(rows.find((r) => r.values[KEY] === 'S-7')).toMatchObject({
      file: 'failedResults',
      error: { statusCode: 'REQUIRED_FIELD_MISSING', fields: ['Name'] },
    });
    const calls = client.counter.snapshot().byOperation;
    expect(calls).toMatchObject({ 'bulk.create': 1, 'bulk.upload': 1, 'bulk.close': 1, 'bulk.results': 2 });
  });

  it('tells when a row would pass the job size limit and when a record has a field the header lacks', async () => {
    const job = await client.openBulkJob('Account', {
      operation: 'upsert',
      externalIdField: KEY,
      columns: [KEY, 'Name'],
      maxJobBytes: 64,
    });
    const row = job.encode({ [KEY]: 'L-1', Name: 'x' }) as string;
    expect(row).toBe('L-1,x\n');
    expect(job.bytes).toBe(Buffer.byteLength(`${KEY},Name\n`));
    expect(job.fits(Buffer.byteLength(row))).toBe(true);
    expect(job.fits(64)).toBe(false);
    expect(job.encode({ [KEY]: 'L-2', Name: 'y', Phone: '1' })).toBeUndefined();
    await job.abort();
    expect(
      sandbox.control.query("SELECT Id FROM Account WHERE D365_Customer_Key__c = 'L-1'").records,
    ).toEqual([]);
  });
});
