/** Runs both queues through their workers until they are empty (for one-shot commands). */
import type { EngineContext } from '#core/engine/context.ts';
import { drainQueue } from '#core/engine/pump.ts';
import { type DynamicsStub, QUEUES, type SalesforceStub } from '#core/work/items.ts';
import { createToDynamicsWorker } from '#core/workers/to-dynamics.ts';
import { createToSalesforceWorker } from '#core/workers/to-salesforce.ts';

export async function drainAll(ctx: EngineContext): Promise<number> {
  const toSalesforce = createToSalesforceWorker(ctx);
  const toDynamics = createToDynamicsWorker(ctx);
  let total = 0;
  for (let round = 0; round < 10; round++) {
    const handled =
      (await drainQueue<DynamicsStub>(ctx, QUEUES.toSalesforce, (m) => toSalesforce.handle(m))) +
      (await drainQueue<SalesforceStub>(ctx, QUEUES.toDynamics, (m) => toDynamics.handleBatch(m)));
    total += handled;
    // A write-back can enqueue more work for the other queue; stop when a round finds none.
    if (handled === 0) break;
  }
  return total;
}
