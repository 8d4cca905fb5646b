import { describe, expect, it } from 'vitest';
import { ApiBudgetError } from '#core/ports/salesforce/errors.ts';
import { createApiBudget, parseLimitInfo, sharedApiBudget } from '#salesforce/budget.ts';

function refusal(fn: () => unknown): ApiBudgetError | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiBudgetError) return e;
    throw e;
  }
  return undefined;
}

describe('parseLimitInfo', () => {
  it('reads api-usage from Sforce-Limit-Info, alone or with per-app usage', () => {
    expect(parseLimitInfo('api-usage=10018/100000')).toEqual({ used: 10018, max: 100000 });
    expect(parseLimitInfo('api-usage=25/5000; per-app-api-usage=17/250(appName=sample-app)')).toEqual({
      used: 25,
      max: 5000,
    });
    expect(parseLimitInfo('per-app-api-usage=17/250(appName=x)')).toBeUndefined();
    expect(parseLimitInfo(undefined)).toBeUndefined();
  });
});

describe('createApiBudget', () => {
  it('admits calls before any reading and until the reserve would be touched', () => {
    const budget = createApiBudget({ reserveCalls: 10 });
    budget.acquire('op')();
    budget.observe('api-usage=88/100');
    budget.acquire('op')(); // 12 left: one more leaves 11
    budget.observe('api-usage=89/100');
    budget.acquire('op')(); // 11 left → 10 after
    budget.observe('api-usage=90/100');
    const error = refusal(() => budget.acquire('rest.query'));
    expect(error).toMatchObject({
      reason: 'reserve',
      operation: 'rest.query',
      used: 90,
      max: 100,
      reserve: 10,
    });
    expect(budget.state()).toMatchObject({ remaining: 10, reserve: 10, refused: 1 });
  });

  it('defaults the reserve to 10 % of the daily maximum', () => {
    const budget = createApiBudget();
    budget.observe('api-usage=0/15000');
    expect(budget.state().reserve).toBe(1500);
  });

  it('counts calls in flight against the remaining budget', () => {
    const budget = createApiBudget({ reserveCalls: 0 });
    budget.observe('api-usage=97/100');
    const releases = [budget.acquire('a'), budget.acquire('b'), budget.acquire('c')];
    expect(refusal(() => budget.acquire('d'))?.reason).toBe('reserve');
    releases[0]?.();
    expect(budget.state().inFlight).toBe(2);
  });

  it('ignores readings older than the newest one', () => {
    const budget = createApiBudget();
    budget.observe('api-usage=50/100', 2_000);
    budget.observe('api-usage=40/100', 1_000);
    expect(budget.state().used).toBe(50);
  });

  it('pauses every call after REQUEST_LIMIT_EXCEEDED until the cool-down passes', () => {
    let now = 1_000_000;
    const budget = createApiBudget({ limitCooldownMs: 60_000, now: () => now });
    budget.observe('api-usage=99/100');
    const error = budget.limitExceeded('rest.query', 'TotalRequests Limit exceeded.');
    expect(error).toMatchObject({ reason: 'limit-exceeded', retryAt: 1_060_000 });
    expect(refusal(() => budget.acquire('rest.query'))).toMatchObject({
      reason: 'cooldown',
      retryAt: 1_060_000,
    });
    expect(budget.state()).toMatchObject({ blockedReason: 'daily-limit', used: 100 });
    now += 60_000;
    budget.record(10, 100);
    expect(() => budget.acquire('rest.query')).not.toThrow();
  });

  it('lets one probe call through after the pause, so a fresh reading can show the rolling window freed calls', () => {
    let now = 1_000_000;
    const budget = createApiBudget({ limitCooldownMs: 60_000, reserveCalls: 5, now: () => now });
    budget.observe('api-usage=99/100');
    budget.limitExceeded('rest.query', 'TotalRequests Limit exceeded.');
    now += 60_000;
    const probe = budget.acquire('rest.limits');
    expect(refusal(() => budget.acquire('rest.query'))?.reason).toBe('reserve');
    budget.observe('api-usage=40/100');
    probe();
    expect(() => budget.acquire('rest.query')).not.toThrow();
  });

  it('does not probe again until the reading is stale once more', () => {
    let now = 0;
    const budget = createApiBudget({ limitCooldownMs: 60_000, reserveCalls: 5, now: () => now });
    budget.observe('api-usage=99/100');
    expect(refusal(() => budget.acquire('a'))?.reason).toBe('reserve');
    now = 60_000;
    const probe = budget.acquire('probe');
    expect(refusal(() => budget.acquire('b'))?.reason).toBe('reserve');
    budget.observe('api-usage=99/100');
    probe();
    expect(refusal(() => budget.acquire('c'))?.reason).toBe('reserve');
  });

  it('lifts the pause early when a newer reading shows room', () => {
    let now = 0;
    const budget = createApiBudget({ reserveCalls: 0, now: () => now });
    budget.limitExceeded('x', 'TotalRequests Limit exceeded.');
    budget.observe('api-usage=5/100', -1); // sent before the block: ignored for lifting
    expect(refusal(() => budget.acquire('x'))?.reason).toBe('cooldown');
    now = 10;
    budget.observe('api-usage=5/100', 10);
    expect(() => budget.acquire('x')).not.toThrow();
  });

  it('pauses briefly for the concurrent-request limit', () => {
    const budget = createApiBudget({ concurrencyCooldownMs: 5_000, now: () => 0 });
    const error = budget.limitExceeded('x', 'ConcurrentPerOrgLongTxn Limit exceeded');
    expect(error.retryAt).toBe(5_000);
    expect(budget.state().blockedReason).toBe('concurrency-limit');
  });

  it('shares one tracker per org key', () => {
    expect(sharedApiBudget('https://a.my.salesforce.com')).toBe(
      sharedApiBudget('https://a.my.salesforce.com'),
    );
    expect(sharedApiBudget('https://a.my.salesforce.com')).not.toBe(
      sharedApiBudget('https://b.my.salesforce.com'),
    );
  });
});
