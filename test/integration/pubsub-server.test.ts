/** The sandbox Pub/Sub server's protocol behaviour, driven with a raw gRPC client. */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createPubSubClient } from '#salesforce/pubsub/channel.ts';
import type {
  FetchRequest,
  FetchResponse,
  PubSubClient,
  SchemaInfo,
  TopicInfo,
} from '#salesforce/pubsub/proto.ts';
import { accountUpdate, type Harness, ORG_ID, startHarness, waitFor } from './pubsub-harness.ts';

const TOPIC = '/data/AccountChangeEvent';

interface OpenStream {
  readonly call: grpc.ClientDuplexStream<FetchRequest, FetchResponse>;
  readonly responses: FetchResponse[];
  readonly status: Promise<grpc.StatusObject>;
}

function open(client: PubSubClient, first: FetchRequest): OpenStream {
  const call = client.Subscribe();
  const responses: FetchResponse[] = [];
  call.on('data', (r: FetchResponse) => responses.push(r));
  call.on('error', () => {});
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  call.write(first);
  return { call, responses, status };
}

function unary<T>(invoke: (cb: (e: grpc.ServiceError | null, r?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => invoke((e, r) => (e ? reject(e) : resolve(r as T))));
}

const eventCount = (responses: FetchResponse[]) => responses.reduce((n, r) => n + r.events.length, 0);

describe('Pub/Sub sandbox server', () => {
  let harness: Harness | undefined;
  let client: PubSubClient | undefined;

  afterEach(async () => {
    client?.close();
    client = undefined;
    await harness?.server.close();
    harness = undefined;
  });

  async function start(
    overrides: Parameters<typeof startHarness>[0] = {},
  ): Promise<{ h: Harness; c: PubSubClient }> {
    harness = await startHarness(overrides);
    client = createPubSubClient({
      tokens: harness.tokens,
      endpoint: harness.server.endpoint,
      rootCerts: harness.tls.ca,
    });
    return { h: harness, c: client };
  }

  it('describes topics and serves change-event schemas shaped like Salesforce ones', async () => {
    const { c } = await start();
    const topic = await unary<TopicInfo>((cb) =>
      c.GetTopic({ topic_name: TOPIC }, new grpc.Metadata(), {}, cb),
    );
    expect(topic).toMatchObject({
      topic_name: TOPIC,
      tenant_guid: ORG_ID,
      can_subscribe: true,
      can_publish: false,
    });
    expect(topic.rpc_id).not.toBe('');
    const info = await unary<SchemaInfo>((cb) =>
      c.GetSchema({ schema_id: topic.schema_id }, new grpc.Metadata(), {}, cb),
    );
    expect(info.schema_id).toBe(topic.schema_id);
    const schema = JSON.parse(info.schema_json) as {
      name: string;
      namespace: string;
      fields: { name: string; type: unknown }[];
    };
    expect(schema).toMatchObject({ name: 'AccountChangeEvent', namespace: 'com.sforce.eventbus' });
    expect(schema.fields[0]?.name).toBe('ChangeEventHeader');
    const billing = schema.fields.find((f) => f.name === 'BillingAddress');
    expect(billing?.type).toEqual(['null', expect.objectContaining({ type: 'record', name: 'Address' })]);
    expect(schema.fields.find((f) => f.name === 'Name')?.type).toEqual(['null', 'string']);
    expect(schema.fields.find((f) => f.name === 'CreatedDate')?.type).toEqual(['null', 'long']);
    expect(schema.fields.map((f) => f.name)).not.toContain('Id');

    const generic = await unary<TopicInfo>((cb) =>
      c.GetTopic({ topic_name: '/data/ChangeEvents' }, new grpc.Metadata(), {}, cb),
    );
    expect(generic.can_subscribe).toBe(true);
    const missing = await unary<TopicInfo>((cb) =>
      c.GetTopic({ topic_name: '/data/Nope__ChangeEvent' }, new grpc.Metadata(), {}, cb),
    ).catch((e: grpc.ServiceError) => e);
    expect((missing as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
  });

  it('adds up num_requested and puts at most 100 events in a FetchResponse', async () => {
    const { h, c } = await start();
    const stream = open(c, { topic_name: TOPIC, replay_preset: 'LATEST', num_requested: 80 });
    stream.call.write({ topic_name: TOPIC, num_requested: 80 });
    await waitFor(() => h.server.stats().maxPending === 160, 5_000, 'accumulated request');
    for (let i = 0; i < 250; i += 1) h.feed.publish(accountUpdate(i, h.clock));
    await waitFor(() => eventCount(stream.responses) === 160, 5_000, '160 events');
    const withEvents = stream.responses.filter((r) => r.events.length > 0);
    expect(withEvents.map((r) => r.events.length)).toEqual([100, 60]);
    expect(withEvents.map((r) => r.pending_num_requested)).toEqual([60, 0]);
    expect(withEvents[1]?.latest_replay_id.toString('hex')).toBe('00000000000000a0');
    expect(new Set(stream.responses.map((r) => r.rpc_id)).size).toBe(1);
    stream.call.write({ topic_name: TOPIC, num_requested: 100 });
    await waitFor(() => eventCount(stream.responses) === 250, 5_000, 'the rest');
    stream.call.cancel();
  });

  it('replays from EARLIEST and after a CUSTOM replay id', async () => {
    const { h, c } = await start();
    for (let i = 0; i < 5; i += 1) h.feed.publish(accountUpdate(i, h.clock));
    const earliest = open(c, { topic_name: TOPIC, replay_preset: 'EARLIEST', num_requested: 10 });
    await waitFor(() => eventCount(earliest.responses) === 5, 5_000, 'earliest');
    const third = earliest.responses[0]?.events[2]?.replay_id ?? Buffer.alloc(0);
    const custom = open(c, {
      topic_name: TOPIC,
      replay_preset: 'CUSTOM',
      replay_id: third,
      num_requested: 10,
    });
    await waitFor(() => eventCount(custom.responses) === 2, 5_000, 'custom');
    expect(custom.responses[0]?.events.map((e) => e.replay_id.toString('hex'))).toEqual([
      '0000000000000004',
      '0000000000000005',
    ]);
    earliest.call.cancel();
    custom.call.cancel();
  });

  it('sends keepalives while idle and closes a stream with nothing requested', async () => {
    const { h, c } = await start({ keepaliveMs: 50, idleTimeoutMs: 300 });
    h.feed.publish(accountUpdate(1, h.clock));
    const stream = open(c, { topic_name: TOPIC, replay_preset: 'LATEST', num_requested: 1 });
    await waitFor(() => stream.responses.length >= 2, 5_000, 'keepalives');
    expect(stream.responses[0]).toMatchObject({ events: [], pending_num_requested: 1 });
    expect(stream.responses[0]?.latest_replay_id.toString('hex')).toBe('0000000000000001');
    const before = Date.now();
    h.feed.publish(accountUpdate(2, h.clock)); // uses up the one requested event
    const status = await stream.status;
    expect(status.code).toBe(grpc.status.OK);
    expect(Date.now() - before).toBeGreaterThanOrEqual(250);
    expect(h.server.stats().idleClosures).toBe(1);
    expect(h.server.stats().streamsOpen).toBe(0);
  });

  it('answers bad requests with INVALID_ARGUMENT and the documented error codes', async () => {
    const { c } = await start();
    const cases: [FetchRequest, string][] = [
      [
        { topic_name: TOPIC, num_requested: 0 },
        'sfdc.platform.eventbus.grpc.subscription.fetch.requested.events.invalid',
      ],
      [
        { topic_name: TOPIC, replay_preset: 'CUSTOM', num_requested: 1 },
        'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed',
      ],
    ];
    for (const [request, errorCode] of cases) {
      const status = await open(c, request).status;
      expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(status.metadata.get('error-code')).toEqual([errorCode]);
      expect(status.details).toMatch(/rpcId: [0-9a-f-]{36}$/);
    }
  });

  it('drops a stream with INTERNAL on the stream-drop fault', async () => {
    const { h, c } = await start();
    h.faults.setPlan({ rules: [{ kind: 'stream-drop', match: 'pubsub.subscribe', count: 1 }] });
    h.feed.publish(accountUpdate(1, h.clock));
    const status = await open(c, { topic_name: TOPIC, replay_preset: 'EARLIEST', num_requested: 5 }).status;
    expect(status.code).toBe(grpc.status.INTERNAL);
    expect(status.details).toMatch(/^The service is unavailable\. Try again later\./);
    expect(status.metadata.get('rpc-id')).toHaveLength(1);
    expect(h.server.stats().streamDrops).toBe(1);
  });

  it('rejects a call whose session the org does not accept', async () => {
    const { h, c } = await start();
    await h.tokens.getSession();
    h.tokens.valid.clear();
    const status = await open(c, { topic_name: TOPIC, num_requested: 1 }).status;
    expect(status.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(status.metadata.get('error-code')).toEqual(['sfdc.platform.eventbus.grpc.service.auth.error']);
  });
});
