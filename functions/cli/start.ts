/**
 * `ml-connector start`: the long-running local connector in one process. With a configuration
 * and credentials it runs against your systems; with neither it starts the built-in sandboxes and
 * runs the demo against them, and says so.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConnectorClients } from '#adapters/clients.ts';
import { startLocalRunner } from '#adapters/local/runner.ts';
import { createFileSecrets } from '#adapters/local/secrets-file.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import { type Secrets, staticSecrets } from '#core/ports/secrets.ts';
import { type CliIo, type CommandSpec, ExitCode, intOption } from './command.ts';
import { DEFAULT_CONFIG_FILE, loadConfigFile } from './config-file.ts';
import { describeBusiness, describeSalesforce, runSalesStory } from './demo.ts';
import { sandboxConfig } from './demo-config.ts';
import { DEFAULT_STATE, openLocalEngine } from './local-engine.ts';

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

async function runConnector(
  io: CliIo,
  running: Running,
  values: Record<string, string | boolean | undefined>,
  demo?: DemoHooks,
) {
  const say = (line: string) => io.stdout.write(`${line}\n`);
  const engine = await openLocalEngine(io, values as { 'log-level'?: string }, running);
  try {
    const runner = await startLocalRunner({
      ctx: engine.ctx,
      tokens: engine.clients.salesforce.tokenSource,
      secrets: engine.secrets,
      receiver: {
        ...(values['receiver-host'] ? { host: String(values['receiver-host']) } : {}),
        port: intOption('receiver-port', values['receiver-port'] as string | undefined, 0),
      },
      onEvent: (event) => {
        if (event.type === 'error') say(`! ${event.where}: ${event.message}`);
      },
    });
    say(`Business-event receiver: ${runner.receiverUrl}`);
    await demo?.beforeSync(engine.clients, runner.receiverUrl);
    say('Initial sync (backfill) running...');
    await runner.backfill();
    await runner.idle({ timeoutMs: 10 * 60_000 });
    await demo?.afterSync(engine.clients);
    say('');
    say(`API calls so far: ${describeCalls(engine.clients)}.`);
    say(
      `Running: the receiver, the CDC stream and the backfill schedule${running.config.orderStatus.enabled ? ' (and the sales order status poll)' : ''}. Ctrl-C to stop.`,
    );
    await waitForStop(io);
    say('Stopping: finishing work in hand...');
    await runner.stop();
    say('Stopped. Unfinished work stays queued in the state database for the next start.');
  } finally {
    await engine.close();
  }
}

/** API calls made by the two clients, by operation. */
export function describeCalls(clients: ConnectorClients): string {
  const part = (name: string, snapshot: { total: number; byOperation: Readonly<Record<string, number>> }) =>
    `${name} ${snapshot.total} (${Object.entries(snapshot.byOperation)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')})`;
  return `${part('Dynamics', clients.dynamics.counter.snapshot())}; ${part('Salesforce', clients.salesforce.counter.snapshot())}`;
}

export const startCommand: CommandSpec<typeof options> = {
  name: 'start',
  brief: 'run the connector in one process (the demo when nothing is configured)',
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
