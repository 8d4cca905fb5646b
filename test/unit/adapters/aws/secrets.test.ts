/** The Secrets Manager adapter against moto's Secrets Manager (test/support/moto.ts). */
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSecretsManagerSecrets, type SecretArns } from '#adapters/aws/secrets.ts';
import { ConfigError } from '#base/errors.ts';
import { type Moto, startMoto } from '#test/support/moto.ts';
import { recordSdkCalls, type SdkCall } from '#test/support/sdk-calls.ts';

let moto: Moto;
let admin: SecretsManagerClient;
let client: SecretsManagerClient;
let calls: SdkCall[];
let arns: SecretArns;
let run = 0;

beforeAll(async () => {
  moto = await startMoto();
  admin = new SecretsManagerClient(moto.clientConfig);
  client = new SecretsManagerClient(moto.clientConfig);
  calls = recordSdkCalls(client);
}, 30_000);
afterAll(async () => {
  admin?.destroy();
  client?.destroy();
  await moto?.close();
});

async function create(name: string, value: unknown): Promise<string> {
  const { ARN } = await admin.send(
    new CreateSecretCommand({ Name: `${name}-${run}`, SecretString: JSON.stringify(value) }),
  );
  return String(ARN);
}
const put = (arn: string, value: unknown) =>
  admin.send(
    new PutSecretValueCommand({
      SecretId: arn,
      SecretString: typeof value === 'string' ? value : JSON.stringify(value),
    }),
  );
const reads = () => calls.filter((c) => c.command === 'GetSecretValueCommand').map((c) => c.input.SecretId);

describe('createSecretsManagerSecrets', () => {
  let clock = 0;
  const secrets = () => createSecretsManagerSecrets({ client, arns, now: () => clock });
  beforeEach(async () => {
    clock = 1_000_000;
    run++;
    arns = {
      dynamics: await create('dynamics', { clientId: 'd-id', clientSecret: 'd-secret' }),
      salesforce: await create('salesforce', { clientId: 's-id', clientSecret: 's-secret' }),
      receiver: await create('receiver', { current: 'now', previous: 'before' }),
    };
    calls.length = 0;
  });

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
    expect(reads()).toEqual([arns.receiver]);
    calls.length = 0;
    expect((await s.credentials()).dynamics.clientId).toBe('d-id');
    expect(reads().sort()).toEqual([arns.dynamics, arns.salesforce].sort());
  });

  it('serves from the cache within the TTL and reads again after it', async () => {
    const s = secrets();
    await Promise.all([s.get(), s.get()]);
    clock += 4 * 60_000;
    await s.get();
    expect(reads()).toHaveLength(3);
    clock += 2 * 60_000;
    await s.get();
    expect(reads()).toHaveLength(6);
  });

  it('bypasses the cache on refresh and returns the rotated value', async () => {
    const s = secrets();
    await s.get();
    await put(arns.receiver, { current: 'rotated', previous: 'now' });
    expect((await s.get()).businessEvents.current).toBe('now');
    expect((await s.get({ refresh: true })).businessEvents.current).toBe('rotated');
  });

  it('names the broken secret without echoing its value, and does not cache the failure', async () => {
    await put(arns.salesforce, { clientId: 's-id' });
    const s = secrets();
    const error = await s.get().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe('secrets.salesforce.clientSecret');
    await put(arns.dynamics, 'not json d-secret');
    const again = await s.get().catch((e: unknown) => e);
    expect(again).toBeInstanceOf(ConfigError);
    expect((again as Error).message).not.toContain('d-secret');
  });

  it('fails with the service’s error when a secret does not exist, and reads it once it does', async () => {
    const s = createSecretsManagerSecrets({
      client,
      arns: { ...arns, receiver: `receiver-missing-${run}` },
      now: () => clock,
    });
    await expect(s.receiver()).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await admin.send(
      new CreateSecretCommand({ Name: `receiver-missing-${run}`, SecretString: '{"current":"late"}' }),
    );
    expect(await s.receiver()).toEqual({ current: 'late', previous: undefined });
  });
});
