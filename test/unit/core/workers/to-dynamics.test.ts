import { describe, expect, it } from 'vitest';
import { HttpError, NetworkError, ValidationError } from '#base/errors.ts';
import { BusyError } from '#core/flows/exactly-once.ts';
import { DynamicsWriteError } from '#core/ports/dynamics/errors.ts';
import { ApiBudgetError, SalesforceApiError } from '#core/ports/salesforce/errors.ts';
import { ConditionFailedError } from '#core/ports/state-store.ts';
import { classifyFailure } from '#core/workers/to-dynamics.ts';

const writeError = (status: number, inner: string) =>
  new DynamicsWriteError({
    method: 'POST',
    url: 'https://env/data/SalesOrderLines?cross-company=true',
    status,
    body: JSON.stringify({
      error: {
        code: '',
        message: 'An error has occurred.',
        innererror: { message: inner, type: 'AxODataWriteException' },
      },
    }),
    operation: 'odata.create',
    entity: 'SalesOrderLines',
    writeOperation: 'create',
  });

describe('classifyFailure', () => {
  it('dead-letters a write Dynamics refuses, with the Infolog text', () => {
    const outcome = classifyFailure(
      writeError(
        400,
        "Write failed for table row of type 'SalesLine'. Infolog: Item number P9 does not exist.",
      ),
    );
    expect(outcome).toEqual({
      deadLetter: 'Dynamics refused create SalesOrderLines: Item number P9 does not exist.',
    });
  });

  it('retries transient failures: network, 429/5xx, lost leases, busy objects, the API budget', () => {
    const http = (status: number) => new HttpError({ method: 'GET', url: 'https://x', status });
    for (const error of [
      new NetworkError('GET', 'https://x', 'ECONNRESET'),
      http(429),
      http(503),
      new ConditionFailedError('lost'),
      new BusyError('salesorder:Opportunity:006', 30),
      new ApiBudgetError('reserve reached', { reason: 'reserve', operation: 'rest.query' }),
      writeError(412, 'The ETag value does not match'),
    ]) {
      expect(classifyFailure(error)).toBe('retry');
    }
  });

  it('dead-letters a Salesforce refusal but retries its limit errors', () => {
    const sf = (status: number, errorCode: string) =>
      new SalesforceApiError({ method: 'PATCH', url: 'https://x', status, errorCode }, []);
    expect(classifyFailure(sf(400, 'DUPLICATE_VALUE'))).toMatchObject({ deadLetter: expect.any(String) });
    expect(classifyFailure(sf(403, 'REQUEST_LIMIT_EXCEEDED'))).toBe('retry');
    expect(classifyFailure(sf(401, 'INVALID_SESSION_ID'))).toBe('retry');
  });

  it('dead-letters input the connector refuses itself', () => {
    expect(classifyFailure(new ValidationError('bad key'))).toEqual({
      deadLetter: 'ValidationError: bad key',
    });
  });
});
