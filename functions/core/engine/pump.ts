/**
 * Moves work from a queue through a batch handler: receive (SQS-sized calls of 10), hand the
 * batch over, acknowledge what is done, dead-letter what no retry can fix, and release the rest
 * with a back-off so a struggling system is not hammered. The local runner loops over it; the
 * Lambda handlers get the same BatchOutcome contract from SQS.
 */
import { MAX_BATCH, type ReceivedMessage } from '#core/ports/work-queue.ts';
import type { BatchOutcome, EngineContext } from './context.ts';

export type BatchHandler<T> = (messages: readonly ReceivedMessage<T>[]) => Promise<BatchOutcome>;

export interface PumpOptions {
  /** Messages handed to the handler at once (several receive calls of 10). Default 200. */
  readonly batchSize?: number;
  /** Visibility time-out while the handler works, seconds. Default 300. */
  readonly visibilityTimeoutSeconds?: number;
  /**
   * How long to keep gathering once a first message arrived, ms (SQS's batching window): fuller
   * batches mean fewer API calls per record, at the cost of this much latency. Default 0.
   */
  readonly batchWindowMs?: number;
}

/** Seconds before a released message is seen again: 5 s doubling per receive, at most 5 minutes. */
export function retryDelaySeconds(receiveCount: number): number {
  return Math.min(300, 5 * 2 ** Math.max(0, receiveCount - 1));
}

/** Receives one batch and settles every message of it; returns how many messages it handled. */
export async function pumpOnce<T>(
  ctx: EngineContext,
  queue: string,
  handler: BatchHandler<T>,
  options: PumpOptions = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 200;
  const visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? 300;
  const messages: ReceivedMessage<T>[] = [];
  let windowEnds: number | undefined;
  while (messages.length < batchSize) {
    const got = await ctx.queue.receive<T>(queue, {
      max: Math.min(MAX_BATCH, batchSize - messages.length),
      visibilityTimeoutSeconds,
    });
    messages.push(...got);
    if (got.length === MAX_BATCH) continue;
    if (messages.length === 0 || !options.batchWindowMs) break;
    windowEnds ??= Date.now() + options.batchWindowMs;
    const left = windowEnds - Date.now();
    if (left <= 0) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(50, left)));
  }
  if (messages.length === 0) return 0;
  const outcome = await handler(messages);
  const byHandle = new Map(messages.map((m) => [m.receiptHandle, m]));
  if (outcome.done.length > 0) await ctx.queue.ack(queue, outcome.done);
  for (const { receiptHandle, reason } of outcome.deadLetter) {
    await ctx.queue.deadLetter(queue, receiptHandle, reason);
  }
  for (const handle of outcome.retry) {
    const message = byHandle.get(handle);
    const delay = outcome.retryAfterSeconds?.[handle] ?? retryDelaySeconds(message?.receiveCount ?? 1);
    await ctx.queue.release(queue, handle, Math.min(900, Math.max(0, Math.ceil(delay))));
  }
  const settled = new Set([
    ...outcome.done,
    ...outcome.retry,
    ...outcome.deadLetter.map((d) => d.receiptHandle),
  ]);
  for (const m of messages) {
    // A handler that forgot a message must not lose it: it comes back after its visibility time-out.
    if (!settled.has(m.receiptHandle)) ctx.logger.warn('pump.unsettled', { queue, messageId: m.messageId });
  }
  return messages.length;
}

/** Pumps until the queue has nothing visible (or `maxRounds` batches); returns the messages handled. */
export async function drainQueue<T>(
  ctx: EngineContext,
  queue: string,
  handler: BatchHandler<T>,
  options: PumpOptions & { readonly maxRounds?: number } = {},
): Promise<number> {
  let total = 0;
  for (let round = 0; round < (options.maxRounds ?? 1000); round++) {
    const handled = await pumpOnce(ctx, queue, handler, options);
    if (handled === 0) break;
    total += handled;
  }
  return total;
}
