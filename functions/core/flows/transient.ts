/**
 * Sorting failures for the to-Salesforce direction, by the connector's one failure vocabulary
 * (`#base/failures.ts`): transient ones (network, time-outs, 401/408/429/5xx after the HTTP layer's
 * retries, token trouble, the Salesforce daily budget, a Bulk job that did not finish) are tried
 * again later and never dropped, like anything not known to be a refusal; a refusal no retry can
 * fix goes to the dead-letter queue with its reason.
 */
export { isTransient } from '#base/failures.ts';

/** A one-line reason for the audit trail and the DLQ (errors carry redacted URLs, never tokens). */
export function reasonOf(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > 500 ? `${text.slice(0, 497)}...` : text;
}
