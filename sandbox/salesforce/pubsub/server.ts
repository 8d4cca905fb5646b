/**
 * The Salesforce sandbox's Pub/Sub API server (gRPC over TLS): change events from the REST
 * sandbox's change feed, served on `/data/ChangeEvents` and `/data/<Object>ChangeEvent`, with
 * GetTopic, GetSchema and Subscribe as the real service behaves (see subscription.ts).
 * https://developer.salesforce.com/docs/platform/pub-sub-api/guide/intro.html
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { FetchRequest, FetchResponse, SchemaInfo, TopicInfo } from '#salesforce/pubsub/proto.ts';
import { pubSubServiceDefinition } from '#salesforce/pubsub/proto.ts';
import type { SandboxClock } from '#sandbox/shared/clock.ts';
import type { FaultInjector } from '#sandbox/shared/faults.ts';
import type { SandboxTls } from '#sandbox/shared/tls.ts';
import type { ChangeFeed, ChangeType, SandboxChange } from '../change-feed.ts';
import type { ObjectDef } from '../objects.ts';
import { encodeChange } from './encode.ts';
import { createEventLog } from './event-log.ts';
import { pubSubFaults } from './faults.ts';
import { buildChangeEventSchemas } from './schemas.ts';
import { ERROR_CODES, grpcError } from './status.ts';
import { type SubscriptionStats, serveSubscription, type Topic } from './subscription.ts';

export interface PubSubCallerMetadata {
  readonly accessToken: string;
  readonly instanceUrl: string;
  readonly tenantId: string;
}

export interface PubSubSandboxOptions {
  readonly feed: ChangeFeed;
  readonly schema: ReadonlyMap<string, ObjectDef>;
  readonly tls: SandboxTls;
  readonly clock: SandboxClock;
  /** Whether the `accesstoken`/`instanceurl`/`tenantid` metadata of an RPC is a valid session. */
  authenticate(meta: PubSubCallerMetadata): boolean;
  readonly faults?: FaultInjector;
  readonly host?: string;
  /** 0 (default) for an ephemeral port. */
  readonly port?: number;
  /** Keepalive interval while a stream is idle. Default 270 000 ms, as documented. */
  readonly keepaliveMs?: number;
  /** A stream with nothing requested for this long is closed. Default 60 000 ms. */
  readonly idleTimeoutMs?: number;
  /** Events older than this on the sandbox clock are dropped. Default 72 h. */
  readonly retentionMs?: number;
}

export interface PubSubSandboxStats extends SubscriptionStats {
  readonly eventsPublished: number;
  readonly eventsRetained: number;
  readonly encodeErrors: number;
  readonly authFailures: number;
}

export interface PubSubSandbox {
  /** `127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** Publishes a GAP_* event (header only) for `entityName`, as Salesforce does when it cannot build a full event. */
  injectGap(
    entityName: string,
    recordIds: readonly string[],
    changeType?: Extract<ChangeType, `GAP_${string}`>,
  ): void;
  stats(): PubSubSandboxStats;
  close(): Promise<void>;
}

const CHANGE_EVENTS = '/data/ChangeEvents';

