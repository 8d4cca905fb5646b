/**
 * Sorting failures for the to-Salesforce direction: transient ones (network, time-outs, 429/5xx
 * after the HTTP layer's retries, token trouble, the Salesforce daily budget) are tried again
 * later and never dropped; anything else is a refusal no retry can fix and goes to the
 * dead-letter queue with its reason.
 */
import { AuthError, HttpError, NetworkError, TimeoutError } from '#base/errors.ts';
import { ApiBudgetError, BulkJobError } from '#core/ports/salesforce/errors.ts';

/** True when trying again later may succeed (the work must be kept, not dead-lettered). */
export function isTransient(error: unknown): boolean {
  if (error instanceof ApiBudgetError) return true;
  if (error instanceof NetworkError || error instanceof TimeoutError || error instanceof AuthError)
    return true;
  if (error instanceof BulkJobError) return true;
  if (error instanceof HttpError) return error.status === 401 || error.status === 429 || error.status >= 500;
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) return true;
  return false;
}

/** A one-line reason for the audit trail and the DLQ (errors carry redacted URLs, never tokens). */
export function reasonOf(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > 500 ? `${text.slice(0, 497)}...` : text;
}
