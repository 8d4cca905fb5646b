import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSecretsManagerSecrets } from '#adapters/aws/secrets.ts';
import { ConfigError } from '#core/errors.ts';

const sm = mockClient(SecretsManagerClient);
const arns = { dynamics: 'arn:dyn', salesforce: 'arn:sf', receiver: 'arn:rx' };

function serve(values: Record<string, unknown>) {
  for (const [arn, value] of Object.entries(values)) {
    sm.on(GetSecretValueCommand, { SecretId: arn }).resolves({ SecretString: JSON.stringify(value) });
  }
}

describe('createSecretsManagerSecrets', () => {
  let clock = 0;
  const secrets = () =>
    createSecretsManagerSecrets({
      client: new SecretsManagerClient({ region: 'eu-west-1' }),
      arns,
      now: () => clock,
    });
  beforeEach(() => {
    clock = 1_000_000;
    serve({
      'arn:dyn': { clientId: 'd-id', clientSecret: 'd-secret' },
      'arn:sf': { clientId: 's-id', clientSecret: 's-secret' },
      'arn:rx': { current: 'now', previous: 'before' },
    });
  });
  afterEach(() => sm.reset());

  it('reads the three secrets into the port’s shape', async () => {
    expect(await secrets().get()).toEqual({
      dynamics: { clientId: 'd-id', clientSecret: 'd-secret' },
      salesforce: { clientId: 's-id', clientSecret: 's-secret' },
      businessEvents: { current: 'now', previous: 'before' },
    });
  });

  it('reads only the receiver secret for the receiver, and only the credentials for the workers', async () => {
    const s = secrets();
    expect(await s.receiver()).toEqual({ current: 'now', previous: 'before' });
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual(['arn:rx']);
    sm.resetHistory();
    expect((await s.credentials()).dynamics.clientId).toBe('d-id');
    expect(
      sm
        .commandCalls(GetSecretValueCommand)
        .map((c) => c.args[0].input.SecretId)
        .sort(),
    ).toEqual(['arn:dyn', 'arn:sf']);
  });

  it('serves from the cache within the TTL and reads again after it', async () => {
    const s = secrets();
    await Promise.all([s.get(), s.get()]);
    clock += 4 * 60_000;
    await s.get();
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(3);
    clock += 2 * 60_000;
    await s.get();
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(6);
  });

  it('bypasses the cache on refresh and returns the rotated value', async () => {
    const s = secrets();
    await s.get();
    serve({ 'arn:rx': { current: 'rotated', previous: 'now' } });
    expect((await s.get()).businessEvents.current).toBe('now');
    expect((await s.get({ refresh: true })).businessEvents.current).toBe('rotated');
  });

  it('names the broken secret without echoing its value, and does not cache the failure', async () => {
    serve({ 'arn:sf': { clientId: 's-id' } });
    const s = secrets();
    const error = await s.get().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe('secrets.salesforce.clientSecret');
    sm.on(GetSecretValueCommand, { SecretId: 'arn:dyn' }).resolves({ SecretString: 'not json d-secret' });
    const again = await s.get().catch((e: unknown) => e);
    expect((again as Error).message).not.toContain('d-secret');
  });
});
