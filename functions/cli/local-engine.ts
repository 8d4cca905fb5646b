/**
 * What the operational commands share: the configuration file, the local secrets, the two clients
 * and the SQLite state and queue, checked against the live systems, as `start` builds them.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { type ConnectorClients, createClients } from '#adapters/clients.ts';
import { createConsoleLogger, type LogLevel } from '#adapters/local/console-logger.ts';
import { loadMetadata } from '#adapters/local/metadata-cache.ts';
import { createFileSecrets } from '#adapters/local/secrets-file.ts';
import { openDatabase } from '#adapters/local/sqlite.ts';
import { createSqliteStateStore } from '#adapters/local/sqlite-state-store.ts';
import { createSqliteWorkQueue } from '#adapters/local/sqlite-work-queue.ts';
import type { Logger } from '#base/logger.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import { checkConfiguration } from '#core/engine/check.ts';
import type { EngineContext } from '#core/engine/context.ts';
import { goLiveFieldCheck } from '#core/engine/field-check.ts';
import { checkSystemIdentity } from '#core/engine/identity.ts';
import type { Secrets } from '#core/ports/secrets.ts';
import type { StateStore } from '#core/ports/state-store.ts';
import type { WorkQueue } from '#core/ports/work-queue.ts';
import type { CliIo } from './command.ts';
import { loadConfigFile } from './config-file.ts';

export const DEFAULT_STATE = '.ml-connector/state.db';

/** The state database's options every command takes. */
export const stateOptions = {
  config: { type: 'string' },
  state: { type: 'string' },
  'log-level': { type: 'string' },
} as const;

export const stateOptionHelp: readonly (readonly [string, string])[] = [
  ['--config <file>', 'the configuration (default ./ml-connector.yaml)'],
  ['--state <file>', `the SQLite state and queue (default ${DEFAULT_STATE})`],
  ['--log-level <l>', 'debug, info, warn (default) or error; JSON lines on stderr'],
];

export interface LocalState {
  readonly db: DatabaseSync;
  readonly state: StateStore;
  readonly queue: WorkQueue;
  close(): void;
}

export function openLocalState(path: string | undefined): LocalState {
  const file = resolve(path ?? DEFAULT_STATE);
  mkdirSync(dirname(file), { recursive: true });
  const db = openDatabase(file);
  return {
    db,
    state: createSqliteStateStore({ database: db }),
    queue: createSqliteWorkQueue({ database: db }),
    close: () => db.close(),
  };
}

export interface LocalEngine {
  readonly config: ConnectorConfig;
  readonly secrets: Secrets;
  readonly clients: ConnectorClients;
  readonly ctx: EngineContext;
  close(): Promise<void>;
}

export function cliLogger(io: CliIo, level: string | undefined): Logger {
  const levels: readonly string[] = ['debug', 'info', 'warn', 'error'];
  return createConsoleLogger({
    level: (levels.includes(level ?? '') ? level : 'warn') as LogLevel,
    stream: io.stderr,
  });
}

/** Opens everything and runs the start-up check; the caller closes it. */
export async function openLocalEngine(
  io: CliIo,
  values: {
    readonly config?: string | undefined;
    readonly state?: string | undefined;
    readonly 'log-level'?: string | undefined;
  },
  overrides: {
    readonly config?: ConnectorConfig;
    readonly secrets?: Secrets;
    readonly statePath?: string;
  } = {},
): Promise<LocalEngine> {
  const config = overrides.config ?? loadConfigFile(values.config);
  const secrets = overrides.secrets ?? createFileSecrets({ env: io.env });
  const logger = cliLogger(io, values['log-level']);
  const clients = createClients(config, await secrets.credentials(), { logger });
  const statePath = resolve(overrides.statePath ?? values.state ?? DEFAULT_STATE);
  const local = openLocalState(statePath);
  try {
    const reference = await checkConfiguration(config, clients.dynamics, clients.salesforce, {
      // The customer's $metadata, cached beside the state database (metadata-cache.ts). If it cannot
      // be read, the F&O half of the field check is skipped with a warning (ping reports it).
      fieldCheck: goLiveFieldCheck(config, async () => {
        try {
          return (await loadMetadata({ client: clients.dynamics, dir: dirname(statePath), logger })).model;
        } catch (error) {
          logger.warn('metadata.unavailable', {
            error: error instanceof Error ? error.message : String(error),
          });
          return undefined;
        }
      }),
    });
    const ctx: EngineContext = {
      config,
      dynamics: clients.dynamics,
      salesforce: clients.salesforce,
      state: local.state,
      queue: local.queue,
      logger,
      reference,
      now: Date.now,
    };
    // A changed org or F&O environment resets the stored hashes, with the reason logged.
    await checkSystemIdentity(ctx, (await clients.salesforce.tokenSource.getSession()).orgId);
    return {
      config,
      secrets,
      clients,
      ctx,
      async close() {
        await clients.close();
        local.close();
      },
    };
  } catch (error) {
    await clients.close();
    local.close();
    throw error;
  }
}
