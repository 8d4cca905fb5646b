/**
 * The Lambda handlers invoked with realistic API Gateway, SQS and Scheduler events against both
 * sandboxes, with the stack's table, queues and secrets created on moto from the synthesized
 * template (test/support/aws-template.ts). The module entry points are imported as Lambda loads
 * them, after the environment the template gives the functions; SQS records are real deliveries
 * from moto, so receipt handles, visibility changes and dead letters are the service's own.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  GetQueueAttributesCommand,
  type Message,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAwsRuntime } from '#adapters/aws/bootstrap.ts';
import { ENV } from '#adapters/aws/contract.ts';
import { createEngineRuntime } from '#adapters/aws/engine.ts';
import type { ConnectorMetrics } from '#adapters/aws/metrics.ts';
import { createAwsClients, documentClient } from '#adapters/aws/sdk-clients.ts';
import { createDynamoStateStore } from '#adapters/aws/state-store.ts';
import { staticSecrets } from '#core/ports/secrets.ts';
import { type Deployed, deployTemplate, synthesizeTemplate } from '#test/support/aws-template.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';
import { MOTO_AWS, type Moto, startMoto } from '#test/support/moto.ts';
import { recordSdkCalls } from '#test/support/sdk-calls.ts';
import { apiGatewayPost, lambdaContext, schedulerEvent } from './aws-events.ts';
import {
  createSalesforceProducts,
  createSyncedAccount,
  createWonOpportunity,
  dynamicsOrdersFor,
} from './engine-to-dynamics-fixtures.ts';

const RECEIVER_SECRET = 'receiver-secret-5a1f3e9c7b2d4e6f8a0c';

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

describe('AWS Lambda handlers against both sandboxes and moto', () => {
  let h: EngineHarness;
  let moto: Moto;
  let deployed: Deployed;
  let sqs: SQSClient;
  let sm: SecretsManagerClient;
  let env: Record<string, string>;
  let url: (name: (typeof ENV)[keyof typeof ENV]) => string;
  let handlers: {
    businessEvents: typeof import('#handlers/business-events.ts');
    toDynamics: typeof import('#handlers/to-dynamics.ts');
    toSalesforce: typeof import('#handlers/to-salesforce.ts');
    backfill: typeof import('#handlers/backfill.ts');
  };

  /** Every message on a queue now, taken off it, with the dead-letter reason when there is one. */
  async function sent(queueUrl: string): Promise<{ body: unknown; reason?: string | undefined }[]> {
    const out: { body: unknown; reason?: string | undefined }[] = [];
    for (let i = 0; i < 20; i++) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 60,
          MessageAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) break;
      out.push(
        ...Messages.map((m) => ({
          body: parse(m.Body ?? ''),
          reason: m.MessageAttributes?.reason?.StringValue,
        })),
      );
    }
    return out;
  }

  /** Sends bodies to a queue and receives them back: an SQS event as the event source mapping builds it. */
  async function deliver(queueUrl: string, bodies: readonly unknown[]): Promise<SQSEvent> {
    for (const body of bodies) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: typeof body === 'string' ? body : JSON.stringify(body),
        }),
      );
    }
    const messages: Message[] = [];
    for (let i = 0; i < 10 && messages.length < bodies.length; i++) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      messages.push(...Messages);
    }
    const arn = deployed.queueByUrl(queueUrl).arn;
    return {
      Records: messages.map((m) => ({
        messageId: m.MessageId ?? '',
        receiptHandle: m.ReceiptHandle ?? '',
        body: m.Body ?? '',
        attributes: {
          ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
          SentTimestamp: m.Attributes?.SentTimestamp ?? '0',
          SenderId: m.Attributes?.SenderId ?? '',
          ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? '0',
        },
        messageAttributes: {},
        md5OfBody: m.MD5OfBody ?? '',
        eventSource: 'aws:sqs',
        eventSourceARN: arn,
        awsRegion: MOTO_AWS.region,
      })),
    };
  }

  beforeAll(async () => {
    h = await startEngineHarness({
      sandboxes: { dynamics: { customers: 30, products: 12, salesOrders: 2 } },
    });
    createSalesforceProducts(h, ['P000001', 'P000002']);
    moto = await startMoto();
    deployed = await deployTemplate(moto, synthesizeTemplate(h.config));
    sqs = new SQSClient(moto.clientConfig);
    sm = new SecretsManagerClient(moto.clientConfig);
    const fn = deployed.function('to-dynamics');
    url = (name) => fn.environment[name] ?? '';
    const { dynamics, salesforce } = h.sandboxes.info;
    const put = (name: (typeof ENV)[keyof typeof ENV], value: unknown) =>
      sm.send(new PutSecretValueCommand({ SecretId: url(name), SecretString: JSON.stringify(value) }));
    await put(ENV.dynamicsSecretArn, { clientId: dynamics.clientId, clientSecret: dynamics.clientSecret });
    await put(ENV.salesforceSecretArn, {
      clientId: salesforce.clientId,
      clientSecret: salesforce.clientSecret,
    });
    await put(ENV.receiverSecretArn, { current: RECEIVER_SECRET });
    env = {
      ...fn.environment,
      ...moto.env,
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    };
    Object.assign(process.env, env);
    handlers = {
      businessEvents: await import('#handlers/business-events.ts'),
      toDynamics: await import('#handlers/to-dynamics.ts'),
      toSalesforce: await import('#handlers/to-salesforce.ts'),
      backfill: await import('#handlers/backfill.ts'),
    };
  }, 120_000);
  afterAll(async () => {
    sqs?.destroy();
    sm?.destroy();
    await moto?.close();
    await h?.close();
  });
  beforeEach(async () => {
    for (const q of deployed.queues) await sqs.send(new PurgeQueueCommand({ QueueUrl: q.url }));
  });

  const opportunityStub = (id: string) => ({
    kind: 'salesforce-stub',
    sobject: 'Opportunity',
    id,
    trigger: 'cdc',
    observedAt: Date.now(),
  });

  it('turns one won opportunity into one sales order, and a second delivery into nothing new', async () => {
    const oppId = createWonOpportunity(h, createSyncedAccount(h, 'usmf', 'US-000001'), [
      'P000001',
      'P000002',
    ]);
    const event = () => deliver(url(ENV.toDynamicsQueueUrl), [opportunityStub(oppId)]);

    expect(await handlers.toDynamics.handler(await event(), lambdaContext())).toEqual({
      batchItemFailures: [],
    });
    expect(await handlers.toDynamics.handler(await event(), lambdaContext())).toEqual({
      batchItemFailures: [],
    });

    const orders = dynamicsOrdersFor(h, oppId);
    expect(orders).toHaveLength(1);
    expect(orders[0]?.lines).toHaveLength(2);
    expect(h.sandboxes.salesforce.control.get('Opportunity', oppId)?.D365_Sales_Order__c).toBe(
      orders[0]?.header.SalesOrderNumber,
    );
    expect(await sent(url(ENV.toDynamicsDlqUrl))).toEqual([]);
  });

  it('dead-letters only the bad records of a batch and reports none as failed', async () => {
    const oppId = createWonOpportunity(h, createSyncedAccount(h, 'usmf', 'US-000002'), ['P000001']);
    const event = await deliver(url(ENV.toDynamicsQueueUrl), [
      '{not json',
      opportunityStub(oppId),
      { kind: 'salesforce-stub', sobject: 'Opportunity', id: 'not-an-id' },
    ]);
    const response = await handlers.toDynamics.handler(event, lambdaContext());

    expect(response).toEqual({ batchItemFailures: [] });
    expect(dynamicsOrdersFor(h, oppId)).toHaveLength(1);
    const dead = await sent(url(ENV.toDynamicsDlqUrl));
    expect(dead.map((d) => d.reason).sort()).toEqual([
      'not a Salesforce stub (kind, sobject or id invalid)',
      'the message body is not JSON',
    ]);
    // The event source mapping deletes the batch (no failures reported): nothing else was sent back.
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url(ENV.toDynamicsQueueUrl),
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    expect(Attributes?.ApproximateNumberOfMessages).toBe('0');
  });

  it('leaves a bad record on its queue as a batch item failure when the DLQ cannot take it', async () => {
    // A DLQ the function cannot reach: its URL names a queue moto does not have.
    const runtime = createEngineRuntime({
      env: { ...env, [ENV.toDynamicsDlqUrl]: `${url(ENV.toDynamicsDlqUrl)}-gone` },
      aws: createAwsClients(moto.clientConfig),
    });
    const event = await deliver(url(ENV.toDynamicsQueueUrl), ['garbage']);
    const response = await handlers.toDynamics.createToDynamicsHandler(runtime)(event, lambdaContext());
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[0]?.messageId }] });
    await runtime.close();
  });

  it('reports a record another worker holds as a batch item failure, visible again when its lease ends', async () => {
    const oppId = createWonOpportunity(h, createSyncedAccount(h, 'usmf', 'US-000003'), ['P000001']);
    const aws = createAwsClients(moto.clientConfig);
    const calls = recordSdkCalls(aws.sqs);
    const state = createDynamoStateStore({
      client: documentClient(new DynamoDBClient(moto.clientConfig)),
      tableName: env[ENV.stateTable] ?? '',
    });
    const key = `salesorder:Opportunity:${oppId}`;
    const { record } = await state.beginIdempotent(key);
    await state.updateIdempotent(key, record.version, {
      leaseOwner: 'another-worker',
      leaseUntil: Date.now() + 30_000,
    });
    const event = await deliver(url(ENV.toDynamicsQueueUrl), [opportunityStub(oppId)]);
    const runtime = createEngineRuntime({ env, aws });

    const response = await handlers.toDynamics.createToDynamicsHandler(runtime)(event, lambdaContext());

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]?.messageId }]);
    const visibility = calls.find((c) => c.command === 'ChangeMessageVisibilityCommand')?.input;
    expect(visibility).toMatchObject({
      QueueUrl: url(ENV.toDynamicsQueueUrl),
      ReceiptHandle: event.Records[0]?.receiptHandle,
    });
    expect(visibility?.VisibilityTimeout).toBeGreaterThanOrEqual(29);
    // moto holds it back for the lease: not receivable now, one message in flight.
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url(ENV.toDynamicsQueueUrl),
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(Attributes).toMatchObject({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '1',
    });
    expect(dynamicsOrdersFor(h, oppId)).toEqual([]);
    await runtime.close();
  });

  it('syncs a Dynamics customer stub to a Salesforce Account', async () => {
    const stub = {
      kind: 'dynamics-stub',
      entity: 'CustomersV3',
      key: { dataAreaId: 'usmf', CustomerAccount: 'US-000004' },
      trigger: 'business-event',
      observedAt: Date.now(),
    };
    const response = await handlers.toSalesforce.handler(
      await deliver(url(ENV.toSalesforceQueueUrl), [stub]),
      lambdaContext(),
    );
    expect(response).toEqual({ batchItemFailures: [] });
    const accounts = h.sandboxes.salesforce.control.query(
      "SELECT Id FROM Account WHERE D365_Customer_Key__c = 'usmf:US-000004'",
    ).records;
    expect(accounts).toHaveLength(1);
  });

  it('accepts a business event POST with 202 and sends one stub to the to-Salesforce queue', async () => {
    const body = JSON.stringify({
      BusinessEventId: 'MLCustomerChangedBusinessEvent',
      BusinessEventLegalEntity: 'USMF',
      ControlNumber: 5_637_144_577,
      EventId: randomUUID().toUpperCase(),
      CustomerAccount: 'US-000005',
    });
    const response = await handlers.businessEvents.handler(
      apiGatewayPost(body, { query: { code: RECEIVER_SECRET }, base64: true }),
      lambdaContext(),
    );
    expect(response.statusCode).toBe(202);
    expect(JSON.parse(response.body)).toMatchObject({
      status: 'accepted',
      results: [{ outcome: 'enqueued' }],
    });
    expect(await sent(url(ENV.toSalesforceQueueUrl))).toMatchObject([
      {
        body: {
          kind: 'dynamics-stub',
          entity: 'CustomersV3',
          key: { dataAreaId: 'usmf', CustomerAccount: 'US-000005' },
        },
      },
    ]);

    const again = await handlers.businessEvents.handler(
      apiGatewayPost(body, { headers: { 'X-ML-Connector-Secret': RECEIVER_SECRET } }),
      lambdaContext(),
    );
    expect(JSON.parse(again.body)).toMatchObject({ results: [{ outcome: 'duplicate' }] });
    expect(await sent(url(ENV.toSalesforceQueueUrl))).toHaveLength(0);
  });

  it('answers a wrong secret with 401 and enqueues nothing', async () => {
    const response = await handlers.businessEvents.handler(
      apiGatewayPost('{}', { query: { code: 'wrong' } }),
      lambdaContext(),
    );
    expect(response.statusCode).toBe(401);
    expect(await sent(url(ENV.toSalesforceQueueUrl))).toEqual([]);
  });

  it('answers an unmapped Dataverse data event 202, ignored, with the BusinessEventsIgnored metric', async () => {
    const recorded: [string, number, Readonly<Record<string, string>> | undefined][] = [];
    const metrics: ConnectorMetrics = {
      add: (name, value, dimensions) => void recorded.push([name, value, dimensions]),
      flush() {},
    };
    const runtime = createAwsRuntime({ env, metrics });
    const handler = handlers.businessEvents.createBusinessEventsHandler(runtime);
    const body = JSON.stringify({
      MessageName: 'OnExternalUpdated',
      OperationId: randomUUID(),
      PrimaryEntityName: 'mserp_vendvendorv2entity',
      InputParameters: [
        { key: 'Target', value: { Attributes: [{ key: 'mserp_vendoraccountnumber', value: 'V-1' }] } },
      ],
    });
    const response = await handler(
      apiGatewayPost(body, { query: { code: RECEIVER_SECRET } }),
      lambdaContext(),
    );
    expect(response.statusCode).toBe(202);
    expect(JSON.parse(response.body)).toMatchObject({ results: [{ outcome: 'ignored' }] });
    expect(recorded).toEqual([['BusinessEventsIgnored', 1, { shape: 'remote-execution-context' }]]);
    expect(await sent(url(ENV.toSalesforceQueueUrl))).toEqual([]);
    await runtime.close();
  });

  it('picks up a rotated receiver secret by re-reading the secrets after a 401, at most once a minute', async () => {
    let clock = Date.now();
    const aws = createAwsClients(moto.clientConfig);
    const calls = recordSdkCalls(aws.secretsManager);
    const runtime = createAwsRuntime({ env, aws });
    const handler = handlers.businessEvents.createBusinessEventsHandler(runtime, { now: () => clock });
    const post = (secret: string, controlNumber: number) =>
      handler(
        apiGatewayPost(
          JSON.stringify({
            BusinessEventId: 'MLCustomerChangedBusinessEvent',
            BusinessEventLegalEntity: 'USMF',
            ControlNumber: controlNumber,
            EventId: randomUUID(),
            CustomerAccount: 'US-000007',
          }),
          { headers: { 'x-ml-connector-secret': secret } },
        ),
        lambdaContext(),
      );
    expect((await post(RECEIVER_SECRET, 5_637_145_001)).statusCode).toBe(202);

    const rotated = 'receiver-secret-rotated-0c7d9e2f4a6b8c1d';
    const receiverArn = url(ENV.receiverSecretArn);
    const rotate = (value: unknown) =>
      sm.send(new PutSecretValueCommand({ SecretId: receiverArn, SecretString: JSON.stringify(value) }));
    await rotate({ current: rotated, previous: RECEIVER_SECRET });
    const reads = () => calls.filter((c) => c.command === 'GetSecretValueCommand').length;
    const before = reads();
    expect((await post(rotated, 5_637_145_002)).statusCode).toBe(202);
    expect(reads()).toBe(before + 1); // only the receiver secret is re-read

    // Wrong secrets do not make every request read Secrets Manager.
    expect((await post('wrong', 5_637_145_003)).statusCode).toBe(401);
    expect((await post('wrong', 5_637_145_004)).statusCode).toBe(401);
    expect(reads()).toBe(before + 1);
    clock += 61_000;
    expect((await post('wrong', 5_637_145_005)).statusCode).toBe(401);
    expect(reads()).toBe(before + 2);
    await rotate({ current: RECEIVER_SECRET });
    await runtime.close();
  });

  it('runs both backfills from a Scheduler event and enqueues the won opportunities still owed', async () => {
    const oppId = createWonOpportunity(h, createSyncedAccount(h, 'usmf', 'US-000006'), ['P000002']);
    const result = await handlers.backfill.handler(schedulerEvent(), lambdaContext());
    expect(result.dynamics.runs.length).toBeGreaterThan(0);
    expect((await sent(url(ENV.toDynamicsQueueUrl))).map((s) => (s.body as { id: string }).id)).toContain(
      oppId,
    );
  });

  it('counts a parked order as parked, not moved, and the backfill after its product arrived enqueues it again', async () => {
    createSalesforceProducts(h, ['PNEW21']);
    const oppId = createWonOpportunity(h, createSyncedAccount(h, 'usmf', 'US-000007'), ['P000001', 'PNEW21']);
    const recorded: [string, number, Record<string, string> | undefined][] = [];
    const metrics: ConnectorMetrics = {
      add: (name, value, dimensions) =>
        void recorded.push([name, value, dimensions ? { ...dimensions } : undefined]),
      flush() {},
    };
    const runtime = createEngineRuntime({ env, metrics, aws: createAwsClients(moto.clientConfig) });
    const event = await deliver(url(ENV.toDynamicsQueueUrl), [opportunityStub(oppId)]);
    expect(await handlers.toDynamics.createToDynamicsHandler(runtime)(event, lambdaContext())).toEqual({
      batchItemFailures: [],
    });
    expect(recorded.filter(([name]) => name === 'RecordsParked' || name === 'RecordsMoved')).toEqual([
      ['RecordsParked', 1, { flow: 'won-opportunities', direction: 'to-dynamics' }],
      ['RecordsParked', 1, undefined],
    ]);
    await runtime.close();

    // The product is released in F&O and synced by the to-Salesforce worker; the next backfill run
    // finds what the parked order waited for and sends the order through again, as a replay.
    h.sandboxes.dynamics.control.createRecord('ReleasedProductsV2', {
      dataAreaId: 'usmf',
      ItemNumber: 'PNEW21',
      ProductSearchName: 'NEWPUMP21',
      SalesPrice: 250,
    });
    const product = {
      kind: 'dynamics-stub',
      entity: 'ReleasedProductsV2',
      key: { dataAreaId: 'usmf', ItemNumber: 'PNEW21' },
      trigger: 'business-event',
      observedAt: Date.now(),
    };
    expect(
      await handlers.toSalesforce.handler(
        await deliver(url(ENV.toSalesforceQueueUrl), [product]),
        lambdaContext(),
      ),
    ).toEqual({ batchItemFailures: [] });
    await handlers.backfill.handler(schedulerEvent(), lambdaContext());
    const replays = (await sent(url(ENV.toDynamicsQueueUrl)))
      .map((s) => s.body as { id: string; trigger: string })
      .filter((b) => b.id === oppId && b.trigger === 'replay');
    expect(replays).toHaveLength(1);
    expect(
      await handlers.toDynamics.handler(
        await deliver(url(ENV.toDynamicsQueueUrl), [replays[0]]),
        lambdaContext(),
      ),
    ).toEqual({ batchItemFailures: [] });
    expect(dynamicsOrdersFor(h, oppId)).toHaveLength(1);
  });

  it('repairs drift when the Scheduler event asks for it, and remembers which org the state belongs to', async () => {
    const sf = h.sandboxes.salesforce.control;
    await handlers.backfill.handler(schedulerEvent(), lambdaContext());
    const [gone] = sf.query(
      "SELECT Id, D365_Customer_Key__c FROM Account WHERE D365_Customer_Key__c LIKE 'usmf:%' ORDER BY Id",
    ).records;
    const key = String(gone?.D365_Customer_Key__c);
    sf.delete('Account', String(gone?.Id));
    const byKey = () => sf.query(`SELECT Id FROM Account WHERE D365_Customer_Key__c = '${key}'`).records;

    // The weekly repair ran with the first backfill; a plain run trusts the hashes.
    await handlers.backfill.handler(schedulerEvent(), lambdaContext());
    expect(byKey()).toHaveLength(0);
    const result = await handlers.backfill.handler({ reconcile: true }, lambdaContext());
    expect(result.dynamics.runs.reduce((n, r) => n + r.created, 0)).toBe(1);
    expect(byKey()).toHaveLength(1);

    const state = createDynamoStateStore({
      client: documentClient(new DynamoDBClient(moto.clientConfig)),
      tableName: env[ENV.stateTable] ?? '',
    });
    const session = await h.clients.salesforce.tokenSource.getSession();
    expect((await state.getCheckpoint('identity:salesforce-org'))?.value).toBe(session.orgId);
    expect(await state.getCheckpoint('reconcile:last')).toBeDefined();
  });

  it('records a failed backfill and throws, so the Scheduler retries', async () => {
    const recorded: [string, number][] = [];
    const metrics: ConnectorMetrics = { add: (name, value) => void recorded.push([name, value]), flush() {} };
    const { dynamics, salesforce } = h.sandboxes.info;
    const runtime = createEngineRuntime({
      env,
      metrics,
      secrets: staticSecrets({
        dynamics: { clientId: dynamics.clientId, clientSecret: 'wrong' },
        salesforce: { clientId: salesforce.clientId, clientSecret: salesforce.clientSecret },
        businessEvents: { current: RECEIVER_SECRET },
      }),
      http: { dynamicsHttp: { retry: { maxAttempts: 1 } } as never },
    });
    const handler = handlers.backfill.createBackfillHandler(runtime);
    await expect(handler(schedulerEvent({ full: true }), lambdaContext())).rejects.toThrow();
    expect(recorded).toEqual([
      ['BackfillRuns', 1],
      ['BackfillFailures', 1],
    ]);
    await runtime.close();
  });
});
