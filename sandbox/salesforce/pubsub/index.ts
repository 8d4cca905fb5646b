/** The Salesforce sandbox's Pub/Sub API server and the change-event schemas it serves. */
export { buildChangeEventSchemas, changeEventSchema, type ServedSchema, schemaIdOf } from './schemas.ts';
export {
  type PubSubCallerMetadata,
  type PubSubSandbox,
  type PubSubSandboxOptions,
  type PubSubSandboxStats,
  startPubSubSandbox,
} from './server.ts';
