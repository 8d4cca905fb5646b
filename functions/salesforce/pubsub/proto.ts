/**
 * The Pub/Sub API's protobuf definitions, loaded at run time from `pubsub.proto`, and the
 * TypeScript shapes of the messages as @grpc/proto-loader presents them (keepCase; enums as
 * names; bytes as Buffer; 64-bit integers as strings). Shared by the subscriber and the sandbox server.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/** Where replay starts on a stream's first FetchRequest. */
export type ReplayPreset = 'LATEST' | 'EARLIEST' | 'CUSTOM';

export interface FetchRequest {
  topic_name?: string;
  replay_preset?: ReplayPreset | number;
  replay_id?: Uint8Array;
  num_requested?: number;
  auth_refresh?: string;
}

export interface ProducerEvent {
  id: string;
  schema_id: string;
  payload: Buffer;
  headers: { key: string; value: Buffer }[];
}

export interface ConsumerEvent {
  event: ProducerEvent | null;
  replay_id: Buffer;
}

export interface FetchResponse {
  events: ConsumerEvent[];
  latest_replay_id: Buffer;
  rpc_id: string;
  pending_num_requested: number;
}

export interface TopicInfo {
  topic_name: string;
  tenant_guid: string;
  can_publish: boolean;
  can_subscribe: boolean;
  schema_id: string;
  rpc_id: string;
}

export interface SchemaInfo {
  schema_json: string;
  schema_id: string;
  rpc_id: string;
}

/** The generated `PubSub` client, typed for the RPCs the connector calls. */
export interface PubSubClient extends grpc.Client {
  Subscribe(
    metadata?: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientDuplexStream<FetchRequest, FetchResponse>;
  GetTopic(
    request: { topic_name: string },
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response?: TopicInfo) => void,
  ): grpc.ClientUnaryCall;
  GetSchema(
    request: { schema_id: string },
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response?: SchemaInfo) => void,
  ): grpc.ClientUnaryCall;
}

type PubSubClientConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => PubSubClient;

const PROTO_FILE = fileURLToPath(new URL('./pubsub.proto', import.meta.url));

let loaded: { client: PubSubClientConstructor; service: grpc.ServiceDefinition } | undefined;

function load(): { client: PubSubClientConstructor; service: grpc.ServiceDefinition } {
  if (loaded) return loaded;
  const definition = loadSync(PROTO_FILE, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const root = grpc.loadPackageDefinition(definition) as unknown as {
    eventbus: { v1: { PubSub: grpc.ServiceClientConstructor } };
  };
  const ctor = root.eventbus.v1.PubSub;
  loaded = { client: ctor as unknown as PubSubClientConstructor, service: ctor.service };
  return loaded;
}

/** The `eventbus.v1.PubSub` client constructor. */
export function pubSubClientConstructor(): PubSubClientConstructor {
  return load().client;
}

/** The `eventbus.v1.PubSub` service definition, for a server. */
export function pubSubServiceDefinition(): grpc.ServiceDefinition {
  return load().service;
}
