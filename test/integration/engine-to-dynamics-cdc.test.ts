import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCdcConsumer } from '#core/triggers/cdc.ts';
import { QUEUES, type SalesforceStub } from '#core/work/items.ts';
import { createToDynamicsWorker } from '#core/workers/to-dynamics.ts';
import { toChangeBatch, toChangeEvent } from '#salesforce/pubsub/cdc.ts';
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
  createWonOpportunity,
  dynamicsOrdersFor,
} from './engine-to-dynamics-fixtures.ts';
import { waitFor } from './pubsub-harness.ts';

const TOPIC = '/data/OpportunityChangeEvent';

describe('CDC consumer with the Pub/Sub subscriber', () => {
  let h: EngineHarness;
  let subscriber: PubSubSubscriber;
  const seen: {
    type: string;
    clientId: string | undefined;
    recordIds: readonly string[];
    changedFields: readonly string[];
  }[] = [];
  const batches: PubSubBatch[] = [];
  let consumed = 0;

  beforeAll(async () => {
    h = await startEngineHarness();
    createSalesforceProducts(h, ['P000001', 'P000002']);
    const tokens = h.clients.salesforce.tokenSource;
    const consume = createCdcConsumer(h.ctx, {
      integrationUserId: async () => (await tokens.getSession()).userId,
    });
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
          seen.push({
            type: event.changeType,
            clientId: event.clientId,
            recordIds: event.recordIds,
            changedFields: event.changedFields,
          });
        }
        await consume(toChangeBatch(batch));
        consumed += batch.events.length;
      },
    });
    // The first fetch request is in: the stream's LATEST position is set before anything is written.
    await waitFor(() => h.sandboxes.pubsub.stats().streamsSubscribed === 1, 10_000, 'the subscription');
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

    await waitFor(() => consumed >= 2, 10_000, 'the CREATE and UPDATE events consumed');
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
    // Every event seen, the echo included, has been through the consumer: nothing is still on its way.
    await waitFor(() => consumed === seen.length, 10_000, 'the echo consumed');
    expect((await h.queue.depth(QUEUES.toDynamics)).visible).toBe(0);
  });

  it('carries a line change of a synced won Opportunity through CDC to its open sales order', async () => {
    const sf = h.sandboxes.salesforce.control;
    const accountId = createSyncedAccount(h, 'usmf', 'US-000024');
    const { id, lineIds } = sf.createOpportunity({
      accountId,
      name: 'CDC deal that changes',
      lines: [{ productCode: 'P000001', quantity: 2 }],
    });
    sf.closeOpportunityWon(id);
    await waitFor(
      () => seen.some((e) => e.type === 'UPDATE' && e.recordIds.includes(id)),
      10_000,
      'the won update',
    );
    await settle(seen.length);
    const worker = createToDynamicsWorker(h.ctx);
    const first = await h.queue.receive<SalesforceStub>(QUEUES.toDynamics, { max: 10 });
    await h.queue.ack(QUEUES.toDynamics, (await worker.handleBatch(first)).done);
    expect(dynamicsOrdersFor(h, id)[0]?.lines.map((l) => l.OrderedSalesQuantity)).toEqual([2]);

    // The rep raises the quantity: Salesforce recomputes Amount, and the Opportunity's change event carries it.
    sf.update('OpportunityLineItem', lineIds[0] as string, { Quantity: 6 });
    await waitFor(
      () => seen.some((e) => e.recordIds.includes(id) && e.changedFields.includes('Amount')),
      10_000,
      'the Amount change event',
    );
    await settle(seen.length);
    const messages = await h.queue.receive<SalesforceStub>(QUEUES.toDynamics, { max: 10 });
    expect(messages.map((m) => m.body.id)).toContain(id);
    const outcome = await worker.handleBatch(messages);
    await h.queue.ack(QUEUES.toDynamics, outcome.done);
    const orders = dynamicsOrdersFor(h, id);
    expect(orders).toHaveLength(1);
    expect(orders[0]?.lines.map((l) => [l.OrderedSalesQuantity, l.OrderLineReference])).toEqual([
      [6, lineIds[0]],
    ]);
    await drain();
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
    await settle(seen.length);
    const messages = await h.queue.receive<SalesforceStub>(QUEUES.toDynamics, { max: 10 });
    expect(messages.map((m) => [m.body.id, m.body.trigger])).toContainEqual([id, 'backfill']);
  });

  /** Empties the to-Dynamics queue (the stubs of the set-up's own events). */
  async function drain(): Promise<void> {
    for (;;) {
      const got = await h.queue.receive<SalesforceStub>(QUEUES.toDynamics, { max: 10 });
      if (got.length === 0) return;
      await h.queue.ack(
        QUEUES.toDynamics,
        got.map((m) => m.receiptHandle),
      );
    }
  }

  /** Waits until the consumer has handled every event published so far. */
  async function settle(published: number): Promise<void> {
    await waitFor(() => consumed >= published, 10_000, 'the consumer to handle the events');
  }

  /** Two won opportunities of one account (their own events consumed and drained). */
  async function twoWonOpportunities(customer: string): Promise<[string, string]> {
    const sf = h.sandboxes.salesforce.control;
    const accountId = createSyncedAccount(h, 'usmf', customer);
    const ids = [1, 2].map((n) => {
      const { id } = sf.createOpportunity({
        accountId,
        name: `Alike ${customer} ${n}`,
        lines: [{ productCode: 'P000001', quantity: n }],
      });
      sf.closeOpportunityWon(id);
      return id;
    });
    await waitFor(
      () => ids.every((id) => seen.some((e) => e.type === 'UPDATE' && e.recordIds.includes(id))),
      10_000,
      'the won updates',
    );
    await settle(seen.length);
    await drain();
    return ids as [string, string];
  }

  it('enqueues one stub per record of an event naming several records changed alike', async () => {
    const ids = await twoWonOpportunities('US-000022');
    h.sandboxes.salesforce.control.publishChangeEvent({
      entityName: 'Opportunity',
      changeType: 'UPDATE',
      recordIds: ids,
      changedFields: ['StageName', 'IsWon'],
    });
    await waitFor(() => seen.some((e) => e.recordIds.length === 2), 10_000, 'the event with two ids');
    await settle(seen.length);
    const messages = await h.queue.receive<SalesforceStub>(QUEUES.toDynamics, { max: 10 });
    expect(messages.map((m) => [m.body.id, m.body.trigger]).sort()).toEqual(
      ids.map((id) => [id, 'cdc']).sort(),
    );
    await h.queue.ack(
      QUEUES.toDynamics,
      messages.map((m) => m.receiptHandle),
    );
  });

  it('backfills the object when an event names a wildcard record id', async () => {
    const ids = await twoWonOpportunities('US-000023');
    h.sandboxes.salesforce.control.publishChangeEvent({
      entityName: 'Opportunity',
      changeType: 'UPDATE',
      recordIds: ['006*'],
      changedFields: ['StageName'],
    });
    await waitFor(() => seen.some((e) => e.recordIds[0] === '006*'), 10_000, 'the wildcard event');
    await settle(seen.length);
    const messages = await h.queue.receive<SalesforceStub>(QUEUES.toDynamics, { max: 10 });
    const backfilled = messages.filter((m) => m.body.trigger === 'backfill').map((m) => m.body.id);
    expect(backfilled).toEqual(expect.arrayContaining(ids));
    await h.queue.ack(
      QUEUES.toDynamics,
      messages.map((m) => m.receiptHandle),
    );
  });

  it('drops a change the integration user committed without a client tag', async () => {
    const ids = await twoWonOpportunities('US-000024');
    h.sandboxes.salesforce.control.publishChangeEvent({
      entityName: 'Opportunity',
      changeType: 'UPDATE',
      recordIds: ids,
      changedFields: ['StageName'],
      commitUser: 'integration',
    });
    const before = seen.length;
    await waitFor(() => seen.length > before, 10_000, 'the integration user’s event');
    await settle(seen.length);
    expect((await h.queue.depth(QUEUES.toDynamics)).visible).toBe(0);
  });

  it('ends an integration-user echo that gets through (user id unknown) as a no-op: the order exists', async () => {
    const oppId = createWonOpportunity(h, createSyncedAccount(h, 'usmf', 'US-000025'), ['P000002']);
    await waitFor(
      () => seen.some((e) => e.type === 'UPDATE' && e.recordIds.includes(oppId)),
      10_000,
      'the won update',
    );
    await settle(seen.length);
    const first = await h.queue.receive<SalesforceStub>(QUEUES.toDynamics, { max: 10 });
    const made = await createToDynamicsWorker(h.ctx).handleBatch(first);
    await h.queue.ack(QUEUES.toDynamics, made.done);
    expect(dynamicsOrdersFor(h, oppId)).toHaveLength(1);
    await waitFor(
      () => seen.some((e) => e.clientId === 'ml-connector' && e.recordIds.includes(oppId)),
      10_000,
      'the write-back echo',
    );
    await settle(seen.length);
    await drain();

    h.sandboxes.salesforce.control.publishChangeEvent({
      entityName: 'Opportunity',
      changeType: 'UPDATE',
      recordIds: [oppId],
      changedFields: ['StageName'],
      commitUser: 'integration',
    });
    const before = seen.length;
    await waitFor(() => seen.length > before, 10_000, 'the integration user’s event');
    await settle(seen.length);
    expect((await h.queue.depth(QUEUES.toDynamics)).visible).toBe(0);

    // Without the user id only the client= guard is left: the echo becomes a stub ...
    const echo = [...batches]
      .reverse()
      .flatMap((b) => b.events.map((e) => ({ b, e })))
      .find(({ e }) => {
        const event = toChangeEvent(e);
        return (
          event.recordIds.includes(oppId) && event.clientId === undefined && event.changedFields.length === 1
        );
      });
    expect(echo).toBeDefined();
    const { b, e } = echo as NonNullable<typeof echo>;
    await createCdcConsumer(h.ctx)(toChangeBatch({ ...b, events: [e] }));
    const messages = await h.queue.receive<SalesforceStub>(QUEUES.toDynamics, { max: 10 });
    expect(messages.map((m) => m.body.id)).toEqual([oppId]);
    // ... which the worker ends without a call to Dynamics: the number is already written back.
    h.clients.dynamics.counter.reset();
    const outcome = await createToDynamicsWorker(h.ctx).handleBatch(messages);
    await h.queue.ack(QUEUES.toDynamics, outcome.done);
    expect(outcome.done).toHaveLength(1);
    expect(h.clients.dynamics.counter.snapshot().total).toBe(0);
    expect(dynamicsOrdersFor(h, oppId)).toHaveLength(1);
    const [note] = await h.state.queryAudit({ recordKey: `salesforce:Opportunity:${oppId}` });
    expect(note).toMatchObject({ outcome: 'skipped' });
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
    await expect(createCdcConsumer(failing)(toChangeBatch(batch as PubSubBatch))).rejects.toThrow(
      'queue unavailable',
    );
  });
});
