/**
 * Bulk API 2.0 ingest with the CSV streamed: one job, one upload (`PUT contentUrl`) whose request
 * body is fed row by row while the caller still reads its source, so a load of any size holds
 * only a small buffer; then `UploadComplete`, polling, and the result files read as streams.
 *
 * A job accepts one upload of at most 150 MB of base64-encoded content (about 100 MB of CSV):
 * the caller asks {@link BulkJobStream.fits} before each row and starts a new job when it does
 * not fit. https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/upload_job_data.htm
 * Lifecycle: https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/bulk_api_2_0_ingest.htm
 *
 * The upload is sent once: a streamed body cannot be replayed, so a failed upload (network, 401,
 * time-out) aborts the job and the caller treats every row of it as not done.
 */
import { ConnectorError } from '#base/errors.ts';
import type { BulkJobOptions, BulkResultFile, BulkResultRow } from '#core/ports/apis.ts';
import { BulkJobError, BulkResultsError } from '#core/ports/salesforce/errors.ts';
import { soqlIdent } from '#core/ports/salesforce/soql.ts';
import {
  abortIngestJob,
  type BulkJobInfo,
  type BulkUpsertOptions,
  createIngestJob,
  flatten,
  parseBulkError,
  waitForJob,
} from './bulk.ts';
import type { SObjectInput } from './collections.ts';
import { bulkValue, CsvParseError, csvRow, parseCsv } from './csv.ts';
import type { SalesforceTransport } from './transport.ts';

/**
 * Default upload size per job in bytes of CSV: Salesforce counts 150 MB after base64 encoding
 * (4/3 of the raw size) and advises uploads of at most 100 MB.
 */
export const DEFAULT_MAX_JOB_BYTES = 100 * 1024 * 1024;

/** Time allowed to read one result file (the default per-attempt time-out is 60 s). */
const RESULTS_TIMEOUT_MS = 30 * 60_000;

/** Bytes buffered ahead of the upload before `write` waits for the socket. */
const HIGH_WATER = 1024 * 1024;

/**
 * The port's job options (upload limit default {@link DEFAULT_MAX_JOB_BYTES}, upload time-out
 * default 6 h) with the client's polling options.
 */
export interface BulkJobStreamOptions
  extends BulkJobOptions,
    Omit<BulkUpsertOptions, 'maxJobBytes' | 'signal'> {}

export type { BulkResultFile, BulkResultRow } from '#core/ports/apis.ts';
export { bulkColumns } from '#core/ports/apis.ts';

/** A push-fed async iterable of bytes with back-pressure. */
class Feed implements AsyncIterable<Uint8Array> {
  private chunks: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private failure: Error | undefined;
  private wakeReader: (() => void) | undefined;
  private wakeWriter: (() => void) | undefined;

  push(chunk: Buffer): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    if (this.ended) throw new ConnectorError('bulk upload: write after end', { code: 'BULK_STREAM_ENDED' });
    this.chunks.push(chunk);
    this.queued += chunk.length;
    this.wakeReader?.();
    if (this.queued < HIGH_WATER) return undefined;
    return new Promise<void>((resolve) => {
      this.wakeWriter = resolve;
    }).then(() => {
      if (this.failure) throw this.failure;
    });
  }

  end(): void {
    this.ended = true;
    this.wakeReader?.();
  }

  /** Stops the feed: waiting and later writes throw `error`. */
  fail(error: Error): void {
    this.failure ??= error;
    this.ended = true;
    this.wakeReader?.();
    this.wakeWriter?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      if (this.chunks.length > 0) {
        const batch = Buffer.concat(this.chunks);
        this.chunks = [];
        this.queued = 0;
        const writer = this.wakeWriter;
        this.wakeWriter = undefined;
        writer?.();
        yield batch;
        continue;
      }
      if (this.failure) throw this.failure;
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wakeReader = resolve;
      });
      this.wakeReader = undefined;
    }
  }
}

