import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxChange } from '#sandbox/salesforce/change-feed.ts';
import { parseCsv } from '#sandbox/salesforce/csv.ts';
import type { SalesforceSandbox } from '#sandbox/salesforce/index.ts';
import { until } from '#test/support/wait.ts';
import { api, jsforceLogin, mintToken, startSandbox } from './salesforce-sandbox-helpers.ts';

interface JobInfo {
  id: string;
  state: string;
  contentUrl: string;
  numberRecordsProcessed: number;
  numberRecordsFailed: number;
  errorMessage?: string;
}

describe('Salesforce sandbox Bulk API 2.0 ingest', () => {
  let sandbox: SalesforceSandbox;
  let token: string;
  beforeAll(async () => {
    sandbox = await startSandbox({ bulkProcessingDelayMs: 40 });
    token = await mintToken(sandbox);
  });
  afterAll(async () => {
    await sandbox.close();
  });

  /** The job's info once it is in a final state (the sandbox processes it after its injected delay). */
  function poll(id: string): Promise<JobInfo> {
    return until(
      `job ${id} to finish`,
      async () => {
        const res = await api<JobInfo>(sandbox, token, 'GET', `/jobs/ingest/${id}`);
        return ['JobComplete', 'Failed', 'Aborted'].includes(res.body.state) && res.body;
      },
      { timeoutMs: 5_000, intervalMs: 10 },
    );
  }

  async function runJob(csv: string, lineEnding: 'LF' | 'CRLF' = 'LF', client?: string): Promise<JobInfo> {
    const headers: Record<string, string> = client ? { 'Sforce-Call-Options': `client=${client}` } : {};
    const created = await api<JobInfo>(
      sandbox,
      token,
      'POST',
      '/jobs/ingest',
      {
        object: 'Account',
        operation: 'upsert',
        externalIdFieldName: 'D365_Customer_Key__c',
        contentType: 'CSV',
        lineEnding,
      },
      headers,
    );
    expect(created.status).toBe(200);
    expect(created.body.state).toBe('Open');
    expect(created.body.contentUrl).toBe(`services/data/v63.0/jobs/ingest/${created.body.id}/batches`);
    const upload = await api(
      sandbox,
      token,
      'PUT',
      `/services/data/v63.0/jobs/ingest/${created.body.id}/batches`,
      csv,
      {
        'content-type': 'text/csv',
      },
    );
    expect(upload.status).toBe(201);
    const closed = await api<JobInfo>(sandbox, token, 'PATCH', `/jobs/ingest/${created.body.id}`, {
      state: 'UploadComplete',
    });
    expect(closed.body.state).toBe('UploadComplete');
    return poll(created.body.id);
  }

  it('upserts CSV with quotes, embedded newlines and #N/A, then reports results', async () => {
    sandbox.control.insert('Account', {
      Name: 'Existing',
      D365_Customer_Key__c: 'B-2',
      Phone: '999',
      BillingCity: 'Keep',
    });
    const changes: SandboxChange[] = [];
    const stop = sandbox.changeFeed.subscribe((c) => changes.push(c));
    const csv = [
      'D365_Customer_Key__c,Name,BillingStreet,Phone,BillingCity',
      'B-1,"Acme, ""The"" Company","1 Main St',
      'Suite 2",123,Oslo',
      'B-2,Existing renamed,,#N/A,',
      'B-3,,,,',
      'B-4,Ünïcödé,,,',
      '',
    ].join('\n');
    const job = await runJob(csv, 'LF', 'ml-connector');
    stop();
    expect(job).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: 4, numberRecordsFailed: 1 });

    const ok = await api<string>(sandbox, token, 'GET', `/jobs/ingest/${job.id}/successfulResults/`);
    expect(ok.headers.get('content-type')).toContain('text/csv');
    const okRows = parseCsv(ok.body);
    expect(okRows[0]).toEqual([
      'sf__Id',
      'sf__Created',
      'D365_Customer_Key__c',
      'Name',
      'BillingStreet',
      'Phone',
      'BillingCity',
    ]);
    const byKey = new Map(okRows.slice(1).map((r) => [r[2], r]));
    expect(byKey.get('B-1')?.[1]).toBe('true');
    expect(byKey.get('B-2')?.[1]).toBe('false');
    expect(byKey.size).toBe(3);

    const failed = parseCsv(
      (await api<string>(sandbox, token, 'GET', `/jobs/ingest/${job.id}/failedResults/`)).body,
    );
    expect(failed[0]?.slice(0, 2)).toEqual(['sf__Id', 'sf__Error']);
    expect(failed[1]?.[1]).toBe('REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --');
    expect(failed[1]?.[2]).toBe('B-3');

    const rows = sandbox.control.query(
      "SELECT D365_Customer_Key__c, Name, BillingStreet, Phone, BillingCity FROM Account WHERE D365_Customer_Key__c IN ('B-1','B-2','B-4') ORDER BY D365_Customer_Key__c",
    ).records;
    expect(rows).toMatchObject([
      { Name: 'Acme, "The" Company', BillingStreet: '1 Main St\nSuite 2', Phone: '123', BillingCity: 'Oslo' },
      { Name: 'Existing renamed', Phone: null, BillingCity: 'Keep' },
      { Name: 'Ünïcödé' },
    ]);
    expect(changes.map((c) => c.changeOrigin)).toContain(
      'com/salesforce/api/bulkapi/63.0;client=ml-connector',
    );
  });

  it('lets jsforce bulk2 load a CSV and wait for its results', async () => {
    const conn = await jsforceLogin(sandbox);
    const results = await conn.bulk2.loadAndWaitForResults({
      object: 'Account',
      operation: 'upsert',
      externalIdFieldName: 'D365_Customer_Key__c',
      input: 'D365_Customer_Key__c,Name\nJB-1,"Bulk, via jsforce"\nJB-2,\n',
      pollInterval: 20,
      pollTimeout: 10_000,
    });
    expect(results.successfulResults).toHaveLength(1);
    expect(results.successfulResults[0]).toMatchObject({ sf__Created: 'true', Name: 'Bulk, via jsforce' });
    expect(results.failedResults[0]?.sf__Error).toMatch(/^REQUIRED_FIELD_MISSING:/);
  });

  it('reads CRLF uploads', async () => {
    const job = await runJob('D365_Customer_Key__c,Name\r\nCR-1,"Line\r\nbreak"\r\nCR-2,Plain\r\n', 'CRLF');
    expect(job).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: 2, numberRecordsFailed: 0 });
    expect(
      sandbox.control.query("SELECT Name FROM Account WHERE D365_Customer_Key__c = 'CR-1'").records[0]?.Name,
    ).toBe('Line\r\nbreak');
  });

  it('fails the job when the data does not use the job line ending', async () => {
    const job = await runJob('D365_Customer_Key__c,Name\r\nLE-1,a\r\n', 'LF');
    expect(job.state).toBe('Failed');
    expect(job.errorMessage).toBe(
      'ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF',
    );
  });

  it('fails the job when a column names an unknown field', async () => {
    const job = await runJob('D365_Customer_Key__c,Nmae\nX-1,a\n');
    expect(job.state).toBe('Failed');
    expect(job.errorMessage).toBe('InvalidBatch : Field name not found : Nmae');
  });

  it('counts each Bulk REST call against the API allocation but not the records', async () => {
    sandbox.control.resetCounters();
    const csv = [
      'D365_Customer_Key__c,Name',
      ...Array.from({ length: 500 }, (_, i) => `N-${i},Name ${i}`),
    ].join('\n');
    const before = sandbox.control.apiUsage().used;
    const job = await runJob(csv);
    expect(job.numberRecordsProcessed).toBe(500);
    const calls = sandbox.control.counters()['rest.bulk'] ?? 0;
    expect(sandbox.control.apiUsage().used - before).toBe(calls);
    expect(calls).toBeLessThan(20);
  });

  it('aborts an open job and refuses uploads afterwards', async () => {
    const created = await api<JobInfo>(sandbox, token, 'POST', '/jobs/ingest', {
      object: 'Account',
      operation: 'insert',
    });
    const aborted = await api<JobInfo>(sandbox, token, 'PATCH', `/jobs/ingest/${created.body.id}`, {
      state: 'Aborted',
    });
    expect(aborted.body.state).toBe('Aborted');
    const upload = await api(sandbox, token, 'PUT', `/jobs/ingest/${created.body.id}/batches`, 'Name\nx\n', {
      'content-type': 'text/csv',
    });
    expect(upload.status).toBeGreaterThanOrEqual(400);
  });

  it('takes one upload per job and refuses a second one, keeping the first data', async () => {
    const created = await api<JobInfo>(sandbox, token, 'POST', '/jobs/ingest', {
      object: 'Account',
      operation: 'upsert',
      externalIdFieldName: 'D365_Customer_Key__c',
    });
    const path = `/jobs/ingest/${created.body.id}/batches`;
    const csv = { 'content-type': 'text/csv' };
    expect(
      (await api(sandbox, token, 'PUT', path, 'D365_Customer_Key__c,Name\nONE-1,First\n', csv)).status,
    ).toBe(201);
    const second = await api<{ errorCode: string }[]>(
      sandbox,
      token,
      'PUT',
      path,
      'D365_Customer_Key__c,Name\nONE-2,Second\n',
      csv,
    );
    expect(second.status).toBe(400);
    expect(second.body[0]?.errorCode).toBe('BULK_API_ERROR');
    await api(sandbox, token, 'PATCH', `/jobs/ingest/${created.body.id}`, { state: 'UploadComplete' });
    expect(await poll(created.body.id)).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: 1 });
    expect(
      sandbox.control.query("SELECT Id FROM Account WHERE D365_Customer_Key__c = 'ONE-2'").records,
    ).toEqual([]);
  });

  it('refuses an upload over the job limit of base64-encoded content', async () => {
    const small = await startSandbox({ bulkProcessingDelayMs: 40, bulkMaxUploadBase64Bytes: 100 });
    try {
      const t = await mintToken(small);
      const created = await api<JobInfo>(small, t, 'POST', '/jobs/ingest', {
        object: 'Account',
        operation: 'insert',
      });
      const path = `/jobs/ingest/${created.body.id}/batches`;
      // 75 bytes encode to exactly 100; 76 to 104.
      const fits = `Name\n${'x'.repeat(69)}\n`;
      expect(Buffer.byteLength(fits)).toBe(75);
      const over = await api(small, t, 'PUT', path, `${fits}y`, { 'content-type': 'text/csv' });
      expect(over.status).toBe(400);
      expect((await api(small, t, 'PUT', path, fits, { 'content-type': 'text/csv' })).status).toBe(201);
    } finally {
      await small.close();
    }
  });
});
