import { describe, expect, it } from 'vitest';
import { backoffDelay } from '#salesforce/pubsub/backoff.ts';

describe('resubscribe backoff', () => {
  it('grows exponentially from the initial delay and stays under the cap', () => {
    const options = { initialMs: 100, maxMs: 1_000 };
    expect(backoffDelay(0, options, () => 1)).toBe(100);
    expect(backoffDelay(1, options, () => 1)).toBe(200);
    expect(backoffDelay(3, options, () => 1)).toBe(800);
    expect(backoffDelay(10, options, () => 1)).toBe(1_000);
  });

  it('jitters within the upper half of the current step', () => {
    expect(backoffDelay(2, { initialMs: 100 }, () => 0)).toBe(200);
    for (let i = 0; i < 100; i += 1) {
      const delay = backoffDelay(2, { initialMs: 100 });
      expect(delay).toBeGreaterThanOrEqual(200);
      expect(delay).toBeLessThanOrEqual(400);
    }
  });
});
