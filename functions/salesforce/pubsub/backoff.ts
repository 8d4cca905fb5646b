/** Capped exponential backoff with jitter for resubscribing. */

export interface BackoffOptions {
  /** First delay, ms. Default 500. */
  readonly initialMs?: number;
  /** Longest delay, ms. Default 30 000. */
  readonly maxMs?: number;
  /** Growth per attempt. Default 2. */
  readonly multiplier?: number;
}

/** The delay before retry number `attempt` (0-based): uniformly in [cap/2, cap], cap = min(max, initial·multiplier^attempt). */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = options.initialMs ?? 500;
  const max = options.maxMs ?? 30_000;
  const cap = Math.min(max, initial * (options.multiplier ?? 2) ** Math.max(0, attempt));
  return Math.round(cap / 2 + random() * (cap / 2));
}
