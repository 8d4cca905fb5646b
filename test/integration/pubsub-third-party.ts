/**
 * Loads and connects pozil/pub-sub-api-node-client (salesforce-pubsub-api-client), a client
 * written against the real Pub/Sub API, for fidelity tests of the sandbox server.
 */
import fs from 'node:fs';
import type PubSubApiClientType from 'salesforce-pubsub-api-client';

// Its Avro library (avro-js 1.12.2) requires 'underscore' without declaring it; the project
// installs underscore as a dev dependency so the client loads in a clean install.
const { default: PubSubApiClient } = await import('salesforce-pubsub-api-client');

export type ThirdPartyClient = PubSubApiClientType;

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Connects the third-party client in its 'user-supplied' auth mode. It trusts only the CA bundle it
 * ships (read once in connect()), so for the duration of connect() that one file read answers with
 * the sandbox CA: TLS and hostname verification stay on, as against the real endpoint.
 */
export async function connectThirdParty(options: {
  endpoint: string;
  accessToken: string;
  instanceUrl: string;
  orgId: string;
  caPem: string;
}): Promise<ThirdPartyClient> {
  const client = new PubSubApiClient(
    {
      authType: 'user-supplied',
      accessToken: options.accessToken,
      instanceUrl: options.instanceUrl,
      organizationId: options.orgId,
      pubSubEndpoint: options.endpoint,
    },
    silent,
  );
  const original = fs.readFileSync;
  fs.readFileSync = ((path: fs.PathOrFileDescriptor, encoding?: unknown) =>
    String(path).includes('salesforce-pubsub-api-client') && String(path).endsWith('.pem')
      ? Buffer.from(options.caPem)
      : original(path, encoding as BufferEncoding)) as typeof fs.readFileSync;
  try {
    await client.connect();
  } finally {
    fs.readFileSync = original;
  }
  return client;
}

/** The shape of an event the third-party client hands its callback (bitmaps already expanded). */
export interface ThirdPartyEvent {
  replayId: number;
  payload: {
    ChangeEventHeader: {
      entityName: string;
      recordIds: string[];
      changeType: string;
      changeOrigin: string;
      changedFields: string[];
      nulledFields: string[];
    };
    [field: string]: unknown;
  };
}
