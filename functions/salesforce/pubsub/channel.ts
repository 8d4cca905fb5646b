/**
 * The gRPC channel to the Pub/Sub API: TLS, and call metadata (`accesstoken`, `instanceurl`,
 * `tenantid`) taken from the session source on every RPC, so a re-minted token is used at once.
 * https://developer.salesforce.com/docs/platform/pub-sub-api/guide/supported-auth.html
 */
import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { ConnectorError } from '#base/errors.ts';
import type { SalesforceTokenSource } from '#salesforce/session.ts';
import { type PubSubClient, pubSubClientConstructor } from './proto.ts';

/** The production Pub/Sub API endpoint. */
export const DEFAULT_PUBSUB_ENDPOINT = 'api.pubsub.salesforce.com:7443';

export interface PubSubChannelOptions {
  readonly tokens: SalesforceTokenSource;
  /** `host:port`; default {@link DEFAULT_PUBSUB_ENDPOINT}. */
  readonly endpoint?: string;
  /**
   * PEM roots to trust. Default: Node's default CA store (bundled roots plus NODE_EXTRA_CA_CERTS
   * and anything added with tls.setDefaultCACertificates), the same trust undici and MSAL use.
   * Passed explicitly because grpc-js would otherwise read only GRPC_DEFAULT_SSL_ROOTS_FILE_PATH
   * when that variable is set.
   */
  readonly rootCerts?: string | Uint8Array;
  readonly channelOptions?: grpc.ChannelOptions;
}

/** Builds the call metadata of one RPC from the current session. */
export async function sessionMetadata(tokens: SalesforceTokenSource): Promise<grpc.Metadata> {
  const session = await tokens.getSession();
  const metadata = new grpc.Metadata();
  metadata.set('accesstoken', session.accessToken);
  metadata.set('instanceurl', session.instanceUrl);
  metadata.set('tenantid', session.orgId);
  return metadata;
}

/** A `PubSub` client over TLS whose every call carries the session metadata. */
export function createPubSubClient(options: PubSubChannelOptions): PubSubClient {
  const roots = Buffer.from(options.rootCerts ?? tls.getCACertificates('default').join('\n'));
  const callCredentials = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    sessionMetadata(options.tokens).then(
      (metadata) => callback(null, metadata),
      (error: unknown) =>
        callback(
          error instanceof Error
            ? error
            : new ConnectorError(String(error), { code: 'PUBSUB_SESSION_FAILED', cause: error }),
        ),
    );
  });
  const credentials = grpc.credentials.combineChannelCredentials(
    grpc.credentials.createSsl(roots),
    callCredentials,
  );
  const Client = pubSubClientConstructor();
  return new Client(options.endpoint ?? DEFAULT_PUBSUB_ENDPOINT, credentials, {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    ...options.channelOptions,
  });
}
