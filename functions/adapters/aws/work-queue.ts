/**
 * The WorkQueue port on SQS: one standard queue and its dead-letter queue per queue name (URLs
 * from the stack). The queues' redrive policy does the maxReceiveCount dead-lettering; a worker's
 * explicit dead-letter sends the body to the DLQ with a `reason` attribute, then deletes it.
 * SQS cannot read a message by receipt handle, so the adapter remembers the deliveries it handed
 * out (and those a Lambda event carried, via `adopt`) until they are settled.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-batch-api-actions.html
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { ConnectorError, ValidationError } from '#base/errors.ts';
import {
  type DeadLetter,
  encodeMessages,
  MAX_BATCH,
  MAX_MESSAGE_BYTES,
  type OutgoingMessage,
  type ReceivedMessage,
  type WorkQueue,
} from '#core/ports/work-queue.ts';

/** The URLs of one queue and its dead-letter queue. */
export interface QueueUrls {
  readonly url: string;
  readonly dlqUrl: string;
}

export interface SqsWorkQueueOptions {
  readonly client: SQSClient;
  /** Queue name (QUEUES in core/work/items.ts) → its URLs. */
  readonly queues: Readonly<Record<string, QueueUrls>>;
  /** Long-poll wait of `receive`, seconds (0..20). Default 1. */
  readonly waitTimeSeconds?: number;
  /** Default visibility time-out of `receive`, seconds. Default 300. */
  readonly visibilityTimeoutSeconds?: number;
  /** How long `listDeadLetters` hides what it peeks at, seconds. Default 2. */
  readonly peekVisibilitySeconds?: number;
  /** Tries per batch while SQS reports failed entries that are not the sender's fault. Default 4. */
  readonly maxAttempts?: number;
  /** First back-off between those tries, ms (doubles). Default 100. */
  readonly retryDelayMs?: number;
}

/** One delivery as SQS gave it (raw body), so it can be dead-lettered by receipt handle. */
export interface Delivery {
  readonly messageId: string;
  readonly receiptHandle: string;
  /** The body exactly as received. */
  readonly rawBody: string;
  readonly receiveCount: number;
  readonly sentAt: number;
}

/** A dead letter to send: a delivery and why. */
export interface DeadLetterEntry {
  readonly delivery: Delivery;
  readonly reason: string;
}

export interface SqsWorkQueue extends WorkQueue {
  /** Remembers deliveries made outside `receive` (a Lambda's SQS event) so `deadLetter` can find them. */
  adopt(queue: string, deliveries: readonly Delivery[]): void;
  /** Forgets adopted deliveries once their batch is settled (Lambda deletes the done ones itself). */
  forget(queue: string, receiptHandles: readonly string[]): void;
  /** Sends deliveries to the queue's DLQ with their reasons, without deleting them (Lambda deletes). */
  sendToDeadLetter(queue: string, entries: readonly DeadLetterEntry[]): Promise<void>;
}

/** SQS refused or kept failing a call the adapter could not complete. */
export class QueueError extends ConnectorError {
  override name = 'QueueError';
  readonly queue: string;
  readonly operation: string;

  constructor(queue: string, operation: string, message: string, options?: ErrorOptions) {
    super(`${operation} on ${queue}: ${message}`, { ...options, code: 'QUEUE_ERROR' });
    this.queue = queue;
    this.operation = operation;
  }
}

/** Message attributes the adapter puts on a dead letter. */
export const DEAD_LETTER_ATTRIBUTES = {
  reason: 'reason',
  sourceMessageId: 'sourceMessageId',
  receiveCount: 'receiveCount',
  sentAt: 'sentAt',
} as const;

const MAX_REASON = 1000;

const attr = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });
const num = (value: number): MessageAttributeValue => ({ DataType: 'Number', StringValue: String(value) });

function parseBody(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    // Not ours (someone sent raw text): hand it over as is; the worker dead-letters what it cannot read.
    return raw;
  }
}

/** Maps an SQS message to a delivery. */
export function toDelivery(message: Message): Delivery {
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    rawBody: message.Body ?? '',
    receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1),
    sentAt: Number(message.Attributes?.SentTimestamp ?? 0),
  };
}

