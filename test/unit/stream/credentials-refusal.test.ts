import { describe, expect, it } from 'vitest';
import { AuthError, ConnectorError } from '#base/errors.ts';
import { PubSubError } from '#salesforce/pubsub/errors.ts';
import { isCredentialsRefusal } from '#stream/task.ts';

describe('isCredentialsRefusal', () => {
  it('treats an AuthError and Pub/Sub UNAUTHENTICATED as refused credentials (re-read the secrets), nothing else', () => {
    expect(isCredentialsRefusal(new AuthError('salesforce', 'invalid_client'))).toBe(true);
    expect(
      isCredentialsRefusal(new PubSubError('x', { topic: 't', replayId: undefined, grpcCode: 16 } as never)),
    ).toBe(true);
    expect(
      isCredentialsRefusal(new PubSubError('x', { topic: 't', replayId: undefined, grpcCode: 14 } as never)),
    ).toBe(false);
    expect(isCredentialsRefusal(new ConnectorError('other'))).toBe(false);
    expect(isCredentialsRefusal(undefined)).toBe(false);
  });
});
