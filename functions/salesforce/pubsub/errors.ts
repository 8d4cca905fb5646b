/** Typed errors of the Pub/Sub subscriber; they carry context, never tokens. */
import { ConnectorError } from '#base/errors.ts';

export interface PubSubErrorContext {
  readonly topic: string;
  /** Hex of the replay id the subscriber was resuming from, if any. */
  readonly replayId?: string | undefined;
  /** The gRPC status code (`@grpc/grpc-js` `status`), if the failure came from the server. */
  readonly grpcCode?: number | undefined;
  /** The `error-code` trailer, e.g. `sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted`. */
  readonly errorCode?: string | undefined;
  /** The `rpc-id` trailer, for Salesforce support. */
  readonly rpcId?: string | undefined;
}

/** A Pub/Sub RPC or stream failed in a way the subscriber does not retry. */
export class PubSubError extends ConnectorError implements PubSubErrorContext {
  override name = 'PubSubError';
  readonly topic: string;
  readonly replayId: string | undefined;
  readonly grpcCode: number | undefined;
  readonly errorCode: string | undefined;
  readonly rpcId: string | undefined;

  constructor(message: string, context: PubSubErrorContext, options?: ErrorOptions & { code?: string }) {
    super(message, { ...options, code: options?.code ?? 'PUBSUB_ERROR' });
    this.topic = context.topic;
    this.replayId = context.replayId;
    this.grpcCode = context.grpcCode;
    this.errorCode = context.errorCode;
    this.rpcId = context.rpcId;
  }
}

/** A delivered event or its schema is not the change event it should be (a header, a bitmap). */
export class ChangeEventFormatError extends ConnectorError {
  override name = 'ChangeEventFormatError';
  /** The event's UUID, when the event is known. */
  readonly eventId: string | undefined;

  constructor(
    message: string,
    context: { readonly eventId?: string | undefined } = {},
    options?: ErrorOptions,
  ) {
    super(message, { ...options, code: 'CHANGE_EVENT_INVALID', failure: 'permanent' });
    this.eventId = context.eventId;
  }
}

/**
 * The stored replay id is outside the retention window (72 h): events between it and now are
 * gone from the event bus and must be recovered by a backfill.
 * https://developer.salesforce.com/docs/platform/pub-sub-api/guide/event-message-durability.html
 */
export class ReplayGapError extends PubSubError {
  override name = 'ReplayGapError';

  constructor(message: string, context: PubSubErrorContext, options?: ErrorOptions) {
    super(message, context, { ...options, code: 'REPLAY_GAP' });
  }
}
