/**
 * `dlq list --stack`: a deployed stack's dead-letter queues on moto's SQS (test/support/moto.ts),
 * the stack's outputs from a CloudFormation stand-in (aws-sdk-client-mock: the lookup needs a
 * deployed stack's outputs). One letter dead-lettered by a worker with its reason, one moved by the
 * redrive policy.
 */
import { PassThrough } from 'node:stream';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqsWorkQueue } from '#adapters/aws/work-queue.ts';
import type { CliIo } from '#cli/command.ts';
import { main } from '#cli/main.ts';
import { validateConfig } from '#core/config/validate.ts';
import { QUEUES } from '#core/work/items.ts';
import { describedStack, saveEnv, stackOutputs } from '#test/support/aws-environment.ts';
import { type Moto, startMoto } from '#test/support/moto.ts';

const ENV_KEYS = [
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_ENDPOINT_URL_SQS',
] as const;

function fakeIo(): CliIo & { out: () => string; err: () => string } {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (c: Buffer) => {
    o += c.toString();
  });
  err.on('data', (c: Buffer) => {
    e += c.toString();
  });
  return {
    stdout: out,
    stderr: err,
    env: {},
    stopSignal: new AbortController().signal,
    out: () => o,
    err: () => e,
  };
}

describe('dlq list --stack', () => {
  let moto: Moto;
  let sqs: SQSClient;
  const cfn = mockClient(CloudFormationClient);
  const restoreEnv = saveEnv(ENV_KEYS);
  const urls: Record<string, string> = {};
  const stub = {
    kind: 'salesforce-stub',
    sobject: 'Opportunity',
    id: '006000000000077AAA',
    trigger: 'cdc',
    observedAt: 1,
  };

  beforeAll(async () => {
    moto = await startMoto();
    sqs = new SQSClient(moto.clientConfig);
    for (const name of ['sf', 'sf-dlq', 'd', 'd-dlq', 'bf-dlq']) {
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
      urls[name] = QueueUrl ?? '';
    }
    const config = validateConfig({
      dynamics: { environment: 'contoso.operations.dynamics.com', tenantId: 'contoso.onmicrosoft.com' },
      salesforce: { myDomain: 'https://contoso.my.salesforce.com' },
      legalEntities: ['usmf'],
    });
    const outputs = stackOutputs({
      stack: 'Prod',
      config,
      stateTable: 'Prod-StateTable-1',
      urls,
      account: '123456789012',
      region: moto.env.AWS_REGION,
    });
    cfn.on(DescribeStacksCommand, { StackName: 'Prod' }).resolves(describedStack('Prod', outputs));
    // A worker's dead letter carries its reason; a letter the redrive policy moved carries none.
    const queue = createSqsWorkQueue({
      client: sqs,
      queues: {
        [QUEUES.toSalesforce]: { url: urls.sf ?? '', dlqUrl: urls['sf-dlq'] ?? '' },
        [QUEUES.toDynamics]: { url: urls.d ?? '', dlqUrl: urls['d-dlq'] ?? '' },
      },
    });
    await queue.sendToDeadLetter(QUEUES.toDynamics, [
      {
        delivery: {
          messageId: 'm-1',
          receiptHandle: 'r-1',
          rawBody: JSON.stringify(stub),
          receiveCount: 1,
          sentAt: 1,
        },
        reason: 'Dynamics refused create SalesOrderHeadersV2: Customer US-999 does not exist',
      },
    ]);
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: urls['sf-dlq'],
        MessageBody: JSON.stringify({
          kind: 'dynamics-stub',
          entity: 'CustomersV3',
          key: { dataAreaId: 'usmf', CustomerAccount: 'US-001' },
        }),
      }),
    );
    // The CLI builds its SDK clients from the usual chain: point SQS at moto.
    Object.assign(process.env, {
      AWS_REGION: moto.env.AWS_REGION,
      AWS_ACCESS_KEY_ID: moto.env.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: moto.env.AWS_SECRET_ACCESS_KEY,
      AWS_ENDPOINT_URL_SQS: moto.endpoint,
    });
  }, 60_000);

  afterAll(async () => {
    restoreEnv();
    cfn.restore();
    sqs?.destroy();
    await moto?.close();
  });

  it("lists a deployed DLQ's letters with the reason the worker gave", async () => {
    const io = fakeIo();
    expect(await main(['dlq', 'list', '--stack', 'Prod', '--queue', 'to-dynamics', '--json'], io)).toBe(0);
    const letters = JSON.parse(io.out()) as Record<string, { reason?: string; body: unknown }[]>;
    expect(Object.keys(letters)).toEqual(['to-dynamics']);
    expect(letters['to-dynamics']).toEqual([
      expect.objectContaining({
        body: stub,
        reason: 'Dynamics refused create SalesOrderHeadersV2: Customer US-999 does not exist',
      }),
    ]);
  }, 30_000);

  it('says a letter without a reason came through the redrive policy, and leaves every letter in its DLQ', async () => {
    const io = fakeIo();
    expect(await main(['dlq', 'list', '--stack', 'Prod', '--queue', 'to-salesforce'], io)).toBe(0);
    expect(io.out()).toMatch(
      /^to-salesforce: 1 dead letter\(s\)\n.*"CustomersV3".*\(received \d+ times \(the queue's redrive policy\)\)\n$/,
    );
    // Peeked, not taken: both letters are still there for redrive.
    for (const dlq of ['sf-dlq', 'd-dlq']) {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: urls[dlq],
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      const total =
        Number(Attributes?.ApproximateNumberOfMessages) +
        Number(Attributes?.ApproximateNumberOfMessagesNotVisible);
      expect(total, dlq).toBe(1);
    }
  }, 30_000);

  it('points at redrive --stack for a deployed redrive', async () => {
    const io = fakeIo();
    expect(await main(['dlq', 'redrive', '--stack', 'Prod'], io)).toBe(2);
    expect(io.err()).toMatch(/ml-connector redrive --stack Prod/);
  });
});
