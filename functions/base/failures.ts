/**
 * The connector's one failure vocabulary: every failure is `transient` (trying again later may
 * succeed: keep the work and retry it) or `permanent` (a refusal no retry fixes: park or
 * dead-letter it with its reason). The HTTP layer retries only transient statuses, the workers
 * retry or dead-letter by it, the flows defer or fail records by it.
 *
 * A `ConnectorError` subclass states its kind (`failure`); an `HttpError` without one is judged by
 * its status; aborts and time-outs of the platform, and AWS SDK errors the SDK marks retryable or
 * as the service's fault, are transient; anything else (a bug, an unrecognised error) is permanent.
 */
import { ConnectorError, type FailureKind, HttpError } from './errors.ts';

export type { FailureKind };

/**
 * HTTP statuses after which the same request may succeed later: 401 (an expired token; the
 * clients re-mint once, and credentials can be rotated), 408 Request Timeout, 429 Too Many
 * Requests and every 5xx. https://www.rfc-editor.org/rfc/rfc9110#name-status-codes
 */
export function isTransientStatus(status: number): boolean {
  return status === 401 || status === 408 || status === 429 || status >= 500;
}

/** Platform errors of a stopped or timed-out operation (`AbortSignal.abort()` / `AbortSignal.timeout()`). */
function isAbortOrTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

/** An AWS SDK v3 error the SDK marks retryable (throttling, transient) or as the service's fault. */
function isRetryableSdkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const sdk = error as { $retryable?: unknown; $fault?: unknown };
  return (sdk.$retryable !== undefined && sdk.$retryable !== null) || sdk.$fault === 'server';
}

/** Whether trying again later may succeed (see the module doc). */
export function failureKind(error: unknown): FailureKind {
  if (error instanceof ConnectorError && error.failure !== undefined) return error.failure;
  if (error instanceof HttpError) return isTransientStatus(error.status) ? 'transient' : 'permanent';
  if (error instanceof ConnectorError) return 'permanent';
  if (isAbortOrTimeout(error) || isRetryableSdkError(error)) return 'transient';
  return 'permanent';
}

/** True when trying again later may succeed (the work must be kept, not dead-lettered). */
export function isTransient(error: unknown): boolean {
  return failureKind(error) === 'transient';
}
