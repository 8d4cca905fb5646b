import { afterEach, describe, expect, it } from 'vitest';
import { type ChangeEvent, toChangeEvent } from '#salesforce/pubsub/cdc.ts';
import { createMemoryReplayStore, replayIdToHex } from '#salesforce/pubsub/replay-id.ts';
import type {
  PubSubBatch,
  PubSubSubscriber,
  PubSubSubscriberOptions,
} from '#salesforce/pubsub/subscriber.ts';
import {
  accountId,
  accountUpdate,
  type Harness,
  startHarness,
  subscribeTo,
  waitFor,
} from './pubsub-harness.ts';

describe('Pub/Sub subscriber against the sandbox server', () => {
  let harness: Harness | undefined;
  const subscribers: PubSubSubscriber[] = [];

  afterEach(async () => {
    for (const s of subscribers.splice(0)) await s.stop();
    await harness?.server.close();
    harness = undefined;
  });

  const subscribe = (
    h: Harness,
    options: Partial<PubSubSubscriberOptions> & Pick<PubSubSubscriberOptions, 'handler'>,
  ) => subscribeTo(h, subscribers, options);

  it('delivers new changes decoded, with compound children named through the compound', async () => {
    harness = await startHarness();
    const h = harness;
    const events: ChangeEvent[] = [];
    const subscriber = subscribe(h, {
      handler: async (batch) => {
        events.push(...batch.events.map(toChangeEvent));
      },
    });
    // The first fetch request is in: the stream's LATEST position is set, so what follows is delivered.
    await waitFor(() => h.server.stats().streamsSubscribed === 1, 5_000, 'the first fetch request');
    h.feed.publish(accountUpdate(1, h.clock));
    h.feed.publish(
      accountUpdate(2, h.clock, {
        changedFields: ['Phone'],
        nulledFields: ['AccountNumber', 'BillingAddress.Street'],
        values: { Phone: '+1 555 0100' },
      }),
    );
    await waitFor(() => events.length === 2, 5_000, 'two events');
    const [first, second] = events;
    expect(first?.entityName).toBe('Account');
    expect(first?.changeType).toBe('UPDATE');
    expect(first?.recordIds).toEqual([accountId(1)]);
    expect(first?.changedFields).toEqual(
      expect.arrayContaining(['Name', 'BillingAddress.City', 'LastModifiedDate']),
    );
    expect(first?.changedFields).toHaveLength(3);
    expect(first?.fields.Name).toBe('Account 1');
    expect(first?.fields.BillingCity).toBe('City 1');
    expect(first?.fields.BillingAddress).toEqual({ City: 'City 1' });
    expect(typeof first?.fields.LastModifiedDate).toBe('bigint');
    expect(first?.clientId).toBe('ml-connector');
    expect(typeof first?.commitNumber).toBe('bigint');
    expect(first?.commitNumber).toBeGreaterThan(2n ** 53n);
    expect(second?.changedFields).toEqual(['Phone']);
    expect(second?.nulledFields).toEqual(expect.arrayContaining(['AccountNumber', 'BillingAddress.Street']));
    expect(second?.fields).toEqual({ Phone: '+1 555 0100' });
    await waitFor(
      () => subscriber.stats().checkpoint === replayIdToHex(events[1]?.replayId ?? new Uint8Array()),
    );
  });

  it('ignores changes of other objects on an object channel and sees them on /data/ChangeEvents', async () => {
    harness = await startHarness();
    const h = harness;
    const perObject: string[] = [];
    const all: string[] = [];
    subscribe(h, {
      handler: async (b) => void perObject.push(...b.events.map((e) => toChangeEvent(e).entityName)),
    });
    subscribe(h, {
      topic: '/data/ChangeEvents',
      handler: async (b) => void all.push(...b.events.map((e) => toChangeEvent(e).entityName)),
    });
    // Both first fetch requests are in: each stream's LATEST position is set before anything is published.
    await waitFor(() => h.server.stats().streamsSubscribed === 2, 5_000, 'both subscriptions');
    h.feed.publish({
      ...accountUpdate(3, h.clock),
      entityName: 'Opportunity',
      recordIds: ['006000000000003AAA'],
      changedFields: ['StageName', 'CloseDate'],
      values: { StageName: 'Closed Won', CloseDate: '2026-11-30' },
    });
    h.feed.publish(accountUpdate(4, h.clock));
    await waitFor(() => all.length === 2 && perObject.length === 1, 5_000, 'events');
    expect(perObject).toEqual(['Account']);
    expect(all).toEqual(['Opportunity', 'Account']);
  });

  it('delivers GAP events flagged, with the record ids and no body', async () => {
    harness = await startHarness();
    const h = harness;
    const events: ChangeEvent[] = [];
    subscribe(h, { handler: async (batch) => void events.push(...batch.events.map(toChangeEvent)) });
    // The first fetch request is in: the stream's LATEST position is set, so what follows is delivered.
    await waitFor(() => h.server.stats().streamsSubscribed === 1, 5_000, 'the first fetch request');
    h.server.injectGap('Account', [accountId(5)], 'GAP_UPDATE');
    h.server.injectGap('Account', [], 'GAP_OVERFLOW');
    await waitFor(() => events.length === 2, 5_000, 'gap events');
    expect(events[0]).toMatchObject({
      changeType: 'GAP_UPDATE',
      isGap: true,
      isOverflow: false,
      recordIds: [accountId(5)],
    });
    expect(events[0]?.fields).toEqual({});
    expect(events[1]).toMatchObject({
      changeType: 'GAP_OVERFLOW',
      isGap: true,
      isOverflow: true,
      entityName: 'Account',
    });
  });

  it('hands batches over one at a time and acknowledges only when the handler resolves', async () => {
    harness = await startHarness({ keepaliveMs: 50 });
    const h = harness;
    let inFlight = 0;
    let maxInFlight = 0;
    const sizes: number[] = [];
    const store = createMemoryReplayStore();
    const subscriber = subscribe(h, {
      replayStore: store,
      batchSize: 100,
      initialReplay: 'EARLIEST',
      handler: async (batch: PubSubBatch) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        const before = store.saved.get('/data/AccountChangeEvent');
        // The server goes quiet (a keepalive written after this batch): nothing more was requested
        // while the batch is in hand, and anything the subscriber would do meanwhile has had its turn.
        const keepalives = h.server.stats().keepalives;
        await waitFor(() => h.server.stats().keepalives > keepalives, 5_000, 'a keepalive');
        // The checkpoint does not move while the batch is being handled.
        expect(store.saved.get('/data/AccountChangeEvent')).toEqual(before);
        sizes.push(batch.events.length);
        inFlight -= 1;
      },
    });
    for (let i = 0; i < 250; i += 1) h.feed.publish(accountUpdate(i, h.clock));
    await waitFor(() => sizes.reduce((a, b) => a + b, 0) === 250, 10_000, '250 events');
    expect(maxInFlight).toBe(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(100);
    expect(sizes).toEqual([100, 100, 50]);
    expect(h.server.stats().maxPending).toBeLessThanOrEqual(100);
    expect(subscriber.stats().delivered).toBe(250);
  });
});
