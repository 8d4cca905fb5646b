/**
 * The org's daily API budget, shared by every client of the org in the process. It learns usage
 * from the `Sforce-Limit-Info: api-usage=used/max` header on every REST response
 * (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm),
 * refuses calls that would eat into a reserve kept for people, and stops calling for a cool-down
 * after `403 REQUEST_LIMIT_EXCEEDED`
 * (https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm).
 */
import { ValidationError } from '#base/errors.ts';
import { ApiBudgetError } from '#core/ports/salesforce/errors.ts';

export interface ApiBudgetOptions {
  /** Share of the daily allocation kept for people and other integrations. Default 0.1 (10 %). */
  readonly reserveFraction?: number;
  /** An absolute number of calls kept in reserve; when set it replaces `reserveFraction`. */
  readonly reserveCalls?: number;
  /** Pause after the daily limit was hit, unless a newer usage reading shows room. Default 15 min. */
  readonly limitCooldownMs?: number;
  /** Pause after the concurrent long-running request limit was hit. Default 10 s. */
  readonly concurrencyCooldownMs?: number;
  readonly now?: () => number;
}

/** A snapshot for status pages and metrics. */
export interface ApiBudgetState {
  /** Calls used in the rolling 24 h, per the last reading; undefined before the first response. */
  readonly used: number | undefined;
  readonly max: number | undefined;
  /** `max - used`, undefined before the first reading. */
  readonly remaining: number | undefined;
  /** Calls kept for people (0 before the max is known). */
  readonly reserve: number;
  /** Calls admitted and not yet answered. */
  readonly inFlight: number;
  /** Until when calls are refused after REQUEST_LIMIT_EXCEEDED (epoch ms), if blocked. */
  readonly blockedUntil: number | undefined;
  readonly blockedReason: 'daily-limit' | 'concurrency-limit' | undefined;
  /** When the last usage reading arrived (epoch ms). */
  readonly observedAt: number | undefined;
  readonly refused: number;
}

export interface ApiBudget {
  /**
   * Admits one call or throws ApiBudgetError (reserve reached, or cooling down after a limit
   * error). Returns the function that marks the call answered.
   */
  acquire(operation: string): () => void;
  /**
   * Admits one more attempt (retry or 401 replay) of a call already admitted by `acquire`;
   * throws ApiBudgetError like `acquire`.
   */
  admitRetry(operation: string): void;
  /** Reads a `Sforce-Limit-Info` header; `sentAt` is when the answered request was sent. */
  observe(header: string | undefined, sentAt?: number): void;
  /** Records a usage reading (e.g. from `/limits`). */
  record(used: number, max: number, sentAt?: number): void;
  /** Marks the budget exhausted after 403 REQUEST_LIMIT_EXCEEDED and returns the error to throw. */
  limitExceeded(operation: string, message: string, cause?: unknown): ApiBudgetError;
  state(): ApiBudgetState;
}

/** Parses `api-usage=used/max` out of a `Sforce-Limit-Info` value. */
export function parseLimitInfo(header: string | undefined): { used: number; max: number } | undefined {
  if (!header) return undefined;
  const match = /(?:^|[\s,;])api-usage=(\d+)\/(\d+)/.exec(header);
  if (!match) return undefined;
  return { used: Number(match[1]), max: Number(match[2]) };
}

