/**
 * Runs an SQS-triggered worker over one Lambda batch and answers with a partial batch response:
 * done items are left for Lambda to delete; retry items are reported in `batchItemFailures`
 * (after a back-off via their visibility); dead-letter items, and records whose body is not JSON,
 * are sent to the DLQ with their reason and reported as done, so one bad record never fails the
 * batch.
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { EngineRuntime } from '#adapters/aws/engine.ts';
import { type Direction, recordApiBudget, recordBatch } from '#adapters/aws/metrics.ts';
import type { DeadLetterEntry, Delivery } from '#adapters/aws/work-queue.ts';
import { parkedByFlow, watchAudit } from '#core/engine/audit-watch.ts';
import type { BatchOutcome, EngineContext } from '#core/engine/context.ts';
import { retryDelaySeconds } from '#core/engine/pump.ts';
import type { ReceivedMessage } from '#core/ports/work-queue.ts';

/** Maps an SQS record of a Lambda event to a delivery. */
export function toDelivery(record: SQSRecord): Delivery {
  return {
    messageId: record.messageId,
    receiptHandle: record.receiptHandle,
    rawBody: record.body,
    receiveCount: Number(record.attributes.ApproximateReceiveCount || 1),
    sentAt: Number(record.attributes.SentTimestamp || 0),
  };
}

export interface SqsBatchOptions<T> {
  readonly queue: string;
  readonly direction: Direction;
  readonly handle: (ctx: EngineContext, messages: readonly ReceivedMessage<T>[]) => Promise<BatchOutcome>;
  /** The flow a message belongs to, for the metrics. */
  readonly flowOf: (body: T | undefined) => string;
}

/** Handles one SQS event with the worker; see the module doc. */
export async function handleSqsBatch<T>(
  runtime: EngineRuntime,
  event: SQSEvent,
  options: SqsBatchOptions<T> & { readonly signal?: AbortSignal },
): Promise<SQSBatchResponse> {
  const { queue } = options;
  const deliveries = event.Records.map(toDelivery);
  runtime.queue.adopt(queue, deliveries);
  const unreadable: DeadLetterEntry[] = [];
  const messages: ReceivedMessage<T>[] = [];
  for (const d of deliveries) {
    try {
      messages.push({ ...d, body: JSON.parse(d.rawBody) as T });
    } catch {
      unreadable.push({ delivery: d, reason: 'the message body is not JSON' });
    }
  }

  try {
    return await settle(runtime, deliveries, messages, unreadable, options);
  } finally {
    runtime.queue.forget(
      queue,
      deliveries.map((d) => d.receiptHandle),
    );
  }
}

async function settle<T>(
  runtime: EngineRuntime,
  deliveries: readonly Delivery[],
  messages: readonly ReceivedMessage<T>[],
  unreadable: readonly DeadLetterEntry[],
  options: SqsBatchOptions<T> & { readonly signal?: AbortSignal },
): Promise<SQSBatchResponse> {
  const { queue } = options;
  const byHandle = new Map(deliveries.map((d) => [d.receiptHandle, d]));
  const { ctx } = await runtime.engine(options.signal ? { signal: options.signal } : {});
  // The worker writes through an audit watch: what it parked goes into the metrics. (Parked work
  // whose cause arrived is retried by the backfill run, core/engine/parked.ts.)
  const watch = watchAudit(ctx.state);
  const outcome: BatchOutcome =
    messages.length > 0
      ? await options.handle({ ...ctx, state: watch.state }, messages)
      : { done: [], retry: [], deadLetter: [] };
  const appended = watch.take();

  const failures = new Set<string>(outcome.retry);
  for (const handle of outcome.retry) {
    const delay =
      outcome.retryAfterSeconds?.[handle] ?? retryDelaySeconds(byHandle.get(handle)?.receiveCount ?? 1);
    // A failed back-off is not worth failing the batch: the message returns after its visibility time-out.
    await runtime.queue
      .release(queue, handle, Math.min(900, Math.max(0, Math.ceil(delay))))
      .catch((error: unknown) => runtime.logger.warn('sqs.release-failed', { queue, error: String(error) }));
  }
  const dead = [
    ...unreadable,
    ...outcome.deadLetter.flatMap(({ receiptHandle, reason }) => {
      const delivery = byHandle.get(receiptHandle);
      return delivery ? [{ delivery, reason }] : [];
    }),
  ];
  if (dead.length > 0) {
    try {
      await runtime.queue.sendToDeadLetter(queue, dead);
    } catch (error) {
      // Not parked: leave them on the queue; its redrive policy dead-letters them in the end.
      runtime.logger.error('sqs.dead-letter-failed', { queue, error: String(error), count: dead.length });
      for (const d of dead) failures.add(d.delivery.receiptHandle);
    }
  }
  const settled = new Set([...outcome.done, ...outcome.retry, ...dead.map((d) => d.delivery.receiptHandle)]);
  for (const d of deliveries) {
    // A message the worker did not settle is retried, never silently deleted.
    if (!settled.has(d.receiptHandle)) failures.add(d.receiptHandle);
  }

  const bodies = new Map(messages.map((m) => [m.receiptHandle, m.body]));
  recordBatch(
    runtime.metrics,
    options.direction,
    {
      ...outcome,
      deadLetter: dead.map((d) => ({ receiptHandle: d.delivery.receiptHandle, reason: d.reason })),
    },
    (handle) => options.flowOf(bodies.get(handle)),
    parkedByFlow(appended),
  );
  recordApiBudget(runtime.metrics, ctx.salesforce.budget.state().remaining);
  return {
    batchItemFailures: [...failures].map((handle) => ({
      itemIdentifier: byHandle.get(handle)?.messageId ?? handle,
    })),
  };
}
