/**
 * The engine part of the AWS runtime: the two API clients (credentials from Secrets Manager) and
 * the start-up check (`checkConfiguration`), run once per container on first need. A failed start
 * is not cached, and the next one re-reads the secrets, bypassing their cache (a rotation may be
 * why it failed); so does the one after `refreshCredentials()` (a call refused its credentials).
 * After the secrets' TTL a changed credential set rebuilds the API clients. While the secrets hold
 * the stack's placeholders, `engine()` rejects with CredentialsNotSetError (secrets.ts).
 */
import { type ConnectorClients, type CreateClientsOptions, createClients } from '#adapters/clients.ts';
import { checkConfiguration } from '#core/engine/check.ts';
import type { EngineContext } from '#core/engine/context.ts';
import type { ConnectorCredentials } from '#core/ports/secrets.ts';
import { type AwsRuntime, type AwsRuntimeOptions, createAwsRuntime } from './bootstrap.ts';

/** The engine with the API clients it was built with (the stream task needs their token source). */
export interface Engine {
  readonly ctx: EngineContext;
  readonly clients: ConnectorClients;
}

/** The runtime of the entry points that run the engine. */
export interface EngineRuntime extends AwsRuntime {
  /** The checked EngineContext; `signal` is the invocation's stop signal. */
  engine(options?: { readonly signal?: AbortSignal }): Promise<Engine>;
  /**
   * A call was refused for its credentials (AuthError): the next `engine()` re-reads the secrets,
   * bypassing their cache, and rebuilds the API clients if they changed (a rotation).
   */
  refreshCredentials(): void;
  /** Closes the API clients, then the SDK clients. */
  close(): Promise<void>;
}

export interface EngineRuntimeOptions extends AwsRuntimeOptions {
  /** HTTP overrides of the API clients (tests shorten back-off waits). */
  readonly http?: Pick<CreateClientsOptions, 'dynamicsHttp' | 'salesforceHttp'>;
}

const fingerprint = (s: ConnectorCredentials) =>
  JSON.stringify([
    s.dynamics.clientId,
    s.dynamics.clientSecret,
    s.salesforce.clientId,
    s.salesforce.clientSecret,
  ]);

/** Builds the runtime with its engine (see the module doc). No network until `engine()`. */
export function createEngineRuntime(options: EngineRuntimeOptions = {}): EngineRuntime {
  const runtime = createAwsRuntime(options);
  const { env, logger, secrets } = runtime;
  let current: { readonly key: string; readonly engine: Promise<Engine> } | undefined;
  let refreshSecrets = false;

  async function build(credentials: ConnectorCredentials): Promise<Engine> {
    const clients = createClients(env.config, credentials, { logger, ...options.http });
    try {
      const reference = await checkConfiguration(env.config, clients.dynamics, clients.salesforce);
      const ctx: EngineContext = {
        config: env.config,
        dynamics: clients.dynamics,
        salesforce: clients.salesforce,
        state: runtime.state,
        queue: runtime.queue,
        logger,
        reference,
        now: runtime.now,
      };
      return { ctx, clients };
    } catch (error) {
      await clients.close();
      throw error;
    }
  }

  return {
    ...runtime,
    async engine({ signal } = {}) {
      const credentials = await secrets.credentials({ refresh: refreshSecrets });
      refreshSecrets = false;
      const key = fingerprint(credentials);
      let entry = current;
      if (entry?.key !== key) {
        const previous = entry;
        const fresh = { key, engine: build(credentials) };
        entry = fresh;
        current = fresh;
        fresh.engine.catch((error: unknown) => {
          // Not cached: the next call re-reads the secrets and tries again.
          if (current === fresh) current = undefined;
          refreshSecrets = true;
          logger.error('bootstrap.failed', {
            error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          });
        });
        if (previous) void previous.engine.then((e) => e.clients.close()).catch(() => {});
      }
      const engine = await entry.engine;
      return signal ? { ...engine, ctx: { ...engine.ctx, signal } } : engine;
    },
    refreshCredentials() {
      refreshSecrets = true;
    },
    async close() {
      const engine = await current?.engine.catch(() => undefined);
      await engine?.clients.close();
      await runtime.close();
    },
  };
}
