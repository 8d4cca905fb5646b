import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, PLACEHOLDER_CLIENT_ID } from '#adapters/aws/contract.ts';
import { createEngineRuntime, type EngineRuntime } from '#adapters/aws/engine.ts';
import type { ConnectorMetrics } from '#adapters/aws/metrics.ts';
import { createAwsClients } from '#adapters/aws/sdk-clients.ts';
import type { Logger } from '#base/logger.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import { type StreamTask, startStreamTask } from '#stream/task.ts';
import { createTable, synthesizeStateTable } from '#test/support/aws-template.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';
import { type Moto, startMoto } from '#test/support/moto.ts';
import { until } from '#test/support/wait.ts';
import {
  createSalesforceProducts,
  createSyncedAccount,
  createWonOpportunity,
} from './engine-to-dynamics-fixtures.ts';

interface Health {
  readonly status: number;
  readonly body: {
    status: string;
    healthy: boolean;
    topics: { keepalives: number; disconnectedSince?: number }[];
  };
}
async function health(task: StreamTask): Promise<Health> {
  const res = await fetch(`http://127.0.0.1:${task.healthPort}/health`);
  return { status: res.status, body: (await res.json()) as Health['body'] };
}

describe('the stream task', () => {
  let h: EngineHarness;
  let moto: Moto;
  let ddb: DynamoDBClient;
  let sqs: SQSClient;
  let secretsManager: SecretsManagerClient;
  let tableProperties: Record<string, unknown>;
  let tables = 0;
  const queues: Record<string, string> = {};
  const arns: Record<string, string> = {};
  /** Every stub taken off the to-Dynamics queue so far. */
  const taken: { id: string }[] = [];
  /** Stores a new version of a secret in Secrets Manager, as `credentials set --stack` does. */
  const putSecret = (name: string, value: unknown) =>
    secretsManager.send(
      new PutSecretValueCommand({ SecretId: arns[name], SecretString: JSON.stringify(value) }),
    );
  const cleanup: (() => Promise<void>)[] = [];

  function runtimeFor(config: ConnectorConfig, clock: () => number) {
    const logs: string[] = [];
    const metrics: [string, number][] = [];
    const logger: Logger = {
      debug: () => {},
      info: (m, f) => void logs.push(`${m} ${JSON.stringify(f ?? {})}`),
      warn: (m, f) => void logs.push(`${m} ${JSON.stringify(f ?? {})}`),
      error: (m, f) => void logs.push(`${m} ${JSON.stringify(f ?? {})}`),
    };
    const recorder: ConnectorMetrics = { add: (n, v) => void metrics.push([n, v]), flush() {} };
    return { logs, metrics, logger, recorder, clock, config };
  }

  async function start(config: ConnectorConfig, clock: () => number = Date.now) {
    const r = runtimeFor(config, clock);
    const table = `state-${++tables}`;
    await createTable(ddb, table, tableProperties);
    const runtime: EngineRuntime = createEngineRuntime({
      env: {
        [ENV.config]: JSON.stringify(config),
        [ENV.stateTable]: table,
        [ENV.toSalesforceQueueUrl]: String(queues['to-salesforce']),
        [ENV.toSalesforceDlqUrl]: String(queues['to-salesforce-dlq']),
        [ENV.toDynamicsQueueUrl]: String(queues['to-dynamics']),
        [ENV.toDynamicsDlqUrl]: String(queues['to-dynamics-dlq']),
        [ENV.dynamicsSecretArn]: String(arns.dynamics),
        [ENV.salesforceSecretArn]: String(arns.salesforce),
        [ENV.receiverSecretArn]: String(arns.receiver),
      },
      aws: createAwsClients(moto.clientConfig),
      logger: r.logger,
      metrics: r.recorder,
      now: clock,
    });
    const task = await startStreamTask({
      runtime,
      healthPort: 0,
      healthHost: '127.0.0.1',
      metricsIntervalMs: 20,
      credentialsPoll: { initialMs: 10, maxMs: 50 },
      subscriber: { backoff: { initialMs: 20, maxMs: 100 } },
    });
    cleanup.push(async () => {
      await task.stop();
      await runtime.close();
    });
    return { ...r, task, runtime };
  }

  const real = async () => {
    const { dynamics, salesforce } = h.sandboxes.info;
    await putSecret('dynamics', { clientId: dynamics.clientId, clientSecret: dynamics.clientSecret });
    await putSecret('salesforce', { clientId: salesforce.clientId, clientSecret: salesforce.clientSecret });
  };
  /** The stubs the task sent to the to-Dynamics queue (taken off it as they arrive). */
  const stubs = async () => {
    const QueueUrl = String(queues['to-dynamics']);
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }),
    );
    if (Messages.length > 0) {
      taken.push(...Messages.map((m) => JSON.parse(m.Body ?? '{}') as { id: string }));
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl,
          Entries: Messages.map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
    return taken;
  };
  const last = (metrics: [string, number][], name: string) => metrics.filter(([n]) => n === name).at(-1)?.[1];

  beforeAll(async () => {
    h = await startEngineHarness({ sandboxes: { dynamics: { customers: 10, products: 5, salesOrders: 1 } } });
    createSalesforceProducts(h, ['P000001']);
    moto = await startMoto();
    ddb = new DynamoDBClient(moto.clientConfig);
    sqs = new SQSClient(moto.clientConfig);
    secretsManager = new SecretsManagerClient(moto.clientConfig);
    tableProperties = synthesizeStateTable();
    for (const name of ['to-salesforce', 'to-salesforce-dlq', 'to-dynamics', 'to-dynamics-dlq']) {
      queues[name] = String((await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl);
    }
    const initial: Record<string, unknown> = {
      dynamics: { clientId: PLACEHOLDER_CLIENT_ID, clientSecret: 'generated-a' },
      salesforce: { clientId: PLACEHOLDER_CLIENT_ID, clientSecret: 'generated-b' },
      receiver: { current: 'receiver-secret' },
    };
    for (const [name, value] of Object.entries(initial)) {
      const created = await secretsManager.send(
        new CreateSecretCommand({ Name: `ml-connector/${name}`, SecretString: JSON.stringify(value) }),
      );
      arns[name] = String(created.ARN);
    }
  });
  afterAll(async () => {
    for (const c of cleanup.splice(0)) await c().catch(() => undefined);
    for (const client of [ddb, sqs, secretsManager]) client?.destroy();
    await moto?.close();
    await h?.close();
  });

  it('waits healthy for credentials, stays up while they are refused, and streams once Secrets Manager holds working ones', async () => {
    const t = await start(h.config);

    // Healthy from the first check, saying why nothing streams yet, in /health, the logs and the metrics.
    await until(
      'the waiting log',
      () => t.logs.some((l) => l.startsWith('stream.waiting-for-credentials')),
      20_000,
    );
    const waiting = await health(t.task);
    expect(waiting.status).toBe(200);
    expect(waiting.body.status).toBe('waiting for credentials');
    // The first reading at start-up, before the secrets were even read: no gap for the alarm to count.
    expect(t.metrics[0]).toEqual(['StreamHealthy', 1]);
    await until('AwaitingCredentials 1', () => last(t.metrics, 'AwaitingCredentials') === 1, 20_000);
    expect(last(t.metrics, 'StreamHealthy')).toBe(1);

    // Credentials Salesforce refuses: still up (restarting cannot help), but the alarm's metric says 0.
    const { salesforce } = h.sandboxes.info;
    await real();
    await putSecret('salesforce', { clientId: salesforce.clientId, clientSecret: 'not-the-secret' });
    await until(
      'the refusal',
      async () => (await health(t.task)).body.status === 'credentials rejected: waiting for new credentials',
      20_000,
    );
    expect((await health(t.task)).status).toBe(200);
    await until('StreamHealthy 0', () => last(t.metrics, 'StreamHealthy') === 0, 20_000);
    expect(last(t.metrics, 'AwaitingCredentials')).toBe(1);

    // The rotation lands in Secrets Manager: picked up without a restart.
    await real();
    await t.task.subscribed;
    await until(
      'a keepalive on every topic',
      async () => (await health(t.task)).body.topics.every((topic) => topic.keepalives > 0),
      20_000,
    );
    const answer = await health(t.task);
    expect(answer).toMatchObject({ status: 200, body: { status: 'streaming', healthy: true } });
    const opportunity = createWonOpportunity(h, createSyncedAccount(h, 'usmf', 'US-000001'), ['P000001']);
    await until(
      'the opportunity’s stub',
      async () => (await stubs()).some((s) => s.id === opportunity),
      20_000,
    );
    await until(
      'StreamHealthy 1',
      () => last(t.metrics, 'StreamHealthy') === 1 && last(t.metrics, 'AwaitingCredentials') === 0,
      20_000,
    );
    const logs = t.logs.join('\n');
    expect(logs).not.toContain(salesforce.clientSecret);
    expect(logs).not.toContain('generated-a');
  });

  it('answers 503 once it has not reached Pub/Sub for longer than the bound (e.g. its port blocked)', async () => {
    await real();
    let clock = Date.now();
    // A port nothing listens on stands for a security group that lets 7443 out to nowhere.
    const config = {
      ...h.config,
      salesforce: { ...h.config.salesforce, pubsubEndpoint: '127.0.0.1:1' },
    } as ConnectorConfig;
    const t = await start(config, () => clock);
    await t.task.subscribed;
    await until(
      'a failed connection',
      () => t.logs.some((l) => l.startsWith('pubsub: resubscribing')),
      20_000,
    );
    const within = await health(t.task);
    expect(within.status).toBe(200);
    expect(within.body.topics.every((topic) => typeof topic.disconnectedSince === 'number')).toBe(true);

    clock += 5 * 60_000 + 1;
    const beyond = await health(t.task);
    expect(beyond.status).toBe(503);
    expect(beyond.body.healthy).toBe(false);
    await until('StreamHealthy 0', () => last(t.metrics, 'StreamHealthy') === 0, 20_000);
  });
});
