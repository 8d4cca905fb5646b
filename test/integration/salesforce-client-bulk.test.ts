import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BulkJobFailedError, BulkWaitStoppedError } from '#core/ports/salesforce/errors.ts';
import { createApiBudget } from '#salesforce/budget.ts';
import { createSalesforceClient, type SalesforceClient } from '#salesforce/rest.ts';
import { type SalesforceSandbox, startSalesforceSandbox } from '#sandbox/salesforce/index.ts';
import { until } from '#test/support/wait.ts';

const KEY = 'D365_Customer_Key__c';

describe('Bulk API 2.0 upsert against the sandbox org', () => {
  let sandbox: SalesforceSandbox;
  let client: SalesforceClient;

  beforeAll(async () => {
    sandbox = await startSalesforceSandbox({ bulkProcessingDelayMs: 300 });
    client = createSalesforceClient({
      myDomainUrl: sandbox.info.myDomainUrl,
      clientId: sandbox.info.clientId,
      clientSecret: sandbox.info.clientSecret,
      budget: createApiBudget({ reserveCalls: 0 }),
    });
  });
  afterAll(async () => {
    await client.close();
    await sandbox.close();
  });

  it('loads thousands of Accounts, maps created/failed results back by External ID, then updates on re-run', async () => {
    const run = Date.now();
    const bad = new Set([3, 1_500, 4_999]);
    const records = Array.from({ length: 5_000 }, (_, i) => ({
      [KEY]: `B-${run}-${i}`,
      Name: bad.has(i) ? null : `Bulk "${i}", Ltd\nsecond line 😀`,
      AccountNumber: String(i),
      Phone: i % 2 === 0 ? null : undefined,
    }));
    const jobs: string[] = [];
    const report = await client.bulkUpsert('Account', KEY, records, {
      pollIntervalMs: 50,
      maxPollIntervalMs: 200,
      onJob: (j) => jobs.push(j.state),
    });
    expect(report.jobs).toHaveLength(1);
    expect(report.jobs[0]?.state).toBe('JobComplete');
    expect(jobs[0]).toBe('Open');
    const failed = report.results.filter((r) => r.outcome === 'failed');
    expect(failed.map((r) => r.index)).toEqual([3, 1_500, 4_999]);
    expect(failed[0]?.errors?.[0]?.statusCode).toBe('REQUIRED_FIELD_MISSING');
    expect(report.results.filter((r) => r.outcome === 'created')).toHaveLength(4_997);
    const sample = report.results[42];
    expect(sample).toMatchObject({ index: 42, key: `B-${run}-42`, outcome: 'created' });
    expect(sandbox.control.get('Account', sample?.id as string)).toMatchObject({
      Name: 'Bulk "42", Ltd\nsecond line 😀',
      AccountNumber: '42',
      [KEY]: `B-${run}-42`,
    });

    const again = await client.bulkUpsert('Account', KEY, records, {
      pollIntervalMs: 50,
      maxPollIntervalMs: 200,
    });
    expect(again.results.filter((r) => r.outcome === 'updated')).toHaveLength(4_997);
    expect(again.results.map((r) => r.id ?? null)).toEqual(report.results.map((r) => r.id ?? null));
  });

  it('splits a load over several jobs when the upload would exceed the size cap', async () => {
    const run = Date.now();
    const records = Array.from({ length: 300 }, (_, i) => ({ [KEY]: `S-${run}-${i}`, Name: `Split ${i}` }));
    const report = await client.bulkUpsert('Account', KEY, records, {
      maxJobBytes: 4_000,
      pollIntervalMs: 50,
    });
    expect(report.jobs.length).toBeGreaterThan(1);
    expect(report.results.every((r) => r.outcome === 'created')).toBe(true);
  });

  it('reports a failed job with its errorMessage', async () => {
    const error = await client
      .bulkUpsert('Account', KEY, [{ [KEY]: 'F-1', Name: 'x', Nope__c: 'y' }], { pollIntervalMs: 50 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BulkJobFailedError);
    expect((error as BulkJobFailedError).errorMessage).toMatch(/Nope__c/);
    expect((error as BulkJobFailedError).jobId).toMatch(/^750/);
  });

  it('stops waiting on abort and leaves the job running to completion', async () => {
    const controller = new AbortController();
    let jobId = '';
    const run = Date.now();
    // Stop waiting right after the upload is closed, i.e. while the job runs server-side.
    const watcher = createSalesforceClient({
      myDomainUrl: sandbox.info.myDomainUrl,
      clientId: sandbox.info.clientId,
      clientSecret: sandbox.info.clientSecret,
      budget: createApiBudget({ reserveCalls: 0 }),
      http: { onResponse: (_res, req) => req.operation === 'bulk.close' && controller.abort() },
    });
    const pending = watcher.bulkUpsert('Account', KEY, [{ [KEY]: `A-${run}`, Name: 'Abort wait' }], {
      pollIntervalMs: 1_000,
      signal: controller.signal,
      onJob: (j) => {
        jobId = j.id;
      },
    });
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BulkWaitStoppedError);
    expect((error as BulkWaitStoppedError).jobId).toBe(jobId);
    // The job itself goes on in Salesforce: its row arrives although nobody polls any more.
    const rows = await until('the abandoned job to complete in the sandbox', () => {
      const found = sandbox.control.query(`SELECT Id FROM Account WHERE ${KEY} = 'A-${run}'`).records;
      return found.length > 0 ? found : undefined;
    });
    expect(rows).toHaveLength(1);
    expect(watcher.counter.snapshot().byOperation['bulk.poll']).toBeUndefined();
    await watcher.close();
  });
});
