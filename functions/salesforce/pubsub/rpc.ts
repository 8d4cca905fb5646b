/**
 * The unary RPCs the subscriber makes, and how a gRPC status ends a Subscribe stream: retry,
 * re-authenticate, a replay gap, or a failure not worth retrying.
 * https://developer.salesforce.com/docs/platform/pub-sub-api/guide/handling-errors.html
 */
import * as grpc from '@grpc/grpc-js';
import { ConnectorError } from '#base/errors.ts';
import { PubSubError, type PubSubErrorContext, ReplayGapError } from './errors.ts';
import type { PubSubClient, SchemaInfo, TopicInfo } from './proto.ts';

/** The error code of a replay id outside the retention window. */
export const REPLAY_ID_CORRUPTED = 'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted';
/** The error code of a replay id the service cannot parse (also not resumable). */
export const REPLAY_ID_VALIDATION_FAILED =
  'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed';

/** How a stream (or the RPC before it) ended, as far as the subscriber loop is concerned. */
export type StreamOutcome =
  | { readonly kind: 'stopped' }
  | { readonly kind: 'retry'; readonly reason: string }
  | { readonly kind: 'auth'; readonly reason: string }
  | { readonly kind: 'gap'; readonly error: ReplayGapError }
  | { readonly kind: 'fatal'; readonly error: unknown };

/** Statuses after which resubscribing from the checkpoint can succeed (OK: the server ended the stream). */
const RETRYABLE = new Set<number>([
  grpc.status.OK,
  grpc.status.CANCELLED,
  grpc.status.UNKNOWN,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.ABORTED,
  grpc.status.INTERNAL,
  grpc.status.UNAVAILABLE,
]);

function trailer(metadata: grpc.Metadata | undefined, key: string): string | undefined {
  const value = metadata?.get(key)[0];
  return value === undefined ? undefined : String(value);
}

/**
 * Classifies a final status. A replay gap is recognised by the documented `error-code` trailer,
 * or by INVALID_ARGUMENT about the replay id while resuming with CUSTOM (what third-party clients see).
 */
export function classifyStatus(
  status: grpc.StatusObject,
  context: { readonly topic: string; readonly replayId?: string | undefined; readonly resuming: boolean },
): StreamOutcome {
  const errorCode = trailer(status.metadata, 'error-code');
  const detail: PubSubErrorContext = {
    topic: context.topic,
    replayId: context.replayId,
    grpcCode: status.code,
    errorCode,
    rpcId: trailer(status.metadata, 'rpc-id'),
  };
  if (
    errorCode === REPLAY_ID_CORRUPTED ||
    errorCode === REPLAY_ID_VALIDATION_FAILED ||
    (status.code === grpc.status.INVALID_ARGUMENT && context.resuming && /replay/i.test(status.details))
  ) {
    const message = `${context.topic}: replay id outside the retention window: ${status.details}`;
    return { kind: 'gap', error: new ReplayGapError(message, detail) };
  }
  if (status.code === grpc.status.UNAUTHENTICATED) return { kind: 'auth', reason: status.details };
  if (RETRYABLE.has(status.code))
    return { kind: 'retry', reason: `${grpc.status[status.code]}: ${status.details}` };
  const message = `${context.topic}: subscribe failed with ${grpc.status[status.code]}: ${status.details}`;
  return { kind: 'fatal', error: new PubSubError(message, detail) };
}

/** A failed unary RPC, carrying its gRPC status for classification. */
export class GrpcFailure extends ConnectorError {
  override name = 'GrpcFailure';
  readonly status: grpc.StatusObject;

  constructor(error: grpc.ServiceError) {
    super(error.details, { code: 'GRPC_FAILURE' });
    this.status = { code: error.code, details: error.details, metadata: error.metadata };
  }
}

function unary<T>(
  invoke: (callback: (error: grpc.ServiceError | null, response?: T) => void) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    invoke((error, response) => {
      if (error) reject(new GrpcFailure(error));
      else if (response === undefined)
        reject(new ConnectorError('empty response', { code: 'GRPC_EMPTY_RESPONSE' }));
      else resolve(response);
    });
  });
}

/** GetTopic: the topic's schema id and whether the caller may subscribe. */
export function getTopic(client: PubSubClient, topic: string): Promise<TopicInfo> {
  return unary<TopicInfo>((callback) =>
    client.GetTopic({ topic_name: topic }, new grpc.Metadata(), {}, callback),
  );
}

/** GetSchema: the Avro schema JSON of a schema id. */
export function getSchema(client: PubSubClient, schemaId: string): Promise<string> {
  return unary<SchemaInfo>((callback) =>
    client.GetSchema({ schema_id: schemaId }, new grpc.Metadata(), {}, callback),
  ).then((info) => info.schema_json);
}
