/**
 * An SQS event source mapping as Lambda runs one, polling moto: up to `MaximumConcurrency`
 * pollers long-poll the queue (the queue's own visibility time-out applies), gather up to
 * `BatchSize` records within `MaximumBatchingWindowInSeconds` (with no window, one receive of up
 * to 10), invoke the function with an SQS event, then:
 * - the function succeeded without `ReportBatchItemFailures`: every record is deleted;
 * - with it: every record but the reported `batchItemFailures` is deleted; an identifier that is
 *   not in the batch (or empty) fails the whole batch, as Lambda does;
 * - the function threw (or crashed): nothing is deleted; the records come back when the queue's
 *   visibility time-out ends.
 * maxReceiveCount → DLQ is the queue's redrive policy, which moto applies on receive.
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
 *
 * Waiting out a visibility time-out of 18-30 minutes would not fit a test, so a failed invocation
 * reports `onVisibilityTimeout(seconds)` (the harness advances its clock by as much) and makes the
 * batch visible again at once: the time-out compressed, not skipped over.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { EventSourceMapping } from './aws-template.ts';
import { MOTO_AWS } from './moto.ts';

export interface EventSourcePollerOptions {
  readonly mapping: EventSourceMapping;
  readonly visibilityTimeoutSeconds: number;
  readonly functionName: string;
  readonly functionTimeoutSeconds: number;
  readonly sqs: SQSClient;
  readonly invoke: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined | null>;
  /** A failed invocation's batch waits this long before it is visible again (see the module doc). */
  readonly onVisibilityTimeout?: (seconds: number) => void;
}

export interface InvocationRecord {
  readonly records: number;
  readonly failed: boolean;
  readonly batchItemFailures: number;
}

export interface EventSourcePoller {
  readonly invocations: readonly InvocationRecord[];
  start(): void;
  /** Stops polling and waits for the invocations in flight. */
  stop(): Promise<void>;
  /** True when no invocation runs and the queue holds nothing visible, in flight or delayed. */
  idle(): Promise<boolean>;
  /** What the queue holds now, and whether an invocation runs. */
  state(): Promise<{ visible: number; inFlight: number; delayed: number; busy: boolean }>;
  /**
   * Time compressed: the records reported as batch item failures (each put back by the worker
   * with a back-off of at most 900 s) are made visible now.
   */
  elapse(): Promise<number>;
}

function toRecord(m: Message, mapping: EventSourceMapping): SQSRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? '0',
      SenderId: a.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? '0',
    },
    messageAttributes: Object.fromEntries(
      Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [
        k,
        {
          dataType: v.DataType ?? 'String',
          ...(v.StringValue === undefined ? {} : { stringValue: v.StringValue }),
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: mapping.queueArn,
    awsRegion: MOTO_AWS.region,
  };
}

function context(functionName: string, timeoutSeconds: number): Context {
  const deadline = Date.now() + timeoutSeconds * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${MOTO_AWS.region}:123456789012:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'moto',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

export function createEventSourcePoller(options: EventSourcePollerOptions): EventSourcePoller {
  const { mapping, sqs } = options;
  const QueueUrl = mapping.queueUrl;
  const invocations: InvocationRecord[] = [];
  let running = false;
  let busy = 0;
  let loops: Promise<void>[] = [];
  /** Records reported failed, by message id → their latest receipt handle. */
  const failed = new Map<string, string>();

  const receive = async (max: number, wait: number) =>
    (
      await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl,
          MaxNumberOfMessages: Math.min(10, max),
          WaitTimeSeconds: wait,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      )
    ).Messages ?? [];

  /** One batch: up to BatchSize records gathered within the batching window. */
  async function gather(): Promise<Message[]> {
    const batch: Message[] = [];
    const window = mapping.maximumBatchingWindowSeconds * 1000;
    let closesAt = Number.POSITIVE_INFINITY;
    // Bounded: the window (≤ 300 s by Lambda's limits) or one receive.
    while (running && batch.length < mapping.batchSize) {
      const got = await receive(mapping.batchSize - batch.length, batch.length === 0 ? 1 : 0);
      if (batch.length === 0 && got.length === 0) return [];
      batch.push(...got);
      if (closesAt === Number.POSITIVE_INFINITY) closesAt = Date.now() + window;
      if (window === 0 || Date.now() >= closesAt) break;
      if (got.length === 0) await sleep(Math.min(250, Math.max(0, closesAt - Date.now())));
    }
    return batch;
  }

  async function settle(batch: Message[], response: SQSBatchResponse | undefined | null) {
    const ids = new Set(batch.map((m) => m.MessageId));
    let keep = new Set<string>();
    if (mapping.reportBatchItemFailures && response?.batchItemFailures) {
      const reported = response.batchItemFailures.map((f) => f.itemIdentifier);
      // An identifier Lambda cannot match fails the whole batch.
      keep = reported.every((id) => id && ids.has(id)) ? new Set(reported) : new Set(ids as Set<string>);
    }
    const done = batch.filter((m) => !keep.has(m.MessageId ?? ''));
    for (const m of batch) {
      if (keep.has(m.MessageId ?? '')) failed.set(m.MessageId ?? '', m.ReceiptHandle ?? '');
      else failed.delete(m.MessageId ?? '');
    }
    for (let i = 0; i < done.length; i += 10) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl,
          Entries: done.slice(i, i + 10).map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
    return keep.size;
  }

  async function expire(batch: Message[]) {
    options.onVisibilityTimeout?.(options.visibilityTimeoutSeconds);
    for (let i = 0; i < batch.length; i += 10) {
      await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl,
          Entries: batch
            .slice(i, i + 10)
            .map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
        }),
      );
    }
  }

  async function loop() {
    while (running) {
      const batch = await gather().catch(async () => {
        // The emulator is gone or refused: back off instead of spinning (stop() ends the loop).
        await sleep(500);
        return [] as Message[];
      });
      if (batch.length === 0) continue;
      busy++;
      try {
        const event: SQSEvent = { Records: batch.map((m) => toRecord(m, mapping)) };
        let response: SQSBatchResponse | undefined | null;
        try {
          response = await options.invoke(
            event,
            context(options.functionName, options.functionTimeoutSeconds),
          );
        } catch {
          invocations.push({ records: batch.length, failed: true, batchItemFailures: 0 });
          await expire(batch);
          continue;
        }
        const failures = await settle(batch, response);
        invocations.push({ records: batch.length, failed: false, batchItemFailures: failures });
      } finally {
        busy--;
      }
    }
  }

  return {
    invocations,
    start() {
      if (running) return;
      running = true;
      const slots = Math.max(1, mapping.maximumConcurrency ?? 2);
      loops = Array.from({ length: slots }, () => loop());
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      loops = [];
    },
    async idle() {
      const now = await this.state();
      return !now.busy && now.visible + now.inFlight + now.delayed === 0;
    },
    async state() {
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      );
      return {
        visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
        delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
        busy: busy > 0,
      };
    },
    async elapse() {
      const handles = [...failed.values()];
      failed.clear();
      for (const ReceiptHandle of handles) {
        // A stale handle (received again, or deleted since) is fine: nothing to make visible.
        await sqs
          .send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle, VisibilityTimeout: 0 }))
          .catch(() => undefined);
      }
      return handles.length;
    },
  };
}
