/**
 * The SQS WorkQueue against moto's SQS (test/support/moto.ts), beyond the shared contract
 * (test/support/work-queue-contract.ts): the calls it makes. A queue and its DLQ with a redrive
 * policy, as the stack creates them. Three behaviours stay on aws-sdk-client-mock, because moto
 * cannot produce them: StartMessageMoveTask (moto 5.2 does not implement it), SendMessageBatch
 * entries failed on the service's side (moto never fails them), and a sender-fault entry (moto
 * reports one only for a DelaySeconds the port already refuses before sending).
 */
import {
  GetQueueAttributesCommand as GetAttributes,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSqsWorkQueue, QueueError, type SqsWorkQueue } from '#adapters/aws/work-queue.ts';
import { ValidationError } from '#base/errors.ts';
import { type Moto, startMoto } from '#test/support/moto.ts';
import { recordSdkCalls, type SdkCall } from '#test/support/sdk-calls.ts';
import { createRedrivenQueue } from '#test/support/sqs-queues.ts';

const MAX_RECEIVE_COUNT = 3;

describe('createSqsWorkQueue on moto', () => {
  let moto: Moto;
  let client: SQSClient;
  let calls: SdkCall[];
  let url: string;
  let dlqUrl: string;
  let q: SqsWorkQueue;

  beforeAll(async () => {
    moto = await startMoto();
    client = new SQSClient(moto.clientConfig);
    calls = recordSdkCalls(client);
  }, 30_000);
  afterAll(async () => {
    client?.destroy();
    await moto?.close();
  });
  beforeEach(async () => {
    ({ url, dlqUrl } = await createRedrivenQueue(client, {
      prefix: 'q',
      maxReceiveCount: MAX_RECEIVE_COUNT,
      visibilityTimeoutSeconds: 300,
    }));
    q = createSqsWorkQueue({
      client,
      queues: { 'to-salesforce': { url, dlqUrl } },
      retryDelayMs: 1,
      waitTimeSeconds: 0,
      peekVisibilitySeconds: 0,
    });
    calls.length = 0;
  });
  const sent = (command: string) =>
    calls.filter((c) => c.command === command).map((c) => (c.input.Entries as unknown[]).length);
  const count = async (queueUrl: string) => {
    const { Attributes = {} } = await client.send(
      new GetAttributes({
        QueueUrl: queueUrl,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    return [
      Number(Attributes.ApproximateNumberOfMessages),
      Number(Attributes.ApproximateNumberOfMessagesNotVisible),
      Number(Attributes.ApproximateNumberOfMessagesDelayed),
    ];
  };

  it('sends in SendMessageBatch calls of at most 10, with a message’s delay', async () => {
    await q.send(
      'to-salesforce',
      Array.from({ length: 23 }, (_, i) => ({ body: { n: i }, ...(i === 0 ? { delaySeconds: 5 } : {}) })),
    );
    expect(sent('SendMessageBatchCommand')).toEqual([10, 10, 3]);
    expect(await count(url)).toEqual([22, 0, 1]);
  });

  it('keeps each SendMessageBatch call under 256 KiB in total', async () => {
    await q.send(
      'to-salesforce',
      Array.from({ length: 4 }, () => ({ body: 'x'.repeat(100 * 1024) })),
    );
    expect(sent('SendMessageBatchCommand')).toEqual([2, 2]);
    expect((await count(url))[0]).toBe(4);
  });

  it('refuses a body over 256 KiB before sending anything', async () => {
    await expect(
      q.send('to-salesforce', [{ body: 'ok' }, { body: 'x'.repeat(256 * 1024) }]),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(sent('SendMessageBatchCommand')).toEqual([]);
  });

  it('receives with the receive count and the parsed body', async () => {
    await q.send('to-salesforce', [{ body: { n: 1 } }]);
    const [first] = await q.receive('to-salesforce', { max: 50, visibilityTimeoutSeconds: 60 });
    expect(first).toMatchObject({ body: { n: 1 }, receiveCount: 1 });
    expect(calls.find((c) => c.command === 'ReceiveMessageCommand')?.input).toMatchObject({
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 60,
    });
    await q.release('to-salesforce', first?.receiptHandle ?? '', 0);
    const [again] = await q.receive('to-salesforce');
    expect(again).toMatchObject({ messageId: first?.messageId, body: { n: 1 }, receiveCount: 2 });
    expect(again?.sentAt).toBeGreaterThan(0);
  });

  it('acknowledges in DeleteMessageBatch calls of 10, ignoring stale handles', async () => {
    await q.send(
      'to-salesforce',
      Array.from({ length: 12 }, (_, i) => ({ body: { n: i } })),
    );
    const handles: string[] = [];
    for (let i = 0; i < 5 && handles.length < 12; i++) {
      handles.push(...(await q.receive('to-salesforce')).map((m) => m.receiptHandle));
    }
    expect(handles).toHaveLength(12);
    await q.ack('to-salesforce', [...handles, 'not-a-receipt-handle']);
    expect(sent('DeleteMessageBatchCommand')).toEqual([10, 3]);
    expect(await count(url)).toEqual([0, 0, 0]);
  });

  it('releases a message by changing its visibility', async () => {
    await q.send('to-salesforce', [{ body: 'a' }]);
    const [m] = await q.receive('to-salesforce');
    await q.release('to-salesforce', m?.receiptHandle ?? '', 30);
    expect(await count(url)).toEqual([0, 1, 0]);
    expect(await q.receive('to-salesforce')).toEqual([]);
    await q.release('to-salesforce', m?.receiptHandle ?? '', 0);
    expect(await count(url)).toEqual([1, 0, 0]);
  });

  it('dead-letters a received message to the DLQ with its reason, then deletes it', async () => {
    await q.send('to-salesforce', [{ body: { n: 1 } }]);
    const [m] = await q.receive('to-salesforce');
    await q.deadLetter('to-salesforce', m?.receiptHandle ?? '', 'REQUIRED_FIELD_MISSING: Name');
    expect(await count(url)).toEqual([0, 0, 0]);
    expect(await q.listDeadLetters('to-salesforce')).toMatchObject([
      { messageId: m?.messageId, reason: 'REQUIRED_FIELD_MISSING: Name', body: { n: 1 }, receiveCount: 1 },
    ]);
    await expect(q.deadLetter('to-salesforce', 'rh-unknown', 'x')).rejects.toBeInstanceOf(QueueError);
  });

  it('reports depth from the queue and DLQ attributes', async () => {
    await q.send('to-salesforce', [{ body: 1 }, { body: 2 }, { body: 3 }, { body: 4, delaySeconds: 60 }]);
    const [m] = await q.receive('to-salesforce', { max: 1 });
    const dlq = await q.receive('to-salesforce', { max: 1 });
    await q.deadLetter('to-salesforce', dlq[0]?.receiptHandle ?? '', 'refused');
    expect(m).toBeDefined();
    expect(await q.depth('to-salesforce')).toEqual({
      visible: 1,
      inFlight: 1,
      delayed: 1,
      deadLettered: 1,
      oldestDeadLetterAt: undefined,
    });
  });

  it('redrives selected dead letters by their source id: sends them back and deletes them from the DLQ', async () => {
    await q.send('to-salesforce', [{ body: { n: 1 } }, { body: { n: 2 } }]);
    const received = await q.receive('to-salesforce');
    for (const m of received) await q.deadLetter('to-salesforce', m.receiptHandle, 'refused');
    const two = received.find((m) => (m.body as { n: number }).n === 2);
    expect(await q.redrive('to-salesforce', [two?.messageId ?? ''])).toBe(1);
    const back = await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
    expect(back.Messages?.map((m) => m.Body)).toEqual(['{"n":2}']);
    expect((await q.depth('to-salesforce')).deadLettered).toBe(1);
  });
});

/** What moto cannot do: see the module doc. */
describe('createSqsWorkQueue where moto has no equivalent (client mock)', () => {
  // Mocking SQSClient stubs its prototype: only while this block runs, not while the moto block does.
  let sqs: AwsClientStub<SQSClient>;
  beforeAll(() => {
    sqs = mockClient(SQSClient);
  });
  const URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/to-salesforce';
  const DLQ = 'https://sqs.eu-west-1.amazonaws.com/123456789012/to-salesforce-dlq';
  const queue = () =>
    createSqsWorkQueue({
      client: new SQSClient({ region: 'eu-west-1' }),
      queues: { 'to-salesforce': { url: URL, dlqUrl: DLQ } },
      retryDelayMs: 1,
    });
  afterEach(() => sqs.reset());
  afterAll(() => sqs.restore());

  it('retries only the entries SQS failed on its side', async () => {
    let failOnce = true;
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => {
      if (failOnce) {
        failOnce = false;
        return {
          Successful: [],
          Failed: [{ Id: input.Entries[3]?.Id, Code: 'InternalError', SenderFault: false }],
        };
      }
      return { Successful: input.Entries.map((e) => ({ Id: e.Id })), Failed: [] };
    });
    await queue().send(
      'to-salesforce',
      Array.from({ length: 23 }, (_, i) => ({ body: { n: i } })),
    );
    const calls = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.Entries?.length)).toEqual([10, 1, 10, 3]);
    expect(calls[1]?.Entries?.[0]?.MessageBody).toBe('{"n":3}');
  });

  it('fails with QueueError on an entry SQS refuses as the sender’s fault', async () => {
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: '0', Code: 'InvalidMessageContents', SenderFault: true }],
    });
    await expect(queue().send('to-salesforce', [{ body: 1 }])).rejects.toBeInstanceOf(QueueError);
  });

  it('redrives the whole DLQ with StartMessageMoveTask (moto 5.2 does not implement it)', async () => {
    sqs
      .on(GetQueueAttributesCommand, { QueueUrl: DLQ, AttributeNames: ['ApproximateNumberOfMessages'] })
      .resolves({ Attributes: { ApproximateNumberOfMessages: '4' } });
    sqs.on(GetQueueAttributesCommand, { QueueUrl: DLQ, AttributeNames: ['QueueArn'] }).resolves({
      Attributes: { QueueArn: 'arn:aws:sqs:eu-west-1:123456789012:to-salesforce-dlq' },
    });
    sqs.on(GetQueueAttributesCommand, { QueueUrl: URL, AttributeNames: ['QueueArn'] }).resolves({
      Attributes: { QueueArn: 'arn:aws:sqs:eu-west-1:123456789012:to-salesforce' },
    });
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 't' });
    expect(await queue().redrive('to-salesforce')).toBe(4);
    expect(sqs.commandCalls(StartMessageMoveTaskCommand)[0]?.args[0].input).toEqual({
      SourceArn: 'arn:aws:sqs:eu-west-1:123456789012:to-salesforce-dlq',
      DestinationArn: 'arn:aws:sqs:eu-west-1:123456789012:to-salesforce',
    });
  });
});
