/**
 * The connector's error hierarchy. Every error the connector raises is a `ConnectorError`;
 * subclasses carry typed context (never secrets) and never take `name` from remote data.
 */

/**
 * Whether trying again later may succeed (`transient`: keep the work and retry it) or not
 * (`permanent`: park or dead-letter it with its reason). See `./failures.ts`.
 */
export type FailureKind = 'transient' | 'permanent';

/** Options every ConnectorError takes. */
export interface ConnectorErrorOptions extends ErrorOptions {
  readonly code?: string | undefined;
  /** The failure's kind, when the class knows it; otherwise `failureKind` judges (`./failures.ts`). */
  readonly failure?: FailureKind | undefined;
}

/** Base class of every error raised by ml-connector. */
export class ConnectorError extends Error {
  override name = 'ConnectorError';
  /** A stable machine-readable code, e.g. `HTTP_ERROR`, `CONFIG_INVALID`. */
  readonly code: string;
  /** Transient or permanent, when the raiser knows; read it through `failureKind`. */
  readonly failure: FailureKind | undefined;

  constructor(message: string, options?: ConnectorErrorOptions) {
    super(message, options);
    this.code = options?.code ?? 'CONNECTOR_ERROR';
    this.failure = options?.failure;
  }
}

/** A configuration value is missing or invalid; `key` names it. */
export class ConfigError extends ConnectorError {
  override name = 'ConfigError';
  readonly key: string;

  constructor(key: string, message: string, options?: ErrorOptions) {
    super(`${key}: ${message}`, { ...options, code: 'CONFIG_INVALID', failure: 'permanent' });
    this.key = key;
  }
}

/** A caller passed a value the connector refuses before any request is made. */
export class ValidationError extends ConnectorError {
  override name = 'ValidationError';
  readonly field: string | undefined;

  constructor(message: string, options?: ErrorOptions & { field?: string }) {
    super(message, { ...options, code: 'VALIDATION_FAILED', failure: 'permanent' });
    this.field = options?.field;
  }
}

export interface HttpErrorContext {
  readonly method: string;
  /** The request URL with credentials and secret query parameters removed. */
  readonly url: string;
  readonly status: number;
  /** The vendor's error code, when the body carried one (e.g. `INVALID_SESSION_ID`). */
  readonly errorCode?: string | undefined;
  /** The vendor's error message, when the body carried one. */
  readonly vendorMessage?: string | undefined;
  /** The first few hundred characters of the response body. */
  readonly bodyExcerpt?: string | undefined;
  /** The operation name the caller gave the request (e.g. `odata.read`). */
  readonly operation?: string | undefined;
}

/** An HTTP call answered with a status the caller did not accept. */
export class HttpError extends ConnectorError implements HttpErrorContext {
  override name = 'HttpError';
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly errorCode: string | undefined;
  readonly vendorMessage: string | undefined;
  readonly bodyExcerpt: string | undefined;
  readonly operation: string | undefined;

  constructor(
    context: HttpErrorContext,
    options?: ErrorOptions & { message?: string; failure?: FailureKind | undefined },
  ) {
    const detail = context.vendorMessage ? `: ${context.vendorMessage}` : '';
    const code = context.errorCode ? ` [${context.errorCode}]` : '';
    super(options?.message ?? `${context.method} ${context.url} answered ${context.status}${code}${detail}`, {
      ...options,
      code: 'HTTP_ERROR',
    });
    this.method = context.method;
    this.url = context.url;
    this.status = context.status;
    this.errorCode = context.errorCode;
    this.vendorMessage = context.vendorMessage;
    this.bodyExcerpt = context.bodyExcerpt;
    this.operation = context.operation;
  }
}

/** A request could not complete at the network level (reset, refused, time-out) after its retries. */
export class NetworkError extends ConnectorError {
  override name = 'NetworkError';
  readonly method: string;
  readonly url: string;
  /** The system error code, e.g. `ECONNRESET`, `UND_ERR_HEADERS_TIMEOUT`. */
  readonly errno: string | undefined;

  constructor(method: string, url: string, errno: string | undefined, options?: ErrorOptions) {
    super(`${method} ${url} failed: ${errno ?? 'network error'}`, {
      ...options,
      code: 'NETWORK_ERROR',
      failure: 'transient',
    });
    this.method = method;
    this.url = url;
    this.errno = errno;
  }
}

/** A request exceeded its time-out. */
export class TimeoutError extends ConnectorError {
  override name = 'TimeoutError';
  readonly method: string;
  readonly url: string;
  readonly timeoutMs: number;

  constructor(method: string, url: string, timeoutMs: number, options?: ErrorOptions) {
    super(`${method} ${url} timed out after ${timeoutMs} ms`, {
      ...options,
      code: 'TIMEOUT',
      failure: 'transient',
    });
    this.method = method;
    this.url = url;
    this.timeoutMs = timeoutMs;
  }
}

/** Obtaining an access token failed; `hint` says what to check. */
export class AuthError extends ConnectorError {
  override name = 'AuthError';
  readonly system: 'dynamics' | 'salesforce';
  readonly errorCode: string | undefined;
  readonly hint: string | undefined;

  constructor(
    system: 'dynamics' | 'salesforce',
    message: string,
    options?: ErrorOptions & { errorCode?: string | undefined; hint?: string | undefined },
  ) {
    // Transient: credentials can be fixed or rotated while the work waits.
    super(options?.hint ? `${message} (${options.hint})` : message, {
      ...options,
      code: 'AUTH_FAILED',
      failure: 'transient',
    });
    this.system = system;
    this.errorCode = options?.errorCode;
    this.hint = options?.hint;
  }
}