/** Starts the sandbox Pub/Sub server; it takes every CDC-enabled change published on `feed` from now on. */
export async function startPubSubSandbox(options: PubSubSandboxOptions): Promise<PubSubSandbox> {
  const schemas = buildChangeEventSchemas(options.schema);
  const schemasById = new Map([...schemas.values()].map((s) => [s.id, s]));
  const log = createEventLog(options.clock, options.retentionMs ?? 72 * 3600_000);
  const stats: SubscriptionStats = {
    eventsDelivered: 0,
    responses: 0,
    keepalives: 0,
    streamsOpen: 0,
    streamsSubscribed: 0,
    streamsOpened: 0,
    streamDrops: 0,
    idleClosures: 0,
    maxPending: 0,
  };
  const counters = { eventsPublished: 0, encodeErrors: 0, authFailures: 0 };

  const topics = new Map<string, Topic>();
  const first = [...schemas.values()][0];
  if (first) topics.set(CHANGE_EVENTS, { name: CHANGE_EVENTS, schemaId: first.id, includes: () => true });
  for (const served of schemas.values()) {
    const name = `/data/${served.objectName}ChangeEvent`;
    topics.set(name, { name, schemaId: served.id, includes: (e) => e.entityName === served.objectName });
  }

  const append = (change: SandboxChange) => {
    const object = options.schema.get(change.entityName);
    const served = schemas.get(change.entityName);
    if (!object || !served) return;
    try {
      const payload = encodeChange(change, object, served);
      log.append({ eventId: randomUUID(), entityName: change.entityName, schemaId: served.id, payload });
      counters.eventsPublished += 1;
    } catch {
      // A malformed change must not break the REST write that published it.
      counters.encodeErrors += 1;
    }
  };
  const unsubscribeFeed = options.feed.subscribe(append);

  /** Checks the session metadata (and the token-expiry fault); returns the tenant id, or an error to send. */
  const authorize = (metadata: grpc.Metadata, operation: string) => {
    const get = (key: string) => String(metadata.get(key)[0] ?? '');
    const meta = {
      accessToken: get('accesstoken'),
      instanceUrl: get('instanceurl'),
      tenantId: get('tenantid'),
    };
    const expired = pubSubFaults(options.faults, operation).includes('token-expiry');
    if (!expired && meta.accessToken && options.authenticate(meta)) return { tenantId: meta.tenantId };
    counters.authFailures += 1;
    return {
      error: grpcError(grpc.status.UNAUTHENTICATED, 'Authentication failed.', randomUUID(), ERROR_CODES.auth),
    };
  };

  const streams = new Set<{ close(): void }>();
  const server = new grpc.Server();
  server.addService(pubSubServiceDefinition(), {
    GetTopic(
      call: grpc.ServerUnaryCall<{ topic_name: string }, TopicInfo>,
      callback: grpc.sendUnaryData<TopicInfo>,
    ) {
      const auth = authorize(call.metadata, 'pubsub.getTopic');
      if ('error' in auth) return callback(auth.error);
      const rpcId = randomUUID();
      const topic = topics.get(call.request.topic_name);
      if (!topic) {
        return callback(
          grpcError(
            grpc.status.NOT_FOUND,
            `Topic ${call.request.topic_name} not found.`,
            rpcId,
            ERROR_CODES.topicNotFound,
          ),
        );
      }
      callback(null, {
        topic_name: topic.name,
        tenant_guid: auth.tenantId,
        can_publish: false,
        can_subscribe: true,
        schema_id: topic.schemaId,
        rpc_id: rpcId,
      });
    },
    GetSchema(
      call: grpc.ServerUnaryCall<{ schema_id: string }, SchemaInfo>,
      callback: grpc.sendUnaryData<SchemaInfo>,
    ) {
      const auth = authorize(call.metadata, 'pubsub.getSchema');
      if ('error' in auth) return callback(auth.error);
      const rpcId = randomUUID();
      const served = schemasById.get(call.request.schema_id);
      if (!served) {
        return callback(
          grpcError(
            grpc.status.NOT_FOUND,
            `Schema ${call.request.schema_id} not found.`,
            rpcId,
            ERROR_CODES.schemaNotFound,
          ),
        );
      }
      callback(null, { schema_json: served.json, schema_id: served.id, rpc_id: rpcId });
    },
    Subscribe(call: grpc.ServerDuplexStream<FetchRequest, FetchResponse>) {
      const auth = authorize(call.metadata, 'pubsub.subscribe.open');
      if ('error' in auth) {
        call.emit('error', auth.error);
        return;
      }
      const stream = serveSubscription(call, {
        log,
        topics,
        faults: options.faults,
        keepaliveMs: options.keepaliveMs ?? 270_000,
        idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
        stats,
      });
      streams.add(stream);
      const forget = () => streams.delete(stream);
      call.on('close', forget);
      call.on('cancelled', forget);
      call.on('finish', forget);
    },
    Publish(_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
      callback(grpcError(grpc.status.UNIMPLEMENTED, 'The sandbox serves change events only.', randomUUID()));
    },
    PublishStream(call: grpc.ServerDuplexStream<unknown, unknown>) {
      call.emit(
        'error',
        grpcError(grpc.status.UNIMPLEMENTED, 'The sandbox serves change events only.', randomUUID()),
      );
    },
  });

  const host = options.host ?? '127.0.0.1';
  const credentials = grpc.ServerCredentials.createSsl(
    null,
    [{ private_key: Buffer.from(options.tls.key), cert_chain: Buffer.from(options.tls.cert) }],
    false,
  );
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${options.port ?? 0}`, credentials, (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });

  return {
    endpoint: `${host}:${port}`,
    injectGap(entityName, recordIds, changeType = 'GAP_UPDATE') {
      append({
        entityName,
        changeType,
        recordIds,
        changedFields: [],
        nulledFields: [],
        diffFields: [],
        values: {},
        changeOrigin: '',
        transactionKey: randomUUID(),
        sequenceNumber: 1,
        commitTimestamp: options.clock.now(),
        commitNumber: BigInt(options.clock.now()) * 1000n,
        commitUser: '005000000000000AAA',
      });
    },
    stats: () => {
      log.prune();
      return { ...stats, ...counters, eventsRetained: log.size };
    },
    async close() {
      unsubscribeFeed();
      for (const stream of streams) stream.close();
      streams.clear();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
