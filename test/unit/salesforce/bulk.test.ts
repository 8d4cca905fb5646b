import type { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BulkJobFailedError, BulkResultsError, BulkWaitStoppedError } from '#core/ports/salesforce/errors.ts';
import { parseBulkError } from '#salesforce/bulk.ts';
import { parseCsvRecords } from '#salesforce/csv.ts';
import type { SalesforceClient } from '#salesforce/rest.ts';
import { writeCsv } from '#sandbox/salesforce/csv.ts';
import { DATA, headerOf, INSTANCE, newAgent, serveTokens, testClient } from './support.ts';

const JOB = '750000000000001AAA';
const JOBS = `${DATA}/jobs/ingest`;

interface FakeJob {
  csv: string;
  polls: number;
  created: unknown;
}

describe('bulkUpsert', () => {
  let agent: MockAgent;
  beforeEach(() => {
    agent = newAgent();
    serveTokens(agent);
  });
  afterEach(async () => {
    await agent.close();
  });

  /** A scripted job: uploaded CSV kept, `states` returned poll by poll, results built from the upload. */
  function fakeJob(states: readonly string[], extra: { failedResults?: string } = {}): FakeJob {
    const job: FakeJob = { csv: '', polls: 0, created: undefined };
    const pool = agent.get(INSTANCE);
    pool.intercept({ path: JOBS, method: 'POST' }).reply((opts) => {
      job.created = JSON.parse(String(opts.body));
      return {
        statusCode: 200,
        data: { id: JOB, state: 'Open', contentUrl: `services/data/v63.0/jobs/ingest/${JOB}/batches` },
      };
    });
    pool.intercept({ path: `${JOBS}/${JOB}/batches`, method: 'PUT' }).reply((opts) => {
      expect(headerOf(opts, 'content-type')).toMatch(/^text\/csv/);
      job.csv = String(opts.body);
      return { statusCode: 201, data: '' };
    });
    pool
      .intercept({ path: `${JOBS}/${JOB}`, method: 'PATCH' })
      .reply(200, { id: JOB, state: 'UploadComplete' });
    pool
      .intercept({ path: `${JOBS}/${JOB}`, method: 'GET' })
      .reply(() => {
        const state = states[Math.min(job.polls, states.length - 1)] as string;
        job.polls += 1;
        return {
          statusCode: 200,
          data: {
            id: JOB,
            state,
            numberRecordsProcessed: 4,
            numberRecordsFailed: 1,
            ...(state === 'Failed' ? { errorMessage: 'InvalidBatch : Field name not found : Nope__c' } : {}),
          },
        };
      })
      .persist();
    // Results in an order unrelated to the input.
    pool.intercept({ path: `${JOBS}/${JOB}/successfulResults/`, method: 'GET' }).reply(() => {
      const { header, records } = parseCsvRecords(job.csv);
      const ok = records.filter((r) => !String(r.D365_Customer_Key__c).startsWith('bad')).reverse();
      const rows = ok.map((r, i) => [
        `001${String(i).padStart(15, '0')}`,
        r.D365_Customer_Key__c === 'k2' ? 'false' : 'true',
        ...header.map((h) => r[h] ?? ''),
      ]);
      return { statusCode: 200, data: writeCsv([['sf__Id', 'sf__Created', ...header], ...rows]) };
    });
    pool.intercept({ path: `${JOBS}/${JOB}/failedResults/`, method: 'GET' }).reply(() => {
      if (extra.failedResults !== undefined) return { statusCode: 200, data: extra.failedResults };
      const { header, records } = parseCsvRecords(job.csv);
      const bad = records.filter((r) => String(r.D365_Customer_Key__c).startsWith('bad'));
      const rows = bad.map((r) => [
        '',
        'REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --',
        ...header.map((h) => r[h] ?? ''),
      ]);
      return { statusCode: 200, data: writeCsv([['sf__Id', 'sf__Error', ...header], ...rows]) };
    });
    return job;
  }

  const records = [
    { D365_Customer_Key__c: 'k1', Name: 'Comma, Inc.', Phone: null },
    { D365_Customer_Key__c: 'bad-1', Name: '' },
    { D365_Customer_Key__c: 'k2', Name: 'Quote "Q" Ltd\nline 2', AnnualRevenue: 1.5 },
    { D365_Customer_Key__c: 'k3', Name: 'Ünïcødé 😀', Owner: { Email__c: 'x@y.z' } },
  ];

  it('runs create → upload → close → poll → results and maps results back by External ID', async () => {
    const job = fakeJob(['InProgress', 'InProgress', 'JobComplete']);
    const waits: number[] = [];
    const seen: string[] = [];
    const client = testClient(agent, {
      bulkSleep: async (ms) => {
        waits.push(ms);
      },
    });
    const report = await client.bulkUpsert('Account', 'D365_Customer_Key__c', records, {
      pollIntervalMs: 100,
      maxPollIntervalMs: 200,
      onJob: (j) => seen.push(`${j.id}:${j.state}`),
    });
    expect(job.created).toEqual({
      object: 'Account',
      operation: 'upsert',
      externalIdFieldName: 'D365_Customer_Key__c',
      contentType: 'CSV',
      lineEnding: 'LF',
    });
    expect(job.csv).toBe(
      'D365_Customer_Key__c,Name,Phone,AnnualRevenue,Owner.Email__c\n' +
        'k1,"Comma, Inc.",#N/A,,\n' +
        'bad-1,#N/A,,,\n' +
        'k2,"Quote ""Q"" Ltd\nline 2",,1.5,\n' +
        'k3,Ünïcødé 😀,,,x@y.z\n',
    );
    expect(waits).toEqual([100, 150, 200]);
    expect(seen).toEqual([`${JOB}:Open`, `${JOB}:InProgress`, `${JOB}:JobComplete`]);
    expect(report.jobs.map((j) => [j.id, j.state])).toEqual([[JOB, 'JobComplete']]);
    expect(report.results.map((r) => [r.index, r.key, r.outcome])).toEqual([
      [0, 'k1', 'created'],
      [1, 'bad-1', 'failed'],
      [2, 'k2', 'updated'],
      [3, 'k3', 'created'],
    ]);
    expect(report.results[1]?.errors).toEqual([
      {
        statusCode: 'REQUIRED_FIELD_MISSING',
        message: 'Required fields are missing: [Name]',
        fields: ['Name'],
      },
    ]);
  });

  it('throws BulkJobFailedError with the job errorMessage when the job fails', async () => {
    fakeJob(['InProgress', 'Failed']);
    const error = await testClient(agent, { bulkSleep: async () => {} })
      .bulkUpsert('Account', 'D365_Customer_Key__c', records)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BulkJobFailedError);
    expect(error).toMatchObject({
      jobId: JOB,
      state: 'Failed',
      errorMessage: 'InvalidBatch : Field name not found : Nope__c',
    });
  });

  it('keeps polling a slow job with capped backoff and never abandons it', async () => {
    const job = fakeJob([...Array.from({ length: 30 }, () => 'InProgress'), 'JobComplete']);
    const waits: number[] = [];
    const client = testClient(agent, {
      bulkSleep: async (ms) => {
        waits.push(ms);
      },
    });
    await client.bulkUpsert('Account', 'D365_Customer_Key__c', records, {
      pollIntervalMs: 1000,
      maxPollIntervalMs: 5000,
    });
    expect(job.polls).toBe(31);
    expect(Math.max(...waits)).toBe(5000);
  });

  it('stops waiting on abort without aborting the job and names it', async () => {
    const job = fakeJob(['InProgress']);
    const controller = new AbortController();
    let aborts = 0;
    agent
      .get(INSTANCE)
      .intercept({ path: `${JOBS}/${JOB}`, method: 'PATCH', body: /Aborted/ })
      .reply(() => {
        aborts += 1;
        return { statusCode: 200, data: {} };
      });
    const client = testClient(agent, {
      bulkSleep: async (_ms, signal) => {
        if (job.polls >= 3) controller.abort();
        signal?.throwIfAborted();
      },
    });
    const error = await client
      .bulkUpsert('Account', 'D365_Customer_Key__c', records, { signal: controller.signal })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BulkWaitStoppedError);
    expect(error).toMatchObject({ jobId: JOB, state: 'InProgress' });
    expect(aborts).toBe(0);
  });

  it('waits out a REQUEST_LIMIT_EXCEEDED pause while polling instead of abandoning the job', async () => {
    agent
      .get(INSTANCE)
      .intercept({ path: `${JOBS}/${JOB}`, method: 'GET' })
      .reply(403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
    const job = fakeJob(['JobComplete']);
    const waits: number[] = [];
    const client = testClient(agent, {
      budgetOptions: { limitCooldownMs: 40 },
      bulkSleep: async (ms) => {
        waits.push(ms);
        await new Promise((r) => setTimeout(r, ms));
      },
    });
    const report = await client.bulkUpsert('Account', 'D365_Customer_Key__c', records, { pollIntervalMs: 1 });
    expect(report.jobs[0]?.state).toBe('JobComplete');
    expect(job.polls).toBe(1);
    expect(Math.max(...waits)).toBeGreaterThan(20);
  });

  it('stops waiting and names the job when only the reserve is left', async () => {
    fakeJob(['InProgress']);
    const client: SalesforceClient = testClient(agent, {
      budgetOptions: { reserveCalls: 10 },
      // Another process spends the budget while the job runs.
      bulkSleep: async () => client.budget.record(95, 100),
    });
    const error = await client
      .bulkUpsert('Account', 'D365_Customer_Key__c', records)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BulkWaitStoppedError);
    expect(error).toMatchObject({ jobId: JOB });
    expect((error as Error).cause).toMatchObject({ reason: 'reserve' });
  });

  it('names the row of a broken result file', async () => {
    fakeJob(['JobComplete'], {
      failedResults: 'sf__Id,sf__Error,D365_Customer_Key__c\n,"X:y",bad-1\n,"broken,bad-2\n',
    });
    const error = await testClient(agent, { bulkSleep: async () => {} })
      .bulkUpsert('Account', 'D365_Customer_Key__c', records)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BulkResultsError);
    expect(error).toMatchObject({ jobId: JOB, file: 'failedResults', row: 3 });
  });
});

describe('parseBulkError', () => {
  it('splits status code, message and fields', () => {
    expect(parseBulkError('INVALID_FIELD:Bad value for Amount: abc:Amount,Other --')).toEqual({
      statusCode: 'INVALID_FIELD',
      message: 'Bad value for Amount: abc',
      fields: ['Amount', 'Other'],
    });
    expect(parseBulkError('DUPLICATE_VALUE:duplicate value found')).toEqual({
      statusCode: 'DUPLICATE_VALUE',
      message: 'duplicate value found',
      fields: [],
    });
    expect(parseBulkError('something odd')).toEqual({
      statusCode: 'UNKNOWN',
      message: 'something odd',
      fields: [],
    });
  });
});
