/** Salesforce Change Data Capture over the Pub/Sub API: the subscriber and its parts. */
export { bigIntLongType, createSchemaCache, parseAvroSchema, type SchemaCache } from './avro.ts';
export { type BackoffOptions, backoffDelay } from './backoff.ts';
export { type BitmapField, bitmapFieldsOf, decodeFieldBitmaps, encodeFieldBitmaps } from './bitmap.ts';
export {
  type ChangeEvent,
  type ChangeType,
  flatComponentName,
  parseChangeOriginClient,
  toChangeEvent,
} from './cdc.ts';
export { createPubSubClient, DEFAULT_PUBSUB_ENDPOINT, type PubSubChannelOptions } from './channel.ts';
export { PubSubError, type PubSubErrorContext, ReplayGapError } from './errors.ts';
export { createFlowControl, type FlowControl, MAX_EVENTS_PER_REQUEST } from './flow-control.ts';
export {
  createMemoryReplayStore,
  type ReplayStore,
  replayIdsEqual,
  replayIdToHex,
} from './replay-id.ts';
export {
  classifyStatus,
  REPLAY_ID_CORRUPTED,
  REPLAY_ID_VALIDATION_FAILED,
  type StreamOutcome,
} from './rpc.ts';
export {
  type GapDecision,
  type PubSubBatch,
  type PubSubEvent,
  type PubSubSubscriber,
  type PubSubSubscriberOptions,
  type PubSubSubscriberStats,
  type ReplayGap,
  startPubSubSubscriber,
} from './subscriber.ts';
