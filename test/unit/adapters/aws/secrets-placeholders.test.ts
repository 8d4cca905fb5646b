import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { PLACEHOLDER_CLIENT_ID } from '#adapters/aws/contract.ts';
import { CredentialsNotSetError, createSecretsManagerSecrets } from '#adapters/aws/secrets.ts';

// A client mock, not an emulator: this checks how the adapter reads the placeholder value the
// stack generates (lib/constructs/connector-secrets.ts), nothing about Secrets Manager itself.
const sm = mockClient(SecretsManagerClient);
const arns = { dynamics: 'arn:dyn', salesforce: 'arn:sf', receiver: 'arn:rx' };
const values: Record<string, unknown> = {};
sm.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => ({
  SecretString: JSON.stringify(values[input.SecretId]),
}));

describe('createSecretsManagerSecrets with the stack’s placeholders', () => {
  afterEach(() => sm.resetHistory());

  it('throws CredentialsNotSetError naming each system still on placeholders, without the secret values', async () => {
    values['arn:dyn'] = { clientId: PLACEHOLDER_CLIENT_ID, clientSecret: 'generated-1' };
    values['arn:sf'] = { clientId: 'real-sf', clientSecret: 'sf-secret' };
    const secrets = createSecretsManagerSecrets({
      client: new SecretsManagerClient({ region: 'eu-west-1' }),
      arns,
    });
    const error = await secrets.credentials().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialsNotSetError);
    expect((error as CredentialsNotSetError).systems).toEqual(['dynamics']);
    expect((error as Error).message).toContain('credentials set --stack');
    expect((error as Error).message).not.toContain('generated-1');
  });

  it('does not cache the placeholder answer: the next read sees onboarded credentials at once', async () => {
    values['arn:dyn'] = { clientId: PLACEHOLDER_CLIENT_ID, clientSecret: 'generated-1' };
    values['arn:sf'] = { clientId: PLACEHOLDER_CLIENT_ID, clientSecret: 'generated-2' };
    const secrets = createSecretsManagerSecrets({
      client: new SecretsManagerClient({ region: 'eu-west-1' }),
      arns,
      now: () => 0,
    });
    await expect(secrets.credentials()).rejects.toMatchObject({ systems: ['dynamics', 'salesforce'] });
    values['arn:dyn'] = { clientId: 'd', clientSecret: 'ds' };
    values['arn:sf'] = { clientId: 's', clientSecret: 'ss' };
    expect((await secrets.credentials()).salesforce).toEqual({ clientId: 's', clientSecret: 'ss' });
  });
});