/** One open Bulk 2.0 ingest job whose single upload is being streamed. */
export class BulkJobStream {
  readonly id: string;
  readonly sobject: string;
  private readonly rest: SalesforceTransport;
  private readonly options: BulkJobStreamOptions;
  private readonly feed = new Feed();
  private readonly upload: Promise<unknown>;
  private uploadError: Error | undefined;
  private size: number;
  private rows = 0;
  private finished = false;

  private constructor(
    rest: SalesforceTransport,
    sobject: string,
    id: string,
    contentUrl: string,
    options: BulkJobStreamOptions,
  ) {
    this.rest = rest;
    this.sobject = sobject;
    this.id = id;
    this.options = options;
    const header = Buffer.from(csvRow(options.columns));
    this.size = header.length;
    void this.feed.push(header);
    this.upload = rest
      .send({
        method: 'PUT',
        path: contentUrl,
        operation: 'bulk.upload',
        headers: { 'content-type': 'text/csv' },
        body: this.feed,
        idempotent: false,
        timeoutMs: options.uploadTimeoutMs ?? 6 * 3600_000,
        signal: options.signal,
      })
      .catch((error: unknown) => {
        this.uploadError = error as Error;
        this.feed.fail(error as Error);
        throw error;
      });
    // Observed through finish(); never an unhandled rejection meanwhile.
    this.upload.catch(() => undefined);
  }

  /** Creates the job and starts its upload (the header row first). */
  static async open(
    rest: SalesforceTransport,
    sobject: string,
    options: BulkJobStreamOptions,
  ): Promise<BulkJobStream> {
    soqlIdent(sobject);
    if (options.operation === 'upsert') soqlIdent(options.externalIdField ?? '');
    const { id, contentUrl } = await createIngestJob(rest, sobject, options, { streamed: true });
    return new BulkJobStream(rest, sobject, id, contentUrl, options);
  }

  /** Bytes of CSV sent into the upload so far (header included). */
  get bytes(): number {
    return this.size;
  }

  /** Rows written so far. */
  get count(): number {
    return this.rows;
  }

  /** The job's CSV header. */
  get columns(): readonly string[] {
    return this.options.columns;
  }

  /**
   * A record as one CSV row of this job (values in Bulk's text formats, absent fields left
   * empty, i.e. unchanged), or undefined when the record has a field the header lacks.
   */
  encode(record: SObjectInput): string | undefined {
    const flat = flatten(record);
    let known = 0;
    const values = this.options.columns.map((c) => {
      if (c in flat) known++;
      return bulkValue(flat[c], c);
    });
    return known === Object.keys(flat).length ? csvRow(values) : undefined;
  }

  /** Whether a row of `rowBytes` still fits under the job's upload limit. */
  fits(rowBytes: number): boolean {
    return this.size + rowBytes <= (this.options.maxJobBytes ?? DEFAULT_MAX_JOB_BYTES);
  }

  /**
   * Appends one CSV row (from `csvRow`, in the header's column order). Resolves when the upload
   * can take more; throws the upload's error once it failed.
   */
  async write(row: string | Buffer): Promise<void> {
    if (this.uploadError) throw this.uploadError;
    const bytes = typeof row === 'string' ? Buffer.from(row) : row;
    this.size += bytes.length;
    this.rows++;
    await this.feed.push(bytes);
  }

