/**
 * Both sandboxes at once, as `ml-connector sandbox`, the demo and the end-to-end tests use them:
 * the Dynamics sandbox (Entra + OData), the Salesforce sandbox (My Domain + REST) and its Pub/Sub
 * server wired to the org's change feed, all on loopback, sharing one CA and one clock per system.
 */
import {
  type DynamicsSandbox,
  type DynamicsSandboxInfo,
  type DynamicsSandboxOptions,
  startDynamicsSandbox,
} from './dynamics/index.ts';
import {
  type SalesforceSandbox,
  type SalesforceSandboxInfo,
  type SalesforceSandboxOptions,
  startSalesforceSandbox,
} from './salesforce/index.ts';
import {
  type PubSubSandbox,
  type PubSubSandboxOptions,
  startPubSubSandbox,
} from './salesforce/pubsub/index.ts';
import { defaultTlsDir, ensureSandboxTls, type SandboxTls } from './shared/tls.ts';

export interface SandboxesOptions {
  readonly dynamics?: Omit<DynamicsSandboxOptions, 'tls'>;
  readonly salesforce?: Omit<SalesforceSandboxOptions, 'tls'>;
  readonly pubsub?: Pick<PubSubSandboxOptions, 'port' | 'keepaliveMs' | 'idleTimeoutMs' | 'retentionMs'>;
  /** Where the CA and server certificate live (created on first use). Default: {@link defaultTlsDir}. */
  readonly tlsDir?: string;
}

/** Everything a client needs to connect, as `ml-connector sandbox --json` prints it. */
export interface SandboxesInfo {
  /** The CA certificate both sandboxes' TLS chains to: trust it (NODE_EXTRA_CA_CERTS). */
  readonly caFile: string;
  readonly dynamics: DynamicsSandboxInfo;
  readonly salesforce: SalesforceSandboxInfo & {
    /** `host:port` of the Pub/Sub API (gRPC over TLS). */
    readonly pubsubEndpoint: string;
  };
}

export interface Sandboxes {
  readonly info: SandboxesInfo;
  readonly tls: SandboxTls;
  readonly dynamics: DynamicsSandbox;
  readonly salesforce: SalesforceSandbox;
  readonly pubsub: PubSubSandbox;
  close(): Promise<void>;
}

export async function startSandboxes(options: SandboxesOptions = {}): Promise<Sandboxes> {
  const tls = await ensureSandboxTls(options.tlsDir ?? defaultTlsDir());
  const started: { close(): Promise<void> }[] = [];
  try {
    const dynamics = await startDynamicsSandbox({ ...options.dynamics, tls });
    started.push(dynamics);
    const salesforce = await startSalesforceSandbox({ ...options.salesforce, tls });
    started.push(salesforce);
    const pubsub = await startPubSubSandbox({
      ...options.pubsub,
      feed: salesforce.changeFeed,
      schema: salesforce.schema,
      tls,
      clock: salesforce.clock,
      faults: salesforce.faults,
      host: options.salesforce?.host ?? '127.0.0.1',
      // Pub/Sub authenticates every RPC by its metadata: a live token of this org, for this org.
      authenticate: (meta) =>
        meta.tenantId === salesforce.info.orgId &&
        salesforce.verifyAccessToken(meta.accessToken)?.orgId === salesforce.info.orgId,
    });
    started.push(pubsub);
    return {
      info: {
        caFile: tls.caFile,
        dynamics: dynamics.info,
        salesforce: {
          ...salesforce.info,
          // By name, as clients address the real endpoint (api.pubsub.salesforce.com): TLS then
          // verifies the certificate's DNS name, and no client sets an IP address as SNI.
          pubsubEndpoint: pubsub.endpoint.replace(/^127\.0\.0\.1:/, 'localhost:'),
        },
      },
      tls,
      dynamics,
      salesforce,
      pubsub,
      async close() {
        await Promise.allSettled(started.reverse().map((s) => s.close()));
      },
    };
  } catch (error) {
    await Promise.allSettled(started.reverse().map((s) => s.close()));
    throw error;
  }
}