/** Creates the SQS WorkQueue. The client is the caller's. */
export function createSqsWorkQueue(options: SqsWorkQueueOptions): SqsWorkQueue {
  const { client } = options;
  const waitTimeSeconds = options.waitTimeSeconds ?? 1;
  const defaultVisibility = options.visibilityTimeoutSeconds ?? 300;
  const maxAttempts = options.maxAttempts ?? 4;
  const retryDelayMs = options.retryDelayMs ?? 100;
  const delivered = new Map<string, Map<string, Delivery>>();
  const arns = new Map<string, Promise<string>>();

  const urls = (queue: string): QueueUrls => {
    const found = options.queues[queue];
    if (!found) throw new ValidationError(`unknown queue ${queue}`, { field: 'queue' });
    return found;
  };
  const remembered = (queue: string) => {
    const map = delivered.get(queue) ?? new Map<string, Delivery>();
    delivered.set(queue, map);
    return map;
  };
  const arnOf = (url: string) => {
    let arn = arns.get(url);
    if (!arn) {
      arn = client
        .send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))
        .then((r) => r.Attributes?.QueueArn ?? '');
      arns.set(url, arn);
    }
    return arn;
  };

  /** Sends entries in one batch call, retrying entries SQS failed on its side; throws on sender faults. */
  async function sendBatch(queue: string, url: string, entries: SendMessageBatchRequestEntry[]) {
    let pending = entries;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const result = await client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: pending }));
      const failed = result.Failed ?? [];
      const fatal = failed.find((f) => f.SenderFault);
      if (fatal) throw new QueueError(queue, 'SendMessageBatch', `${fatal.Code}: ${fatal.Message ?? ''}`);
      if (failed.length > 0 && attempt >= maxAttempts) {
        throw new QueueError(
          queue,
          'SendMessageBatch',
          `${failed.length} entries failed after ${attempt} tries`,
        );
      }
      const ids = new Set(failed.map((f) => f.Id));
      pending = pending.filter((e) => ids.has(e.Id));
      if (pending.length > 0) await sleep(retryDelayMs * 2 ** (attempt - 1));
    }
  }

  /** Packs entries into calls of at most 10 entries and 256 KiB in total. */
  async function sendAll(queue: string, url: string, entries: SendMessageBatchRequestEntry[]) {
    let batch: SendMessageBatchRequestEntry[] = [];
    let bytes = 0;
    for (const entry of entries) {
      const size = Buffer.byteLength(entry.MessageBody ?? '');
      if (batch.length === MAX_BATCH || (batch.length > 0 && bytes + size > MAX_MESSAGE_BYTES)) {
        await sendBatch(queue, url, batch);
        batch = [];
        bytes = 0;
      }
      batch.push({ ...entry, Id: String(batch.length) });
      bytes += size;
    }
    if (batch.length > 0) await sendBatch(queue, url, batch);
  }

  async function sendToDeadLetter(queue: string, entries: readonly DeadLetterEntry[]) {
    await sendAll(
      queue,
      urls(queue).dlqUrl,
      entries.map(({ delivery, reason }) => ({
        Id: '',
        MessageBody: delivery.rawBody,
        MessageAttributes: {
          [DEAD_LETTER_ATTRIBUTES.reason]: attr(reason.slice(0, MAX_REASON) || 'unspecified'),
          [DEAD_LETTER_ATTRIBUTES.sourceMessageId]: attr(delivery.messageId || 'unknown'),
          [DEAD_LETTER_ATTRIBUTES.receiveCount]: num(delivery.receiveCount),
          [DEAD_LETTER_ATTRIBUTES.sentAt]: num(delivery.sentAt),
        },
      })),
    );
  }

  async function deleteBatch(queue: string, url: string, handles: readonly string[]) {
    for (let i = 0; i < handles.length; i += MAX_BATCH) {
      let pending = handles
        .slice(i, i + MAX_BATCH)
        .map((ReceiptHandle, n) => ({ Id: String(n), ReceiptHandle }));
      for (let attempt = 1; pending.length > 0 && attempt <= maxAttempts; attempt++) {
        if (attempt > 1) await sleep(retryDelayMs * 2 ** (attempt - 2));
        const result = await client.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: pending }));
        // Stale or unknown handles are the sender's fault and ignored (the port's contract).
        const retry = new Set((result.Failed ?? []).filter((f) => !f.SenderFault).map((f) => f.Id));
        pending = pending.filter((e) => retry.has(e.Id));
      }
      if (pending.length > 0)
        throw new QueueError(queue, 'DeleteMessageBatch', `${pending.length} entries failed`);
    }
  }

  const receiveRaw = async (url: string, max: number, visibility: number, wait: number) =>
    (
      await client.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: Math.min(Math.max(max, 1), MAX_BATCH),
          VisibilityTimeout: visibility,
          WaitTimeSeconds: wait,
          MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
          MessageAttributeNames: ['All'],
        }),
      )
    ).Messages ?? [];

  return {
    async send(queue, messages: readonly OutgoingMessage[]) {
      const { url } = urls(queue);
      const entries = encodeMessages(queue, messages).map(
        (m): SendMessageBatchRequestEntry => ({
          Id: '',
          MessageBody: m.body,
          ...(m.delaySeconds > 0 ? { DelaySeconds: m.delaySeconds } : {}),
        }),
      );
      await sendAll(queue, url, entries);
    },

    async receive<T>(queue: string, opts: { max?: number; visibilityTimeoutSeconds?: number } = {}) {
      const messages = await receiveRaw(
        urls(queue).url,
        opts.max ?? MAX_BATCH,
        opts.visibilityTimeoutSeconds ?? defaultVisibility,
        waitTimeSeconds,
      );
      const map = remembered(queue);
      return messages.map((m): ReceivedMessage<T> => {
        const d = toDelivery(m);
        map.set(d.receiptHandle, d);
        return {
          messageId: d.messageId,
          receiptHandle: d.receiptHandle,
          body: parseBody(d.rawBody) as T,
          receiveCount: d.receiveCount,
          sentAt: d.sentAt,
        };
      });
    },

    adopt(queue, deliveries) {
      const map = remembered(queue);
      for (const d of deliveries) map.set(d.receiptHandle, d);
    },

    forget(queue, receiptHandles) {
      for (const h of receiptHandles) delivered.get(queue)?.delete(h);
    },

    async ack(queue, receiptHandles) {
      await deleteBatch(queue, urls(queue).url, receiptHandles);
      for (const h of receiptHandles) delivered.get(queue)?.delete(h);
    },

    async release(queue, receiptHandle, delaySeconds = 0) {
      try {
        await client.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: urls(queue).url,
            ReceiptHandle: receiptHandle,
            VisibilityTimeout: Math.min(Math.max(Math.ceil(delaySeconds), 0), 43_200),
          }),
        );
      } catch (error) {
        const name = (error as { name?: string }).name ?? '';
        // The message is already back (time-out passed) or gone: nothing to release.
        if (!/ReceiptHandleIsInvalid|MessageNotInflight|InvalidParameterValue/.test(name)) throw error;
      }
      delivered.get(queue)?.delete(receiptHandle);
    },

    async deadLetter(queue, receiptHandle, reason) {
      const delivery = delivered.get(queue)?.get(receiptHandle);
      if (!delivery) {
        throw new QueueError(
          queue,
          'deadLetter',
          'unknown receipt handle (not received through this adapter)',
        );
      }
      await sendToDeadLetter(queue, [{ delivery, reason }]);
      await client.send(
        new DeleteMessageCommand({ QueueUrl: urls(queue).url, ReceiptHandle: receiptHandle }),
      );
      delivered.get(queue)?.delete(receiptHandle);
    },

    sendToDeadLetter,

    async depth(queue) {
      const { url, dlqUrl } = urls(queue);
      const [main, dead] = await Promise.all(
        [url, dlqUrl].map(async (QueueUrl) => {
          const r = await client.send(
            new GetQueueAttributesCommand({
              QueueUrl,
              AttributeNames: [
                'ApproximateNumberOfMessages',
                'ApproximateNumberOfMessagesNotVisible',
                'ApproximateNumberOfMessagesDelayed',
              ],
            }),
          );
          return r.Attributes ?? {};
        }),
      );
      return {
        visible: Number(main?.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(main?.ApproximateNumberOfMessagesNotVisible ?? 0),
        delayed: Number(main?.ApproximateNumberOfMessagesDelayed ?? 0),
        deadLettered: Number(dead?.ApproximateNumberOfMessages ?? 0),
        // SQS has no such attribute; CloudWatch's ApproximateAgeOfOldestMessage on the DLQ has it.
        oldestDeadLetterAt: undefined,
      };
    },

    async listDeadLetters<T>(queue: string, opts: { limit?: number } = {}) {
      const limit = Math.min(Math.max(opts.limit ?? 100, 1), 1000);
      const seen = new Map<string, DeadLetter<T>>();
      // Peek: a short visibility, never deleted, so the letters stay for redrive.
      while (seen.size < limit) {
        const batch = await receiveRaw(
          urls(queue).dlqUrl,
          limit - seen.size,
          options.peekVisibilitySeconds ?? 2,
          0,
        );
        const fresh = batch.filter((m) => !seen.has(m.MessageId ?? ''));
        if (fresh.length === 0) break;
        for (const m of fresh) {
          const a = m.MessageAttributes ?? {};
          const sentAt = Number(
            a[DEAD_LETTER_ATTRIBUTES.sentAt]?.StringValue ?? m.Attributes?.SentTimestamp ?? 0,
          );
          seen.set(m.MessageId ?? '', {
            messageId: a[DEAD_LETTER_ATTRIBUTES.sourceMessageId]?.StringValue ?? m.MessageId ?? '',
            reason: a[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue,
            body: parseBody(m.Body ?? '') as T,
            receiveCount: Number(
              a[DEAD_LETTER_ATTRIBUTES.receiveCount]?.StringValue ??
                m.Attributes?.ApproximateReceiveCount ??
                0,
            ),
            sentAt,
            deadLetteredAt: Number(m.Attributes?.SentTimestamp ?? sentAt),
          });
        }
      }
      return [...seen.values()];
    },

    async redrive(queue, messageIds) {
      const { url, dlqUrl } = urls(queue);
      if (messageIds === undefined) {
        const before = await client.send(
          new GetQueueAttributesCommand({
            QueueUrl: dlqUrl,
            AttributeNames: ['ApproximateNumberOfMessages'],
          }),
        );
        const [SourceArn, DestinationArn] = await Promise.all([arnOf(dlqUrl), arnOf(url)]);
        await client.send(new StartMessageMoveTaskCommand({ SourceArn, DestinationArn }));
        return Number(before.Attributes?.ApproximateNumberOfMessages ?? 0);
      }
      // Selected letters: find them in the DLQ, send their bodies back, delete them there.
      const wanted = new Set(messageIds);
      let moved = 0;
      for (let pass = 0; pass < 100 && wanted.size > 0; pass++) {
        const batch = await receiveRaw(dlqUrl, MAX_BATCH, options.peekVisibilitySeconds ?? 2, 0);
        if (batch.length === 0) break;
        const hits = batch.filter((m) => {
          const source = m.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.sourceMessageId]?.StringValue;
          return wanted.has(m.MessageId ?? '') || (source !== undefined && wanted.has(source));
        });
        if (hits.length === 0) continue;
        await sendAll(
          queue,
          url,
          hits.map((m) => ({ Id: '', MessageBody: m.Body ?? '' })),
        );
        await deleteBatch(
          queue,
          dlqUrl,
          hits.map((m) => m.ReceiptHandle ?? ''),
        );
        for (const m of hits) {
          wanted.delete(m.MessageId ?? '');
          wanted.delete(m.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.sourceMessageId]?.StringValue ?? '');
        }
        moved += hits.length;
      }
      return moved;
    },

    async close() {
      delivered.clear();
    },
  };
}
