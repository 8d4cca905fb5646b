/**
 * Typed errors of the Salesforce client. REST error bodies are arrays of
 * `{message, errorCode, fields}`: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
 */
import { ConnectorError, HttpError, type HttpErrorContext } from '#base/errors.ts';
import { isTransientStatus } from '#base/failures.ts';

/** One entry of a Salesforce REST error array. */
export interface SalesforceErrorItem {
  readonly errorCode: string;
  readonly message: string;
  readonly fields: readonly string[];
}

/** Parses a REST error body (`[{message, errorCode, fields}]`); unknown shapes give an empty list. */
export function parseSalesforceErrors(text: string): SalesforceErrorItem[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  const list = Array.isArray(parsed) ? parsed : parsed && typeof parsed === 'object' ? [parsed] : [];
  const out: SalesforceErrorItem[] = [];
  for (const item of list as Record<string, unknown>[]) {
    if (!item || typeof item !== 'object') continue;
    const code = item.errorCode ?? item.statusCode ?? item.error;
    const message = item.message ?? item.error_description;
    if (typeof code !== 'string' && typeof message !== 'string') continue;
    out.push({
      errorCode: typeof code === 'string' ? code : 'UNKNOWN',
      message: typeof message === 'string' ? message : '',
      fields: Array.isArray(item.fields) ? item.fields.filter((f): f is string => typeof f === 'string') : [],
    });
  }
  return out;
}

/**
 * A REST call answered with a Salesforce error; `errors` holds every entry of the error array.
 * Transient on a transient status and on REQUEST_LIMIT_EXCEEDED (403 when the org's daily API
 * allocation is used up); permanent otherwise (a refusal of the data or the request).
 */
export class SalesforceApiError extends HttpError {
  override name = 'SalesforceApiError';
  readonly errors: readonly SalesforceErrorItem[];
  /** The fields named by the first error, e.g. `['Name']` for REQUIRED_FIELD_MISSING. */
  readonly fields: readonly string[];

  constructor(context: HttpErrorContext, errors: readonly SalesforceErrorItem[], options?: ErrorOptions) {
    const errorCode = context.errorCode ?? errors[0]?.errorCode;
    super(
      { ...context, errorCode, vendorMessage: context.vendorMessage ?? errors[0]?.message },
      {
        ...options,
        failure:
          isTransientStatus(context.status) || errorCode === 'REQUEST_LIMIT_EXCEEDED'
            ? 'transient'
            : 'permanent',
      },
    );
    this.errors = errors;
    this.fields = errors[0]?.fields ?? [];
  }
}

/** Why the budget refused a call. */
export type ApiBudgetReason = 'reserve' | 'limit-exceeded' | 'cooldown';

/**
 * The connector refused (or Salesforce refused) a call to keep the org's daily API allocation
 * for people: `reason` says which; `retryAt` is when calls may resume, when known.
 */
export class ApiBudgetError extends ConnectorError {
  override name = 'ApiBudgetError';
  readonly reason: ApiBudgetReason;
  readonly operation: string;
  readonly used: number | undefined;
  readonly max: number | undefined;
  readonly reserve: number | undefined;
  readonly retryAt: number | undefined;

  constructor(
    message: string,
    context: {
      reason: ApiBudgetReason;
      operation: string;
      used?: number | undefined;
      max?: number | undefined;
      reserve?: number | undefined;
      retryAt?: number | undefined;
    },
    options?: ErrorOptions,
  ) {
    // Transient: calls resume when the allocation frees up (`retryAt`, when known).
    super(message, { ...options, code: 'API_BUDGET', failure: 'transient' });
    this.reason = context.reason;
    this.operation = context.operation;
    this.used = context.used;
    this.max = context.max;
    this.reserve = context.reserve;
    this.retryAt = context.retryAt;
  }
}

/** A Bulk API 2.0 job could not be completed or read; `jobId` names it (it may still run server-side). */
export class BulkJobError extends ConnectorError {
  override name = 'BulkJobError';
  readonly jobId: string;
  readonly state: string | undefined;

  constructor(
    jobId: string,
    message: string,
    options?: ErrorOptions & { code?: string; state?: string | undefined },
  ) {
    // Transient: the job may still run server-side; the records are upserted again later (idempotent by External ID).
    super(message, { ...options, code: options?.code ?? 'BULK_JOB_FAILED', failure: 'transient' });
    this.jobId = jobId;
    this.state = options?.state;
  }
}

/** The job ended Failed or Aborted; `errorMessage` is the job's own. */
export class BulkJobFailedError extends BulkJobError {
  override name = 'BulkJobFailedError';
  readonly errorMessage: string | undefined;

  constructor(jobId: string, state: string, errorMessage: string | undefined) {
    super(jobId, `Bulk job ${jobId} ended ${state}${errorMessage ? `: ${errorMessage}` : ''}`, { state });
    this.errorMessage = errorMessage;
  }
}

/** The caller stopped waiting (AbortSignal); the job was not aborted and keeps running server-side. */
export class BulkWaitStoppedError extends BulkJobError {
  override name = 'BulkWaitStoppedError';

  constructor(jobId: string, state: string | undefined, options?: ErrorOptions) {
    super(
      jobId,
      `stopped waiting for Bulk job ${jobId} (last state ${state ?? 'unknown'}); the job keeps running`,
      {
        ...options,
        code: 'BULK_WAIT_STOPPED',
        state,
      },
    );
  }
}

/** A result file of the job could not be parsed; `row` is its 1-based line. */
export class BulkResultsError extends BulkJobError {
  override name = 'BulkResultsError';
  readonly file: string;
  readonly row: number | undefined;

  constructor(jobId: string, file: string, row: number | undefined, detail: string, options?: ErrorOptions) {
    super(jobId, `Bulk job ${jobId} ${file}${row === undefined ? '' : ` row ${row}`}: ${detail}`, {
      ...options,
      code: 'BULK_RESULTS_INVALID',
    });
    this.file = file;
    this.row = row;
  }
}
