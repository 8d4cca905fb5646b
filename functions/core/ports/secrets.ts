/**
 * The Secrets port: the two client-credential pairs and the business-event secret. Secrets
 * Manager (cached, refreshed when a call says the credentials are wrong) on AWS; an encrypted
 * 0600 file or the environment locally; memory in tests. Values never reach logs or audit entries.
 */
import type { ReceiverSecrets } from '#core/triggers/business-events.ts';

export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface ConnectorSecrets {
  readonly dynamics: ClientCredentials;
  readonly salesforce: ClientCredentials;
  /** The business-event receiver's secret and, during a rotation, the previous one. */
  readonly businessEvents: ReceiverSecrets;
}

export interface Secrets {
  /** The current secrets; `refresh` bypasses any cache (after an authentication failure). */
  get(options?: { readonly refresh?: boolean }): Promise<ConnectorSecrets>;
}

/** A fixed set of secrets (tests, the sandbox demo). */
export function staticSecrets(secrets: ConnectorSecrets): Secrets {
  return { get: async () => secrets };
}
