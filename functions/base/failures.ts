/**
 * The connector's one failure vocabulary: every failure is `transient` (trying again later may
 * succeed: keep the work and retry it) or `permanent` (a refusal no retry fixes: park or
 * dead-letter it with its reason). The HTTP layer retries only transient statuses, the workers
 * retry or dead-letter by it, the flows defer or fail records by it.
 *
 * A `ConnectorError` subclass states its kind (`failure`); an `HttpError` without one is judged by
 * its status. Anything else (a connector error of no stated kind, a platform or SDK error, a
 * crash in the middle of a procedure) is transient: only a known refusal is permanent. Retrying
 * the unknown is safe because every write is idempotent or exactly-once, and bounded because a
 * queue gives up after its maximum receive count and keeps the work in its dead-letter queue.
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

/** Whether trying again later may succeed (see the module doc). */
export function failureKind(error: unknown): FailureKind {
  if (error instanceof ConnectorError && error.failure !== undefined) return error.failure;
  if (error instanceof HttpError) return isTransientStatus(error.status) ? 'transient' : 'permanent';
  return 'transient';
}

/** True when trying again later may succeed (the work must be kept, not dead-lettered). */
export function isTransient(error: unknown): boolean {
  return failureKind(error) === 'transient';
}
