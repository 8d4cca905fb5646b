import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqsWorkQueue, QueueError } from '#adapters/aws/work-queue.ts';
import { ValidationError } from '#core/errors.ts';

const sqs = mockClient(SQSClient);
const URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/to-salesforce';
const DLQ = 'https://sqs.eu-west-1.amazonaws.com/123456789012/to-salesforce-dlq';
const queue = () =>
  createSqsWorkQueue({
    client: new SQSClient({ region: 'eu-west-1' }),
    queues: { 'to-salesforce': { url: URL, dlqUrl: DLQ } },
    retryDelayMs: 1,
  });

/** An SQS message as ReceiveMessage returns it. */
function sqsMessage(n: number, body: unknown = { n }, attributes: Record<string, string> = {}) {
  return {
    MessageId: `m-${n}`,
    ReceiptHandle: `rh-${n}`,
    Body: JSON.stringify(body),
    Attributes: { ApproximateReceiveCount: '2', SentTimestamp: '1764158400000', ...attributes },
  };
}

afterEach(() => sqs.reset());

describe('createSqsWorkQueue', () => {
  it('sends in SendMessageBatch calls of at most 10 and retries only the entries SQS failed', async () => {
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
      Array.from({ length: 23 }, (_, i) => ({ body: { n: i }, ...(i === 0 ? { delaySeconds: 5 } : {}) })),
    );
    const calls = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.Entries?.length)).toEqual([10, 1, 10, 3]);
    expect(calls.every((c) => c.QueueUrl === URL)).toBe(true);
    expect(calls[1]?.Entries?.[0]?.MessageBody).toBe('{"n":3}');
    expect(calls[0]?.Entries?.[0]?.DelaySeconds).toBe(5);
  });

  it('keeps each SendMessageBatch call under 256 KiB in total', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    await queue().send(
      'to-salesforce',
      Array.from({ length: 4 }, () => ({ body: 'x'.repeat(100 * 1024) })),
    );
    expect(sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries?.length)).toEqual([
      2, 2,
    ]);
  });

  it('refuses a body over 256 KiB before sending anything', async () => {
    await expect(
      queue().send('to-salesforce', [{ body: 'ok' }, { body: 'x'.repeat(256 * 1024) }]),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('fails with QueueError on an entry SQS refuses as the sender’s fault', async () => {
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: '0', Code: 'InvalidMessageContents', SenderFault: true }],
    });
    await expect(queue().send('to-salesforce', [{ body: 1 }])).rejects.toBeInstanceOf(QueueError);
  });

  it('receives with the receive count and maps the messages', async () => {
    sqs.on(ReceiveMessageCommand).resolves({ Messages: [sqsMessage(1), sqsMessage(2)] });
    const got = await queue().receive('to-salesforce', { max: 50, visibilityTimeoutSeconds: 60 });
    expect(got).toEqual([
      { messageId: 'm-1', receiptHandle: 'rh-1', body: { n: 1 }, receiveCount: 2, sentAt: 1764158400000 },
      { messageId: 'm-2', receiptHandle: 'rh-2', body: { n: 2 }, receiveCount: 2, sentAt: 1764158400000 },
    ]);
    expect(sqs.commandCalls(ReceiveMessageCommand)[0]?.args[0].input).toMatchObject({
      QueueUrl: URL,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 60,
      MessageSystemAttributeNames: expect.arrayContaining(['ApproximateReceiveCount']),
    });
  });

  it('acknowledges in DeleteMessageBatch calls of 10, ignoring stale handles', async () => {
    sqs.on(DeleteMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: '0', Code: 'ReceiptHandleIsInvalid', SenderFault: true }],
    });
    await queue().ack(
      'to-salesforce',
      Array.from({ length: 12 }, (_, i) => `rh-${i}`),
    );
    expect(sqs.commandCalls(DeleteMessageBatchCommand).map((c) => c.args[0].input.Entries?.length)).toEqual([
      10, 2,
    ]);
  });

  it('releases a message by changing its visibility', async () => {
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    await queue().release('to-salesforce', 'rh-1', 30);
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0].input).toEqual({
      QueueUrl: URL,
      ReceiptHandle: 'rh-1',
      VisibilityTimeout: 30,
    });
  });

  it('dead-letters a received message to the DLQ with its reason, then deletes it', async () => {
    sqs.on(ReceiveMessageCommand).resolves({ Messages: [sqsMessage(1)] });
    sqs
      .on(SendMessageBatchCommand)
      .resolves({ Successful: [{ Id: '0', MessageId: 'x', MD5OfMessageBody: 'x' }], Failed: [] });
    sqs.on(DeleteMessageCommand).resolves({});
    const q = queue();
    await q.receive('to-salesforce');
    await q.deadLetter('to-salesforce', 'rh-1', 'REQUIRED_FIELD_MISSING: Name');
    const sent = sqs.commandCalls(SendMessageBatchCommand)[0]?.args[0].input;
    expect(sent?.QueueUrl).toBe(DLQ);
    expect(sent?.Entries?.[0]).toMatchObject({
      MessageBody: '{"n":1}',
      MessageAttributes: {
        reason: { DataType: 'String', StringValue: 'REQUIRED_FIELD_MISSING: Name' },
        sourceMessageId: { StringValue: 'm-1' },
      },
    });
    expect(sqs.commandCalls(DeleteMessageCommand)[0]?.args[0].input).toEqual({
      QueueUrl: URL,
      ReceiptHandle: 'rh-1',
    });
    await expect(q.deadLetter('to-salesforce', 'rh-unknown', 'x')).rejects.toBeInstanceOf(QueueError);
  });

  it('reports depth from the queue and DLQ attributes', async () => {
    sqs.on(GetQueueAttributesCommand, { QueueUrl: URL }).resolves({
      Attributes: {
        ApproximateNumberOfMessages: '7',
        ApproximateNumberOfMessagesNotVisible: '3',
        ApproximateNumberOfMessagesDelayed: '1',
      },
    });
    sqs
      .on(GetQueueAttributesCommand, { QueueUrl: DLQ })
      .resolves({ Attributes: { ApproximateNumberOfMessages: '2' } });
    expect(await queue().depth('to-salesforce')).toEqual({
      visible: 7,
      inFlight: 3,
      delayed: 1,
      deadLettered: 2,
      oldestDeadLetterAt: undefined,
    });
  });

  it('lists dead letters with their reasons without deleting them', async () => {
    const letter = {
      ...sqsMessage(9, { kind: 'dynamics-stub' }),
      MessageAttributes: {
        reason: { DataType: 'String', StringValue: 'refused' },
        sourceMessageId: { DataType: 'String', StringValue: 'm-original' },
        receiveCount: { DataType: 'Number', StringValue: '5' },
      },
    };
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [letter] })
      .resolves({ Messages: [] });
    const dead = await queue().listDeadLetters('to-salesforce');
    expect(dead).toMatchObject([
      { messageId: 'm-original', reason: 'refused', receiveCount: 5, body: { kind: 'dynamics-stub' } },
    ]);
    expect(sqs.commandCalls(ReceiveMessageCommand)[0]?.args[0].input).toMatchObject({
      QueueUrl: DLQ,
      VisibilityTimeout: 2,
    });
    expect(sqs.commandCalls(DeleteMessageBatchCommand)).toHaveLength(0);
  });

  it('redrives the whole DLQ with StartMessageMoveTask', async () => {
    sqs
      .on(GetQueueAttributesCommand, { QueueUrl: DLQ, AttributeNames: ['ApproximateNumberOfMessages'] })
      .resolves({
        Attributes: { ApproximateNumberOfMessages: '4' },
      });
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

  it('redrives selected dead letters by id: sends them back and deletes them from the DLQ', async () => {
    const letter = (n: number) => ({
      ...sqsMessage(n),
      MessageAttributes: { sourceMessageId: { DataType: 'String', StringValue: `src-${n}` } },
    });
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [letter(1), letter(2)] })
      .resolves({ Messages: [] });
    sqs
      .on(SendMessageBatchCommand)
      .resolves({ Successful: [{ Id: '0', MessageId: 'x', MD5OfMessageBody: 'x' }], Failed: [] });
    sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: '0' }], Failed: [] });
    expect(await queue().redrive('to-salesforce', ['src-2'])).toBe(1);
    expect(sqs.commandCalls(SendMessageBatchCommand)[0]?.args[0].input).toMatchObject({
      QueueUrl: URL,
      Entries: [{ MessageBody: '{"n":2}' }],
    });
    expect(sqs.commandCalls(DeleteMessageBatchCommand)[0]?.args[0].input).toMatchObject({
      QueueUrl: DLQ,
      Entries: [{ ReceiptHandle: 'rh-2' }],
    });
  });
});
