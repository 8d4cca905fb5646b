import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCdcConsumer } from '#core/triggers/cdc.ts';
import { QUEUES, type SalesforceStub } from '#core/work/items.ts';
import { createToDynamicsWorker } from '#core/workers/to-dynamics.ts';
import { toChangeEvent } from '#salesforce/pubsub/cdc.ts';
import { createMemoryReplayStore } from '#salesforce/pubsub/replay-id.ts';
import {
  type PubSubBatch,
  type PubSubSubscriber,
  startPubSubSubscriber,
} from '#salesforce/pubsub/subscriber.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';
import {
  createSalesforceProducts,
  createSyncedAccount,
  dynamicsOrdersFor,
} from './engine-to-dynamics-fixtures.ts';
import { waitFor } from './pubsub-harness.ts';

const TOPIC = '/data/OpportunityChangeEvent';

describe('CDC consumer with the Pub/Sub subscriber', () => {
  let h: EngineHarness;
  let subscriber: PubSubSubscriber;
  const seen: { type: string; clientId: string | undefined }[] = [];
  const batches: PubSubBatch[] = [];

  beforeAll(async () => {
    h = await startEngineHarness();
    createSalesforceProducts(h, ['P000001', 'P000002']);
    const consume = createCdcConsumer(h.ctx);
    subscriber = startPubSubSubscriber({
      tokens: h.clients.salesforce.tokenSource,
      topic: TOPIC,
      replayStore: createMemoryReplayStore(),
      endpoint: h.sandboxes.info.salesforce.pubsubEndpoint,
      rootCerts: h.sandboxes.tls.ca,
      handler: async (batch) => {
        batches.push(batch);
        for (const e of batch.events) {
          const event = toChangeEvent(e);
          seen.push({ type: event.changeType, clientId: event.clientId });
        }
        await consume(batch);
      },
    });
    await waitFor(() => subscriber.stats().streams > 0, 10_000, 'the subscription');
    await new Promise((resolve) => setTimeout(resolve, 200));
  });
  afterAll(async () => {
    await subscriber?.stop();
    await h?.close();
  });

  it('enqueues a won opportunity, and drops the echo of the order number written back', async () => {
    const sf = h.sandboxes.salesforce.control;
    const accountId = createSyncedAccount(h, 'usmf', 'US-000020');
    const { id } = sf.createOpportunity({
      accountId,
      name: 'CDC deal',
      lines: [{ productCode: 'P000001', quantity: 2 }],
    });
    sf.closeOpportunityWon(id);

    await waitFor(() => seen.length >= 2, 10_000, 'the CREATE and UPDATE events');
    const messages = await h.queue.receive<SalesforceStub>(QUEUES.toDynamics, { max: 10 });
    expect(messages.map((m) => [m.body.sobject, m.body.id, m.body.trigger])).toContainEqual([
      'Opportunity',
      id,
      'cdc',
    ]);

    const outcome = await createToDynamicsWorker(h.ctx).handleBatch(messages);
    await h.queue.ack(QUEUES.toDynamics, outcome.done);
    expect(dynamicsOrdersFor(h, id)).toHaveLength(1);

    await waitFor(() => seen.some((e) => e.clientId === 'ml-connector'), 10_000, 'the write-back echo');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await h.queue.depth(QUEUES.toDynamics)).visible).toBe(0);
  });

  it('backfills the object on GAP_OVERFLOW', async () => {
    const sf = h.sandboxes.salesforce.control;
    const accountId = createSyncedAccount(h, 'usmf', 'US-000021');
    const { id } = sf.createOpportunity({
      accountId,
      name: 'Lost in overflow',
      lines: [{ productCode: 'P000002', quantity: 1 }],
    });
    sf.closeOpportunityWon(id);
    await waitFor(() => seen.filter((e) => e.type === 'UPDATE').length >= 3, 10_000, 'the won update');
    const drained = await h.queue.receive<SalesforceStub>(QUEUES.toDynamics, { max: 10 });
    await h.queue.ack(
      QUEUES.toDynamics,
      drained.map((m) => m.receiptHandle),
    );

    sf.injectGap({ entityName: 'Opportunity', changeType: 'GAP_OVERFLOW' });
    await waitFor(() => seen.some((e) => e.type === 'GAP_OVERFLOW'), 10_000, 'the overflow event');
    await waitFor(() => subscriber.stats().checkpoint !== undefined, 10_000, 'the checkpoint');
    const messages = await h.queue.receive<SalesforceStub>(QUEUES.toDynamics, { max: 10 });
    expect(messages.map((m) => [m.body.id, m.body.trigger])).toContainEqual([id, 'backfill']);
  });

  it('rejects the batch (so the subscriber does not checkpoint it) when the enqueue fails', async () => {
    const batch = batches.find((b) => b.events.some((e) => toChangeEvent(e).clientId === undefined));
    expect(batch).toBeDefined();
    const failing = {
      ...h.ctx,
      queue: {
        ...h.ctx.queue,
        send: async () => {
          throw new Error('queue unavailable');
        },
      },
    };
    await expect(createCdcConsumer(failing)(batch as PubSubBatch)).rejects.toThrow('queue unavailable');
  });
});
