/**
 * Bulk API 2.0 ingest upsert for large loads: create job → PUT CSV → UploadComplete → poll until
 * the job ends → read successful/failed/unprocessed results, mapped back to the inputs by the
 * External ID column (result order is not guaranteed).
 * https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/walkthrough_upload_data.htm
 * Results: https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/get_job_successful_results.htm
 * Limits (150 MB per upload; we split at 100 MB by default):
 * https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/bulk_common_limits.htm
 *
 * Waiting never gives up on a running job: polling backs off to a cap and continues for as long
 * as the job runs server-side; transient poll failures are logged and polling goes on. An
 * AbortSignal stops the waiting (BulkWaitStoppedError with the job id) and leaves the job running.
 * Repeated keys go into later jobs (the k-th occurrence in the k-th round), as for Collections.
 */

import { setTimeout as sleepFor } from 'node:timers/promises';
import { ConnectorError, NetworkError, TimeoutError } from '#base/errors.ts';
import {
  type BulkJobInfo,
  type BulkUpsertReport,
  flattenRecord as flatten,
  type BulkUpsertOptions as PortBulkUpsertOptions,
  type RecordError,
  type SObjectInput,
  type UpsertResult,
} from '#core/ports/apis.ts';
import {
  ApiBudgetError,
  BulkJobError,
  BulkJobFailedError,
  BulkResultsError,
  BulkWaitStoppedError,
  SalesforceApiError,
} from '#core/ports/salesforce/errors.ts';
import { soqlIdent } from '#core/ports/salesforce/soql.ts';
import { externalKey, planRounds } from './collections.ts';
import { bulkValue, CsvParseError, csvRow, parseCsv } from './csv.ts';
import type { SalesforceTransport } from './transport.ts';

export type { BulkJobInfo, BulkUpsertReport } from '#core/ports/apis.ts';

/** Waits `ms`; throws when `signal` stops the wait first. */
export type BulkSleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** The port's options of a Bulk upsert and the wait between status polls (the client takes it as `bulkSleep`). */
export interface BulkUpsertOptions extends PortBulkUpsertOptions {
  /** Injectable for tests. Default: a timer. */
  readonly sleep?: BulkSleep;
}

const TERMINAL_OK = 'JobComplete';
const TERMINAL_BAD = new Set(['Failed', 'Aborted']);

/** Parses `sf__Error` (`STATUS_CODE:message:Field1,Field2 --`) into a record error. */
export function parseBulkError(text: string): RecordError {
  const m = /^([A-Z_]+):([\s\S]*?)(?::([^:]*?) --)?$/.exec(text.trim());
  if (!m) return { statusCode: 'UNKNOWN', message: text, fields: [] };
  const fields = (m[3] ?? '')
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  return { statusCode: m[1] as string, message: (m[2] as string).trim(), fields };
}

interface Part {
  readonly indexes: number[];
  readonly csv: string;
}

/** Splits one round into CSV uploads of at most `maxBytes` each. */
function buildParts(
  records: readonly SObjectInput[],
  indexes: readonly number[],
  field: string,
  maxBytes: number,
): Part[] {
  const columns = [field];
  const known = new Set(columns);
  for (const i of indexes) {
    for (const name of Object.keys(flatten(records[i] as SObjectInput))) {
      if (!known.has(name)) {
        known.add(name);
        columns.push(name);
      }
    }
  }
  const header = csvRow(columns);
  const headerBytes = Buffer.byteLength(header);
  const parts: Part[] = [];
  let rows: string[] = [];
  let current: number[] = [];
  let bytes = headerBytes;
  for (const i of indexes) {
    const record = flatten(records[i] as SObjectInput);
    const row = csvRow(columns.map((c) => bulkValue(record[c], c)));
    const size = Buffer.byteLength(row);
    if (current.length > 0 && bytes + size > maxBytes) {
      parts.push({ indexes: current, csv: header + rows.join('') });
      rows = [];
      current = [];
      bytes = headerBytes;
    }
    rows.push(row);
    current.push(i);
    bytes += size;
  }
  if (current.length > 0) parts.push({ indexes: current, csv: header + rows.join('') });
  return parts;
}

function isTransient(error: unknown): boolean {
  return (
    error instanceof NetworkError ||
    error instanceof TimeoutError ||
    (error instanceof SalesforceApiError && error.status >= 500)
  );
}

/**
 * Upserts records by External ID with Bulk API 2.0. Returns every job and one result per input
 * in input order. Throws BulkJobFailedError when a job ends Failed/Aborted, BulkWaitStoppedError
 * when the signal stops the wait, BulkResultsError when a result file is malformed.
 */
