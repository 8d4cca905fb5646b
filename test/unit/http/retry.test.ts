import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY_POLICY, decideRetry, parseRetryAfter } from '#http/retry.ts';

const now = Date.parse('2026-11-26T12:00:00Z');
const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 200, maxDelayMs: 10_000, budgetMs: 60_000 };

describe('parseRetryAfter', () => {
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('30', now)).toBe(30_000);
    expect(parseRetryAfter(['5'], now)).toBe(5_000);
  });

  it('reads an HTTP-date relative to now and clamps past dates to zero', () => {
    expect(parseRetryAfter('Thu, 26 Nov 2026 12:00:45 GMT', now)).toBe(45_000);
    expect(parseRetryAfter('Thu, 26 Nov 2026 11:00:00 GMT', now)).toBe(0);
  });

  it('ignores absent and malformed values', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('-3', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
  });
});

describe('backoffDelay', () => {
  it('keeps jitter between half and all of the capped exponential step', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, r) => {
          const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
          const delay = backoffDelay(attempt, policy, () => r);
          return delay >= Math.floor(step / 2) && delay <= step;
        },
      ),
    );
  });
});

describe('decideRetry', () => {
  it('waits exactly what Retry-After says', () => {
    expect(
      decideRetry({ attempt: 1, elapsedMs: 0, idempotent: true, status: 429, retryAfterMs: 4_000 }, policy),
    ).toEqual({
      retry: true,
      delayMs: 4_000,
      reason: 'status 429, Retry-After 4000 ms',
    });
  });

  it('falls back to the throttle wait for a 429 without Retry-After', () => {
    const d = decideRetry(
      { attempt: 1, elapsedMs: 0, idempotent: true, status: 429 },
      { ...policy, throttleFallbackMs: 30_000 },
    );
    expect(d).toMatchObject({ retry: true, delayMs: 30_000 });
  });

  it('does not retry client errors or exhausted attempts', () => {
    expect(decideRetry({ attempt: 1, elapsedMs: 0, idempotent: true, status: 400 }, policy).retry).toBe(
      false,
    );
    expect(decideRetry({ attempt: 5, elapsedMs: 0, idempotent: true, status: 503 }, policy).retry).toBe(
      false,
    );
  });

  it('respects the total budget across attempts', () => {
    const d = decideRetry(
      { attempt: 2, elapsedMs: 58_000, idempotent: true, status: 503, retryAfterMs: 5_000 },
      policy,
    );
    expect(d.retry).toBe(false);
  });

  it('retries a non-idempotent request only when it provably never reached the server', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(decideRetry({ attempt: 1, elapsedMs: 0, idempotent: false, error: refused }, policy).retry).toBe(
      true,
    );
    expect(decideRetry({ attempt: 1, elapsedMs: 0, idempotent: false, error: reset }, policy).retry).toBe(
      false,
    );
    expect(decideRetry({ attempt: 1, elapsedMs: 0, idempotent: true, error: reset }, policy).retry).toBe(
      true,
    );
  });

  it('finds the network code behind wrapped errors', () => {
    const wrapped = new Error('fetch failed', {
      cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
    });
    expect(decideRetry({ attempt: 1, elapsedMs: 0, idempotent: true, error: wrapped }, policy).retry).toBe(
      true,
    );
  });
});
