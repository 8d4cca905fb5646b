/**
 * `ml-connector start`: the long-running local connector in one process. With a configuration
 * and credentials it runs against your systems; with neither it starts the built-in sandboxes and
 * runs the demo against them, and says so.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type ConnectorClients, createClients } from '#adapters/clients.ts';
import { createConsoleLogger } from '#adapters/local/console-logger.ts';
import { startLocalRunner } from '#adapters/local/runner.ts';
import { createFileSecrets } from '#adapters/local/secrets-file.ts';
import { openDatabase } from '#adapters/local/sqlite.ts';
import { createSqliteStateStore } from '#adapters/local/sqlite-state-store.ts';
import { createSqliteWorkQueue } from '#adapters/local/sqlite-work-queue.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import { checkConfiguration } from '#core/engine/check.ts';
import type { EngineContext } from '#core/engine/context.ts';
import { type Secrets, staticSecrets } from '#core/ports/secrets.ts';
import { type CliIo, type CommandSpec, ExitCode, intOption } from './command.ts';
import { DEFAULT_CONFIG_FILE, loadConfigFile } from './config-file.ts';
import { describeBusiness, describeSalesforce, runSalesStory } from './demo.ts';
import { sandboxConfig } from './demo-config.ts';

const options = {
  config: { type: 'string' },
  demo: { type: 'boolean' },
  state: { type: 'string' },
  'receiver-host': { type: 'string' },
  'receiver-port': { type: 'string' },
  customers: { type: 'string' },
  products: { type: 'string' },
  'log-level': { type: 'string' },
} as const;

const DEFAULT_STATE = '.ml-connector/state.db';

function waitForStop(io: CliIo): Promise<void> {
  return new Promise((resolve) => {
    if (io.stopSignal.aborted) return resolve();
    io.stopSignal.addEventListener('abort', () => resolve(), { once: true });
  });
}

interface Running {
  readonly config: ConnectorConfig;
  readonly secrets: Secrets;
  readonly statePath: string;
}

/** What the demo adds around the ordinary run. */
interface DemoHooks {
  /** Before the initial sync, once the receiver listens. */
  beforeSync(clients: ConnectorClients, receiverUrl: string | undefined): Promise<void>;
  /** After the initial sync has drained. */
  afterSync(clients: ConnectorClients): Promise<void>;
}

async function runConnector(io: CliIo, running: Running, values: Record<string, unknown>, demo?: DemoHooks) {
  const say = (line: string) => io.stdout.write(`${line}\n`);
  const level = (values['log-level'] as 'debug' | 'info' | 'warn' | 'error' | undefined) ?? 'warn';
  const logger = createConsoleLogger({ level, stream: io.stderr });
  const clients = createClients(running.config, await running.secrets.get(), { logger });
  mkdirSync(dirname(running.statePath), { recursive: true });
  const db = openDatabase(running.statePath);
  const state = createSqliteStateStore({ database: db });
  const queue = createSqliteWorkQueue({ database: db });
  try {
    const reference = await checkConfiguration(running.config, clients.dynamics, clients.salesforce);
    const ctx: EngineContext = {
      config: running.config,
      dynamics: clients.dynamics,
      salesforce: clients.salesforce,
      state,
      queue,
      logger,
      reference,
      now: Date.now,
    };
    const runner = await startLocalRunner({
      ctx,
      tokens: clients.salesforce.tokenSource,
      secrets: running.secrets,
      receiver: {
        ...(values['receiver-host'] ? { host: String(values['receiver-host']) } : {}),
        port: intOption('receiver-port', values['receiver-port'] as string | undefined, 0),
      },
      onEvent: (event) => {
        if (event.type === 'error') say(`! ${event.where}: ${event.message}`);
      },
    });
    say(`Business-event receiver: ${runner.receiverUrl}`);
    await demo?.beforeSync(clients, runner.receiverUrl);
    say('Initial sync (backfill) running...');
    await runner.backfill();
    await runner.idle({ timeoutMs: 10 * 60_000 });
    await demo?.afterSync(clients);
    const d = clients.dynamics.counter.snapshot();
    const s = clients.salesforce.counter.snapshot();
    say('');
    say(
      `API calls so far: Dynamics ${d.total} (${Object.entries(d.byOperation)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')});`,
    );
    say(
      `  Salesforce ${s.total} (${Object.entries(s.byOperation)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}).`,
    );
    say('Running: the receiver, the CDC stream and the backfill schedule. Ctrl-C to stop.');
    await waitForStop(io);
    say('Stopping: finishing work in hand...');
    await runner.stop();
    say('Stopped. Unfinished work stays queued in the state database for the next start.');
  } finally {
    await clients.close();
    db.close();
  }
}

