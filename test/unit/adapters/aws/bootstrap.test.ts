import { describe, expect, it } from 'vitest';
import { EnvironmentError, readAwsEnvironment } from '#adapters/aws/bootstrap.ts';
import { ENV } from '#adapters/aws/contract.ts';
import { createEngineRuntime } from '#adapters/aws/engine.ts';
import { createAwsClients } from '#adapters/aws/sdk-clients.ts';
import { type ConnectorSecrets, type Secrets, secretsFrom } from '#core/ports/secrets.ts';
import { unreachableEnvironment } from '#test/support/aws-environment.ts';

const ENVIRONMENT = unreachableEnvironment();

describe('readAwsEnvironment', () => {
  it('reads the contract’s variables into a frozen, validated environment', () => {
    const env = readAwsEnvironment({ ...ENVIRONMENT, [ENV.healthPort]: '8080' });
    expect(env.queues['to-dynamics']).toEqual({
      url: 'http://127.0.0.1:9/1/to-dynamics',
      dlqUrl: 'http://127.0.0.1:9/1/to-dynamics-dlq',
    });
    expect(env.config.legalEntities).toEqual(['usmf', 'demf', 'gbsi']);
    expect(env.healthPort).toBe(8080);
    expect(Object.isFrozen(env)).toBe(true);
  });

  it('names the missing or invalid variable', () => {
    const { [ENV.toDynamicsDlqUrl]: _, ...missing } = ENVIRONMENT;
    expect(() => readAwsEnvironment(missing)).toThrow(EnvironmentError);
    expect(() => readAwsEnvironment(missing)).toThrow(/TO_DYNAMICS_DLQ_URL/);
    expect(() => readAwsEnvironment({ ...ENVIRONMENT, [ENV.config]: '{' })).toThrow(/CONNECTOR_CONFIG/);
    expect(() => readAwsEnvironment({ ...ENVIRONMENT, [ENV.healthPort]: 'http' })).toThrow(/HEALTH_PORT/);
  });
});

describe('createEngineRuntime', () => {
  it('does not cache a failed start, and re-reads the secrets past their cache on the next one', async () => {
    const calls: boolean[] = [];
    const broken: ConnectorSecrets = {
      dynamics: { clientId: 'd', clientSecret: '' },
      salesforce: { clientId: 's', clientSecret: 's' },
      businessEvents: { current: 'r' },
    };
    const secrets: Secrets = secretsFrom(async ({ refresh = false } = {}) => {
      calls.push(refresh);
      return broken;
    });
    const logged: string[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (m: string) => void logged.push(m) };
    const runtime = createEngineRuntime({
      env: ENVIRONMENT,
      secrets,
      logger,
      aws: createAwsClients({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }),
    });
    await expect(runtime.engine()).rejects.toThrow(/clientSecret/);
    await expect(runtime.engine()).rejects.toThrow(/clientSecret/);
    expect(calls).toEqual([false, true]);
    expect(logged).toEqual(['bootstrap.failed', 'bootstrap.failed']);
    await runtime.close();
  });
});
