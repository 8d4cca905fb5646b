import { afterEach, describe, expect, it } from 'vitest';
import { ReplayGapError } from '#salesforce/pubsub/errors.ts';
import { createMemoryReplayStore, replayIdToHex } from '#salesforce/pubsub/replay-id.ts';
import type { PubSubSubscriber, PubSubSubscriberOptions, ReplayGap } from '#salesforce/pubsub/subscriber.ts';
import { accountUpdate, type Harness, startHarness, subscribeTo, waitFor } from './pubsub-harness.ts';

const TOPIC = '/data/AccountChangeEvent';

describe('Pub/Sub subscriber recovery', () => {
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

  const recordOf = (payload: Record<string, unknown>) =>
    ((payload.ChangeEventHeader as { recordIds: string[] }).recordIds[0] ?? '').slice(3, 15);

  it('checkpoints the keepalive latest replay id when nothing is unacknowledged', async () => {
    harness = await startHarness({ keepaliveMs: 100 });
    const h = harness;
    const store = createMemoryReplayStore();
    for (let i = 0; i < 3; i += 1) h.feed.publish(accountUpdate(i, h.clock));
    const subscriber = subscribe(h, { replayStore: store, handler: async () => {} });
    // LATEST skips the three earlier events; the keepalive still gives a resumable position.
    await waitFor(() => subscriber.stats().keepalives > 0, 5_000, 'keepalive');
    await waitFor(() => store.saved.has(TOPIC), 5_000, 'checkpoint');
    expect(replayIdToHex(store.saved.get(TOPIC) ?? new Uint8Array())).toBe('0000000000000003');
    expect(subscriber.stats().delivered).toBe(0);
  });

  it('resumes after dropped streams from the last acknowledged id with no loss and no duplicates', async () => {
    harness = await startHarness();
    const h = harness;
    h.faults.setPlan({
      seed: 7,
      rules: [{ kind: 'stream-drop', match: 'pubsub.subscribe', probability: 0.4, count: 8 }],
    });
    const seen: string[] = [];
    const subscriber = subscribe(h, {
      batchSize: 7,
      initialReplay: 'EARLIEST',
      handler: async (batch) => {
        for (const event of batch.events) seen.push(recordOf(event.payload));
      },
    });
    const n = 120;
    const expected = Array.from({ length: n + 1 }, (_, i) => String(i).padStart(12, '0'));
    for (let i = 0; i < n; i += 1) {
      h.feed.publish(accountUpdate(i, h.clock));
      // The subscriber catches up every tenth change, so the changes go out over many responses.
      if (i % 10 === 0) await waitFor(() => seen.length > i, 10_000, `change ${i}`);
    }
    // A sentinel last: delivery is in order, so a duplicate or a missing change would show before it.
    h.feed.publish(accountUpdate(n, h.clock));
    await waitFor(() => seen.includes(expected[n] ?? ''), 20_000, 'the sentinel change');
    expect(h.server.stats().streamDrops).toBeGreaterThan(0);
    expect(subscriber.stats().reconnects).toBeGreaterThanOrEqual(h.server.stats().streamDrops);
    expect(seen).toEqual(expected);
  });

  it('refreshes the token on UNAUTHENTICATED and resumes where it left off', async () => {
    harness = await startHarness();
    const h = harness;
    const seen: string[] = [];
    subscribe(h, { handler: async (b) => void seen.push(...b.events.map((e) => recordOf(e.payload))) });
    // The first fetch request is in: the stream's LATEST position is set, so what follows is delivered.
    await waitFor(() => h.server.stats().streamsSubscribed === 1, 5_000, 'the first fetch request');
    h.feed.publish(accountUpdate(1, h.clock));
    await waitFor(() => seen.length === 1, 5_000, 'first event');
    // The session expires: the server rejects the current token and drops the stream.
    const expired = h.tokens.current();
    h.tokens.valid.delete(expired);
    h.faults.setPlan({ rules: [{ kind: 'stream-drop', match: 'pubsub.subscribe', count: 1 }] });
    h.feed.publish(accountUpdate(2, h.clock));
    h.feed.publish(accountUpdate(3, h.clock));
    await waitFor(() => seen.length === 3, 10_000, 'events after refresh');
    expect(seen).toEqual(['000000000001', '000000000002', '000000000003']);
    expect(h.tokens.forced).toBe(1);
    expect(h.tokens.current()).not.toBe(expired);
    expect(h.server.stats().authFailures).toBeGreaterThan(0);
  });

  it('resumes after the session expires mid-stream', async () => {
    harness = await startHarness();
    const h = harness;
    h.faults.setPlan({ rules: [{ kind: 'token-expiry', match: 'pubsub.subscribe', count: 1 }] });
    const seen: string[] = [];
    subscribe(h, {
      initialReplay: 'EARLIEST',
      handler: async (b) => void seen.push(...b.events.map((e) => recordOf(e.payload))),
    });
    for (let i = 0; i < 3; i += 1) h.feed.publish(accountUpdate(i, h.clock));
    await waitFor(() => seen.length === 3, 10_000, 'events after the expiry');
    expect(seen).toEqual(['000000000000', '000000000001', '000000000002']);
    expect(h.tokens.forced).toBe(1);
  });

  it('reports a replay id outside retention as a distinct gap and resubscribes at LATEST when asked', async () => {
    harness = await startHarness({ retentionMs: 60_000 });
    const h = harness;
    const store = createMemoryReplayStore();
    const first = subscribe(h, { replayStore: store, handler: async () => {} });
    // The first fetch request is in: the stream's LATEST position is set, so what follows is delivered.
    await waitFor(() => h.server.stats().streamsSubscribed === 1, 5_000, 'the first fetch request');
    h.feed.publish(accountUpdate(1, h.clock));
    await waitFor(() => first.stats().delivered === 1, 5_000, 'event');
    await first.stop();
    subscribers.splice(0);

    h.clock.advance(61_000);
    h.feed.publish(accountUpdate(2, h.clock)); // prunes the first event

    // Without onGap the subscriber stops with a ReplayGapError, no reconnect loop.
    const strict = subscribe(h, { replayStore: store, handler: async () => {} });
    const error = await strict.done.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ReplayGapError);
    expect((error as ReplayGapError).errorCode).toBe(
      'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted',
    );
    expect((error as ReplayGapError).replayId).toBe('0000000000000001');
    expect(strict.stats().reconnects).toBe(0);

    const gaps: ReplayGap[] = [];
    const seen: string[] = [];
    const lenient = subscribe(h, {
      replayStore: store,
      onGap: (gap) => {
        gaps.push(gap);
        return 'resubscribe-latest';
      },
      handler: async (b) => void seen.push(...b.events.map((e) => recordOf(e.payload))),
    });
    // The resubscription's first fetch request is in: its LATEST position is set.
    await waitFor(
      () => gaps.length === 1 && h.server.stats().streamsSubscribed === 1,
      5_000,
      'gap and resubscription',
    );
    h.feed.publish(accountUpdate(3, h.clock));
    await waitFor(() => seen.length === 1, 5_000, 'event after gap');
    expect(seen).toEqual(['000000000003']);
    expect(replayIdToHex(gaps[0]?.lastReplayId ?? new Uint8Array())).toBe('0000000000000001');
    expect(lenient.stats().reconnects).toBe(0);
  });

  it('lets the batch in flight finish and be acknowledged on stop', async () => {
    harness = await startHarness();
    const h = harness;
    const store = createMemoryReplayStore();
    let release: () => void = () => {};
    let started = 0;
    let finished = 0;
    const subscriber = subscribe(h, {
      replayStore: store,
      initialReplay: 'EARLIEST',
      batchSize: 5,
      handler: async () => {
        started += 1;
        await new Promise<void>((r) => {
          release = r;
        });
        finished += 1;
      },
    });
    for (let i = 0; i < 12; i += 1) h.feed.publish(accountUpdate(i, h.clock));
    await waitFor(() => started === 1, 5_000, 'first batch');
    const stopped = subscriber.stop();
    release();
    await stopped;
    expect(finished).toBe(1);
    expect(started).toBe(1);
    expect(replayIdToHex(store.saved.get(TOPIC) ?? new Uint8Array())).toBe('0000000000000005');
    await waitFor(() => h.server.stats().streamsOpen === 0, 5_000, 'stream closed');
  });
});
