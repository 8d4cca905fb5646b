/**
 * The stream task (functions/stream/task.ts) on a first deploy and through a credential change,
 * in process against both sandboxes, its state on dynalite and SQS / Secrets Manager on the
 * loopback stand-in: healthy and saying "waiting for credentials" while the secrets hold the
 * stack's placeholders, healthy but alarming while they are refused, streaming once Secrets
 * Manager holds working ones; and 503 once it cannot reach Pub/Sub for longer than the bound.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, PLACEHOLDER_CLIENT_ID } from '#adapters/aws/contract.ts';
import { createEngineRuntime, type EngineRuntime } from '#adapters/aws/engine.ts';
import type { ConnectorMetrics } from '#adapters/aws/metrics.ts';
import { createAwsClients } from '#adapters/aws/sdk-clients.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import type { Logger } from '#core/logger.ts';
import { type StreamTask, startStreamTask } from '#stream/task.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';
import { type Dynalite, LOCAL_AWS, startDynalite } from '../unit/aws/dynalite.ts';
import { type AwsStandIn, startAwsStandIn } from './aws-stand-in.ts';
import {
  createSalesforceProducts,
  createSyncedAccount,
  createWonOpportunity,
} from './engine-to-dynamics-fixtures.ts';

async function waitFor(check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

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
  let dynamo: Dynalite;
  let standIn: AwsStandIn;
  const secrets: Record<string, unknown> = {};
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
    const table = await dynamo.createStateTable();
    const runtime: EngineRuntime = createEngineRuntime({
      env: {
        [ENV.config]: JSON.stringify(config),
        [ENV.stateTable]: table,
        [ENV.toSalesforceQueueUrl]: `${standIn.endpoint}/123456789012/to-salesforce`,
        [ENV.toSalesforceDlqUrl]: `${standIn.endpoint}/123456789012/to-salesforce-dlq`,
        [ENV.toDynamicsQueueUrl]: `${standIn.endpoint}/123456789012/to-dynamics`,
        [ENV.toDynamicsDlqUrl]: `${standIn.endpoint}/123456789012/to-dynamics-dlq`,
        [ENV.dynamicsSecretArn]: 'arn:dynamics',
        [ENV.salesforceSecretArn]: 'arn:salesforce',
        [ENV.receiverSecretArn]: 'arn:receiver',
      },
      aws: createAwsClients({
        ...LOCAL_AWS,
        dynamodb: { endpoint: dynamo.endpoint },
        sqs: { endpoint: standIn.endpoint },
        secretsManager: { endpoint: standIn.endpoint },
      }),
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

  const real = () => {
    const { dynamics, salesforce } = h.sandboxes.info;
    secrets['arn:dynamics'] = { clientId: dynamics.clientId, clientSecret: dynamics.clientSecret };
    secrets['arn:salesforce'] = { clientId: salesforce.clientId, clientSecret: salesforce.clientSecret };
  };
  const stubs = () =>
    standIn.sent
      .filter((m) => m.queueUrl.endsWith('/to-dynamics'))
      .map((m) => JSON.parse(m.body) as { id: string });
  const last = (metrics: [string, number][], name: string) => metrics.filter(([n]) => n === name).at(-1)?.[1];

  beforeAll(async () => {
    h = await startEngineHarness({ sandboxes: { dynamics: { customers: 10, products: 5, salesOrders: 1 } } });
    createSalesforceProducts(h, ['P000001']);
    dynamo = await startDynalite();
    secrets['arn:receiver'] = { current: 'receiver-secret' };
    standIn = await startAwsStandIn(secrets);
  });
  afterAll(async () => {
    for (const c of cleanup.splice(0)) await c().catch(() => undefined);
    await standIn?.close();
    await dynamo?.close();
    await h?.close();
  });

  it('waits healthy for credentials, stays up while they are refused, and streams once Secrets Manager holds working ones', async () => {
    secrets['arn:dynamics'] = { clientId: PLACEHOLDER_CLIENT_ID, clientSecret: 'generated-a' };
    secrets['arn:salesforce'] = { clientId: PLACEHOLDER_CLIENT_ID, clientSecret: 'generated-b' };
    const t = await start(h.config);

    // Healthy from the first check, saying why nothing streams yet, in /health, the logs and the metrics.
    await waitFor(
      () => t.logs.some((l) => l.startsWith('stream.waiting-for-credentials')),
      'the waiting log',
    );
    const waiting = await health(t.task);
    expect(waiting.status).toBe(200);
    expect(waiting.body.status).toBe('waiting for credentials');
    // The first reading at start-up, before the secrets were even read: no gap for the alarm to count.
    expect(t.metrics[0]).toEqual(['StreamHealthy', 1]);
    await waitFor(() => last(t.metrics, 'AwaitingCredentials') === 1, 'AwaitingCredentials 1');
    expect(last(t.metrics, 'StreamHealthy')).toBe(1);

    // Credentials Salesforce refuses: still up (restarting cannot help), but the alarm's metric says 0.
    const { salesforce } = h.sandboxes.info;
    real();
    secrets['arn:salesforce'] = { clientId: salesforce.clientId, clientSecret: 'not-the-secret' };
    await waitFor(
      async () => (await health(t.task)).body.status === 'credentials rejected: waiting for new credentials',
      'the refusal',
    );
    expect((await health(t.task)).status).toBe(200);
    await waitFor(() => last(t.metrics, 'StreamHealthy') === 0, 'StreamHealthy 0');
    expect(last(t.metrics, 'AwaitingCredentials')).toBe(1);

    // The rotation lands in Secrets Manager: picked up without a restart.
    real();
    await t.task.subscribed;
    await waitFor(
      async () => (await health(t.task)).body.topics.every((topic) => topic.keepalives > 0),
      'a keepalive on every topic',
    );
    const answer = await health(t.task);
    expect(answer).toMatchObject({ status: 200, body: { status: 'streaming', healthy: true } });
    const opportunity = createWonOpportunity(h, createSyncedAccount(h, 'usmf', 'US-000001'), ['P000001']);
    await waitFor(() => stubs().some((s) => s.id === opportunity), 'the opportunity’s stub');
    await waitFor(
      () => last(t.metrics, 'StreamHealthy') === 1 && last(t.metrics, 'AwaitingCredentials') === 0,
      'StreamHealthy 1',
    );
    const logs = t.logs.join('\n');
    expect(logs).not.toContain(salesforce.clientSecret);
    expect(logs).not.toContain('generated-a');
  });

  it('answers 503 once it has not reached Pub/Sub for longer than the bound (e.g. its port blocked)', async () => {
    real();
    let clock = Date.now();
    // A port nothing listens on stands for a security group that lets 7443 out to nowhere.
    const config = {
      ...h.config,
      salesforce: { ...h.config.salesforce, pubsubEndpoint: '127.0.0.1:1' },
    } as ConnectorConfig;
    const t = await start(config, () => clock);
    await t.task.subscribed;
    await waitFor(() => t.logs.some((l) => l.startsWith('pubsub: resubscribing')), 'a failed connection');
    const within = await health(t.task);
    expect(within.status).toBe(200);
    expect(within.body.topics.every((topic) => typeof topic.disconnectedSince === 'number')).toBe(true);

    clock += 5 * 60_000 + 1;
    const beyond = await health(t.task);
    expect(beyond.status).toBe(503);
    expect(beyond.body.healthy).toBe(false);
    await waitFor(() => last(t.metrics, 'StreamHealthy') === 0, 'StreamHealthy 0');
  });
});