export async function bulkUpsert(
  rest: SalesforceTransport,
  sobject: string,
  externalIdField: string,
  records: readonly SObjectInput[],
  options: BulkUpsertOptions = {},
): Promise<BulkUpsertReport> {
  soqlIdent(sobject);
  soqlIdent(externalIdField);
  const maxBytes = options.maxJobBytes ?? 100 * 1024 * 1024;
  const results = new Array<UpsertResult>(records.length);
  const keys = records.map((record, index) => {
    const key = externalKey(record, externalIdField);
    const fail = (statusCode: string, message: string, fields: string[]) => {
      results[index] = {
        index,
        key: key ?? '',
        outcome: 'failed',
        errors: [{ statusCode, message, fields }],
      };
      return undefined;
    };
    if (key === undefined)
      return fail('REQUIRED_FIELD_MISSING', `${externalIdField} is required to upsert`, [externalIdField]);
    if (Object.keys(record).some((f) => f.toLowerCase() === 'id')) {
      return fail('INVALID_FIELD', 'a record upserted by External ID must not carry Id', ['Id']);
    }
    return key;
  });
  const jobs: BulkJobInfo[] = [];
  for (const round of planRounds(keys)) {
    for (const part of buildParts(records, round, externalIdField, maxBytes)) {
      const job = await runJob(rest, sobject, externalIdField, part, options);
      jobs.push(job);
      await readResults(rest, job, externalIdField, part, keys, results, options.signal);
    }
  }
  return { jobs, results };
}

