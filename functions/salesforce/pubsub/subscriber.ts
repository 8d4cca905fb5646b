/**
 * The Pub/Sub subscriber loop for one topic: subscribe, decode, hand batches to the caller one at
 * a time, checkpoint after each acknowledgement, and resubscribe from the checkpoint after a
 * transient failure. Flow control, decoding, replay ids and the channel live in their own modules.
 * https://developer.salesforce.com/docs/platform/pub-sub-api/references/methods/subscribe-rpc.html
 */
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import type avro from 'avsc';
import { AuthError } from '#base/errors.ts';
import { type Logger, silentLogger } from '#base/logger.ts';
import type { SalesforceTokenSource } from '#salesforce/session.ts';
import { createSchemaCache, type SchemaCache } from './avro.ts';
import { type BackoffOptions, backoffDelay } from './backoff.ts';
import { createPubSubClient } from './channel.ts';
import { PubSubError, type ReplayGapError } from './errors.ts';
import { createFlowControl, type FlowControl, MAX_EVENTS_PER_REQUEST } from './flow-control.ts';
import type { FetchRequest, FetchResponse, PubSubClient } from './proto.ts';
import {
  copyReplayId,
  createRecentReplayIds,
  type ReplayStore,
  replayIdsEqual,
  replayIdToHex,
} from './replay-id.ts';
import { classifyStatus, GrpcFailure, getSchema, getTopic, type StreamOutcome } from './rpc.ts';

/** One decoded event. `payload` is the Avro record (longs as BigInt, unions unwrapped). */
export interface PubSubEvent {
  readonly replayId: Uint8Array;
  readonly eventId: string;
  readonly schemaId: string;
  readonly payload: Record<string, unknown>;
  /** The writer schema the payload was decoded with. */
  readonly schema: avro.Type;
}

/** The events of one FetchResponse. Resolving the handler acknowledges them all. */
export interface PubSubBatch {
  readonly topic: string;
  readonly events: readonly PubSubEvent[];
  /** The checkpoint the batch's acknowledgement stores (the last event's replay id). */
  readonly replayId: Uint8Array;
}

/** The stored replay id can no longer be replayed; events since it may be lost. */
export interface ReplayGap {
  readonly topic: string;
  readonly lastReplayId: Uint8Array | undefined;
  readonly reason: string;
  readonly error: ReplayGapError;
}

/** What to do after a gap: resubscribe at LATEST (the caller backfills), or stop with the ReplayGapError. */
export type GapDecision = 'resubscribe-latest' | 'stop';

export interface PubSubSubscriberOptions {
  readonly tokens: SalesforceTokenSource;
  /** e.g. `/data/AccountChangeEvent`. */
  readonly topic: string;
  readonly replayStore: ReplayStore;
  /** Handles one batch; the next is not delivered until it resolves. A rejection stops the subscriber. */
  readonly handler: (batch: PubSubBatch) => Promise<void>;
  /** Where to start when the store holds no replay id. Default LATEST. */
  readonly initialReplay?: 'LATEST' | 'EARLIEST';
  /** Called when the stored replay id is outside retention. Without it, the subscriber stops with a ReplayGapError. */
  readonly onGap?: (gap: ReplayGap) => GapDecision | Promise<GapDecision>;
  /** Events per FetchRequest, 1..100. Default 100. */
  readonly batchSize?: number;
  readonly backoff?: BackoffOptions;
  /** Consecutive UNAUTHENTICATED answers (each after a forced token refresh) before giving up. Default 3. */
  readonly maxAuthFailures?: number;
  /** An existing client; otherwise one is created from the channel options and closed on stop. */
  readonly client?: PubSubClient;
  readonly endpoint?: string;
  readonly rootCerts?: string | Uint8Array;
  readonly channelOptions?: grpc.ChannelOptions;
  /** Receives topic, replay ids (hex), codes and counts; never tokens. */
  readonly logger?: Logger;
  readonly random?: () => number;
  /** The clock of `lastContactAt` / `disconnectedSince`, epoch ms. Default Date.now. */
  readonly now?: () => number;
}

