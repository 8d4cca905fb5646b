/**
 * The engine against both sandboxes, as the end-to-end tests need it: the sandboxes on loopback,
 * the real clients built from a validated configuration, in-memory SQLite state and queue, and
 * an EngineContext checked against the live systems (checkConfiguration), exactly as the runner
 * builds it. Logs are captured so tests can look for secrets in them.
 */
import { PassThrough } from 'node:stream';
import { type ConnectorClients, createClients } from '#adapters/clients.ts';
import { createConsoleLogger } from '#adapters/local/console-logger.ts';
import { type LocalRunner, startLocalRunner } from '#adapters/local/runner.ts';
import { createSqliteStateStore } from '#adapters/local/sqlite-state-store.ts';
import { createSqliteWorkQueue } from '#adapters/local/sqlite-work-queue.ts';
import { sandboxConfig } from '#cli/demo-config.ts';
import type { ConnectorConfig, ConnectorConfigInput } from '#core/config/schema.ts';
import { checkConfiguration } from '#core/engine/check.ts';
import type { EngineContext } from '#core/engine/context.ts';
import { staticSecrets } from '#core/ports/secrets.ts';
import type { StateStore } from '#core/ports/state-store.ts';
import type { WorkQueue } from '#core/ports/work-queue.ts';
import { createBusinessEventReceiver, type IgnoredEvent } from '#core/triggers/business-events.ts';
import { type Sandboxes, type SandboxesOptions, startSandboxes } from '#sandbox/index.ts';

export interface EngineHarness {
  readonly sandboxes: Sandboxes;
  readonly config: ConnectorConfig;
  readonly clients: ConnectorClients;
  readonly state: StateStore;
  readonly queue: WorkQueue;
  readonly ctx: EngineContext;
  /** Every log line written so far (JSON lines at debug level). */
  readonly logs: string[];
  close(): Promise<void>;
}

export interface EngineHarnessOptions {
  /** Sandbox sizes, latency, faults. Defaults: 300 customers, 150 products, 20 sales orders. */
  readonly sandboxes?: SandboxesOptions;
  /** Overrides merged over the harness configuration (top-level keys replace). */
  readonly config?: Partial<ConnectorConfigInput>;
}

export async function startEngineHarness(options: EngineHarnessOptions = {}): Promise<EngineHarness> {
  const sandboxes = await startSandboxes({
    ...options.sandboxes,
    dynamics: { customers: 300, products: 150, salesOrders: 20, ...options.sandboxes?.dynamics },
    salesforce: { bulkProcessingDelayMs: 50, ...options.sandboxes?.salesforce },
    pubsub: { keepaliveMs: 1000, ...options.sandboxes?.pubsub },
  });
  const logs: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => logs.push(...chunk.toString().split('\n').filter(Boolean)));
  const logger = createConsoleLogger({ level: 'debug', stream });
  const config = sandboxConfig(sandboxes.info, options.config);
  const { dynamics, salesforce } = sandboxes.info;
  const clients = createClients(
    config,
    {
      dynamics: { clientId: dynamics.clientId, clientSecret: dynamics.clientSecret },
      salesforce: { clientId: salesforce.clientId, clientSecret: salesforce.clientSecret },
    },
    {
      logger,
      // Sandbox faults ask for Retry-After of about a second; keep other waits short in tests.
      dynamicsHttp: { retry: { baseDelayMs: 50, maxDelayMs: 1000, throttleFallbackMs: 1000 } },
      salesforceHttp: { retry: { baseDelayMs: 50, maxDelayMs: 1000, throttleFallbackMs: 1000 } },
      salesforceBulkPolling: { pollIntervalMs: 50, maxPollIntervalMs: 200 },
    },
  );
  const state = createSqliteStateStore({ database: ':memory:' });
  const queue = createSqliteWorkQueue({ database: ':memory:', visibilityTimeoutSeconds: 5 });
  const reference = await checkConfiguration(config, clients.dynamics, clients.salesforce);
  const ctx: EngineContext = {
    config,
    dynamics: clients.dynamics,
    salesforce: clients.salesforce,
    state,
    queue,
    logger,
    reference,
    now: Date.now,
  };
  return {
    sandboxes,
    config,
    clients,
    state,
    queue,
    ctx,
    logs,
    async close() {
      await clients.close();
      await Promise.allSettled([state.close(), queue.close()]);
      await sandboxes.close();
    },
  };
}

export { sandboxConfig };

/** The local runner over a harness, as `ml-connector start` runs it (no backfill at start unless asked). */
export function startHarnessRunner(
  h: EngineHarness,
  options: { readonly receiverSecret: string; readonly backfillOnStart?: boolean },
): Promise<LocalRunner> {
  const { dynamics, salesforce } = h.sandboxes.info;
  return startLocalRunner({
    ctx: h.ctx,
    tokens: h.clients.salesforce.tokenSource,
    secrets: staticSecrets({
      dynamics: { clientId: dynamics.clientId, clientSecret: dynamics.clientSecret },
      salesforce: { clientId: salesforce.clientId, clientSecret: salesforce.clientSecret },
      businessEvents: { current: options.receiverSecret },
    }),
    pollIntervalMs: 100,
    backfillOnStart: options.backfillOnStart ?? false,
  });
}

/**
 * The business-event receiver over a harness's configuration, state, queue and logger, accepting
 * `secret` as the current shared secret; `onIgnored` sees every event it ignores.
 */
export function harnessReceiver(
  h: EngineHarness,
  options: { readonly secret: string; readonly onIgnored?: (event: IgnoredEvent) => void },
): ReturnType<typeof createBusinessEventReceiver> {
  return createBusinessEventReceiver({
    config: h.config,
    state: h.state,
    queue: h.queue,
    logger: h.ctx.logger,
    secrets: async () => ({ current: options.secret }),
    ...(options.onIgnored && { onIgnored: options.onIgnored }),
  });
}
