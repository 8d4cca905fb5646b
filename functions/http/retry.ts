/**
 * The one retry policy for both APIs: which failures are retried, how long to wait, and when
 * to give up. Pure functions, so the timing is unit-tested without a network.
 * Retry-After: https://www.rfc-editor.org/rfc/rfc9110#field.retry-after
 * Which failures are transient at all is the connector's one vocabulary (`#base/failures.ts`).
 * F&O throttling (429 + Retry-After in seconds):
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/priority-based-throttling
 */
import { isTransientStatus } from '#base/failures.ts';

export interface RetryPolicy {
  /** Attempts in all, the first included. Default 5. */
  readonly maxAttempts: number;
  /** First backoff step in ms. Default 500. */
  readonly baseDelayMs: number;
  /** Largest single backoff wait in ms. Default 30 000. */
  readonly maxDelayMs: number;
  /** Total time a call may spend, waits included, before it gives up. Default 120 000. */
  readonly budgetMs: number;
  /** The wait after a 429 that carries no Retry-After. Default 30 000 (Microsoft's sample). */
  readonly throttleFallbackMs: number;
  /**
   * Statuses retried at once for idempotent requests: the transient statuses (`isTransientStatus`,
   * `#base/failures.ts`) worth an immediate retry; others are never retried here. Default 408, 429,
   * 502, 503, 504 (401 is re-minted once by the clients; a 500 is left to the caller, since F&O
   * answers X++ errors with 500).
   */
  readonly retryStatuses: readonly number[];
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  budgetMs: 120_000,
  throttleFallbackMs: 30_000,
  retryStatuses: Object.freeze([408, 429, 502, 503, 504]),
});

/** Network error codes that mean "try again" (undici and system codes). */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  // The connector's own per-attempt time-out (TimeoutError).
  'TIMEOUT',
]);

/** Codes proving the request never reached the server: safe to retry even for a POST. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

/** The system/undici error code of a failure, looking through `cause` chains. */
export function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (
      typeof code === 'string' &&
      (TRANSIENT_CODES.has(code) || code.startsWith('E') || code.startsWith('UND_'))
    ) {
      return code;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isTransientNetworkError(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && TRANSIENT_CODES.has(code);
}

export function wasNeverSent(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && NOT_SENT_CODES.has(code);
}

/**
 * Parses a Retry-After value (delay-seconds or an HTTP-date) into milliseconds from `now`.
 * Returns undefined when absent or unparseable; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * The backoff before attempt `attempt + 1` (attempt counts from 1): exponential, capped, with
 * jitter in [half, full] of the step so waits never collapse to zero.
 */
export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number; readonly reason: string }
  | { readonly retry: false; readonly reason: string };

export interface AttemptOutcome {
  /** The attempt that just finished, from 1. */
  readonly attempt: number;
  /** Time spent since the call started, ms. */
  readonly elapsedMs: number;
  readonly idempotent: boolean;
  readonly status?: number;
  readonly retryAfterMs?: number | undefined;
  readonly error?: unknown;
}

/** Decides whether and when to retry after one attempt. */
export function decideRetry(
  outcome: AttemptOutcome,
  policy: RetryPolicy,
  random: () => number = Math.random,
): RetryDecision {
  if (outcome.attempt >= policy.maxAttempts)
    return { retry: false, reason: `gave up after ${outcome.attempt} attempts` };
  let delayMs: number;
  let reason: string;
  if (outcome.status !== undefined) {
    if (!isTransientStatus(outcome.status) || !policy.retryStatuses.includes(outcome.status))
      return { retry: false, reason: `status ${outcome.status}` };
    // A throttled request was not processed, so even a POST may be sent again.
    if (!outcome.idempotent && outcome.status !== 429) {
      return { retry: false, reason: `status ${outcome.status} on a non-idempotent request` };
    }
    if (outcome.retryAfterMs !== undefined) {
      delayMs = outcome.retryAfterMs;
      reason = `status ${outcome.status}, Retry-After ${delayMs} ms`;
    } else if (outcome.status === 429) {
      delayMs = policy.throttleFallbackMs;
      reason = 'status 429 without Retry-After';
    } else {
      delayMs = backoffDelay(outcome.attempt, policy, random);
      reason = `status ${outcome.status}`;
    }
  } else {
    if (!isTransientNetworkError(outcome.error)) return { retry: false, reason: 'not a transient error' };
    if (!outcome.idempotent && !wasNeverSent(outcome.error)) {
      return { retry: false, reason: `${errorCode(outcome.error)} on a non-idempotent request` };
    }
    delayMs = backoffDelay(outcome.attempt, policy, random);
    reason = errorCode(outcome.error) ?? 'network error';
  }
  if (outcome.elapsedMs + delayMs > policy.budgetMs) {
    return {
      retry: false,
      reason: `${reason}: waiting ${delayMs} ms would exceed the ${policy.budgetMs} ms budget`,
    };
  }
  return { retry: true, delayMs, reason };
}
