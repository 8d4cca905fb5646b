import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { AuthError } from '#base/errors.ts';
import { parseAvroSchema } from '#salesforce/pubsub/avro.ts';
import { PubSubError, ReplayGapError } from '#salesforce/pubsub/errors.ts';
import type { FetchRequest, FetchResponse, PubSubClient } from '#salesforce/pubsub/proto.ts';
import { createMemoryReplayStore } from '#salesforce/pubsub/replay-id.ts';
import { startPubSubSubscriber } from '#salesforce/pubsub/subscriber.ts';
import type { SalesforceTokenSource } from '#salesforce/session.ts';
import { until } from '#test/support/wait.ts';

const TOPIC = '/event/Test__e';
const SCHEMA = JSON.stringify({ type: 'record', name: 'Test__e', fields: [{ name: 'n', type: 'long' }] });
const type = parseAvroSchema(SCHEMA);

type Script = (stream: FakeStream, request: FetchRequest, index: number) => void;

class FakeStream extends EventEmitter {
  readonly writes: FetchRequest[] = [];
  private readonly script: Script;
  private readonly index: number;
  constructor(script: Script, index: number) {
    super();
    this.script = script;
    this.index = index;
  }
  write(request: FetchRequest): boolean {
    this.writes.push(request);
    queueMicrotask(() => this.script(this, request, this.index));
    return true;
  }
  respond(ns: bigint[], pending = 0): void {
    const events = ns.map((n) => ({
      event: { id: `e${n}`, schema_id: 's1', payload: type.toBuffer({ n }), headers: [] },
      replay_id: Buffer.from(n.toString(16).padStart(16, '0'), 'hex'),
    }));
    const last = events[events.length - 1]?.replay_id ?? Buffer.alloc(8);
    this.emit('data', {
      events,
      latest_replay_id: last,
      rpc_id: 'r',
      pending_num_requested: pending,
    } as FetchResponse);
  }
  end(code: grpc.status, details = '', trailers: Record<string, string> = {}): void {
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(trailers)) metadata.set(k, v);
    if (code !== grpc.status.OK)
      this.emit('error', Object.assign(new Error(details), { code, details, metadata }));
    this.emit('status', { code, details, metadata });
  }
  cancel(): void {
    this.end(grpc.status.CANCELLED, 'Cancelled on client');
  }
}

function fakeClient(script: Script): PubSubClient & { streams: FakeStream[] } {
  const streams: FakeStream[] = [];
  const client = {
    streams,
    GetTopic: (_r: unknown, _m: unknown, _o: unknown, cb: (e: null, r: unknown) => void) =>
      cb(null, {
        topic_name: TOPIC,
        schema_id: 's1',
        can_subscribe: true,
        can_publish: true,
        tenant_guid: '',
        rpc_id: '',
      }),
    GetSchema: (_r: unknown, _m: unknown, _o: unknown, cb: (e: null, r: unknown) => void) =>
      cb(null, { schema_json: SCHEMA, schema_id: 's1', rpc_id: '' }),
    Subscribe: () => {
      const stream = new FakeStream(script, streams.length);
      streams.push(stream);
      return stream;
    },
    close() {},
  };
  return client as unknown as PubSubClient & { streams: FakeStream[] };
}

const tokens: SalesforceTokenSource = {
  getSession: async () => ({
    accessToken: 't',
    instanceUrl: 'https://x',
    orgId: 'o',
    userId: 'u',
    issuedAt: 0,
  }),
};