/** Creates a budget tracker. Prefer {@link sharedApiBudget} so all clients of an org share one. */
export function createApiBudget(options: ApiBudgetOptions = {}): ApiBudget {
  const now = options.now ?? Date.now;
  const fraction = options.reserveFraction ?? 0.1;
  if (!(fraction >= 0 && fraction < 1))
    throw new ValidationError('reserveFraction must be in [0, 1)', { field: 'reserveFraction' });
  if (options.reserveCalls !== undefined && !(options.reserveCalls >= 0)) {
    throw new ValidationError('reserveCalls must be non-negative', { field: 'reserveCalls' });
  }
  const limitCooldownMs = options.limitCooldownMs ?? 15 * 60_000;
  const concurrencyCooldownMs = options.concurrencyCooldownMs ?? 10_000;
  let used: number | undefined;
  let max: number | undefined;
  let observedAt: number | undefined;
  let readingSentAt = Number.NEGATIVE_INFINITY;
  let inFlight = 0;
  let refused = 0;
  let blockedUntil: number | undefined;
  let blockedAt = 0;
  let blockedReason: ApiBudgetState['blockedReason'];
  /** One call let through to refresh a stale reading (see `check`). */
  let probing = false;

  const reserveOf = (m: number | undefined) =>
    m === undefined ? 0 : (options.reserveCalls ?? Math.ceil(m * fraction));

  function record(u: number, m: number, sentAt = now()): void {
    if (sentAt < readingSentAt) return;
    readingSentAt = sentAt;
    probing = false;
    used = u;
    max = m;
    observedAt = now();
    // A reading taken after the block shows room again: lift it early.
    if (blockedReason === 'daily-limit' && sentAt > blockedAt && u < m) {
      blockedUntil = undefined;
      blockedReason = undefined;
    }
  }

  /**
   * Throws when calls are paused or when `pending` more calls would eat into the reserve. The
   * allocation is a rolling 24 hours, so a refusal based on a reading older than the cool-down lets
   * one call through as a probe: its Sforce-Limit-Info is the fresh reading (without it, a refused
   * budget would never learn that calls became available again). Returns true for that probe.
   */
  function check(operation: string, pending: number): boolean {
    const t = now();
    if (blockedUntil !== undefined && t >= blockedUntil) {
      blockedUntil = undefined;
      blockedReason = undefined;
    }
    if (blockedUntil !== undefined) {
      refused += 1;
      throw new ApiBudgetError(
        `Salesforce API calls paused until ${new Date(blockedUntil).toISOString()} after REQUEST_LIMIT_EXCEEDED (${blockedReason})`,
        { reason: 'cooldown', operation, used, max, reserve: reserveOf(max), retryAt: blockedUntil },
      );
    }
    if (used !== undefined && max !== undefined) {
      const reserve = reserveOf(max);
      if (max - used - pending < reserve) {
        const stale = observedAt === undefined || t - observedAt >= limitCooldownMs;
        if (stale && !probing) {
          probing = true;
          return true;
        }
        refused += 1;
        throw new ApiBudgetError(
          `Salesforce daily API budget reserve reached: ${used}/${max} used, ${inFlight} in flight, ` +
            `${reserve} calls kept for people; ${operation} refused`,
          { reason: 'reserve', operation, used, max, reserve },
        );
      }
    }
    return false;
  }

  return {
    acquire(operation) {
      const probe = check(operation, inFlight + 1);
      inFlight += 1;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        inFlight -= 1;
        // A probe that brought no reading (network failure) must not block the next one.
        if (probe) probing = false;
      };
    },
    admitRetry(operation) {
      // This call is already in flight; its next attempt is one more call.
      check(operation, inFlight);
    },
    observe(header, sentAt) {
      const info = parseLimitInfo(header);
      if (info) record(info.used, info.max, sentAt);
    },
    record,
    limitExceeded(operation, message, cause) {
      const concurrent = /concurrent/i.test(message);
      blockedAt = now();
      blockedReason = concurrent ? 'concurrency-limit' : 'daily-limit';
      blockedUntil = blockedAt + (concurrent ? concurrencyCooldownMs : limitCooldownMs);
      if (!concurrent && max !== undefined) used = Math.max(used ?? 0, max);
      observedAt = blockedAt;
      return new ApiBudgetError(
        `Salesforce refused ${operation} with REQUEST_LIMIT_EXCEEDED (${message}); calls paused until ${new Date(blockedUntil).toISOString()}`,
        { reason: 'limit-exceeded', operation, used, max, reserve: reserveOf(max), retryAt: blockedUntil },
        { cause },
      );
    },
    state: () => ({
      used,
      max,
      remaining: used !== undefined && max !== undefined ? max - used : undefined,
      reserve: reserveOf(max),
      inFlight,
      blockedUntil,
      blockedReason,
      observedAt,
      refused,
    }),
  };
}

const shared = new Map<string, ApiBudget>();

/**
 * The process-wide budget of one org, keyed by its My Domain origin. The options of the first
 * caller for a key win.
 */
export function sharedApiBudget(key: string, options?: ApiBudgetOptions): ApiBudget {
  let budget = shared.get(key);
  if (!budget) {
    budget = createApiBudget(options);
    shared.set(key, budget);
  }
  return budget;
}
