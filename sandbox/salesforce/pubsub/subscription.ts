/**
 * One Subscribe stream of the sandbox Pub/Sub server: replay presets on the first FetchRequest,
 * `num_requested` accumulation with at most 100 events per FetchResponse, keepalives while idle,
 * the idle cut-off when nothing is pending, and the faults decided per FetchResponse with events
 * (operation `pubsub.subscribe`): `stream-drop` ends the stream with INTERNAL, `token-expiry` with
 * UNAUTHENTICATED.
 * https://developer.salesforce.com/docs/platform/pub-sub-api/references/methods/subscribe-rpc.html
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { FetchRequest, FetchResponse } from '#salesforce/pubsub/proto.ts';
import type { FaultInjector } from '#sandbox/shared/faults.ts';
import { decodeReplayId, type EventLog, encodeReplayId, type LoggedEvent } from './event-log.ts';
import { pubSubFaults } from './faults.ts';
import { ERROR_CODES, grpcError } from './status.ts';

/** Most events the server puts in one FetchResponse. */
export const MAX_EVENTS_PER_RESPONSE = 100;

export interface Topic {
  readonly name: string;
  readonly schemaId: string;
  readonly includes: (event: LoggedEvent) => boolean;
}

export interface SubscriptionStats {
  eventsDelivered: number;
  responses: number;
  keepalives: number;
  streamsOpen: number;
  /**
   * Open streams whose first FetchRequest has been accepted: their topic and replay position are
   * fixed, so a change published from now on reaches them (with LATEST, one published before does not).
   */
  streamsSubscribed: number;
  streamsOpened: number;
  streamDrops: number;
  idleClosures: number;
  /** The most events any stream has had requested and not yet delivered. */
  maxPending: number;
}

export interface SubscriptionContext {
  readonly log: EventLog;
  readonly topics: ReadonlyMap<string, Topic>;
  readonly faults: FaultInjector | undefined;
  readonly keepaliveMs: number;
  readonly idleTimeoutMs: number;
  readonly stats: SubscriptionStats;
}

type Stream = grpc.ServerDuplexStream<FetchRequest, FetchResponse>;

