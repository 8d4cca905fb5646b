/**
 * The sandbox server must work with a third-party client written against the real service:
 * pozil/pub-sub-api-node-client (salesforce-pubsub-api-client), with its own proto and avro-js.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  accountId,
  accountUpdate,
  type Harness,
  INSTANCE_URL,
  ORG_ID,
  startHarness,
  waitFor,
} from './pubsub-harness.ts';
import { connectThirdParty, type ThirdPartyClient, type ThirdPartyEvent } from './pubsub-third-party.ts';

function connect(h: Harness, accessToken: string): Promise<ThirdPartyClient> {
  return connectThirdParty({
    endpoint: h.server.endpoint,
    accessToken,
    instanceUrl: INSTANCE_URL,
    orgId: ORG_ID,
    caPem: h.tls.ca,
  });
}

describe('Pub/Sub sandbox fidelity with salesforce-pubsub-api-client', () => {
  let harness: Harness | undefined;
  let client: ThirdPartyClient | undefined;

  // Server first: the client's close() drops its stream listeners without cancelling the call,
  // so a status arriving afterwards would surface as an unhandled stream error.
  afterEach(async () => {
    await harness?.server.close();
    harness = undefined;
    client?.close();
    client = undefined;
  });

  it('subscribes to /data/AccountChangeEvent and decodes a change event', async () => {
    harness = await startHarness();
    const h = harness;
    const session = await h.tokens.getSession();
    client = await connect(h, session.accessToken);
    const events: ThirdPartyEvent[] = [];
    const errors: unknown[] = [];
    client.subscribeFromEarliestEvent(
      '/data/AccountChangeEvent',
      (_info, type, data) => {
        if (type === 'event') events.push(data as ThirdPartyEvent);
        if (type === 'error') errors.push(data);
      },
      1,
    );
    h.feed.publish(accountUpdate(42, h.clock));
    await waitFor(() => events.length === 1 || errors.length > 0, 5_000, 'third-party event');
    expect(errors).toEqual([]);
    const [event] = events;
    expect(event?.replayId).toBe(1);
    expect(event?.payload.ChangeEventHeader.entityName).toBe('Account');
    expect(event?.payload.ChangeEventHeader.recordIds).toEqual([accountId(42)]);
    expect(event?.payload.ChangeEventHeader.changeType).toBe('UPDATE');
    expect(event?.payload.ChangeEventHeader.changedFields).toEqual(
      expect.arrayContaining(['Name', 'LastModifiedDate', 'BillingAddress.City']),
    );
    expect(event?.payload.Name).toBe('Account 42');
    expect((event?.payload.BillingAddress as { City?: string } | undefined)?.City).toBe('City 42');
  });

  it('resumes the third-party client after a replay id it encoded itself, and feeds it keepalives', async () => {
    harness = await startHarness({ keepaliveMs: 50 });
    const h = harness;
    for (let i = 1; i <= 3; i += 1) h.feed.publish(accountUpdate(i, h.clock));
    const session = await h.tokens.getSession();
    client = await connect(h, session.accessToken);
    const replayIds: number[] = [];
    let keepalives = 0;
    client.subscribeFromReplayId(
      '/data/AccountChangeEvent',
      (_info, type, data) => {
        if (type === 'event') replayIds.push((data as ThirdPartyEvent).replayId);
        if (type === 'grpcKeepAlive') keepalives += 1;
      },
      null,
      1,
    );
    await waitFor(
      () => replayIds.length === 2 && keepalives > 0,
      5_000,
      'events after replay id 1 and a keepalive',
    );
    expect(replayIds).toEqual([2, 3]);
  });

  it('rejects the third-party client with UNAUTHENTICATED and the auth error code for a bad token', async () => {
    harness = await startHarness();
    const h = harness;
    client = await connect(h, `${ORG_ID}!not-a-token`);
    const statuses: { code: number; metadata?: { get(key: string): unknown[] } }[] = [];
    client.subscribe(
      '/data/AccountChangeEvent',
      (_info, type, data) => {
        if (type === 'grpcStatus') statuses.push(data);
      },
      1,
    );
    await waitFor(() => statuses.length > 0, 5_000, 'status');
    expect(statuses[0]?.code).toBe(16);
    expect(statuses[0]?.metadata?.get('error-code')).toEqual([
      'sfdc.platform.eventbus.grpc.service.auth.error',
    ]);
  });
});
