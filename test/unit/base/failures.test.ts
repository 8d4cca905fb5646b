import { describe, expect, it } from 'vitest';
import {
  AuthError,
  ConfigError,
  ConnectorError,
  HttpError,
  NetworkError,
  TimeoutError,
  ValidationError,
} from '#base/errors.ts';
import { type FailureKind, failureKind, isTransient, isTransientStatus } from '#base/failures.ts';
import { BusyError } from '#core/flows/exactly-once.ts';
import { isTransient as toSalesforceIsTransient } from '#core/flows/transient.ts';
import { ParkedError } from '#core/mapping/legal-entity.ts';
import { DynamicsWriteError } from '#core/ports/dynamics/errors.ts';
import {
  ApiBudgetError,
  BulkJobFailedError,
  BulkWaitStoppedError,
  SalesforceApiError,
} from '#core/ports/salesforce/errors.ts';
import { ConditionFailedError } from '#core/ports/state-store.ts';
import { classifyFailure } from '#core/workers/to-dynamics.ts';
import { DEFAULT_RETRY_POLICY, decideRetry } from '#http/retry.ts';

const http = (status: number) => new HttpError({ method: 'GET', url: 'https://x.test', status });
const salesforce = (status: number, errorCode = 'X') =>
  new SalesforceApiError({ method: 'PATCH', url: 'https://x.test', status, errorCode }, []);
const write = (status: number, inner = 'Infolog: Field is mandatory.') =>
  new DynamicsWriteError({
    method: 'POST',
    url: 'https://env.test/data/CustomersV3',
    status,
    body: JSON.stringify({
      error: { code: '', message: 'An error has occurred.', innererror: { message: inner } },
    }),
    operation: 'odata.create',
    entity: 'CustomersV3',
    writeOperation: 'create',
  });
const named = (name: string) => Object.assign(new Error(name), { name });

/** Every failure the connector meets, with its one kind. */
const TABLE: readonly (readonly [string, unknown, FailureKind])[] = [
  ['a network reset', new NetworkError('GET', 'https://x.test', 'ECONNRESET'), 'transient'],
  ['a request time-out', new TimeoutError('GET', 'https://x.test', 1000), 'transient'],
  ['a token failure', new AuthError('salesforce', 'invalid_client'), 'transient'],
  ['HTTP 400', http(400), 'permanent'],
  ['HTTP 401', http(401), 'transient'],
  ['HTTP 403', http(403), 'permanent'],
  ['HTTP 404', http(404), 'permanent'],
  ['HTTP 408', http(408), 'transient'],
  ['HTTP 409', http(409), 'permanent'],
  ['HTTP 429', http(429), 'transient'],
  ['HTTP 500', http(500), 'transient'],
  ['HTTP 503', http(503), 'transient'],
  ['a Salesforce refusal (400 DUPLICATE_VALUE)', salesforce(400, 'DUPLICATE_VALUE'), 'permanent'],
  ['a Salesforce upsert matching two records (300)', salesforce(300, 'MULTIPLE_CHOICES'), 'permanent'],
  ['Salesforce REQUEST_LIMIT_EXCEEDED (403)', salesforce(403, 'REQUEST_LIMIT_EXCEEDED'), 'transient'],
  ['a Salesforce 408', salesforce(408), 'transient'],
  ['a Salesforce 503', salesforce(503), 'transient'],
  ['a Dynamics validation refusal (400)', write(400), 'permanent'],
  ['a Dynamics X++ error (500)', write(500), 'permanent'],
  [
    'a Dynamics duplicate insert (400, already exists)',
    write(400, 'The record already exists.'),
    'transient',
  ],
  ['a Dynamics ETag race (412)', write(412), 'transient'],
  ['a Dynamics throttle (429)', write(429), 'transient'],
  [
    'the Salesforce API budget',
    new ApiBudgetError('reserve reached', { reason: 'reserve', operation: 'x' }),
    'transient',
  ],
  ['a Bulk job that failed', new BulkJobFailedError('750x', 'Failed', 'InvalidBatch'), 'transient'],
  ['a Bulk wait that was stopped', new BulkWaitStoppedError('750x', 'InProgress'), 'transient'],
  ['a lost lease', new ConditionFailedError('lease lost'), 'transient'],
  ['a busy object', new BusyError('salesorder:Opportunity:006', 30), 'transient'],
  ['a parked record', new ParkedError('SALESFORCE_REFUSED', 'validation rule'), 'permanent'],
  ['input the connector refuses', new ValidationError('bad key'), 'permanent'],
  ['a configuration error', new ConfigError('flows', 'missing'), 'permanent'],
  [
    'a connector error of no stated kind',
    new ConnectorError('bad response', { code: 'BAD_RESPONSE' }),
    'transient',
  ],
  ['an abort', named('AbortError'), 'transient'],
  ['a platform time-out', named('TimeoutError'), 'transient'],
  [
    'an AWS SDK throttle',
    Object.assign(new Error('slow down'), { $retryable: { throttling: true } }),
    'transient',
  ],
  ['a crash in the middle of a procedure', new TypeError('x is undefined'), 'transient'],
  ['a thrown string', 'oops', 'transient'],
];

describe('failureKind', () => {
  it.each(TABLE)('classifies %s', (_, error, kind) => {
    expect(failureKind(error)).toBe(kind);
    expect(isTransient(error)).toBe(kind === 'transient');
  });

  it('calls permanent only a known refusal', () => {
    const permanent = TABLE.filter(([, , kind]) => kind === 'permanent').map(([, error]) => error);
    for (const error of permanent) expect(error).toBeInstanceOf(ConnectorError);
  });

  it('takes the kind a ConnectorError declares over its status', () => {
    expect(
      failureKind(new HttpError({ method: 'GET', url: 'u', status: 503 }, { failure: 'permanent' })),
    ).toBe('permanent');
  });
});

describe('the one failure vocabulary', () => {
  it.each(TABLE)(
    'gives the to-Salesforce flows and the to-Dynamics worker one answer for %s',
    (_, error, kind) => {
      expect(toSalesforceIsTransient(error)).toBe(kind === 'transient');
      const outcome = classifyFailure(error);
      if (kind === 'transient') expect(outcome).toBe('retry');
      else expect(outcome).toMatchObject({ deadLetter: expect.any(String) });
    },
  );

  it('lets the HTTP layer retry at once only statuses that are transient', () => {
    for (let status = 400; status < 600; status++) {
      const decision = decideRetry(
        { attempt: 1, elapsedMs: 0, idempotent: true, status },
        DEFAULT_RETRY_POLICY,
        () => 0,
      );
      if (decision.retry) expect(isTransientStatus(status)).toBe(true);
    }
    for (const status of [408, 429, 502, 503, 504]) {
      expect(
        decideRetry({ attempt: 1, elapsedMs: 0, idempotent: true, status }, DEFAULT_RETRY_POLICY, () => 0),
      ).toMatchObject({
        retry: true,
      });
    }
  });

  it('never retries a permanent status at once, whatever the policy lists', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, retryStatuses: [400, 503] };
    expect(decideRetry({ attempt: 1, elapsedMs: 0, idempotent: true, status: 400 }, policy, () => 0)).toEqual(
      {
        retry: false,
        reason: 'status 400',
      },
    );
  });
});
