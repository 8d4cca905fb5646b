/** Helpers of the to-Salesforce engine tests: stub factory and a queue drain loop like the runner's. */
import type { ReceivedMessage } from '#core/ports/work-queue.ts';
import { type DynamicsStub, QUEUES } from '#core/work/items.ts';
import type { ToSalesforceWorker } from '#core/workers/to-salesforce.ts';
import type { EngineHarness } from '#test/support/engine-harness.ts';

/** A business-event stub for one customer or product. */
export function stub(
  entity: DynamicsStub['entity'],
  dataAreaId: string,
  id: string,
  trigger: DynamicsStub['trigger'] = 'business-event',
): DynamicsStub {
  const field = entity === 'CustomersV3' ? 'CustomerAccount' : 'ItemNumber';
  return { kind: 'dynamics-stub', entity, key: { dataAreaId, [field]: id }, trigger, observedAt: Date.now() };
}

export interface DrainReport {
  done: number;
  retry: number;
  deadLetter: number;
  batches: number;
}

/**
 * Receives up to `batchSize` messages per batch (in receives of 10, as SQS allows), hands them to
 * the worker and applies its outcome (ack, release now, dead-letter) until the queue is empty.
 */
export async function drainToSalesforce(
  h: EngineHarness,
  worker: ToSalesforceWorker,
  batchSize = 10,
  maxBatches = 200,
): Promise<DrainReport> {
  const report: DrainReport = { done: 0, retry: 0, deadLetter: 0, batches: 0 };
  const q = QUEUES.toSalesforce;
  while (report.batches < maxBatches) {
    const batch: ReceivedMessage<DynamicsStub>[] = [];
    while (batch.length < batchSize) {
      const got = await h.queue.receive<DynamicsStub>(q, {
        max: Math.min(10, batchSize - batch.length),
        visibilityTimeoutSeconds: 60,
      });
      if (got.length === 0) break;
      batch.push(...got);
    }
    if (batch.length === 0) break;
    report.batches += 1;
    const outcome = await worker.handle(batch);
    await h.queue.ack(q, outcome.done);
    for (const r of outcome.retry) await h.queue.release(q, r, 0);
    for (const d of outcome.deadLetter) await h.queue.deadLetter(q, d.receiptHandle, d.reason);
    report.done += outcome.done.length;
    report.retry += outcome.retry.length;
    report.deadLetter += outcome.deadLetter.length;
  }
  return report;
}