async function failure(done: Promise<void>): Promise<unknown> {
  return done.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('Pub/Sub subscriber loop', () => {
  it('treats INVALID_ARGUMENT on a CUSTOM resume as a gap even without the error-code trailer', async () => {
    const store = createMemoryReplayStore();
    await store.save(TOPIC, Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 9]));
    const client = fakeClient((s) => s.end(grpc.status.INVALID_ARGUMENT, 'The Replay ID validation failed.'));
    const subscriber = startPubSubSubscriber({
      tokens,
      topic: TOPIC,
      replayStore: store,
      client,
      handler: async () => {},
    });
    const error = await failure(subscriber.done);
    expect(error).toBeInstanceOf(ReplayGapError);
    expect((error as ReplayGapError).replayId).toBe('0000000000000009');
    expect(client.streams).toHaveLength(1);
  });

  it('stops on a status it cannot recover from, with the context in the error', async () => {
    const client = fakeClient((s) =>
      s.end(grpc.status.PERMISSION_DENIED, 'no access', { 'error-code': 'x.y', 'rpc-id': 'r1' }),
    );
    const subscriber = startPubSubSubscriber({
      tokens,
      topic: TOPIC,
      replayStore: createMemoryReplayStore(),
      client,
      handler: async () => {},
    });
    const error = (await failure(subscriber.done)) as PubSubError;
    expect(error).toBeInstanceOf(PubSubError);
    expect(error).toMatchObject({
      topic: TOPIC,
      grpcCode: grpc.status.PERMISSION_DENIED,
      errorCode: 'x.y',
      rpcId: 'r1',
    });
    expect(subscriber.stats().reconnects).toBe(0);
  });

  it('stops without checkpointing when the handler rejects', async () => {
    const store = createMemoryReplayStore();
    const client = fakeClient((s, _r, i) => {
      if (i === 0 && s.writes.length === 1) s.respond([1n, 2n]);
    });
    const subscriber = startPubSubSubscriber({
      tokens,
      topic: TOPIC,
      replayStore: store,
      client,
      handler: async () => {
        throw new Error('downstream unavailable');
      },
    });
    expect(await failure(subscriber.done)).toEqual(new Error('downstream unavailable'));
    expect(store.saved.size).toBe(0);
  });

  it('decodes longs as BigInt and requests the next batch only after acknowledging', async () => {
    const client = fakeClient((s) => {
      if (s.writes.length === 1) s.respond([2n ** 60n + 1n, 2n ** 60n + 2n], 1);
      else if (s.writes.length === 2) s.respond([2n ** 60n + 4n]);
    });
    const seen: unknown[] = [];
    const store = createMemoryReplayStore();
    const subscriber = startPubSubSubscriber({
      tokens,
      topic: TOPIC,
      client,
      batchSize: 3,
      replayStore: store,
      handler: async (batch) => void seen.push(...batch.events.map((e) => e.payload.n)),
    });
    await until('the first batch acknowledged', () => store.saved.size > 0, 5_000);
    // One still pending on the server: no new request yet.
    expect(client.streams[0]?.writes.map((w) => w.num_requested)).toEqual([3]);
    client.streams[0]?.respond([2n ** 60n + 3n], 0);
    await until('every event delivered', () => seen.length === 4, 5_000);
    // Each request went out only after the previous one was fully delivered and acknowledged.
    expect(client.streams[0]?.writes.map((w) => w.num_requested)).toEqual([3, 3, 3]);
    expect(seen).toEqual([2n ** 60n + 1n, 2n ** 60n + 2n, 2n ** 60n + 3n, 2n ** 60n + 4n]);
    await subscriber.stop();
  });

  it('decodes each event with the writer schema of its schema id, fetching a new one on a miss', async () => {
    const v2 = JSON.stringify({
      type: 'record',
      name: 'Test__e',
      fields: [
        { name: 'n', type: 'long' },
        { name: 'label', type: ['null', 'string'], default: null },
      ],
    });
    const fetched: string[] = [];
    const client = fakeClient((s) => {
      if (s.writes.length !== 1) return;
      const v2Type = parseAvroSchema(v2);
      s.emit('data', {
        events: [
          {
            event: { id: 'a', schema_id: 's1', payload: type.toBuffer({ n: 1n }), headers: [] },
            replay_id: Buffer.alloc(8, 1),
          },
          {
            event: {
              id: 'b',
              schema_id: 's2',
              payload: v2Type.toBuffer({ n: 2n, label: 'new field' }),
              headers: [],
            },
            replay_id: Buffer.alloc(8, 2),
          },
        ],
        latest_replay_id: Buffer.alloc(8, 2),
        rpc_id: 'r',
        pending_num_requested: 0,
      } as FetchResponse);
    });
    client.GetSchema = ((
      request: { schema_id: string },
      _m: unknown,
      _o: unknown,
      cb: (e: null, r: unknown) => void,
    ) => {
      fetched.push(request.schema_id);
      cb(null, {
        schema_json: request.schema_id === 's2' ? v2 : SCHEMA,
        schema_id: request.schema_id,
        rpc_id: '',
      });
    }) as unknown as PubSubClient['GetSchema'];
    const payloads: unknown[] = [];
    const subscriber = startPubSubSubscriber({
      tokens,
      topic: TOPIC,
      replayStore: createMemoryReplayStore(),
      client,
      handler: async (batch) => void payloads.push(...batch.events.map((e) => ({ ...e.payload }))),
    });
    await until('both events delivered', () => payloads.length === 2, 5_000);
    await subscriber.stop();
    expect(payloads).toEqual([{ n: 1n }, { n: 2n, label: 'new field' }]);
    expect(fetched).toEqual(['s1', 's2']);
  });

  it('gives up when the forced token refresh is refused', async () => {
    const client = fakeClient((s) => s.end(grpc.status.UNAUTHENTICATED, 'Authentication failed.'));
    let forced = 0;
    const refusing: SalesforceTokenSource = {
      async getSession(options) {
        if (options?.forceRefresh) {
          forced += 1;
          throw new AuthError('salesforce', 'invalid client credentials');
        }
        return tokens.getSession();
      },
    };
    const subscriber = startPubSubSubscriber({
      tokens: refusing,
      topic: TOPIC,
      replayStore: createMemoryReplayStore(),
      client,
      handler: async () => {},
    });
    expect(await failure(subscriber.done)).toBeInstanceOf(AuthError);
    expect(forced).toBe(1);
  });
});
