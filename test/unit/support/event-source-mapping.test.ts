/**
 * The event source mapping harness (test/support/event-source-mapping.ts) against moto's SQS:
 * it must delete and keep records as Lambda does, or the AWS-shape suites prove nothing.
 */
import { GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventSourceMapping } from '#test/support/aws-template.ts';
import { createEventSourcePoller, type EventSourcePoller } from '#test/support/event-source-mapping.ts';
import { type Moto, startMoto } from '#test/support/moto.ts';
import { createRedrivenQueue } from '#test/support/sqs-queues.ts';
import { until } from '#test/support/wait.ts';

let moto: Moto;
let sqs: SQSClient;
beforeAll(async () => {
  moto = await startMoto();
  sqs = new SQSClient(moto.clientConfig);
}, 30_000);
afterAll(async () => {
  sqs?.destroy();
  await moto?.close();
});

async function queue(count: number, maxReceiveCount = 5) {
  const { url, dlqUrl: dlq } = await createRedrivenQueue(sqs, {
    prefix: 'esm',
    maxReceiveCount,
    visibilityTimeoutSeconds: 600,
  });
  const arn = String(
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] })))
      .Attributes?.QueueArn,
  );
  for (let i = 0; i < count; i += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: Array.from({ length: Math.min(10, count - i) }, (_, n) => ({
          Id: String(n),
          MessageBody: JSON.stringify({ n: i + n }),
        })),
      }),
    );
  }
  return { url, arn, dlq };
}

async function depth(url: string) {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible)
  );
}

function poller(
  q: { url: string; arn: string },
  mapping: Partial<EventSourceMapping>,
  invoke: (event: SQSEvent) => Promise<SQSBatchResponse | undefined>,
  onVisibilityTimeout?: (s: number) => void,
): EventSourcePoller {
  return createEventSourcePoller({
    mapping: {
      logicalId: 'Mapping',
      functionLogicalId: 'Fn',
      queueUrl: q.url,
      queueArn: q.arn,
      batchSize: 10,
      maximumBatchingWindowSeconds: 0,
      reportBatchItemFailures: true,
      maximumConcurrency: 2,
      ...mapping,
    },
    visibilityTimeoutSeconds: 600,
    functionName: 'Fn',
    functionTimeoutSeconds: 30,
    sqs,
    invoke,
    ...(onVisibilityTimeout ? { onVisibilityTimeout } : {}),
  });
}

describe('createEventSourcePoller', () => {
  it('gathers up to BatchSize records within the batching window and deletes a successful batch', async () => {
    const q = await queue(25);
    const sizes: number[] = [];
    const p = poller(
      q,
      { batchSize: 25, maximumBatchingWindowSeconds: 1, maximumConcurrency: 1 },
      async (e) => {
        sizes.push(e.Records.length);
        expect(e.Records[0]).toMatchObject({ eventSource: 'aws:sqs', eventSourceARN: q.arn });
        return { batchItemFailures: [] };
      },
    );
    p.start();
    await until(
      'the batch',
      async () => (await depth(q.url)) === 0 && sizes.reduce((a, b) => a + b, 0) === 25,
      20_000,
    );
    await p.stop();
    expect(Math.max(...sizes)).toBeLessThanOrEqual(25);
    expect(sizes.length).toBeLessThan(25);
  }, 30_000);

  it('deletes all but the reported batch item failures', async () => {
    const q = await queue(4);
    const p = poller(q, { maximumConcurrency: 1 }, async (e) => {
      const failed = e.Records.find((r) => r.body === '{"n":2}');
      return { batchItemFailures: failed ? [{ itemIdentifier: failed.messageId }] : [] };
    });
    p.start();
    await until(
      'every record delivered',
      () => p.invocations.reduce((n, i) => n + i.records, 0) >= 4,
      20_000,
    );
    await p.stop();
    // The failed record waits out its visibility time-out; the others are gone.
    expect(p.invocations.reduce((n, i) => n + i.batchItemFailures, 0)).toBe(1);
    expect(await depth(q.url)).toBe(1);
  }, 30_000);

  it('keeps the whole batch when a reported identifier is not in it, and when the function throws', async () => {
    const bad = await queue(3);
    const p1 = poller(bad, { maximumConcurrency: 1 }, async () => ({
      batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }],
    }));
    p1.start();
    await until('an invocation', () => p1.invocations.length > 0, 20_000);
    await p1.stop();
    expect(await depth(bad.url)).toBe(3);

    const thrown = await queue(3);
    const waited: number[] = [];
    let calls = 0;
    const p2 = poller(
      thrown,
      { maximumConcurrency: 1 },
      async () => {
        calls++;
        if (calls === 1) throw new Error('function error');
        return { batchItemFailures: [] };
      },
      (s) => waited.push(s),
    );
    p2.start();
    await until('the retried batch', async () => (await depth(thrown.url)) === 0, 20_000);
    await p2.stop();
    expect(p2.invocations.map((i) => i.failed)).toEqual([true, false]);
    expect(waited).toEqual([600]);
  }, 30_000);

  it('lets the redrive policy park a record after maxReceiveCount failed invocations', async () => {
    const q = await queue(1, 2);
    const p = poller(q, { maximumConcurrency: 1 }, async () => {
      throw new Error('function error');
    });
    p.start();
    await until('the record in the DLQ', async () => (await depth(q.dlq)) === 1, 20_000);
    await p.stop();
    expect(p.invocations.filter((i) => i.failed)).toHaveLength(2);
    expect(await depth(q.url)).toBe(0);
  }, 30_000);
});
