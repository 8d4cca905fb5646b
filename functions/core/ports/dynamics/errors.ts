/**
 * Typed errors of the F&O client. F&O answers a failed write with
 * `{"error":{"code":"","message":"An error has occurred.","innererror":{"message":"Write failed for
 * table row of type '…'. Infolog: …","type":"…AxODataWriteException"}}}`; the useful text is the
 * Infolog in innererror.message.
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/odata#error-handling
 */
import { ConnectorError, HttpError } from '#base/errors.ts';

/** What an F&O error body says. */
export interface ODataErrorBody {
  readonly code: string | undefined;
  /** The outer message (often just "An error has occurred."). */
  readonly message: string | undefined;
  /** innererror.message: for writes, "Write failed for table row … Infolog: …". */
  readonly innerMessage: string | undefined;
  /** innererror.type, e.g. `Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWriteException`. */
  readonly innerType: string | undefined;
  /** The Infolog lines after "Infolog:", when present. */
  readonly infolog: string | undefined;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Parses an OData error body; returns undefined for anything else (HTML, plain text, other JSON). */
export function parseODataError(text: string): ODataErrorBody | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const error = (parsed as { error?: unknown } | null)?.error;
  if (!error || typeof error !== 'object') return undefined;
  const e = error as { code?: unknown; message?: unknown; innererror?: unknown };
  const inner = (e.innererror && typeof e.innererror === 'object' ? e.innererror : {}) as {
    message?: unknown;
    type?: unknown;
  };
  const innerMessage = str(inner.message);
  const infolog = innerMessage ? /Infolog:\s*([\s\S]*)$/.exec(innerMessage)?.[1]?.trim() : undefined;
  return {
    code: str(e.code),
    message: str(e.message),
    innerMessage,
    innerType: str(inner.type),
    infolog: infolog || undefined,
  };
}

/** F&O's text for a duplicate insert (the key already exists). */
const DUPLICATE = /record already exists|already exists/i;

/** Whether an error body reports a duplicate record. */
export function isDuplicateBody(body: ODataErrorBody | undefined): boolean {
  if (!body) return false;
  return DUPLICATE.test(body.innerMessage ?? '') || DUPLICATE.test(body.message ?? '');
}

/** Write statuses no retry fixes: validation, permissions, missing references, X++ errors (500). */
const PERMANENT_WRITE: ReadonlySet<number> = new Set([400, 403, 404, 422, 500]);

/** The kind of write that failed. */
export type WriteOperation = 'create' | 'update' | 'delete';

/**
 * A create, update or delete F&O refused. Carries the entity, the key (when known), the Infolog
 * text and whether it was a duplicate insert. Not retried by the client. Permanent for the statuses
 * of {@link PERMANENT_WRITE} (a duplicate insert excepted: the retry finds the record); transient
 * otherwise (a lost ETag race, throttling, an outage).
 */
export class DynamicsWriteError extends HttpError {
  override name = 'DynamicsWriteError';
  readonly entity: string;
  readonly key: string | undefined;
  readonly writeOperation: WriteOperation;
  /** innererror.message, or the outer message when there is none. */
  readonly infolog: string | undefined;
  /** innererror.type, e.g. …AxODataWriteException. */
  readonly innerType: string | undefined;
  readonly isDuplicate: boolean;

  constructor(context: {
    readonly method: string;
    /** The request URL, already redacted. */
    readonly url: string;
    readonly status: number;
    readonly body: string;
    readonly operation: string;
    readonly entity: string;
    readonly key?: string | undefined;
    readonly writeOperation: WriteOperation;
  }) {
    const body = parseODataError(context.body);
    const infolog = body?.infolog ?? body?.innerMessage ?? body?.message;
    const target = context.key ?? context.entity;
    super(
      {
        method: context.method,
        url: context.url,
        status: context.status,
        errorCode: body?.code,
        vendorMessage: body?.innerMessage ?? body?.message,
        bodyExcerpt: context.body.slice(0, 2000),
        operation: context.operation,
      },
      {
        message: `${context.writeOperation} ${target} failed with ${context.status}${infolog ? `: ${infolog}` : ''}`,
        failure: PERMANENT_WRITE.has(context.status) && !isDuplicateBody(body) ? 'permanent' : 'transient',
      },
    );
    this.entity = context.entity;
    this.key = context.key;
    this.writeOperation = context.writeOperation;
    this.infolog = infolog;
    this.innerType = body?.innerType;
    this.isDuplicate = isDuplicateBody(body);
  }
}

/** A 2xx response that is not what the OData protocol promises (HTML sign-in page, non-JSON, no `value`). */
export class DynamicsResponseError extends ConnectorError {
  override name = 'DynamicsResponseError';
  readonly operation: string;
  readonly url: string;
  readonly status: number;
  readonly bodyExcerpt: string;

  constructor(
    message: string,
    context: {
      readonly operation: string;
      readonly url: string;
      readonly status: number;
      readonly body: string;
    },
    options?: ErrorOptions,
  ) {
    super(`${context.operation} ${context.url}: ${message}`, { ...options, code: 'BAD_RESPONSE' });
    this.operation = context.operation;
    this.url = context.url;
    this.status = context.status;
    this.bodyExcerpt = context.body.slice(0, 300);
  }
}