export const startCommand: CommandSpec<typeof options> = {
  name: 'start',
  summary:
    'Runs the connector in one process: the business-event receiver, the Salesforce CDC stream, the\n' +
    'scheduled backfill and the workers, over an embedded SQLite state and queue. With no configuration\n' +
    'and no credentials it starts the built-in sandboxes and runs the demo against them.',
  usage: 'start [--config <file>] [--demo] [--state <file>] [--receiver-port <n>]',
  optionHelp: [
    ['--config <file>', `the configuration (default ./${DEFAULT_CONFIG_FILE})`],
    ['--demo', 'run the demo against the built-in sandboxes even if a configuration exists'],
    ['--state <file>', `the SQLite state and queue (default ${DEFAULT_STATE})`],
    ['--receiver-host <h>', 'where the business-event receiver listens (default 127.0.0.1)'],
    ['--receiver-port <n>', 'its port (default: any free port)'],
    ['--customers <n>', 'demo: sandbox customers (default 3000)'],
    ['--products <n>', 'demo: sandbox released products (default 2000)'],
    ['--log-level <l>', 'debug, info, warn (default) or error; logs go to stderr as JSON lines'],
  ],
  options,
  async run(values, _positionals, io) {
    const configPath = resolve(values.config ?? DEFAULT_CONFIG_FILE);
    const fileSecrets = createFileSecrets({ env: io.env });
    const demo = values.demo || (!existsSync(configPath) && !fileSecrets.has());
    if (!demo) {
      await runConnector(
        io,
        {
          config: loadConfigFile(values.config),
          secrets: fileSecrets,
          statePath: resolve(values.state ?? DEFAULT_STATE),
        },
        values,
      );
      return ExitCode.ok;
    }

    const say = (line: string) => io.stdout.write(`${line}\n`);
    say('No configuration and no credentials: running the demo against the built-in sandboxes.');
    say('(Run `ml-connector init` and `ml-connector credentials set` to connect your own systems.)');
    say('');
    const { startSandboxes } = await import('#sandbox/index.ts');
    const sandboxes = await startSandboxes({
      dynamics: {
        customers: intOption('customers', values.customers, 3000),
        products: intOption('products', values.products, 2000),
      },
    });
    try {
      // Trust the sandboxes' local CA for this process, as NODE_EXTRA_CA_CERTS would.
      const { trustCaFile } = await import('#sandbox/shared/tls.ts');
      trustCaFile(sandboxes.info.caFile);
      const config = sandboxConfig(sandboxes.info);
      const receiverSecret = randomBytes(24).toString('base64url');
      const { dynamics, salesforce } = sandboxes.info;
      const secrets = staticSecrets({
        dynamics: { clientId: dynamics.clientId, clientSecret: dynamics.clientSecret },
        salesforce: { clientId: salesforce.clientId, clientSecret: salesforce.clientSecret },
        businessEvents: { current: receiverSecret },
      });
      const statePath = resolve(values.state ?? '.ml-connector/demo.db');
      // The sandboxes start afresh each time, so the demo's state does too.
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${statePath}${suffix}`, { force: true });
      await runConnector(io, { config, secrets, statePath }, values, {
        async beforeSync(clients, receiverUrl) {
          await describeBusiness(clients, config, say);
          // F&O posts business events for changes to the receiver, authenticated by its secret.
          if (receiverUrl)
            sandboxes.dynamics.control.configureBusinessEvents({
              url: `${receiverUrl}?code=${receiverSecret}`,
            });
        },
        async afterSync(clients) {
          await describeSalesforce(clients, config, say);
          await runSalesStory(sandboxes, clients, config, say);
        },
      });
    } finally {
      await sandboxes.close();
    }
    return ExitCode.ok;
  },
};
