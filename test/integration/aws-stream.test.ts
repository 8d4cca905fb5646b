/**
 * The Fargate entry point (functions/stream/main.ts) as a child process against the Salesforce
 * sandbox's Pub/Sub server, with its state on dynalite and SQS / Secrets Manager on a loopback
 * stand-in: it subscribes, drains and exits 0 on SIGTERM, and the next start resumes from the
 * DynamoDB checkpoint, so events published while it was down arrive once, and nothing twice.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '#adapters/aws/contract.ts';
import { createDynamoStateStore } from '#adapters/aws/state-store.ts';
import { cdcCheckpointName } from '#core/engine/replay-store.ts';
import type { SalesforceStub } from '#core/work/items.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';
import { type Dynalite, LOCAL_AWS, startDynalite } from '../unit/aws/dynalite.ts';
import { type AwsStandIn, startAwsStandIn } from './aws-stand-in.ts';
import {
  createSalesforceProducts,
  createSyncedAccount,
  createWonOpportunity,
} from './engine-to-dynamics-fixtures.ts';

async function waitFor(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface Child {
  readonly process: ChildProcessWithoutNullStreams;
  readonly output: string[];
  readonly exited: Promise<number | null>;
  healthPort(): number | undefined;
}

describe('the stream task entry point', () => {
  let h: EngineHarness;
  let dynamo: Dynalite;
  let standIn: AwsStandIn;
  let env: NodeJS.ProcessEnv;
  const children: Child[] = [];

  function start(): Child {
    const child = spawn(process.execPath, ['functions/stream/main.ts'], { env, cwd: process.cwd() });
    const output: string[] = [];
    child.stdout.on('data', (d: Buffer) => output.push(...d.toString().split('\n').filter(Boolean)));
    child.stderr.on('data', (d: Buffer) => output.push(...d.toString().split('\n').filter(Boolean)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const handle: Child = {
      process: child,
      output,
      exited,
      healthPort() {
        for (const line of output) {
          if (!line.includes('stream.started')) continue;
          return Number((JSON.parse(line) as { healthPort: number }).healthPort);
        }
        return undefined;
      },
    };
    children.push(handle);
    return handle;
  }

  async function health(
    child: Child,
  ): Promise<{ status: number; body: { topics: { keepalives: number }[] } }> {
    const res = await fetch(`http://127.0.0.1:${child.healthPort()}/health`);
    return { status: res.status, body: (await res.json()) as { topics: { keepalives: number }[] } };
  }

  /** Started, and every subscription confirmed by a keepalive (so LATEST is behind us). */
  async function subscribed(child: Child): Promise<void> {
    await waitFor(
      () => child.healthPort() !== undefined,
      30_000,
      `the task to start:\n${child.output.join('\n')}`,
    );
    await waitFor(
      async () => (await health(child)).body.topics.every((t) => t.keepalives > 0),
      15_000,
      'a keepalive on every topic',
    );
  }

  const stubs = (): (SalesforceStub & { source: string })[] =>
    standIn.sent
      .filter((m) => m.queueUrl === `${standIn.endpoint}/123456789012/to-dynamics`)
      .map((m) => JSON.parse(m.body));

  beforeAll(async () => {
    h = await startEngineHarness({ sandboxes: { dynamics: { customers: 10, products: 5, salesOrders: 1 } } });
    createSalesforceProducts(h, ['P000001']);
    dynamo = await startDynalite();
    const table = await dynamo.createStateTable();
    const { dynamics, salesforce } = h.sandboxes.info;
    standIn = await startAwsStandIn({
      'arn:dynamics': { clientId: dynamics.clientId, clientSecret: dynamics.clientSecret },
      'arn:salesforce': { clientId: salesforce.clientId, clientSecret: salesforce.clientSecret },
      'arn:receiver': { current: 'receiver-secret' },
    });
    env = {
      ...process.env,
      [ENV.config]: JSON.stringify(h.config),
      [ENV.stateTable]: table,
      // The SQS client sends to the queue URL's host, so the URLs point at the stand-in.
      [ENV.toSalesforceQueueUrl]: `${standIn.endpoint}/123456789012/to-salesforce`,
      [ENV.toSalesforceDlqUrl]: `${standIn.endpoint}/123456789012/to-salesforce-dlq`,
      [ENV.toDynamicsQueueUrl]: `${standIn.endpoint}/123456789012/to-dynamics`,
      [ENV.toDynamicsDlqUrl]: `${standIn.endpoint}/123456789012/to-dynamics-dlq`,
      [ENV.dynamicsSecretArn]: 'arn:dynamics',
      [ENV.salesforceSecretArn]: 'arn:salesforce',
      [ENV.receiverSecretArn]: 'arn:receiver',
      [ENV.healthPort]: '0',
      AWS_REGION: LOCAL_AWS.region,
      AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SQS: standIn.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: standIn.endpoint,
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    };
  });
  afterAll(async () => {
    for (const c of children) if (c.process.exitCode === null) c.process.kill('SIGKILL');
    await standIn?.close();
    await dynamo?.close();
    await h?.close();
  });

  it('subscribes, drains on SIGTERM with exit 0, and resumes from the DynamoDB checkpoint without loss or duplicates', async () => {
    const first = start();
    await subscribed(first);
    expect((await health(first)).status).toBe(200);

    const before = createWonOpportunity(h, createSyncedAccount(h, 'usmf', 'US-000001'), ['P000001']);
    await waitFor(() => stubs().some((s) => s.id === before), 15_000, 'the first opportunity’s stub').catch(
      async (error: Error) => {
        throw new Error(`${error.message}: ${JSON.stringify((await health(first)).body)}`);
      },
    );
    first.process.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output.some((l) => l.includes('stream.stopped'))).toBe(true);
    const state = createDynamoStateStore({ client: dynamo.client, tableName: String(env[ENV.stateTable]) });
    const checkpoint = await state.getCheckpoint(cdcCheckpointName('/data/OpportunityChangeEvent'));
    expect(checkpoint?.value).toBeTruthy();

    // Published while the task is down: only the checkpoint can bring these back.
    const whileDown = createWonOpportunity(h, createSyncedAccount(h, 'usmf', 'US-000002'), ['P000001']);

    const second = start();
    await waitFor(
      () => stubs().some((s) => s.id === whileDown),
      30_000,
      'the opportunity published while down',
    );
    await subscribed(second);
    await sleep(500);

    const sources = stubs().map((s) => `${s.sobject}:${s.id}:${s.source}`);
    expect(new Set(sources).size).toBe(sources.length);
    expect(stubs().filter((s) => s.id === before).length).toBeGreaterThan(0);

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
