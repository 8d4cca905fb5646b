/**
 * The Lambda handlers invoked with realistic API Gateway, SQS and Scheduler events against both
 * sandboxes: state on dynalite, SQS and Secrets Manager through aws-sdk-client-mock. The module
 * entry points are imported as Lambda would load them, after the environment the stack sets.
 */
import { randomUUID } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAwsRuntime } from '#adapters/aws/bootstrap.ts';
import { ENV } from '#adapters/aws/contract.ts';
import { createEngineRuntime } from '#adapters/aws/engine.ts';
import type { ConnectorMetrics } from '#adapters/aws/metrics.ts';
import { createDynamoStateStore } from '#adapters/aws/state-store.ts';
import { staticSecrets } from '#core/ports/secrets.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';
import { type Dynalite, LOCAL_AWS, startDynalite } from '../unit/aws/dynalite.ts';
import { apiGatewayPost, lambdaContext, schedulerEvent, sqsEvent, sqsRecordFactory } from './aws-events.ts';
import {
  createSalesforceProducts,
  createSyncedAccount,
  createWonOpportunity,
  dynamicsOrdersFor,
} from './engine-to-dynamics-fixtures.ts';

const RECEIVER_SECRET = 'receiver-secret-5a1f3e9c7b2d4e6f8a0c';
const ACCOUNT = 'arn:aws:sqs:eu-west-1:123456789012';
const URLS = {
  toSalesforce: 'https://sqs.eu-west-1.amazonaws.com/123456789012/to-salesforce',
  toSalesforceDlq: 'https://sqs.eu-west-1.amazonaws.com/123456789012/to-salesforce-dlq',
  toDynamics: 'https://sqs.eu-west-1.amazonaws.com/123456789012/to-dynamics',
  toDynamicsDlq: 'https://sqs.eu-west-1.amazonaws.com/123456789012/to-dynamics-dlq',
};

const sqs = mockClient(SQSClient);
const secretsManager = mockClient(SecretsManagerClient);

const secret = (arn: string, value: unknown) =>
  secretsManager
    .on(GetSecretValueCommand, { SecretId: arn })
    .resolves({ SecretString: JSON.stringify(value) });