export interface PubSubSubscriberStats {
  readonly delivered: number;
  readonly batches: number;
  readonly keepalives: number;
  readonly streams: number;
  readonly reconnects: number;
  readonly duplicatesDropped: number;
  readonly checkpoint: string | undefined;
  /** Epoch ms of the last answer from the server (GetTopic, an event batch or a keepalive). */
  readonly lastContactAt: number | undefined;
  /**
   * Epoch ms since which the subscriber has not been connected: since its start until the first
   * contact, and since a stream failed until the next contact or until the channel is ready again
   * with a stream open. Undefined while connected.
   */
  readonly disconnectedSince: number | undefined;
}

export interface PubSubSubscriber {
  /** Lets the batch in flight finish and be acknowledged, then closes the stream; resolves when stopped. */
  stop(): Promise<void>;
  /** Settles when the subscriber stops: resolves after stop(), rejects with the error that ended it. */
  readonly done: Promise<void>;
  stats(): PubSubSubscriberStats;
}

type Start =
  | { readonly preset: 'LATEST' | 'EARLIEST' }
  | { readonly preset: 'CUSTOM'; readonly replayId: Uint8Array };

/** Starts subscribing at once; see {@link PubSubSubscriberOptions}. */
export function startPubSubSubscriber(options: PubSubSubscriberOptions): PubSubSubscriber {
  const { topic, replayStore, tokens } = options;
  const batchSize = options.batchSize ?? MAX_EVENTS_PER_REQUEST;
  createFlowControl(batchSize); // validates batchSize up front
  const logger = options.logger ?? silentLogger;
  const ownsClient = options.client === undefined;
  const client =
    options.client ??
    createPubSubClient({
      tokens,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.rootCerts === undefined ? {} : { rootCerts: options.rootCerts }),
      ...(options.channelOptions === undefined ? {} : { channelOptions: options.channelOptions }),
    });
  const schemas: SchemaCache = createSchemaCache((schemaId) => getSchema(client, schemaId));
  const recent = createRecentReplayIds();
  const abort = new AbortController();

  let stopping = false;
  let attempt = 0;
  let authFailures = 0;
  let checkpoint: Uint8Array | undefined;
  let current:
    | { call: grpc.ClientDuplexStream<FetchRequest, FetchResponse>; idle: () => Promise<void> }
    | undefined;
  const stats = { delivered: 0, batches: 0, keepalives: 0, streams: 0, reconnects: 0, duplicatesDropped: 0 };
  const now = options.now ?? Date.now;
  let lastContactAt: number | undefined;
  let disconnectedSince: number | undefined = now();
  const contact = () => {
    lastContactAt = now();
    disconnectedSince = undefined;
  };
  /** A stream is open on a connected channel (a blocked port or a failing TLS handshake never is). */
  const channelReady = () => {
    try {
      return (
        current !== undefined &&
        client.getChannel().getConnectivityState(false) === grpc.connectivityState.READY
      );
    } catch {
      return false;
    }
  };

  const context = (
    extra: { grpcCode?: number; errorCode?: string | undefined; rpcId?: string | undefined } = {},
  ) => ({
    topic,
    replayId: checkpoint ? replayIdToHex(checkpoint) : undefined,
    ...extra,
  });

  function classify(status: grpc.StatusObject, start: Start): StreamOutcome {
    if (stopping) return { kind: 'stopped' };
    return classifyStatus(status, { ...context(), resuming: start.preset === 'CUSTOM' });
  }

  function decode(response: FetchResponse): Promise<PubSubEvent[]> {
    return Promise.all(
      response.events.map(async (consumerEvent) => {
        const event = consumerEvent.event;
        if (!event) throw new PubSubError(`${topic}: a ConsumerEvent without an event`, context());
        const schema = await schemas.get(event.schema_id);
        let payload: Record<string, unknown>;
        try {
          payload = schema.type.fromBuffer(event.payload) as Record<string, unknown>;
        } catch (cause) {
          throw new PubSubError(
            `${topic}: event ${event.id} (replay id ${replayIdToHex(consumerEvent.replay_id)}) does not decode with schema ${event.schema_id}`,
            context(),
            { cause, code: 'PUBSUB_DECODE_FAILED' },
          );
        }
        return {
          replayId: copyReplayId(consumerEvent.replay_id),
          eventId: event.id,
          schemaId: event.schema_id,
          payload,
          schema: schema.type,
        };
      }),
    );
  }

  async function saveCheckpoint(replayId: Uint8Array): Promise<void> {
    if (checkpoint && replayIdsEqual(checkpoint, replayId)) return;
    await replayStore.save(topic, replayId);
    checkpoint = copyReplayId(replayId);
  }

  /** Handles one FetchResponse; `quiet` says nothing was pending acknowledgement when it arrived. */
  async function process(response: FetchResponse, flow: FlowControl, quiet: boolean): Promise<void> {
    if (response.events.length === 0) {
      stats.keepalives += 1;
      // Only while a request is outstanding does an empty response mean "nothing newer than
      // latest_replay_id exists", so only then is that id a safe checkpoint.
      if (quiet && response.pending_num_requested > 0 && response.latest_replay_id.length > 0) {
        await saveCheckpoint(response.latest_replay_id);
      }
      return;
    }
    const decoded = await decode(response);
    const fresh = decoded.filter((event) => !recent.has(event.replayId));
    stats.duplicatesDropped += decoded.length - fresh.length;
    const last = decoded[decoded.length - 1];
    if (fresh.length > 0 && last) {
      await options.handler({ topic, events: fresh, replayId: last.replayId });
      for (const event of fresh) recent.add(event.replayId);
      stats.delivered += fresh.length;
      stats.batches += 1;
    }
    if (last) await saveCheckpoint(last.replayId);
    flow.acknowledged(response.events.length);
  }

  function runStream(start: Start): Promise<StreamOutcome> {
    return new Promise((resolve) => {
      if (stopping) {
        resolve({ kind: 'stopped' });
        return;
      }
      const flow = createFlowControl(batchSize);
      const call = client.Subscribe();
      stats.streams += 1;
      let queue: Promise<void> = Promise.resolve();
      let ended = false;
      let failure: StreamOutcome | undefined;
      let settled = false;

      const request = () => {
        if (ended || stopping || failure) return;
        const n = flow.nextRequest();
        if (n === 0) return;
        flow.requested(n);
        call.write({ topic_name: topic, num_requested: n });
      };
      const fail = (outcome: StreamOutcome) => {
        failure ??= outcome;
        call.cancel();
      };
      const finish = (outcome: StreamOutcome) => {
        if (settled) return;
        settled = true;
        ended = true;
        void queue.then(() => {
          current = undefined;
          resolve(failure ?? outcome);
        });
      };

      current = { call, idle: () => queue };
      call.on('data', (response: FetchResponse) => {
        contact();
        const quiet = flow.unacknowledged === 0;
        flow.received(response.events.length, response.pending_num_requested);
        queue = queue.then(async () => {
          if (stopping || failure) return;
          try {
            await process(response, flow, quiet);
            attempt = 0;
            authFailures = 0;
            request();
          } catch (error) {
            fail(error instanceof GrpcFailure ? classify(error.status, start) : { kind: 'fatal', error });
          }
        });
      });
      call.on('error', () => {
        // The status event carries the outcome.
      });
      call.on('status', (status: grpc.StatusObject) => finish(classify(status, start)));

      const first: FetchRequest = {
        topic_name: topic,
        replay_preset: start.preset,
        num_requested: batchSize,
      };
      if (start.preset === 'CUSTOM') first.replay_id = start.replayId;
      logger.info('pubsub: subscribing', {
        topic,
        preset: start.preset,
        replayId: start.preset === 'CUSTOM' ? replayIdToHex(start.replayId) : undefined,
      });
      flow.requested(batchSize);
      call.write(first);
    });
  }

  async function backoff(reason: string): Promise<void> {
    const delay = backoffDelay(attempt, options.backoff, options.random);
    attempt += 1;
    stats.reconnects += 1;
    logger.warn('pubsub: resubscribing', {
      topic,
      reason,
      delayMs: delay,
      replayId: checkpoint ? replayIdToHex(checkpoint) : undefined,
    });
    await sleep(delay, undefined, { signal: abort.signal }).catch(() => undefined);
  }

  async function run(): Promise<void> {
    checkpoint = await replayStore.load(topic);
    let start: Start = checkpoint
      ? { preset: 'CUSTOM', replayId: checkpoint }
      : { preset: options.initialReplay ?? 'LATEST' };
    let topicChecked = false;
    try {
      while (!stopping) {
        let outcome: StreamOutcome;
        try {
          if (!topicChecked) {
            await checkTopic();
            topicChecked = true;
          }
          outcome = await runStream(start);
        } catch (error) {
          outcome = error instanceof GrpcFailure ? classify(error.status, start) : { kind: 'fatal', error };
        }
        if (stopping || outcome.kind === 'stopped') return;
        disconnectedSince ??= now();
        if (outcome.kind === 'fatal') throw outcome.error;
        if (outcome.kind === 'gap') {
          const decision = options.onGap
            ? await options.onGap({
                topic,
                lastReplayId: checkpoint,
                reason: outcome.error.message,
                error: outcome.error,
              })
            : 'stop';
          if (decision !== 'resubscribe-latest') throw outcome.error;
          logger.warn('pubsub: replay id outside retention, resubscribing at LATEST', context());
          // The old id must not be resumed from again; the store keeps it until the first new checkpoint.
          checkpoint = undefined;
          start = { preset: 'LATEST' };
          continue;
        }
        if (outcome.kind === 'auth') {
          authFailures += 1;
          if (authFailures > (options.maxAuthFailures ?? 3)) {
            throw new PubSubError(`${topic}: UNAUTHENTICATED after ${authFailures - 1} token refreshes`, {
              ...context(),
              grpcCode: grpc.status.UNAUTHENTICATED,
            });
          }
          logger.warn('pubsub: UNAUTHENTICATED, refreshing the token', { topic });
          const refreshed = await tokens.getSession({ forceRefresh: true }).then(
            () => undefined,
            (error: unknown) => error,
          );
          // Rejected credentials will not fix themselves; a network failure might.
          if (refreshed instanceof AuthError) throw refreshed;
          if (refreshed !== undefined) await backoff('token refresh failed');
        } else {
          await backoff(outcome.reason);
        }
        if (checkpoint) start = { preset: 'CUSTOM', replayId: checkpoint };
      }
    } finally {
      if (ownsClient) client.close();
    }
  }

  async function checkTopic(): Promise<void> {
    const info = await getTopic(client, topic);
    contact();
    if (!info.can_subscribe) {
      throw new PubSubError(`${topic}: the integration user cannot subscribe to this topic`, context());
    }
    await schemas.get(info.schema_id);
  }

  const done = run();
  done.catch(() => undefined);

  return {
    async stop() {
      stopping = true;
      abort.abort();
      const active = current;
      if (active) {
        await active.idle();
        active.call.cancel();
      }
      await done.catch(() => undefined);
    },
    done,
    stats: () => {
      if (disconnectedSince !== undefined && lastContactAt !== undefined && channelReady()) {
        disconnectedSince = undefined;
      }
      return {
        ...stats,
        checkpoint: checkpoint ? replayIdToHex(checkpoint) : undefined,
        lastContactAt,
        disconnectedSince,
      };
    },
  };
}
