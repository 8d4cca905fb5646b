/**
 * The Fargate entry point (functions/stream/main.ts) as a child process against the Salesforce
 * sandbox's Pub/Sub server, with the task definition's environment and the stack's table, queues
 * and secrets created on moto from the synthesized template: it subscribes, drains and exits 0 on
 * SIGTERM, and the next start resumes from the DynamoDB checkpoint, so events published while it
 * was down arrive once, and nothing twice.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '#adapters/aws/contract.ts';
import { documentClient } from '#adapters/aws/sdk-clients.ts';
import { createDynamoStateStore } from '#adapters/aws/state-store.ts';
import { cdcCheckpointName } from '#core/engine/replay-store.ts';
import type { SalesforceStub } from '#core/work/items.ts';
import { type StreamChild, spawnStreamTask } from '#test/support/aws-shape.ts';
import { deployTemplate, synthesizeTemplate } from '#test/support/aws-template.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';
import { type Moto, startMoto } from '#test/support/moto.ts';
import { until } from '#test/support/wait.ts';
import {
  createSalesforceProducts,
  createSyncedAccount,
  createWonOpportunity,
} from './engine-to-dynamics-fixtures.ts';

describe('the stream task entry point', () => {
  let h: EngineHarness;
  let moto: Moto;
  let sqs: SQSClient;
  let ddb: DynamoDBClient;
  let env: NodeJS.ProcessEnv;
  /** Every stub the task sent to the to-Dynamics queue, taken off the queue as it arrives. */
  const taken: (SalesforceStub & { source: string })[] = [];
  const children: StreamChild[] = [];

  function start(): StreamChild {
    const handle = spawnStreamTask(env);
    children.push(handle);
    return handle;
  }

  async function health(
    child: StreamChild,
  ): Promise<{ status: number; body: { topics: { keepalives: number }[] } }> {
    const res = await fetch(`http://127.0.0.1:${child.healthPort()}/health`);
    return { status: res.status, body: (await res.json()) as { topics: { keepalives: number }[] } };
  }

  /** Started, and every subscription confirmed by a keepalive (so LATEST is behind us). */
  async function subscribed(child: StreamChild): Promise<void> {
    await until(`the task to start:\n${child.output.join('\n')}`, () => child.healthPort() !== undefined);
    await until(
      'a keepalive on every topic',
      async () => (await health(child)).body.topics.every((t) => t.keepalives > 0),
      15_000,
    );
  }

  async function stubs(): Promise<(SalesforceStub & { source: string })[]> {
    for (let i = 0; i < 10; i++) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: String(env[ENV.toDynamicsQueueUrl]), MaxNumberOfMessages: 10 }),
      );
      if (Messages.length === 0) break;
      taken.push(...Messages.map((m) => JSON.parse(m.Body ?? '{}')));
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: String(env[ENV.toDynamicsQueueUrl]),
          Entries: Messages.map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
    return taken;
  }

  beforeAll(async () => {
    h = await startEngineHarness({ sandboxes: { dynamics: { customers: 10, products: 5, salesOrders: 1 } } });
    createSalesforceProducts(h, ['P000001']);
    moto = await startMoto();
    const deployed = await deployTemplate(moto, synthesizeTemplate(h.config));
    sqs = new SQSClient(moto.clientConfig);
    ddb = new DynamoDBClient(moto.clientConfig);
    const task = deployed.streamEnvironment;
    const { dynamics, salesforce } = h.sandboxes.info;
    const sm = new SecretsManagerClient(moto.clientConfig);
    for (const [arn, value] of [
      [task[ENV.dynamicsSecretArn], { clientId: dynamics.clientId, clientSecret: dynamics.clientSecret }],
      [
        task[ENV.salesforceSecretArn],
        { clientId: salesforce.clientId, clientSecret: salesforce.clientSecret },
      ],
    ] as const) {
      await sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(value) }));
    }
    sm.destroy();
    env = {
      ...process.env,
      ...task,
      // Any free port on a shared machine, as HEALTH_PORT allows (the task definition says 8080).
      [ENV.healthPort]: '0',
      [ENV.healthHost]: '127.0.0.1',
      ...moto.env,
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    };
  }, 120_000);
  afterAll(async () => {
    for (const c of children) if (c.process.exitCode === null) c.process.kill('SIGKILL');
    sqs?.destroy();
    ddb?.destroy();
    await moto?.close();
    await h?.close();
  });

  it('subscribes, drains on SIGTERM with exit 0, and resumes from the DynamoDB checkpoint without loss or duplicates', async () => {
    const first = start();
    await subscribed(first);
    expect((await health(first)).status).toBe(200);

    const before = createWonOpportunity(h, createSyncedAccount(h, 'usmf', 'US-000001'), ['P000001']);
    await until(
      'the first opportunity’s stub',
      async () => (await stubs()).some((s) => s.id === before),
      15_000,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify((await health(first)).body)}`);
    });
    first.process.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output.some((l) => l.includes('stream.stopped'))).toBe(true);
    const state = createDynamoStateStore({
      client: documentClient(ddb),
      tableName: String(env[ENV.stateTable]),
    });
    const checkpoint = await state.getCheckpoint(cdcCheckpointName('/data/OpportunityChangeEvent'));
    expect(checkpoint?.value).toBeTruthy();

    // Published while the task is down: only the checkpoint can bring these back.
    const whileDown = createWonOpportunity(h, createSyncedAccount(h, 'usmf', 'US-000002'), ['P000001']);

    const second = start();
    await until('the opportunity published while down', async () =>
      (await stubs()).some((s) => s.id === whileDown),
    );
    await subscribed(second);
    // The batch that brought it back is checkpointed only after its stubs were sent: any duplicate is in by then.
    await until('the second task to store its checkpoint', async () => {
      const now = await state.getCheckpoint(cdcCheckpointName('/data/OpportunityChangeEvent'));
      return (now?.version ?? 0) > (checkpoint?.version ?? 0);
    });

    const sources = (await stubs()).map((s) => `${s.sobject}:${s.id}:${s.source}`);
    expect(new Set(sources).size).toBe(sources.length);
    expect(taken.filter((s) => s.id === before).length).toBeGreaterThan(0);

    expect(
      (await state.getCheckpoint(cdcCheckpointName('/data/OpportunityChangeEvent')))?.version,
    ).toBeGreaterThan(checkpoint?.version ?? 0);
    second.process.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    const { dynamics, salesforce } = h.sandboxes.info;
    const logs = [...first.output, ...second.output].join('\n');
    for (const secret of [dynamics.clientSecret, salesforce.clientSecret]) expect(logs).not.toContain(secret);
  });
});