async function runJob(
  rest: SalesforceTransport,
  sobject: string,
  externalIdField: string,
  part: Part,
  options: BulkUpsertOptions,
): Promise<BulkJobInfo> {
  const { id, contentUrl } = await createIngestJob(
    rest,
    sobject,
    { operation: 'upsert', externalIdField, signal: options.signal, onJob: options.onJob },
    { records: part.indexes.length },
  );
  const jobPath = `/jobs/ingest/${id}`;
  try {
    await rest.send({
      method: 'PUT',
      path: contentUrl,
      operation: 'bulk.upload',
      headers: { 'content-type': 'text/csv' },
      body: part.csv,
      // A replayed PUT could add the data twice to the job: retry only what never reached Salesforce.
      idempotent: false,
      signal: options.signal,
    });
    await rest.send({
      method: 'PATCH',
      path: jobPath,
      operation: 'bulk.close',
      json: { state: 'UploadComplete' },
      signal: options.signal,
    });
  } catch (error) {
    await abortIngestJob(rest, id);
    throw new BulkJobError(id, `Bulk job ${id} could not be uploaded: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return await waitForJob(rest, id, options);
}

/**
 * Creates an ingest job (CSV, LF line endings) and says so (`onJob`, the log); returns its id and
 * where its one upload goes (`contentUrl`, or the documented path when the answer lacks it).
 */
export async function createIngestJob(
  rest: SalesforceTransport,
  sobject: string,
  job: {
    readonly operation: 'insert' | 'upsert' | 'update';
    readonly externalIdField?: string | undefined;
    readonly signal?: AbortSignal | undefined;
    readonly onJob?: ((info: BulkJobInfo) => void) | undefined;
  },
  logFields: Readonly<Record<string, unknown>>,
): Promise<{ id: string; contentUrl: string }> {
  const created = await rest.send({
    method: 'POST',
    path: '/jobs/ingest',
    operation: 'bulk.create',
    json: {
      object: sobject,
      operation: job.operation,
      ...(job.operation === 'upsert' ? { externalIdFieldName: job.externalIdField } : {}),
      contentType: 'CSV',
      lineEnding: 'LF',
    },
    signal: job.signal,
  });
  const answer = created.json<{ id?: unknown; contentUrl?: unknown; state?: unknown }>();
  if (typeof answer.id !== 'string')
    throw new ConnectorError('bulk.create: no job id in the answer', { code: 'BAD_RESPONSE' });
  const id = answer.id;
  job.onJob?.({ id, state: typeof answer.state === 'string' ? answer.state : 'Open', object: sobject });
  rest.logger.info('salesforce.bulk.created', { jobId: id, object: sobject, ...logFields });
  return {
    id,
    contentUrl:
      typeof answer.contentUrl === 'string'
        ? answer.contentUrl
        : `services/data/v${rest.apiVersion}/jobs/ingest/${id}/batches`,
  };
}

/** Aborts a job, best effort: an Open job would otherwise linger until Salesforce deletes it. */
export async function abortIngestJob(rest: SalesforceTransport, id: string): Promise<void> {
  await rest
    .send({
      method: 'PATCH',
      path: `/jobs/ingest/${id}`,
      operation: 'bulk.abort',
      json: { state: 'Aborted' },
    })
    .catch(() => undefined);
}

export async function waitForJob(
  rest: SalesforceTransport,
  id: string,
  options: BulkUpsertOptions,
): Promise<BulkJobInfo> {
  const sleep = options.sleep ?? ((ms: number, signal?: AbortSignal) => sleepFor(ms, undefined, { signal }));
  const cap = options.maxPollIntervalMs ?? 30_000;
  const growth = options.pollBackoff ?? 1.5;
  let delay = options.pollIntervalMs ?? 2_000;
  let state: string | undefined = 'UploadComplete';
  for (;;) {
    try {
      await sleep(delay, options.signal);
    } catch (cause) {
      throw new BulkWaitStoppedError(id, state, { cause });
    }
    delay = Math.min(cap, Math.ceil(delay * growth));
    let info: BulkJobInfo;
    try {
      const response = await rest.send({
        method: 'GET',
        path: `/jobs/ingest/${id}`,
        operation: 'bulk.poll',
        signal: options.signal,
      });
      info = { ...response.json<BulkJobInfo>(), id };
    } catch (error) {
      if (options.signal?.aborted) throw new BulkWaitStoppedError(id, state, { cause: error });
      if (error instanceof ApiBudgetError) {
        // Paused after REQUEST_LIMIT_EXCEEDED: wait out the pause, the job keeps running meanwhile.
        // Out of budget for good (reserve reached): stop waiting and name the job.
        if (error.retryAt === undefined) throw new BulkWaitStoppedError(id, state, { cause: error });
        delay = Math.max(delay, error.retryAt - Date.now());
        rest.logger.warn('salesforce.bulk.poll_paused', { jobId: id, until: error.retryAt });
        continue;
      }
      if (!isTransient(error)) throw error;
      rest.logger.warn('salesforce.bulk.poll_failed', { jobId: id, error: (error as Error).message });
      continue;
    }
    if (info.state !== state) options.onJob?.(info);
    state = info.state;
    if (state === TERMINAL_OK) return info;
    if (TERMINAL_BAD.has(state)) throw new BulkJobFailedError(id, state, info.errorMessage);
  }
}

/** Reads one result file as header + rows, every row as wide as the header. */
async function fetchCsv(rest: SalesforceTransport, job: BulkJobInfo, file: string, signal?: AbortSignal) {
  const response = await rest.send({
    method: 'GET',
    path: `/jobs/ingest/${job.id}/${file}/`,
    operation: 'bulk.results',
    headers: { accept: 'text/csv' },
    signal,
  });
  let rows: string[][];
  try {
    rows = parseCsv(response.text);
  } catch (error) {
    if (error instanceof CsvParseError) {
      throw new BulkResultsError(job.id, file, error.row, error.message, { cause: error });
    }
    throw error;
  }
  const header = rows[0] ?? [];
  for (let r = 1; r < rows.length; r++) {
    const width = (rows[r] as string[]).length;
    if (width !== header.length) {
      throw new BulkResultsError(job.id, file, r + 1, `expected ${header.length} fields, found ${width}`);
    }
  }
  return { header, rows };
}

async function readResults(
  rest: SalesforceTransport,
  job: BulkJobInfo,
  field: string,
  part: Part,
  keys: readonly (string | undefined)[],
  results: UpsertResult[],
  signal: AbortSignal | undefined,
): Promise<void> {
  const byKey = new Map<string, number>();
  for (const i of part.indexes) byKey.set((keys[i] as string).toLowerCase(), i);
  const files = ['successfulResults', 'failedResults'];
  if ((job.numberRecordsProcessed ?? 0) < part.indexes.length) files.push('unprocessedrecords');
  for (const file of files) {
    const { header, rows } = await fetchCsv(rest, job, file, signal);
    if (rows.length <= 1) continue;
    const column = (name: string) => header.findIndex((h) => h.toLowerCase() === name.toLowerCase());
    const keyAt = column(field);
    if (keyAt < 0) throw new BulkResultsError(job.id, file, 1, `no ${field} column in the header`);
    const idAt = column('sf__Id');
    const createdAt = column('sf__Created');
    const errorAt = column('sf__Error');
    for (let r = 1; r < rows.length; r++) {
      const row = rows[r] as string[];
      const raw = row[keyAt] as string;
      const index = byKey.get(raw.toLowerCase()) ?? byKey.get(raw.trim().toLowerCase());
      if (index === undefined) {
        throw new BulkResultsError(job.id, file, r + 1, `${field} ${JSON.stringify(raw)} matches no input`);
      }
      const key = keys[index] as string;
      const sfId = idAt < 0 ? '' : (row[idAt] as string);
      const id = sfId ? { id: sfId } : {};
      if (file === 'successfulResults') {
        results[index] = { index, key, outcome: row[createdAt] === 'true' ? 'created' : 'updated', ...id };
      } else if (file === 'failedResults') {
        const error = parseBulkError(errorAt < 0 ? '' : (row[errorAt] as string));
        results[index] = { index, key, outcome: 'failed', ...id, errors: [error] };
      } else {
        const message = `Bulk job ${job.id} did not process this record`;
        results[index] = {
          index,
          key,
          outcome: 'failed',
          errors: [{ statusCode: 'UNPROCESSED', message, fields: [] }],
        };
      }
    }
  }
  for (const i of part.indexes) {
    results[i] ??= {
      index: i,
      key: keys[i] as string,
      outcome: 'failed',
      errors: [
        {
          statusCode: 'NOT_IN_RESULTS',
          message: `absent from the results of Bulk job ${job.id}`,
          fields: [],
        },
      ],
    };
  }
}

export { flatten };
