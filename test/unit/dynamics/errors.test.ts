import { describe, expect, it } from 'vitest';
import { HttpError } from '#base/errors.ts';
import { DynamicsWriteError, parseODataError } from '#core/ports/dynamics/errors.ts';

const writeFailed = (infolog: string) =>
  JSON.stringify({
    error: {
      code: '',
      message: 'An error has occurred.',
      innererror: {
        message: `Write failed for table row of type 'CustCustomerV3Entity'. Infolog: ${infolog}`,
        type: 'Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWriteException',
        stacktrace: '   at ...',
      },
    },
  });

describe('parseODataError', () => {
  it('extracts the Infolog from innererror.message', () => {
    expect(parseODataError(writeFailed('Error: Customer group 99 does not exist.'))).toEqual({
      code: undefined,
      message: 'An error has occurred.',
      innerMessage:
        "Write failed for table row of type 'CustCustomerV3Entity'. Infolog: Error: Customer group 99 does not exist.",
      innerType: 'Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWriteException',
      infolog: 'Error: Customer group 99 does not exist.',
    });
  });

  it('returns undefined for bodies that are not OData errors', () => {
    expect(parseODataError('<html>Sign in</html>')).toBeUndefined();
    expect(parseODataError('{"value":[]}')).toBeUndefined();
    expect(parseODataError('null')).toBeUndefined();
  });
});

describe('DynamicsWriteError', () => {
  const make = (body: string, status = 400) =>
    new DynamicsWriteError({
      method: 'POST',
      url: 'https://e/data/CustomersV3',
      status,
      body,
      operation: 'odata.create',
      entity: 'CustomersV3',
      key: "CustomersV3(dataAreaId='usmf',CustomerAccount='A')",
      writeOperation: 'create',
    });

  it('carries the Infolog text, entity and key, and is an HttpError', () => {
    const e = make(writeFailed('Error: Customer group 99 does not exist.'));
    expect(e).toBeInstanceOf(HttpError);
    expect(e.name).toBe('DynamicsWriteError');
    expect(e.infolog).toBe('Error: Customer group 99 does not exist.');
    expect(e.message).toContain('Customer group 99 does not exist');
    expect(e.key).toContain("CustomerAccount='A'");
    expect(e.isDuplicate).toBe(false);
  });

  it('recognises a duplicate insert', () => {
    expect(
      make(
        writeFailed(
          'Cannot create a record in Customers (CustTable). Customer account: A. The record already exists.',
        ),
      ).isDuplicate,
    ).toBe(true);
  });

  it('survives a body that is not JSON', () => {
    const e = make('Service Unavailable', 500);
    expect(e.infolog).toBeUndefined();
    expect(e.status).toBe(500);
    expect(e.bodyExcerpt).toBe('Service Unavailable');
  });
});
