/**
 * The Secrets port: the two client-credential pairs and the business-event secret. Secrets
 * Manager (cached, refreshed when a call says the credentials are wrong) on AWS; an encrypted
 * 0600 file or the environment locally; memory in tests. Values never reach logs or audit entries.
 */
/** The business-event receiver's shared secret: the current one and, during a rotation, the previous one. */
export interface ReceiverSecrets {
  readonly current: string;
  readonly previous?: string | undefined;
}

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

/** The two client-credential pairs, without the receiver's secret. */
export type ConnectorCredentials = Pick<ConnectorSecrets, 'dynamics' | 'salesforce'>;

export interface SecretsReadOptions {
  /** Bypass any cache (after an authentication failure). */
  readonly refresh?: boolean;
}

/**
 * Each reader asks only for what it needs, so each AWS component is granted only its secrets:
 * the receiver reads `receiver()`, the workers, backfill and stream read `credentials()`.
 */
export interface Secrets {
  /** Everything (the CLI, the local runner). */
  get(options?: SecretsReadOptions): Promise<ConnectorSecrets>;
  /** Only the Dynamics and Salesforce client credentials. */
  credentials(options?: SecretsReadOptions): Promise<ConnectorCredentials>;
  /** Only the business-event receiver's secret(s). */
  receiver(options?: SecretsReadOptions): Promise<ReceiverSecrets>;
}

/** A Secrets port over one function that reads everything (local file, memory, tests). */
export function secretsFrom(get: (options?: SecretsReadOptions) => Promise<ConnectorSecrets>): Secrets {
  return {
    get,
    credentials: async (options) => {
      const { dynamics, salesforce } = await get(options);
      return { dynamics, salesforce };
    },
    receiver: async (options) => (await get(options)).businessEvents,
  };
}

/** A fixed set of secrets (tests, the sandbox demo). */
export function staticSecrets(secrets: ConnectorSecrets): Secrets {
  return secretsFrom(async () => secrets);
}