/** Serves one Subscribe call until the client ends it, an error ends it, or `close()` is called. */
export function serveSubscription(call: Stream, ctx: SubscriptionContext): { close(): void } {
  const rpcId = randomUUID();
  const { log, stats } = ctx;
  let topic: Topic | undefined;
  let cursor = 0n;
  let pending = 0;
  let closed = false;
  let idleTimer: NodeJS.Timeout | undefined;
  let keepaliveTimer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  let scheduled: NodeJS.Immediate | undefined;
  stats.streamsOpen += 1;
  stats.streamsOpened += 1;

  const cleanup = () => {
    if (closed) return false;
    closed = true;
    clearTimeout(idleTimer);
    clearTimeout(keepaliveTimer);
    clearImmediate(scheduled);
    unsubscribe?.();
    stats.streamsOpen -= 1;
    if (topic) stats.streamsSubscribed -= 1;
    return true;
  };
  const fail = (code: grpc.status, details: string, errorCode?: string) => {
    if (cleanup()) call.emit('error', grpcError(code, details, rpcId, errorCode));
  };
  const end = () => {
    if (cleanup()) call.end();
  };

  const write = (response: Omit<FetchResponse, 'rpc_id'>) => {
    call.write({ ...response, rpc_id: rpcId });
    stats.responses += 1;
    armKeepalive();
  };

  // An empty FetchResponse carrying the latest replay id, so a caught-up client can checkpoint.
  const armKeepalive = () => {
    clearTimeout(keepaliveTimer);
    keepaliveTimer = setTimeout(() => {
      if (closed || !topic) return;
      stats.keepalives += 1;
      write({
        events: [],
        latest_replay_id: encodeReplayId(cursor),
        pending_num_requested: pending,
      });
    }, ctx.keepaliveMs);
  };

  // A stream with nothing requested for idleTimeoutMs is closed by the server.
  const armIdle = () => {
    clearTimeout(idleTimer);
    if (pending > 0) return;
    idleTimer = setTimeout(() => {
      stats.idleClosures += 1;
      end();
    }, ctx.idleTimeoutMs);
  };

  const deliver = () => {
    if (!topic) return;
    const current = topic;
    while (!closed && pending > 0) {
      const { events, through } = log.after(
        cursor,
        Math.min(pending, MAX_EVENTS_PER_RESPONSE),
        current.includes,
      );
      cursor = through;
      const last = events[events.length - 1];
      if (!last) break;
      const faults = pubSubFaults(ctx.faults, 'pubsub.subscribe');
      if (faults.includes('stream-drop')) {
        stats.streamDrops += 1;
        fail(grpc.status.INTERNAL, 'The service is unavailable. Try again later.', ERROR_CODES.unavailable);
        return;
      }
      if (faults.includes('token-expiry')) {
        fail(grpc.status.UNAUTHENTICATED, 'Authentication failed.', ERROR_CODES.auth);
        return;
      }
      pending -= events.length;
      stats.eventsDelivered += events.length;
      write({
        events: events.map((e) => ({
          event: { id: e.eventId, schema_id: e.schemaId, payload: e.payload, headers: [] },
          replay_id: e.replayId,
        })),
        latest_replay_id: last.replayId,
        pending_num_requested: pending,
      });
    }
    armIdle();
  };

  const start = (request: FetchRequest): boolean => {
    const found = ctx.topics.get(request.topic_name ?? '');
    if (!found) {
      fail(grpc.status.NOT_FOUND, `Topic ${request.topic_name ?? ''} not found.`, ERROR_CODES.topicNotFound);
      return false;
    }
    log.prune();
    const preset = request.replay_preset ?? 'LATEST';
    if (preset === 'CUSTOM' || preset === 2) {
      const seq =
        request.replay_id && request.replay_id.byteLength > 0 ? decodeReplayId(request.replay_id) : undefined;
      if (seq === undefined || seq > log.latestSeq) {
        fail(grpc.status.INVALID_ARGUMENT, 'The Replay ID validation failed.', ERROR_CODES.replayIdInvalid);
        return false;
      }
      // A replay id no longer on the bus cannot be resumed from; events after it may be gone.
      if (log.prunedThrough > 0n && seq <= log.prunedThrough) {
        fail(grpc.status.INVALID_ARGUMENT, 'The Replay ID validation failed.', ERROR_CODES.replayIdCorrupted);
        return false;
      }
      cursor = seq;
    } else if (preset === 'EARLIEST' || preset === 1) {
      cursor = log.prunedThrough;
    } else {
      cursor = log.latestSeq;
    }
    topic = found;
    stats.streamsSubscribed += 1;
    // Changes committed in one tick (one transaction, one bulk batch) go out together.
    unsubscribe = log.onAppend(() => {
      scheduled ??= setImmediate(() => {
        scheduled = undefined;
        deliver();
      });
    });
    return true;
  };

  call.on('data', (request: FetchRequest) => {
    if (closed) return;
    if (!topic && !start(request)) return;
    const n = request.num_requested ?? 0;
    if (!Number.isInteger(n) || n <= 0) {
      fail(
        grpc.status.INVALID_ARGUMENT,
        'The requested number of events in a fetch request must be greater than zero.',
        ERROR_CODES.requestedEventsInvalid,
      );
      return;
    }
    pending += n;
    stats.maxPending = Math.max(stats.maxPending, pending);
    clearTimeout(idleTimer);
    deliver();
    if (!keepaliveTimer) armKeepalive();
  });
  call.on('end', end);
  call.on('cancelled', cleanup);
  call.on('error', cleanup);
  armIdle();

  return { close: () => fail(grpc.status.UNAVAILABLE, 'The server is shutting down.') };
}
