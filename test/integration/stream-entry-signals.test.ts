/**
 * The Fargate entry point (functions/stream/main.ts) as a child process on a first deploy, its secrets on moto: the
 * secrets still hold the stack's placeholders. It must answer its health check at once, say it
 * waits for credentials, write its metrics as EMF lines the stack's metric filters read, and stop
 * cleanly on SIGTERM while waiting (ECS stops tasks at any moment, deployments included).
 */
import { spawn } from 'node:child_process';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, PLACEHOLDER_CLIENT_ID, PLACEHOLDER_FIELD } from '#adapters/aws/contract.ts';
import { unreachableEnvironment } from '#test/support/aws-environment.ts';
import { type Moto, startMoto } from '#test/support/moto.ts';
import { until } from '#test/support/wait.ts';

describe('the stream task entry point before onboarding', () => {
  let moto: Moto;
  /** The three secrets as the stack creates them: placeholders until `credentials set --stack`. */
  const arns: Record<string, string> = {};
  beforeAll(async () => {
    moto = await startMoto();
    const secrets = new SecretsManagerClient(moto.clientConfig);
    const placeholders: Record<string, unknown> = {
      dynamics: { clientId: PLACEHOLDER_CLIENT_ID, clientSecret: 'generated-1' },
      salesforce: { clientId: PLACEHOLDER_CLIENT_ID, clientSecret: 'generated-2' },
      receiver: { [PLACEHOLDER_FIELD]: true, current: 'generated-3' },
    };
    for (const [name, value] of Object.entries(placeholders)) {
      const created = await secrets.send(
        new CreateSecretCommand({ Name: `ml-connector/${name}`, SecretString: JSON.stringify(value) }),
      );
      arns[name] = String(created.ARN);
    }
    secrets.destroy();
  });
  afterAll(() => moto?.close());

  it('is healthy and says it waits for credentials, publishes a first reading, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, ['functions/stream/main.ts'], {
      cwd: process.cwd(),
      env: {
        ...process.env,
        ...unreachableEnvironment(`${moto.endpoint}/123456789012`),
        [ENV.dynamicsSecretArn]: String(arns.dynamics),
        [ENV.salesforceSecretArn]: String(arns.salesforce),
        [ENV.receiverSecretArn]: String(arns.receiver),
        [ENV.healthPort]: '0',
        [ENV.healthHost]: '127.0.0.1',
        [ENV.metricsNamespace]: 'MlConnector/MlConnector-test',
        ...moto.env,
        POWERTOOLS_LOG_LEVEL: 'INFO',
      },
    });
    const output: string[] = [];
    const json: Record<string, unknown>[] = [];
    const collect = (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        output.push(line);
        try {
          json.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not JSON
        }
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    await until('the waiting log', () => json.some((l) => l.message === 'stream.waiting-for-credentials'), {
      timeoutMs: 30_000,
      detail: () => output.join('\n'),
    });
    const port = json.find((l) => l.message === 'stream.health')?.healthPort;
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ healthy: true, status: 'waiting for credentials' });

    const emf = json.filter((l) => '_aws' in l);
    expect(emf.find((l) => 'StreamHealthy' in l)).toMatchObject({
      StreamHealthy: 1,
      service: 'ml-connector',
    });
    for (const line of emf) {
      const [directive] = (line._aws as { CloudWatchMetrics: { Namespace: string }[] }).CloudWatchMetrics;
      expect(directive?.Namespace).toBe('MlConnector/MlConnector-test');
    }

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(json.some((l) => l.message === 'stream.stopped')).toBe(true);
    expect(output.join('\n')).not.toContain('generated-');
  });
});
