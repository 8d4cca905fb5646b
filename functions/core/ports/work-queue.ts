/**
 * The WorkQueue port: durable at-least-once queues with a visibility time-out, a maximum receive
 * count and a dead-letter queue per queue. Shaped after SQS so its adapter is thin: at most 10
 * messages per send or receive call (adapters chunk larger sends), bodies of at most 256 KiB, a
 * receipt handle per delivery, and messages that reappear when not acknowledged in time.
 */

import { ValidationError } from '#base/errors.ts';

/** SQS's limit on a message body. https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html */
export const MAX_MESSAGE_BYTES = 256 * 1024;
/** SQS's limit on messages per SendMessageBatch / ReceiveMessage call. */
export const MAX_BATCH = 10;

export interface OutgoingMessage {
  /** JSON-serialisable work item (a stub, never a full record: keep it small). */
  readonly body: unknown;
  /** Seconds before the message becomes visible (SQS DelaySeconds, ≤ 900). */
  readonly delaySeconds?: number;
}

/** A message checked against SQS's limits and serialised, as every adapter sends it. */
export interface EncodedMessage {
  readonly body: string;
  readonly delaySeconds: number;
}

/**
 * Serialises and checks a send before anything is sent: a JSON body of at most 256 KiB and a
 * delay of 0..900 seconds, or a ValidationError naming the message (so one bad message sends nothing).
 */
export function encodeMessages(queue: string, messages: readonly OutgoingMessage[]): EncodedMessage[] {
  return messages.map((m, i) => {
    const body = JSON.stringify(m.body);
    if (body === undefined) throw new ValidationError(`message ${i} for ${queue} has no JSON body`);
    const bytes = Buffer.byteLength(body);
    if (bytes > MAX_MESSAGE_BYTES) {
      throw new ValidationError(
        `message ${i} for ${queue} is ${bytes} bytes; the limit is ${MAX_MESSAGE_BYTES}`,
      );
    }
    const delaySeconds = m.delaySeconds ?? 0;
    if (!(Number.isInteger(delaySeconds) && delaySeconds >= 0 && delaySeconds <= 900)) {
      throw new ValidationError(`message ${i} for ${queue}: delaySeconds must be an integer 0..900`);
    }
    return { body, delaySeconds };
  });
}

export interface ReceivedMessage<T = unknown> {
  readonly messageId: string;
  /** Identifies this delivery; needed to acknowledge or release it. */
  readonly receiptHandle: string;
  readonly body: T;
  /** How many times the message has been received, this delivery included. */
  readonly receiveCount: number;
  readonly sentAt: number;
}

export interface QueueDepth {
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
  /** Messages in the queue's dead-letter queue. */
  readonly deadLettered: number;
  /** Epoch ms of the oldest message in the dead-letter queue, if any. */
  readonly oldestDeadLetterAt?: number | undefined;
}

export interface DeadLetter<T = unknown> {
  readonly messageId: string;
  /** Why it was dead-lettered, when a worker said so. */
  readonly reason?: string | undefined;
  readonly body: T;
  readonly receiveCount: number;
  readonly sentAt: number;
  readonly deadLetteredAt: number;
}

export interface WorkQueue {
  /** Sends messages (any number; adapters chunk to batches of 10). Throws if a body is over 256 KiB. */
  send(queue: string, messages: readonly OutgoingMessage[]): Promise<void>;
  /**
   * Receives up to `max` (≤ 10) visible messages and hides them for `visibilityTimeoutSeconds`.
   * A message already received `maxReceiveCount` times moves to the dead-letter queue instead.
   */
  receive<T = unknown>(
    queue: string,
    options?: { readonly max?: number; readonly visibilityTimeoutSeconds?: number },
  ): Promise<ReceivedMessage<T>[]>;
  /** Deletes delivered messages (their work is done). Unknown or stale handles are ignored. */
  ack(queue: string, receiptHandles: readonly string[]): Promise<void>;
  /** Makes a delivered message visible again after `delaySeconds` (0 = now), e.g. on shutdown or back-off. */
  release(queue: string, receiptHandle: string, delaySeconds?: number): Promise<void>;
  /**
   * Moves a delivered message to the dead-letter queue now (a permanent failure that no retry can
   * fix), keeping `reason` with it. SQS adapter: send to the DLQ, then delete.
   */
  deadLetter(queue: string, receiptHandle: string, reason: string): Promise<void>;
  depth(queue: string): Promise<QueueDepth>;
  listDeadLetters<T = unknown>(
    queue: string,
    options?: { readonly limit?: number },
  ): Promise<DeadLetter<T>[]>;
  /** Moves dead letters back to their queue (all, or the given ids); returns how many moved. */
  redrive(queue: string, messageIds?: readonly string[]): Promise<number>;
  close(): Promise<void>;
}