  /**
   * Ends the upload, closes the job (UploadComplete) and waits until it ends. Throws BulkJobError
   * when the upload or the close failed (the job is aborted, no row of it was processed),
   * BulkJobFailedError when the job ended Failed/Aborted, BulkWaitStoppedError when the signal
   * stopped the wait.
   */
  async finish(): Promise<BulkJobInfo> {
    if (this.finished)
      throw new ConnectorError(`Bulk job ${this.id} already finished`, { code: 'BULK_STREAM_ENDED' });
    this.finished = true;
    this.feed.end();
    const path = `/jobs/ingest/${this.id}`;
    try {
      await this.upload;
      await this.rest.send({
        method: 'PATCH',
        path,
        operation: 'bulk.close',
        json: { state: 'UploadComplete' },
        signal: this.options.signal,
      });
    } catch (error) {
      await this.abort();
      throw new BulkJobError(
        this.id,
        `Bulk job ${this.id} could not be uploaded: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    this.rest.logger.info('salesforce.bulk.closed', { jobId: this.id, rows: this.rows, bytes: this.size });
    return await waitForJob(this.rest, this.id, this.options);
  }

  /** Stops the upload and aborts the job (best effort: an Open job would linger until Salesforce deletes it). */
  async abort(): Promise<void> {
    this.finished = true;
    this.feed.fail(new ConnectorError(`Bulk job ${this.id} aborted`, { code: 'BULK_STREAM_ABORTED' }));
    await this.upload.catch(() => undefined);
    await abortIngestJob(this.rest, this.id);
  }
}

/**
 * Splits a byte stream of CSV into records without holding the whole file: a record ends at a
 * line break outside quotes. Yields each record's fields.
 */
export async function* csvRecords(body: AsyncIterable<Uint8Array>): AsyncGenerator<string[]> {
  const decoder = new TextDecoder('utf-8');
  let pending = '';
  let quoted = false;
  let scanned = 0;
  let row = 0;
  const parse = (text: string): string[] => {
    row++;
    try {
      return parseCsv(text)[0] ?? [''];
    } catch (error) {
      if (error instanceof CsvParseError)
        throw new CsvParseError(error.message.replace(/ \(row .*$/, ''), row);
      throw error;
    }
  };
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let i = scanned; i < pending.length; i++) {
      const c = pending.charCodeAt(i);
      if (c === 34) quoted = !quoted;
      else if (c === 10 && !quoted) {
        const text = pending.slice(start, i + 1);
        start = i + 1;
        if (row === 0 && text.charCodeAt(0) === 0xfeff) yield parse(text.slice(1));
        else yield parse(text);
      }
    }
    pending = pending.slice(start);
    scanned = pending.length;
  }
  pending += decoder.decode();
  if (pending.length > 0) yield parse(pending);
}

/**
 * Reads one result file of a finished job as a stream, calling `onRow` for each record (header
 * excluded). A retried read (transient failure) starts over: `onRow` must tolerate seeing a row
 * again. Throws BulkResultsError for a malformed file.
 */
export async function readBulkResults(
  rest: SalesforceTransport,
  jobId: string,
  file: BulkResultFile,
  onRow: (row: BulkResultRow) => void,
  signal?: AbortSignal,
): Promise<number> {
  let count = 0;
  await rest.send({
    method: 'GET',
    path: `/jobs/ingest/${jobId}/${file}/`,
    operation: 'bulk.results',
    headers: { accept: 'text/csv' },
    signal,
    // A result file of a full job (hundreds of MB) is read while each row is handled: allow for it.
    timeoutMs: RESULTS_TIMEOUT_MS,
    readBody: async (body) => {
      count = 0;
      let header: string[] | undefined;
      try {
        for await (const fields of csvRecords(body)) {
          if (!header) {
            header = fields;
            continue;
          }
          if (fields.length !== header.length) {
            throw new BulkResultsError(
              jobId,
              file,
              count + 2,
              `expected ${header.length} fields, found ${fields.length}`,
            );
          }
          const values: Record<string, string> = {};
          for (let k = 0; k < header.length; k++) values[header[k] as string] = fields[k] as string;
          count++;
          const failed = file === 'failedResults';
          onRow({
            file,
            values,
            id: values.sf__Id ?? '',
            created: values.sf__Created === 'true',
            ...(failed ? { error: parseBulkError(values.sf__Error ?? '') } : {}),
            ...(file === 'unprocessedrecords'
              ? {
                  error: {
                    statusCode: 'UNPROCESSED',
                    message: `Bulk job ${jobId} did not process this record`,
                    fields: [],
                  },
                }
              : {}),
          });
        }
      } catch (error) {
        if (error instanceof CsvParseError)
          throw new BulkResultsError(jobId, file, error.row, error.message, { cause: error });
        throw error;
      }
    },
  });
  return count;
}
