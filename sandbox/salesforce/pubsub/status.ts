/**
 * gRPC errors as the Pub/Sub API sends them: a status, and trailers `error-code` and `rpc-id`.
 * https://developer.salesforce.com/docs/platform/pub-sub-api/guide/handling-errors.html
 */
import * as grpc from '@grpc/grpc-js';

/** Error codes the sandbox sends in the `error-code` trailer. */
export const ERROR_CODES = {
  auth: 'sfdc.platform.eventbus.grpc.service.auth.error',
  replayIdCorrupted: 'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted',
  replayIdInvalid: 'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed',
  requestedEventsInvalid: 'sfdc.platform.eventbus.grpc.subscription.fetch.requested.events.invalid',
  /** (unconfirmed) */
  topicNotFound: 'sfdc.platform.eventbus.grpc.topic.notfound',
  /** (unconfirmed) */
  schemaNotFound: 'sfdc.platform.eventbus.grpc.schema.notfound',
  unavailable: 'sfdc.platform.eventbus.grpc.service.unavailable',
} as const;

/**
 * A status object with the Salesforce trailers, for `callback(error)` or `call.emit('error', …)`.
 * Like the real service, the message ends with `rpcId: <id>`.
 */
export function grpcError(
  code: grpc.status,
  details: string,
  rpcId: string,
  errorCode?: string,
): Partial<grpc.StatusObject> & { code: grpc.status; details: string; metadata: grpc.Metadata } {
  const metadata = new grpc.Metadata();
  if (errorCode) metadata.set('error-code', errorCode);
  metadata.set('rpc-id', rpcId);
  return { code, details: `${details} rpcId: ${rpcId}`, metadata };
}