/** The bodies sent to a queue URL, parsed. */
function sent(url: string): { body: unknown; reason?: string | undefined }[] {
  return sqs
    .commandCalls(SendMessageBatchCommand)
    .filter((c) => c.args[0].input.QueueUrl === url)
    .flatMap((c) => c.args[0].input.Entries ?? [])
    .map((e) => ({ body: parse(e.MessageBody ?? ''), reason: e.MessageAttributes?.reason?.StringValue }));
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

describe('AWS Lambda handlers against both sandboxes', () => {
  let h: EngineHarness;
  let dynamo: Dynalite;
  let env: Record<string, string>;
  let handlers: {
    businessEvents: typeof import('#handlers/business-events.ts');
    toDynamics: typeof import('#handlers/to-dynamics.ts');
    toSalesforce: typeof import('#handlers/to-salesforce.ts');
    backfill: typeof import('#handlers/backfill.ts');
  };

  beforeAll(async () => {
    h = await startEngineHarness({
      sandboxes: { dynamics: { customers: 30, products: 12, salesOrders: 2 } },
    });
    createSalesforceProducts(h, ['P000001', 'P000002']);
    dynamo = await startDynalite();
    const table = await dynamo.createStateTable();
    const { dynamics, salesforce } = h.sandboxes.info;
    const secret = (arn: string, value: unknown) =>
      secretsManager
        .on(GetSecretValueCommand, { SecretId: arn })
        .resolves({ SecretString: JSON.stringify(value) });
    secret('arn:dynamics', { clientId: dynamics.clientId, clientSecret: dynamics.clientSecret });
    secret('arn:salesforce', { clientId: salesforce.clientId, clientSecret: salesforce.clientSecret });
    secret('arn:receiver', { current: RECEIVER_SECRET });
    env = {
      [ENV.config]: JSON.stringify(h.config),
      [ENV.stateTable]: table,
      [ENV.toSalesforceQueueUrl]: URLS.toSalesforce,
      [ENV.toSalesforceDlqUrl]: URLS.toSalesforceDlq,
      [ENV.toDynamicsQueueUrl]: URLS.toDynamics,
      [ENV.toDynamicsDlqUrl]: URLS.toDynamicsDlq,
      [ENV.dynamicsSecretArn]: 'arn:dynamics',
      [ENV.salesforceSecretArn]: 'arn:salesforce',
      [ENV.receiverSecretArn]: 'arn:receiver',
      AWS_REGION: LOCAL_AWS.region,
      AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
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
  });
  afterAll(async () => {
    await dynamo?.close();
    await h?.close();
    sqs.restore();
    secretsManager.restore();
  });
  beforeEach(() => {
    sqs.reset();
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
      Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: randomUUID(), MD5OfMessageBody: '' })),
      Failed: [],
    }));
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
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
    const event = () => sqsEvent(sqsRecordFactory(`${ACCOUNT}:to-dynamics`, opportunityStub(oppId)));

    expect(await handlers.toDynamics.handler(event(), lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(await handlers.toDynamics.handler(event(), lambdaContext())).toEqual({ batchItemFailures: [] });

    const orders = dynamicsOrdersFor(h, oppId);
    expect(orders).toHaveLength(1);
    expect(orders[0]?.lines).toHaveLength(2);
    expect(h.sandboxes.salesforce.control.get('Opportunity', oppId)?.D365_Sales_Order__c).toBe(
      orders[0]?.header.SalesOrderNumber,
    );
    expect(sent(URLS.toDynamicsDlq)).toEqual([]);
  });

  it('dead-letters only the bad records of a batch and reports none as failed', async () => {
    const oppId = createWonOpportunity(h, createSyncedAccount(h, 'usmf', 'US-000002'), ['P000001']);
    const arn = `${ACCOUNT}:to-dynamics`;
    const response = await handlers.toDynamics.handler(
      sqsEvent(
        sqsRecordFactory(arn, '{not json', { raw: true }),
        sqsRecordFactory(arn, opportunityStub(oppId)),
        sqsRecordFactory(arn, { kind: 'salesforce-stub', sobject: 'Opportunity', id: 'not-an-id' }),
      ),
      lambdaContext(),
    );

    expect(response).toEqual({ batchItemFailures: [] });
    expect(dynamicsOrdersFor(h, oppId)).toHaveLength(1);
    const dead = sent(URLS.toDynamicsDlq);
    expect(dead.map((d) => d.reason)).toEqual([
      'the message body is not JSON',
      'not a Salesforce stub (kind, sobject or id invalid)',
    ]);
    expect(sent(URLS.toDynamics)).toEqual([]);
  });

  it('leaves a bad record on its queue as a batch item failure when the DLQ cannot take it', async () => {
    sqs
      .on(SendMessageBatchCommand, { QueueUrl: URLS.toDynamicsDlq })
      .rejects(new Error('ServiceUnavailable'));
    const bad = sqsRecordFactory(`${ACCOUNT}:to-dynamics`, 'garbage', { raw: true });
    const response = await handlers.toDynamics.handler(sqsEvent(bad), lambdaContext());
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: bad.messageId }] });
  });

  it('reports a record another worker holds as a batch item failure, visible again when its lease ends', async () => {
    const oppId = createWonOpportunity(h, createSyncedAccount(h, 'usmf', 'US-000003'), ['P000001']);
    const state = createDynamoStateStore({ client: dynamo.client, tableName: env[ENV.stateTable] ?? '' });
    const key = `salesorder:Opportunity:${oppId}`;
    const { record } = await state.beginIdempotent(key);
    await state.updateIdempotent(key, record.version, {
      leaseOwner: 'another-worker',
      leaseUntil: Date.now() + 30_000,
    });
    const event = sqsEvent(
      sqsRecordFactory(`${ACCOUNT}:to-dynamics`, opportunityStub(oppId), { receiveCount: 2 }),
    );

    const response = await handlers.toDynamics.handler(event, lambdaContext());

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]?.messageId }]);
    const visibility = sqs.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0].input;
    expect(visibility).toMatchObject({
      QueueUrl: URLS.toDynamics,
      ReceiptHandle: event.Records[0]?.receiptHandle,
    });
    expect(visibility?.VisibilityTimeout).toBeGreaterThanOrEqual(29);
    expect(dynamicsOrdersFor(h, oppId)).toEqual([]);
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
      sqsEvent(sqsRecordFactory(`${ACCOUNT}:to-salesforce`, stub)),
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
    expect(sent(URLS.toSalesforce)).toMatchObject([
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
    expect(sent(URLS.toSalesforce)).toHaveLength(1);
  });

  it('answers a wrong secret with 401 and enqueues nothing', async () => {
    const response = await handlers.businessEvents.handler(
      apiGatewayPost('{}', { query: { code: 'wrong' } }),
      lambdaContext(),
    );
    expect(response.statusCode).toBe(401);
    expect(sent(URLS.toSalesforce)).toEqual([]);
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
    expect(sent(URLS.toSalesforce)).toEqual([]);
    await runtime.close();
  });

  it('picks up a rotated receiver secret by re-reading the secrets after a 401, at most once a minute', async () => {
    let clock = Date.now();
    const runtime = createAwsRuntime({ env });
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
    secretsManager
      .on(GetSecretValueCommand, { SecretId: 'arn:receiver' })
      .resolves({ SecretString: JSON.stringify({ current: rotated, previous: RECEIVER_SECRET }) });
    const reads = () => secretsManager.commandCalls(GetSecretValueCommand).length;
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
    secret('arn:receiver', { current: RECEIVER_SECRET });
    await runtime.close();
  });

  it('runs both backfills from a Scheduler event and enqueues the won opportunities still owed', async () => {
    const oppId = createWonOpportunity(h, createSyncedAccount(h, 'usmf', 'US-000006'), ['P000002']);
    const result = await handlers.backfill.handler(schedulerEvent(), lambdaContext());
    expect(result.dynamics.runs.length).toBeGreaterThan(0);
    expect(sent(URLS.toDynamics).map((s) => (s.body as { id: string }).id)).toContain(oppId);
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
