import { describe, expect, it } from 'vitest';
import { HttpError, NetworkError, TimeoutError, ValidationError } from '#base/errors.ts';
import { isTransient, reasonOf } from '#core/flows/transient.ts';
import { ApiBudgetError, SalesforceApiError } from '#core/ports/salesforce/errors.ts';

const http = (status: number) => ({ method: 'PATCH', url: 'https://x.test/services/data', status });

describe('isTransient', () => {
  it('keeps network trouble, time-outs, throttling, 5xx and the API budget for a retry', () => {
    expect(isTransient(new NetworkError('GET', 'https://x.test', 'ECONNRESET'))).toBe(true);
    expect(isTransient(new TimeoutError('GET', 'https://x.test', 1000))).toBe(true);
    expect(isTransient(new HttpError(http(429)))).toBe(true);
    expect(isTransient(new HttpError(http(503)))).toBe(true);
    expect(isTransient(new ApiBudgetError('reserve reached', { reason: 'reserve', operation: 'x' }))).toBe(
      true,
    );
  });

  it('treats refusals and bad input as permanent', () => {
    const refused = new SalesforceApiError(http(400), [
      { errorCode: 'INVALID_FIELD', message: 'No such column', fields: [] },
    ]);
    expect(isTransient(refused)).toBe(false);
    expect(isTransient(new ValidationError('bad key'))).toBe(false);
  });

  it('keeps an error it does not recognise for a retry (bounded by the queue, then dead-lettered)', () => {
    expect(isTransient(new TypeError('bug'))).toBe(true);
  });
});

describe('reasonOf', () => {
  it('names the error and caps the text for the audit trail', () => {
    expect(reasonOf(new ValidationError('bad key'))).toBe('ValidationError: bad key');
    expect(reasonOf(new Error('x'.repeat(2000))).length).toBe(500);
  });
});
