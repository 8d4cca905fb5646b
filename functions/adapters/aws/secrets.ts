/**
 * The Secrets port on Secrets Manager: three secrets (Dynamics and Salesforce client credentials
 * as JSON `{ clientId, clientSecret }`, the business-event receiver's `{ current, previous? }`),
 * each read and cached per container for a TTL. `get({ refresh: true })` re-reads them, for
 * when a call says the credentials are wrong (a rotation happened since they were cached).
 * Until `ml-connector credentials set --stack` runs, the two credential secrets hold the stack's
 * placeholder client id: `credentials()` then throws CredentialsNotSetError (never cached), which
 * the stream task and the backfill treat as "wait", not as a failure.
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets.html
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError } from '#base/errors.ts';
import type {
  ClientCredentials,
  ConnectorCredentials,
  Secrets,
  SecretsReadOptions,
} from '#core/ports/secrets.ts';
import type { ReceiverSecrets } from '#core/triggers/business-events.ts';
import { PLACEHOLDER_CLIENT_ID } from './contract.ts';

/** The credential secrets still hold the stack's placeholders: onboarding has not run yet. */
export class CredentialsNotSetError extends ConfigError {
  override name = 'CredentialsNotSetError';
  /** The systems whose credentials are placeholders. */
  readonly systems: readonly ('dynamics' | 'salesforce')[];

  constructor(systems: readonly ('dynamics' | 'salesforce')[]) {
    super(
      `secrets.${systems.join('+')}`,
      'still hold the placeholders the stack created; run `ml-connector credentials set --stack <name>`',
    );
    this.systems = systems;
  }
}

export interface SecretArns {
  readonly dynamics: string;
  readonly salesforce: string;
  readonly receiver: string;
}

export interface SecretsManagerSecretsOptions {
  readonly client: SecretsManagerClient;
  readonly arns: SecretArns;
  /** How long values are reused, ms. Default 5 minutes. */
  readonly ttlMs?: number;
  readonly now?: () => number;
}

type Json = Record<string, unknown>;

function parse(name: string, text: string | undefined): Json {
  try {
    const value = JSON.parse(text ?? '') as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Json;
  } catch {
    // Fall through: the message must not echo the value.
  }
  throw new ConfigError(
    `secrets.${name}`,
    'is not a JSON object; run `ml-connector credentials set --stack …`',
  );
}

function text(name: string, value: Json, field: string, required: boolean): string | undefined {
  const v = value[field];
  if (typeof v === 'string' && v.length > 0) return v;
  if (v === undefined && !required) return undefined;
  throw new ConfigError(`secrets.${name}.${field}`, 'is missing or empty');
}

function credentials(name: string, value: Json): ClientCredentials {
  return {
    clientId: text(name, value, 'clientId', true) as string,
    clientSecret: text(name, value, 'clientSecret', true) as string,
  };
}

function receiver(value: Json): ReceiverSecrets {
  return {
    current: text('receiver', value, 'current', true) as string,
    previous: text('receiver', value, 'previous', false),
  };
}

/**
 * Creates the Secrets Manager adapter. Each part is read and cached on its own, so a component
 * granted only the receiver secret (or only the two credential sets) never asks for the others.
 * Concurrent readers share one read.
 */
export function createSecretsManagerSecrets(options: SecretsManagerSecretsOptions): Secrets {
  const ttl = options.ttlMs ?? 5 * 60_000;
  const now = options.now ?? Date.now;

  const read = async (name: keyof SecretArns): Promise<Json> => {
    const result = await options.client.send(new GetSecretValueCommand({ SecretId: options.arns[name] }));
    return parse(name, result.SecretString);
  };

  /** A TTL cache of one async value; failures are not cached. */
  function cachedRead<T>(load: () => Promise<T>): (o?: SecretsReadOptions) => Promise<T> {
    let cached: { readonly at: number; readonly value: Promise<T> } | undefined;
    return ({ refresh = false } = {}) => {
      const at = now();
      if (!refresh && cached && at - cached.at < ttl) return cached.value;
      const value = load();
      const entry = { at, value };
      cached = entry;
      value.catch(() => {
        if (cached === entry) cached = undefined;
      });
      return value;
    };
  }

  const credentialsRead = cachedRead(async (): Promise<ConnectorCredentials> => {
    const [dynamics, salesforce] = await Promise.all([read('dynamics'), read('salesforce')]);
    const placeholders = (
      [
        ['dynamics', dynamics],
        ['salesforce', salesforce],
      ] as const
    )
      .filter(([, value]) => value.clientId === PLACEHOLDER_CLIENT_ID)
      .map(([name]) => name);
    if (placeholders.length > 0) throw new CredentialsNotSetError(placeholders);
    return { dynamics: credentials('dynamics', dynamics), salesforce: credentials('salesforce', salesforce) };
  });
  const receiverRead = cachedRead(async () => receiver(await read('receiver')));

  return {
    credentials: credentialsRead,
    receiver: receiverRead,
    async get(o) {
      const [pairs, businessEvents] = await Promise.all([credentialsRead(o), receiverRead(o)]);
      return { ...pairs, businessEvents };
    },
  };
}
